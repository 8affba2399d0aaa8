"""Task losses, scores and the encoder + linear-head classifier of the evaluation protocols.

Losses per task, as in the anchors (nyuad-cai/MedFuse ``trainers/fusion_trainer.py``
uses BCE; nyuad-cai/MedMod ``src/models/selfsupervised/models/finetune.py`` uses
cross-entropy for length of stay): binary and multi-label tasks use BCE with logits,
masked by ``label_mask`` (radiology "ignore" policy: unknown labels do not
count); length of stay uses cross-entropy over the 10 bins. Every loss also
takes a row mask, so image-only models learn from paired rows only instead of
from zero images.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

from ..reference import Task
from ..tasks import task_spec

Modality = Literal["ehr", "cxr", "ehr+cxr"]
#: Feature sets of a linear probe / fine-tuned classifier.
MODALITIES: tuple[str, ...] = ("ehr", "cxr", "ehr+cxr")


def check_modality(modality: str) -> str:
    """Return ``modality`` if it is one of :data:`MODALITIES`, else raise ``ValueError``."""
    if modality not in MODALITIES:
        raise ValueError(f"unknown modality {modality!r}; choose one of {list(MODALITIES)}")
    return modality


def task_loss(
    task: str | Task,
    logits: torch.Tensor,
    batch: Mapping[str, Any],
    *,
    row_mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """Mean loss over the known labels of the kept rows.

    Args:
        task: the task.
        logits: (B, K); LOS (B, 10).
        batch: with ``labels`` (B, K) float (LOS: (B,) long) and optionally
            ``label_mask`` (B, K).
        row_mask: (B,) bool, rows that count (default all).

    Returns:
        A scalar; 0 (connected to ``logits``) when no label counts.
    """
    labels = batch["labels"]
    rows = (
        torch.ones(len(logits), dtype=logits.dtype, device=logits.device)
        if row_mask is None
        else row_mask.to(logits.dtype)
    )
    if task_spec(task).loss == "cross_entropy":
        per = F.cross_entropy(logits.float(), labels.long(), reduction="none")
        return (per * rows).sum() / rows.sum().clamp(min=1.0)
    labels = labels.to(logits.dtype).reshape(logits.shape)
    weight = rows[:, None].expand_as(logits)
    if batch.get("label_mask") is not None:
        weight = weight * batch["label_mask"].to(logits.dtype).reshape(logits.shape)
    per = F.binary_cross_entropy_with_logits(logits.float(), labels.float(), reduction="none")
    return (per * weight).sum() / weight.sum().clamp(min=1.0)


def task_scores(task: str | Task, logits: torch.Tensor) -> torch.Tensor:
    """Probabilities from logits: softmax over the LOS bins, sigmoid otherwise."""
    if task_spec(task).kind == "multiclass":
        return torch.softmax(logits.float(), dim=1)
    return torch.sigmoid(logits.float())


def _as_float_image(image: torch.Tensor) -> torch.Tensor:
    return image.float().div(255.0) if image.dtype == torch.uint8 else image


class EncoderClassifier(nn.Module):
    """Encoder features of one or both modalities -> one ``nn.Linear``.

    Features: ``"ehr"`` the EHR encoder's output; ``"cxr"`` the image encoder's
    output (rows without an image get zeros and must be masked out);
    ``"ehr+cxr"`` both concatenated, image features zeroed for unpaired rows,
    plus one column holding the ``paired`` flag so the linear layer can learn
    an offset for the missing image. Projection heads of pretraining are not
    used (MedMod ``fusion_layer`` 0).

    Args:
        ehr_encoder: ``(x (B, T, 76), lengths (B,)) -> (B, d_ehr)`` with ``out_dim``.
        cxr_encoder: ``image (B, C, H, W) -> (B, d_cxr)`` with ``out_dim``.
        modality: one of :data:`MODALITIES`.
        num_classes: logits K.
        freeze_encoders: no gradients through the encoders, which stay in eval
            mode (linear evaluation); False trains them (fine-tuning).
    """

    def __init__(
        self,
        *,
        ehr_encoder: nn.Module | None,
        cxr_encoder: nn.Module | None,
        modality: Modality,
        num_classes: int,
        freeze_encoders: bool,
    ) -> None:
        super().__init__()
        self.modality = check_modality(modality)
        use_ehr, use_cxr = modality in ("ehr", "ehr+cxr"), modality in ("cxr", "ehr+cxr")
        if use_ehr and ehr_encoder is None:
            raise ValueError(f"modality {modality!r} needs an ehr_encoder")
        if use_cxr and cxr_encoder is None:
            raise ValueError(f"modality {modality!r} needs a cxr_encoder")
        self.ehr_encoder = ehr_encoder if use_ehr else None
        self.cxr_encoder = cxr_encoder if use_cxr else None
        self.freeze_encoders = freeze_encoders
        dim = 0
        for enc in (self.ehr_encoder, self.cxr_encoder):
            if enc is not None:
                if not isinstance(getattr(enc, "out_dim", None), int):
                    raise ValueError(f"{type(enc).__name__} needs an integer `out_dim` attribute")
                dim += enc.out_dim
                if freeze_encoders:
                    enc.requires_grad_(False).eval()
        self.feature_dim = dim + (1 if modality == "ehr+cxr" else 0)
        self.head = nn.Linear(self.feature_dim, num_classes)

    def train(self, mode: bool = True) -> EncoderClassifier:
        """Set training mode; frozen encoders stay in eval mode."""
        super().train(mode)
        if self.freeze_encoders:
            for enc in (self.ehr_encoder, self.cxr_encoder):
                if enc is not None:
                    enc.eval()
        return self

    def features(self, batch: Mapping[str, Any]) -> torch.Tensor:
        """Classifier inputs (B, feature_dim) of a batch dict (CONTRIBUTING "Model batches")."""
        parts = []
        paired = batch["paired"].bool()
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.freeze_encoders):
            if self.ehr_encoder is not None:
                parts.append(self.ehr_encoder(batch["ehr"], batch["ehr_lengths"]))
            if self.cxr_encoder is not None:
                image = _as_float_image(batch["image"])
                idx = paired.nonzero(as_tuple=True)[0]
                out = image.new_zeros((len(paired), self.cxr_encoder.out_dim))
                if idx.numel():
                    out = out.index_copy(0, idx, self.cxr_encoder(image[idx]).to(out.dtype))
                parts.append(out)
        if self.modality == "ehr+cxr":
            parts.append(paired.to(parts[0].dtype)[:, None])
        return torch.cat(parts, dim=1)

    def forward(self, batch: Mapping[str, Any]) -> torch.Tensor:
        """Logits (B, K)."""
        return self.head(self.features(batch))

    def row_mask(self, batch: Mapping[str, Any]) -> torch.Tensor | None:
        """Rows a loss or metric may use: paired rows for ``"cxr"``, else all (``None``)."""
        return batch["paired"].bool() if self.modality == "cxr" else None


class FeatureHead(nn.Module):
    """The linear layer of a probe, applied to cached features ``batch["features"]`` (B, F)."""

    def __init__(self, head: nn.Linear, modality: Modality) -> None:
        super().__init__()
        self.head, self.modality = head, check_modality(modality)

    def forward(self, batch: Mapping[str, Any]) -> torch.Tensor:
        """Logits (B, K)."""
        return self.head(batch["features"])

    def row_mask(self, batch: Mapping[str, Any]) -> torch.Tensor | None:
        """Paired rows for ``"cxr"``, else ``None``."""
        return batch["paired"].bool() if self.modality == "cxr" else None
