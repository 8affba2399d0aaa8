"""Image-text contrastive pretraining on X-rays and clinical prompts (MEDIMP-style).

An X-ray encoder (ResNet) and a text side (frozen all-MiniLM-L6-v2 embeddings
with a trainable projection head, or a :class:`HashingTextEncoder` trained end
to end) are aligned with the library's CLIP loss (learnable, clamped
temperature) through the one training loop, :func:`medmod_lib.training.fit`.
During training every row uses a randomly chosen prompt variant (the textual
augmentation); in evaluation the canonical prompt (variant 0).

The model exposes the interface of :class:`medmod_lib.pretrain.PretrainModel`
that evaluation uses (``cxr_encoder``, ``encode_image``, ``pair_mask``,
``ehr_encoder = None``), so linear probes and the linear-evaluation protocol
treat its image encoder like any pretrained one (method ``prompt-clip``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import torch
from torch import nn
from torch.utils.data import DataLoader

from ..devices import seed_everything
from ..encoders import ProjectionHead, ResNetEncoder
from ..losses import CLIPLoss
from ..pretrain import PretrainConfig, PretrainResult
from ..pretrain.core import fit_pretraining
from ..pretrain.model import as_float_image
from .text_encoder import HashingTextEncoder

METHOD = "prompt-clip"


@dataclass
class PromptCLIPConfig:
    """One image-text pretraining run.

    Attributes:
        text_encoder: ``"minilm"`` (frozen 384-d sentence embeddings from the batch's
            ``text_embedding``) or ``"hashing"`` (bag of hashed words/trigrams, trained).
        text_dim: input size of the text head (384 for MiniLM).
        hashing_dim: width of the hashing encoder.
        text_hidden_dim, text_layers: text projection head (MLP; 1 layer = linear).
        embed_dim: shared embedding size.
        cxr_arch, cxr_in_channels: image encoder (``resnet18`` on CPU, MedMod ``resnet34``).
        temperature: initial CLIP temperature (learnable, log-parametrised, clamped).
        temperature_lr_scale: the temperature's learning rate as a multiple of ``lr``
            (20: it settles within a few hundred steps; at 1 it barely leaves its start).
        decoupled: exclude the positive from the softmax denominator.
        epochs, batch_size, lr, weight_decay, warmup_epochs, grad_clip: optimisation (AdamW).
        seed, device, amp: as :class:`~medmod_lib.pretrain.PretrainConfig`.
        monitor: ``"auto"`` = ``val_auroc`` with a probe, else ``val_loss`` with a
            validation loader, else none.
        patience, max_steps_per_epoch, restore_best, progress: loop settings.
    """

    text_encoder: Literal["minilm", "hashing"] = "minilm"
    text_dim: int = 384
    hashing_dim: int = 128
    text_hidden_dim: int = 256
    text_layers: int = 2
    embed_dim: int = 128
    cxr_arch: str = "resnet18"  # MedMod: "resnet34"
    cxr_in_channels: int = 1
    temperature: float = 0.07
    temperature_lr_scale: float = 20.0
    decoupled: bool = False
    epochs: int = 5
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 1e-4
    warmup_epochs: float = 1.0
    grad_clip: float | None = None
    seed: int = 0
    device: str = "auto"
    amp: str = "auto"
    monitor: str | None = "auto"
    patience: int | None = None
    max_steps_per_epoch: int | None = None
    restore_best: bool = True
    progress: bool = True

    def __post_init__(self) -> None:
        if self.text_encoder not in ("minilm", "hashing"):
            raise ValueError(
                f"PromptCLIPConfig.text_encoder must be 'minilm' or 'hashing', got {self.text_encoder!r}"
            )
        if self.batch_size < 2:
            raise ValueError(f"PromptCLIPConfig.batch_size must be >= 2, got {self.batch_size}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def loop_config(self) -> PretrainConfig:
        """The equivalent ALIGN :class:`PretrainConfig` (the loop settings are shared)."""
        return PretrainConfig(
            method="align",
            epochs=self.epochs,
            batch_size=self.batch_size,
            lr=self.lr,
            temperature_lr_scale=self.temperature_lr_scale,
            weight_decay=self.weight_decay,
            warmup_epochs=self.warmup_epochs,
            grad_clip=self.grad_clip,
            seed=self.seed,
            device=self.device,
            amp=self.amp,
            monitor=self.monitor,
            patience=self.patience,
            max_steps_per_epoch=self.max_steps_per_epoch,
            progress=self.progress,
        )


class PromptCLIPModel(nn.Module):
    """X-ray encoder + text side + CLIP loss; ``forward(batch)`` returns the loss terms.

    Args:
        cxr_encoder: ``(B, C, H, W) -> (B, d_cxr)``.
        cxr_head: ``(B, d_cxr) -> (B, D)``.
        text_head: ``(B, d_text) -> (B, D)``.
        criterion: a :class:`~medmod_lib.losses.CLIPLoss`.
        text_encoder: ``texts -> (B, d_text)`` trained end to end, or ``None`` to read
            frozen embeddings from ``batch["text_embedding"]`` (B, V, d_text).
    """

    method = METHOD
    ehr_encoder = None
    views = "text"

    def __init__(
        self,
        *,
        cxr_encoder: nn.Module,
        cxr_head: nn.Module,
        text_head: nn.Module,
        criterion: CLIPLoss,
        text_encoder: nn.Module | None = None,
    ) -> None:
        super().__init__()
        self.cxr_encoder, self.cxr_head = cxr_encoder, cxr_head
        self.text_encoder, self.text_head = text_encoder, text_head
        self.criterion = criterion

    def pair_mask(self, batch: dict[str, Any]) -> torch.Tensor:
        """Rows with an image and a prompt: bool (B,)."""
        mask = batch["paired"].bool()
        if "has_text" in batch:
            mask = mask & batch["has_text"].bool().to(mask.device)
        return mask

    def encode_image(self, image: torch.Tensor) -> torch.Tensor:
        """Encoder features (B, d_cxr) of images (B, C, H, W), uint8 or float."""
        return self.cxr_encoder(as_float_image(image))

    def embed_image(self, image: torch.Tensor) -> torch.Tensor:
        """Projected image embeddings (B, D)."""
        return self.cxr_head(self.encode_image(image))

    def _variants(self, n: int, v: int, device: torch.device) -> torch.Tensor:
        if self.training and v > 1:
            return torch.randint(v, (n,)).to(device)  # global RNG: seeded by the loop
        return torch.zeros(n, dtype=torch.long, device=device)

    def embed_text(self, batch: dict[str, Any], mask: torch.Tensor | None = None) -> torch.Tensor:
        """Projected text embeddings (N, D) of the rows in ``mask`` (default all).

        Training picks one random variant per row; evaluation the canonical prompt.
        """
        device = next(self.parameters()).device
        if self.text_encoder is None:
            if "text_embedding" not in batch:
                raise KeyError(
                    "The frozen-text model needs batch['text_embedding'] (B, V, D); build the "
                    "datasets with prompt_datasets(..., cache_dir=...)."
                )
            emb = batch["text_embedding"]
            emb = emb if mask is None else emb[mask.to(emb.device)]
            pick = self._variants(len(emb), emb.shape[1], emb.device)
            feats = emb[torch.arange(len(emb), device=emb.device), pick].to(device)
        else:
            rows = batch["prompts"]
            if mask is not None:
                rows = [r for r, keep in zip(rows, mask.tolist(), strict=True) if keep]
            pick = self._variants(len(rows), len(rows[0]) if rows else 1, torch.device("cpu"))
            feats = self.text_encoder([r[int(k)] for r, k in zip(rows, pick, strict=True)])
        return self.text_head(feats.float())

    def forward(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        """Loss, ``temperature``, ``n_pairs``, ``n_unpaired`` (and ``skip`` below 2 pairs)."""
        mask = self.pair_mask(batch)
        n_pairs = int(mask.sum())
        counts = {
            "n_pairs": torch.tensor(float(n_pairs)),
            "n_unpaired": torch.tensor(float(mask.numel() - n_pairs)),
        }
        if n_pairs < 2:
            zero = sum(p.sum() for p in self.parameters()) * 0.0
            return {"loss": zero, **counts, "skip": torch.tensor(True)}
        z_img = self.embed_image(batch["image"][mask.to(batch["image"].device)]).float()
        z_txt = self.embed_text(batch, mask).float()
        loss = self.criterion(z_img, z_txt)
        return {"loss": loss, "temperature": torch.tensor(self.criterion.temperature), **counts}


def build_prompt_model(config: PromptCLIPConfig) -> PromptCLIPModel:
    """Encoders, heads and loss for ``config`` (call after seeding for a reproducible init)."""
    cxr = ResNetEncoder(config.cxr_arch, in_channels=config.cxr_in_channels, weights=None)
    text_encoder = None
    text_in = config.text_dim
    if config.text_encoder == "hashing":
        text_encoder = HashingTextEncoder(dim=config.hashing_dim)
        text_in = config.hashing_dim
    return PromptCLIPModel(
        cxr_encoder=cxr,
        cxr_head=nn.Linear(cxr.out_dim, config.embed_dim),
        text_head=ProjectionHead(
            text_in, config.text_hidden_dim, config.embed_dim, config.text_layers
        ),
        criterion=CLIPLoss(
            temperature=config.temperature, learnable=True, decoupled=config.decoupled
        ),
        text_encoder=text_encoder,
    )


def pretrain_prompts(
    config: PromptCLIPConfig,
    train_loader: DataLoader,
    val_loader: DataLoader | None = None,
    *,
    out_dir: str | Path | None = None,
    probe_fn=None,
    model: PromptCLIPModel | None = None,
    stop_after_epoch: int | None = None,
) -> PretrainResult:
    """Train a :class:`PromptCLIPModel` through :func:`medmod_lib.training.fit`.

    Args:
        config: the run's settings.
        train_loader: :class:`~medmod_lib.prompts.PromptData` batches (paired rows used,
            the others counted in ``n_unpaired``).
        val_loader: optional; its mean loss is logged as ``val_loss``.
        out_dir: checkpoints and ``log.csv``; a rerun with the same folder resumes.
        probe_fn: per-epoch validation ``fn(model, epoch) -> {"val_auroc": ...}``, e.g.
            :func:`medmod_lib.pretrain.make_probe_fn` with ``features="cxr"``.
        model: a prebuilt model (default: :func:`build_prompt_model` after seeding).
        stop_after_epoch: stop after this epoch as if interrupted.

    Returns:
        A :class:`~medmod_lib.pretrain.PretrainResult` whose ``config`` is ``config``.
    """
    if model is None:
        seed_everything(config.seed)
        model = build_prompt_model(config)
    return fit_pretraining(
        model,
        config,
        train_loader,
        val_loader,
        loop=config.loop_config(),
        out_dir=out_dir,
        probe_fn=probe_fn,
        stop_after_epoch=stop_after_epoch,
        run_info={"pretrain": {"method": METHOD, **config.to_dict()}},
    )
