"""Input validation shared by the self-supervised losses."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


def check_pair(z_a: torch.Tensor, z_b: torch.Tensor, loss: str) -> None:
    """Check that two embedding batches can be compared row by row.

    Args:
        z_a: embeddings of the first view or modality, shape (N, D).
        z_b: embeddings of the second view or modality, shape (N, D).
        loss: name of the calling loss, used in the error message.

    Raises:
        ValueError: if either tensor is not 2-D, the shapes differ, or N < 2.
    """
    if z_a.dim() != 2 or z_b.dim() != 2:
        raise ValueError(
            f"{loss}: expected two 2-D tensors (N, D), got z_a {tuple(z_a.shape)} and "
            f"z_b {tuple(z_b.shape)}; flatten the embeddings to (batch, dim) first."
        )
    if z_a.shape != z_b.shape:
        raise ValueError(
            f"{loss}: z_a and z_b must have the same shape, got z_a {tuple(z_a.shape)} and "
            f"z_b {tuple(z_b.shape)}; row i of both must be the two views of sample i."
        )
    if z_a.shape[0] < 2:
        raise ValueError(
            f"{loss}: needs a batch of at least 2 pairs, got N={z_a.shape[0]} "
            f"(shape {tuple(z_a.shape)}); use drop_last=True or a larger batch."
        )


@contextmanager
def float32(device: torch.device) -> Iterator[None]:
    """Disable autocast so that similarities and statistics are computed in float32.

    Mixed precision (bf16/fp16) loses the small differences that contrastive
    logits at temperature 0.01 and VICReg's covariances depend on; callers cast
    their inputs with ``.float()`` inside this context.
    """
    with torch.autocast(device_type=device.type, enabled=False):
        yield
