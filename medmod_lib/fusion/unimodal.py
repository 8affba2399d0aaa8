"""Unimodal baselines with the fusion interface."""

from __future__ import annotations

import torch
from torch import nn

from ..encoders.heads import linear_head
from .base import FusionModel


class EHROnly(FusionModel):
    """EHR encoder -> Linear; the image and ``paired`` are ignored.

    Args:
        ehr_encoder: EHR encoder with ``out_dim``.
        num_classes: number of logits K.
        freeze_encoders: train the classifier only (linear probe).
    """

    def __init__(
        self, ehr_encoder: nn.Module, num_classes: int, freeze_encoders: bool = False
    ) -> None:
        super().__init__(ehr_encoder, None, num_classes, freeze_encoders)
        self.classifier = linear_head(ehr_encoder.out_dim, num_classes)

    def _features(
        self,
        ehr: torch.Tensor,
        ehr_lengths: torch.Tensor,
        image: torch.Tensor,
        paired: torch.Tensor,
    ) -> torch.Tensor:
        """EHR features (B, ehr_encoder.out_dim)."""
        return self.encode_ehr(ehr, ehr_lengths)


class CXROnly(FusionModel):
    """X-ray encoder -> Linear.

    Unpaired rows get zero features, so their logits are the classifier bias:
    a constant, not a prediction. Mask them out (``paired``) in losses and metrics.

    Args:
        cxr_encoder: image encoder with ``out_dim``.
        num_classes: number of logits K.
        freeze_encoders: train the classifier only (linear probe).
    """

    def __init__(
        self, cxr_encoder: nn.Module, num_classes: int, freeze_encoders: bool = False
    ) -> None:
        super().__init__(None, cxr_encoder, num_classes, freeze_encoders)
        self.classifier = linear_head(cxr_encoder.out_dim, num_classes)

    def _features(
        self,
        ehr: torch.Tensor,
        ehr_lengths: torch.Tensor,
        image: torch.Tensor,
        paired: torch.Tensor,
    ) -> torch.Tensor:
        """Image features (B, cxr_encoder.out_dim), zeros for unpaired rows."""
        return self.encode_image(image, paired)
