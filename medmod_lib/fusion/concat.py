"""Early and joint fusion: concatenate EHR features with projected X-ray features."""

from __future__ import annotations

import torch
from torch import nn

from ..encoders.heads import linear_head
from .base import FusionModel
from .tokens import MissingImageToken


class ConcatFusion(FusionModel):
    """``Linear(concat(EHR feat, Linear(CXR feat -> EHR dim)))`` (MedFuse early/joint).

    Early fusion (``freeze_encoders=True``) trains only the projection and the
    classifier on top of frozen, pretrained encoders; joint fusion trains
    everything end to end. The projected X-ray vector of unpaired rows is
    replaced by zeros or a learnable missing-image token.

    Args:
        ehr_encoder: EHR encoder with ``out_dim`` E.
        cxr_encoder: image encoder with ``out_dim``.
        num_classes: number of logits K.
        freeze_encoders: True for early fusion, False for joint fusion.
        missing: ``"zeros"`` or ``"learnable"``.

    Examples:
        >>> from medmod_lib.encoders import LSTMEncoder, ResNetEncoder
        >>> m = ConcatFusion(LSTMEncoder(76, 16), ResNetEncoder("resnet18", 1), 1)
        >>> m(torch.randn(2, 5, 76), torch.tensor([5, 3]), torch.randn(2, 1, 64, 64),
        ...   torch.tensor([True, False])).shape
        torch.Size([2, 1])
    """

    def __init__(
        self,
        ehr_encoder: nn.Module,
        cxr_encoder: nn.Module,
        num_classes: int,
        freeze_encoders: bool = False,
        missing: str = "zeros",
    ) -> None:
        super().__init__(ehr_encoder, cxr_encoder, num_classes, freeze_encoders)
        e = ehr_encoder.out_dim
        self.projection = nn.Linear(cxr_encoder.out_dim, e)
        self.missing = MissingImageToken(e, missing)
        self.classifier = linear_head(2 * e, num_classes)

    def _features(
        self,
        ehr: torch.Tensor,
        ehr_lengths: torch.Tensor,
        image: torch.Tensor,
        paired: torch.Tensor,
    ) -> torch.Tensor:
        """Concatenated features (B, 2E)."""
        ehr_feats = self.encode_ehr(ehr, ehr_lengths)
        cxr = self.missing(self.projection(self.encode_image(image, paired)), paired)
        return torch.cat([ehr_feats, cxr], dim=1)
