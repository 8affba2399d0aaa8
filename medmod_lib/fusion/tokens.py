"""What replaces the image features of samples without an X-ray."""

from __future__ import annotations

import torch
from torch import nn

MISSING_MODES: tuple[str, ...] = ("zeros", "learnable")


class MissingImageToken(nn.Module):
    """Replace the (projected) image vectors of unpaired rows.

    ``"zeros"`` writes zeros; ``"learnable"`` writes one shared ``nn.Parameter``
    (MedFuse ``--missing_token learnable``), initialised N(0, 0.02^2).

    Args:
        dim: vector size.
        mode: ``"zeros"`` or ``"learnable"``.

    Examples:
        >>> tok = MissingImageToken(4, "learnable")
        >>> tok(torch.ones(2, 4), torch.tensor([True, False])).shape
        torch.Size([2, 4])
    """

    def __init__(self, dim: int, mode: str = "zeros") -> None:
        super().__init__()
        if mode not in MISSING_MODES:
            raise ValueError(
                f"MissingImageToken: mode must be one of {MISSING_MODES}, got {mode!r}"
            )
        self.mode = mode
        self.token = nn.Parameter(torch.randn(dim) * 0.02) if mode == "learnable" else None

    def forward(self, vectors: torch.Tensor, paired: torch.Tensor) -> torch.Tensor:
        """Args: vectors (B, dim); paired bool (B,). Returns (B, dim)."""
        fill = self.token if self.token is not None else vectors.new_zeros(vectors.shape[1])
        return torch.where(paired[:, None], vectors, fill.to(vectors.dtype).expand_as(vectors))

    def extra_repr(self) -> str:
        return f"mode={self.mode!r}"
