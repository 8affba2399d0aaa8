"""Late fusion: average of the unimodal predicted probabilities."""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import nn

from ..encoders.heads import linear_head
from .base import FusionModel

ACTIVATIONS: tuple[str, ...] = ("sigmoid", "softmax")


def average_probability_logits(
    a: torch.Tensor, b: torch.Tensor, activation: str = "sigmoid"
) -> torch.Tensor:
    """Logits whose probabilities are the mean of those of ``a`` and ``b``.

    Computed in log space, so it is stable for large logits.

    Args:
        a: logits (B, K).
        b: logits (B, K).
        activation: ``"sigmoid"`` (multi-label/binary) or ``"softmax"`` (multi-class);
            for softmax the result is the log of the mean probabilities.

    Returns:
        (B, K) with ``act(out) == (act(a) + act(b)) / 2``.
    """
    if activation == "sigmoid":
        log_p = torch.logaddexp(F.logsigmoid(a), F.logsigmoid(b))
        log_q = torch.logaddexp(F.logsigmoid(-a), F.logsigmoid(-b))
        return log_p - log_q
    if activation == "softmax":
        return torch.logaddexp(F.log_softmax(a, dim=1), F.log_softmax(b, dim=1)) - math.log(2.0)
    raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")


class LateFusion(FusionModel):
    """Average of an EHR classifier and an X-ray classifier (MedFuse late fusion).

    Each modality has its own Linear head. For paired rows the output's
    probabilities are the mean of the two unimodal probabilities; for unpaired
    rows the output is the EHR logits alone. Outputs are logits: apply the
    same ``activation`` to read probabilities.

    Args:
        ehr_encoder: EHR encoder with ``out_dim``.
        cxr_encoder: image encoder with ``out_dim``.
        num_classes: number of logits K.
        freeze_encoders: freeze both encoders (train the two heads only).
        activation: ``"sigmoid"`` (binary/multi-label tasks) or ``"softmax"`` (LOS bins).
    """

    def __init__(
        self,
        ehr_encoder: nn.Module,
        cxr_encoder: nn.Module,
        num_classes: int,
        freeze_encoders: bool = False,
        activation: str = "sigmoid",
    ) -> None:
        super().__init__(ehr_encoder, cxr_encoder, num_classes, freeze_encoders)
        if activation not in ACTIVATIONS:
            raise ValueError(
                f"LateFusion: activation must be one of {ACTIVATIONS}, got {activation!r}"
            )
        self.activation = activation
        self.ehr_head = linear_head(ehr_encoder.out_dim, num_classes)
        self.cxr_head = linear_head(cxr_encoder.out_dim, num_classes)

    def _features(
        self,
        ehr: torch.Tensor,
        ehr_lengths: torch.Tensor,
        image: torch.Tensor,
        paired: torch.Tensor,
    ) -> torch.Tensor:
        """Concatenated unimodal features (B, E + C), image part zero when unpaired."""
        return torch.cat([self.encode_ehr(ehr, ehr_lengths), self.encode_image(image, paired)], 1)

    def unimodal_logits(
        self,
        ehr: torch.Tensor | Mapping[str, torch.Tensor],
        ehr_lengths: torch.Tensor | None = None,
        image: torch.Tensor | None = None,
        paired: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """EHR logits and X-ray logits, each (B, K); X-ray rows are bias only when unpaired.

        Same arguments as :meth:`forward`.
        """
        return self._unimodal(*self._unpack(ehr, ehr_lengths, image, paired))

    def _unimodal(
        self,
        ehr: torch.Tensor,
        ehr_lengths: torch.Tensor,
        image: torch.Tensor,
        paired: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        ehr_logits = self.ehr_head(self.encode_ehr(ehr, ehr_lengths))
        cxr_logits = self.cxr_head(self.encode_image(image, paired))
        return ehr_logits, cxr_logits

    def _logits(
        self,
        ehr: torch.Tensor,
        ehr_lengths: torch.Tensor,
        image: torch.Tensor,
        paired: torch.Tensor,
    ) -> torch.Tensor:
        """Logits (B, K)."""
        ehr_logits, cxr_logits = self._unimodal(ehr, ehr_lengths, image, paired)
        fused = average_probability_logits(ehr_logits, cxr_logits, self.activation)
        return torch.where(paired[:, None], fused, ehr_logits)
