"""The pretraining model: two encoders, two heads, one self-supervised loss.

``PretrainModel.forward(batch)`` returns the loss and its logged terms, so the
one training loop (and DDP) can call it directly. Only rows with both an EHR
sequence and an image (``paired``) are used; the others are counted
(``n_unpaired``) and skipped, never silently mixed in as zero images.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..encoders import LSTMEncoder, ProjectionHead, ResNetEncoder
from ..losses import CLIPLoss, MedModSimCLRLoss, NTXentLoss, VICRegLoss
from .config import PretrainConfig


def as_float_image(image: torch.Tensor) -> torch.Tensor:
    """uint8 images (the image cache) to float in [0, 1]; float images unchanged."""
    return image.float().div_(255.0) if image.dtype == torch.uint8 else image


def swap_pairs(
    z: torch.Tensor, fraction: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """MedMod's ALIGN noisy-pair augmentation (``_swap``).

    ``round(fraction * B)`` rows drawn from ``[0, 0.4 B)`` exchange places with as
    many rows drawn from ``[0.6 B, 0.8 B)``, creating deliberately mismatched pairs.

    Args:
        z: embeddings of one modality, shape (B, D).
        fraction: share of the batch to swap (MedMod about 0.16-0.2).
        generator: RNG for the choice (default: torch's global RNG).

    Returns:
        A permuted copy of ``z``, shape (B, D).
    """
    b = z.shape[0]
    lo, hi = range(0, int(0.4 * b)), range(int(0.6 * b), int(0.8 * b))
    k = min(round(fraction * b), len(lo), len(hi))
    if k == 0:
        return z
    a = torch.tensor(lo)[torch.randperm(len(lo), generator=generator)[:k]]
    c = torch.tensor(hi)[torch.randperm(len(hi), generator=generator)[:k]]
    perm = torch.arange(b)
    perm[a], perm[c] = c, a
    return z[perm.to(z.device)]


class PretrainModel(nn.Module):
    """EHR encoder + X-ray encoder + projection heads + loss.

    Args:
        ehr_encoder: ``forward(x (B, T, F), lengths (B,)) -> (B, d_ehr)``; may be ``None``
            for intra-modal image pretraining.
        cxr_encoder: ``forward(image (B, C, H, W)) -> (B, d_cxr)``.
        ehr_head: projection of EHR features, (B, d_ehr) -> (B, D).
        cxr_head: projection of image features, (B, d_cxr) -> (B, D).
        criterion: ``criterion(z_a, z_b)`` -> scalar; a VICRegLoss also logs its terms.
        method: ``"simclr"``, ``"vicreg"`` or ``"align"`` (for logging).
        views: ``"cross"`` (EHR vs image) or ``"intra"`` (``image`` vs ``image_view2``).
        swap_fraction: ALIGN noisy-pair share (0 = off); applied in training mode only.
    """

    def __init__(
        self,
        *,
        ehr_encoder: nn.Module | None,
        cxr_encoder: nn.Module,
        ehr_head: nn.Module | None,
        cxr_head: nn.Module,
        criterion: nn.Module,
        method: str,
        views: str = "cross",
        swap_fraction: float = 0.0,
    ) -> None:
        super().__init__()
        if views == "cross" and (ehr_encoder is None or ehr_head is None):
            raise ValueError("views='cross' needs an EHR encoder and head.")
        self.ehr_encoder, self.cxr_encoder = ehr_encoder, cxr_encoder
        self.ehr_head, self.cxr_head = ehr_head, cxr_head
        self.criterion, self.method, self.views = criterion, method, views
        self.swap_fraction = swap_fraction

    def encode_ehr(self, ehr: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Encoder features (B, d_ehr) of EHR inputs (B, T, F) with lengths (B,)."""
        return self.ehr_encoder(ehr, lengths)

    def encode_image(self, image: torch.Tensor) -> torch.Tensor:
        """Encoder features (B, d_cxr) of images (B, C, H, W), uint8 or float."""
        return self.cxr_encoder(as_float_image(image))

    def pair_mask(self, batch: dict[str, Any]) -> torch.Tensor:
        """Rows usable for pretraining: (B,) bool, paired and (if given) with EHR."""
        mask = batch["paired"].bool()
        if "has_ehr" in batch and self.views == "cross":
            mask = mask & batch["has_ehr"].bool()
        return mask

    def embed(self, batch: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
        """Projected embeddings (z_a, z_b), each (N, D), of the N usable rows."""
        m = self.pair_mask(batch)
        if self.views == "intra":
            if "image_view2" not in batch:
                raise KeyError("views='intra' needs a second augmented view under 'image_view2'.")
            z_a = self.cxr_head(self.encode_image(batch["image"][m]))
            z_b = self.cxr_head(self.encode_image(batch["image_view2"][m]))
            return z_a, z_b
        z_a = self.ehr_head(self.encode_ehr(batch["ehr"][m], batch["ehr_lengths"][m]))
        z_b = self.cxr_head(self.encode_image(batch["image"][m]))
        return z_a, z_b

    def forward(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        """Loss and logged terms of one batch.

        Returns:
            ``loss`` (scalar), method terms (VICReg: ``invariance``, ``variance``,
            ``covariance``; ALIGN: ``temperature``), ``n_pairs`` and ``n_unpaired``
            (counts), and ``skip`` (True when fewer than 2 pairs remain; the loss is
            then a zero connected to every parameter so DDP stays in step).
        """
        mask = self.pair_mask(batch)
        n_pairs = int(mask.sum())
        counts = {
            "n_pairs": torch.tensor(float(n_pairs)),
            "n_unpaired": torch.tensor(float(mask.numel() - n_pairs)),
        }
        if n_pairs < 2:
            zero = sum(p.sum() for p in self.parameters()) * 0.0
            return {"loss": zero, **counts, "skip": torch.tensor(True)}
        z_a, z_b = self.embed(batch)
        z_a, z_b = z_a.float(), z_b.float()  # losses in fp32 under autocast
        if self.swap_fraction > 0 and self.training:
            z_a = swap_pairs(z_a, self.swap_fraction)
        out: dict[str, torch.Tensor] = {}
        if isinstance(self.criterion, VICRegLoss):
            out = self.criterion.terms(z_a, z_b)
        else:
            out["loss"] = self.criterion(z_a, z_b)
            if isinstance(self.criterion, CLIPLoss):
                out["temperature"] = torch.tensor(self.criterion.temperature)
        return {**out, **counts}


def build_pretrain_model(config: PretrainConfig) -> PretrainModel:
    """Encoders, heads and loss for ``config`` (call after seeding for reproducible init).

    SimCLR/VICReg: LSTM -> ProjectionHead(d_ehr), ResNet -> ProjectionHead(512)
    (MedMod's 3-layer 128-d g(.)). ALIGN: LSTM -> Linear(d_ehr, 512),
    ResNet -> Linear(512, 512), CLIP loss with a learnable, clamped temperature.
    """
    cxr = ResNetEncoder(config.cxr_arch, in_channels=config.cxr_in_channels, weights=None)
    ehr = None
    if config.views == "cross":
        ehr = LSTMEncoder(
            config.ehr_input_dim, config.ehr_hidden_dim, config.ehr_layers, config.ehr_dropout
        )
    if config.method == "align":
        cxr_head: nn.Module = nn.Linear(cxr.out_dim, config.align_dim)
        ehr_head = nn.Linear(ehr.out_dim, config.align_dim) if ehr is not None else None
        criterion: nn.Module = CLIPLoss(
            temperature=config.resolved_temperature, learnable=True, decoupled=config.decoupled
        )
    else:

        def head(d: int) -> nn.Module:
            return ProjectionHead(d, config.proj_hidden_dim, config.proj_dim, config.proj_layers)

        cxr_head = head(cxr.out_dim)
        ehr_head = head(ehr.out_dim) if ehr is not None else None
        if config.method == "simclr" and config.simclr_loss == "medmod":
            criterion = MedModSimCLRLoss(config.resolved_temperature)
        elif config.method == "simclr":
            criterion = NTXentLoss(config.resolved_temperature, decoupled=config.decoupled)
        else:
            criterion = VICRegLoss(config.sim_coeff, config.std_coeff, config.cov_coeff)
    return PretrainModel(
        ehr_encoder=ehr,
        cxr_encoder=cxr,
        ehr_head=ehr_head,
        cxr_head=cxr_head,
        criterion=criterion,
        method=config.method,
        views=config.views,
        swap_fraction=config.swap_fraction,
    )
