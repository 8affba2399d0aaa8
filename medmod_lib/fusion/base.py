"""Shared interface of every supervised model: ``(ehr, ehr_lengths, image, paired) -> logits``."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn


def freeze(module: nn.Module) -> nn.Module:
    """Stop gradients through ``module`` (its parameters get ``requires_grad=False``)."""
    for p in module.parameters():
        p.requires_grad_(False)
    return module


class FusionModel(nn.Module):
    """Base class of the fusion models and unimodal baselines.

    Every subclass maps a model batch (CONTRIBUTING "Model batches") to logits
    (B, num_classes) via ``forward(ehr, ehr_lengths, image, paired)``. The
    X-ray encoder only ever sees the rows where ``paired`` is True (see
    :meth:`encode_image`), so the zero images of unpaired rows neither reach
    the outputs nor the BatchNorm statistics.

    Args:
        ehr_encoder: module ``(x (B, T, D), lengths (B,)) -> (B, ehr_encoder.out_dim)``,
            or ``None`` for an image-only model.
        cxr_encoder: module ``image (B, C, H, W) -> (B, cxr_encoder.out_dim)``, or ``None``.
        num_classes: number of logits K.
        freeze_encoders: freeze both encoders and keep them in eval mode
            (BatchNorm and dropout fixed), as in MedFuse's early fusion.
    """

    def __init__(
        self,
        ehr_encoder: nn.Module | None,
        cxr_encoder: nn.Module | None,
        num_classes: int,
        freeze_encoders: bool = False,
    ) -> None:
        super().__init__()
        if num_classes < 1:
            raise ValueError(f"{type(self).__name__}: num_classes must be >= 1, got {num_classes}")
        for name, enc in (("ehr_encoder", ehr_encoder), ("cxr_encoder", cxr_encoder)):
            if enc is not None and not isinstance(getattr(enc, "out_dim", None), int):
                raise ValueError(
                    f"{type(self).__name__}: {name} {type(enc).__name__} needs an integer "
                    "`out_dim` attribute (its feature size)."
                )
        self.ehr_encoder, self.cxr_encoder = ehr_encoder, cxr_encoder
        self.num_classes = num_classes
        self.freeze_encoders = freeze_encoders
        if freeze_encoders:
            for enc in (ehr_encoder, cxr_encoder):
                if enc is not None:
                    freeze(enc).eval()

    def train(self, mode: bool = True) -> FusionModel:
        """Set training mode; frozen encoders stay in eval mode."""
        super().train(mode)
        if self.freeze_encoders:
            for enc in (self.ehr_encoder, self.cxr_encoder):
                if enc is not None:
                    enc.eval()
        return self

    @staticmethod
    def check_inputs(
        ehr: torch.Tensor, ehr_lengths: torch.Tensor, image: torch.Tensor, paired: torch.Tensor
    ) -> None:
        """Check that the four batch tensors agree on the batch size B.

        Raises:
            ValueError: naming the shapes, if ``paired`` is not a bool (B,) tensor
                or any tensor has another batch size.
        """
        b = ehr.shape[0]
        if paired.dtype != torch.bool or paired.shape != (b,):
            raise ValueError(
                f"fusion model: paired must be a bool tensor of shape ({b},), got dtype "
                f"{paired.dtype} and shape {tuple(paired.shape)}; use paired.bool()."
            )
        if ehr_lengths.shape != (b,) or image.dim() != 4 or image.shape[0] != b:
            raise ValueError(
                f"fusion model: batch sizes disagree: ehr {tuple(ehr.shape)}, ehr_lengths "
                f"{tuple(ehr_lengths.shape)}, image {tuple(image.shape)} (expected (B, C, H, W))"
            )

    def encode_ehr(self, ehr: torch.Tensor, ehr_lengths: torch.Tensor) -> torch.Tensor:
        """EHR features (B, ehr_encoder.out_dim); no gradient if the encoders are frozen."""
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.freeze_encoders):
            return self.ehr_encoder(ehr, ehr_lengths)

    def encode_image(self, image: torch.Tensor, paired: torch.Tensor) -> torch.Tensor:
        """X-ray features of the paired rows, zeros elsewhere.

        Args:
            image: (B, C, H, W); rows where ``paired`` is False are ignored.
            paired: bool (B,).

        Returns:
            (B, cxr_encoder.out_dim); the encoder runs on ``image[paired]`` only.
        """
        b = image.shape[0]
        idx = paired.nonzero(as_tuple=True)[0]
        if idx.numel() == 0:
            return image.new_zeros((b, self.cxr_encoder.out_dim))
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.freeze_encoders):
            feats = self.cxr_encoder(image[idx])
        out = feats.new_zeros((b, feats.shape[1]))
        return out.index_copy(0, idx, feats)

    def _unpack(
        self,
        ehr: torch.Tensor | Mapping[str, torch.Tensor],
        ehr_lengths: torch.Tensor | None,
        image: torch.Tensor | None,
        paired: torch.Tensor | None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        if isinstance(ehr, Mapping):
            if not (ehr_lengths is None and image is None and paired is None):
                raise ValueError(f"{type(self).__name__}: pass either a batch dict or four tensors")
            missing = [k for k in ("ehr", "ehr_lengths", "image", "paired") if k not in ehr]
            if missing:
                raise ValueError(f"{type(self).__name__}: batch dict lacks keys {missing}")
            ehr, ehr_lengths, image, paired = (
                ehr["ehr"],
                ehr["ehr_lengths"],
                ehr["image"],
                ehr["paired"],
            )
        if ehr_lengths is None or image is None or paired is None:
            raise ValueError(
                f"{type(self).__name__}: needs ehr, ehr_lengths, image and paired "
                "(or one batch dict with these keys)"
            )
        self.check_inputs(ehr, ehr_lengths, image, paired)
        return ehr, ehr_lengths, image, paired

    def forward(
        self,
        ehr: torch.Tensor | Mapping[str, torch.Tensor],
        ehr_lengths: torch.Tensor | None = None,
        image: torch.Tensor | None = None,
        paired: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Logits for a batch.

        Args:
            ehr: normalised inputs (B, T, D), zero-padded; or a whole batch dict
                with keys ``ehr``, ``ehr_lengths``, ``image``, ``paired`` (then
                leave the other arguments out), so ``model(batch)`` works under DDP.
            ehr_lengths: valid bins per sample, long (B,).
            image: X-rays (B, C, H, W); rows with ``paired`` False are ignored.
            paired: bool (B,), True where the sample has an image.

        Returns:
            Logits (B, num_classes).
        """
        return self._logits(*self._unpack(ehr, ehr_lengths, image, paired))

    def features(
        self,
        ehr: torch.Tensor | Mapping[str, torch.Tensor],
        ehr_lengths: torch.Tensor | None = None,
        image: torch.Tensor | None = None,
        paired: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Features fed to the classifier, (B, F); same arguments as :meth:`forward`."""
        return self._features(*self._unpack(ehr, ehr_lengths, image, paired))

    def forward_batch(self, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Same as ``self(batch)``."""
        return self(batch)

    def _features(
        self,
        ehr: torch.Tensor,
        ehr_lengths: torch.Tensor,
        image: torch.Tensor,
        paired: torch.Tensor,
    ) -> torch.Tensor:
        raise NotImplementedError

    def _logits(
        self,
        ehr: torch.Tensor,
        ehr_lengths: torch.Tensor,
        image: torch.Tensor,
        paired: torch.Tensor,
    ) -> torch.Tensor:
        return self.classifier(self._features(ehr, ehr_lengths, image, paired))
