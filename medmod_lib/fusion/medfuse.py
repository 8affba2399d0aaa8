"""MedFuse: an LSTM over the sequence of modality features (Hayat et al., MLHC 2022)."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from ..encoders.heads import linear_head
from .base import FusionModel
from .tokens import MissingImageToken

MEDFUSE_MISSING: tuple[str, ...] = ("drop", "zeros", "learnable")


class MedFuseLSTM(FusionModel):
    """MedFuse ``fusion_type lstm``.

    1. Project the X-ray features to the EHR feature size E.
    2. Build the sequence [EHR feature, projected X-ray feature].
    3. Run a 1-layer LSTM (hidden ``fusion_hidden``) over it and classify its
       last hidden state.

    With ``missing="drop"`` (MedFuse) unpaired rows get a sequence of length 1,
    so the fusion LSTM never sees a missing image. With ``"zeros"`` or
    ``"learnable"`` every sequence has length 2 and unpaired rows carry zeros or
    a learnable missing-image token (MedFuse ``*_with_tokens``).

    Args:
        ehr_encoder: EHR encoder with ``out_dim`` E.
        cxr_encoder: image encoder with ``out_dim``.
        num_classes: number of logits K.
        fusion_hidden: hidden size of the fusion LSTM (MedFuse 512).
        dropout: dropout on the fused feature before the classifier.
        freeze_encoders: freeze both encoders.
        missing: ``"drop"``, ``"zeros"`` or ``"learnable"``.
    """

    def __init__(
        self,
        ehr_encoder: nn.Module,
        cxr_encoder: nn.Module,
        num_classes: int,
        fusion_hidden: int = 512,
        dropout: float = 0.0,
        freeze_encoders: bool = False,
        missing: str = "drop",
    ) -> None:
        super().__init__(ehr_encoder, cxr_encoder, num_classes, freeze_encoders)
        if missing not in MEDFUSE_MISSING:
            raise ValueError(
                f"MedFuseLSTM: missing must be one of {MEDFUSE_MISSING}, got {missing!r}"
            )
        e = ehr_encoder.out_dim
        self.missing_mode = missing
        self.projection = nn.Linear(cxr_encoder.out_dim, e)
        self.missing = MissingImageToken(e, "zeros" if missing == "drop" else missing)
        self.fusion_lstm = nn.LSTM(e, fusion_hidden, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.classifier = linear_head(fusion_hidden, num_classes)

    def _features(
        self,
        ehr: torch.Tensor,
        ehr_lengths: torch.Tensor,
        image: torch.Tensor,
        paired: torch.Tensor,
    ) -> torch.Tensor:
        """Last hidden state of the fusion LSTM, (B, fusion_hidden)."""
        ehr_feats = self.encode_ehr(ehr, ehr_lengths)
        cxr = self.missing(self.projection(self.encode_image(image, paired)), paired)
        seq = torch.stack([ehr_feats, cxr], dim=1)  # (B, 2, E)
        if self.missing_mode == "drop":
            lengths = 1 + paired.long().cpu()
        else:
            lengths = torch.full((seq.shape[0],), 2, dtype=torch.long)
        packed = pack_padded_sequence(seq, lengths, batch_first=True, enforce_sorted=False)
        _, (h_n, _) = self.fusion_lstm(packed)
        return h_n[-1]

    def _logits(
        self,
        ehr: torch.Tensor,
        ehr_lengths: torch.Tensor,
        image: torch.Tensor,
        paired: torch.Tensor,
    ) -> torch.Tensor:
        """Logits (B, K)."""
        return self.classifier(self.dropout(self._features(ehr, ehr_lengths, image, paired)))
