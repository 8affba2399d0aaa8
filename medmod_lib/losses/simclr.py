"""SimCLR NT-Xent loss, standard and decoupled.

Reference: Chen et al., "A Simple Framework for Contrastive Learning of Visual
Representations", ICML 2020 (arXiv 2002.05709). Decoupled variant: Yeh et al.,
"Decoupled Contrastive Learning", ECCV 2022 (arXiv 2110.06848).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ._checks import check_pair, float32


def nt_xent_loss(
    z_a: torch.Tensor,
    z_b: torch.Tensor,
    temperature: float = 0.1,
    decoupled: bool = False,
) -> torch.Tensor:
    """NT-Xent (normalised temperature-scaled cross-entropy) over 2N embeddings.

    The two batches are L2-normalised and stacked into 2N embeddings. For each
    embedding the positive is the other view of the same sample; the other
    2N - 2 embeddings (both views of every other sample) are negatives, and the
    embedding itself is never in the denominator. The loss is the mean over all
    2N anchors of ``-log(exp(s_pos) / sum_k exp(s_k))`` with ``s = cos / T``.

    - ``decoupled=False`` (standard SimCLR): the positive is *included* in the
      denominator, so the loss is a cross-entropy and is always >= 0.
    - ``decoupled=True`` (DCL, Yeh et al. 2022): the positive is *excluded*
      from the denominator, so only negatives appear there and the loss can be
      negative.

    Works for intra-modal pairs (two augmented views) and cross-modal pairs
    (EHR and X-ray embeddings of the same stay) alike. Neither setting is
    MedMod's cross-modal "SimCLR" loss, which has no intra-modal negatives and
    sums its two directions: use
    :func:`~medmod_lib.losses.medmod_simclr.medmod_simclr_loss` for that.

    Args:
        z_a: first view / modality, shape (N, D), N >= 2.
        z_b: second view / modality, shape (N, D); row i pairs with z_a row i.
        temperature: softmax temperature T > 0 (SimCLR 0.1-0.5; MedMod 0.01).
        decoupled: exclude the positive from the denominator (DCL).

    Returns:
        Scalar float32 loss tensor (computed in float32 even under autocast).

    Raises:
        ValueError: on non-2-D inputs, mismatched shapes, N < 2 or T <= 0.

    Examples:
        >>> z_a, z_b = torch.randn(8, 16), torch.randn(8, 16)
        >>> loss = nt_xent_loss(z_a, z_b, temperature=0.1)
        >>> loss.shape
        torch.Size([])
    """
    check_pair(z_a, z_b, "nt_xent_loss")
    if temperature <= 0:
        raise ValueError(f"nt_xent_loss: temperature must be > 0, got {temperature}")
    n = z_a.shape[0]
    with float32(z_a.device):
        z = F.normalize(torch.cat([z_a, z_b], dim=0).float(), dim=1)  # (2N, D)
        sim = z @ z.T / temperature  # (2N, 2N)
        idx = torch.arange(2 * n, device=z.device)
        positive = torch.cat([idx[n:], idx[:n]])  # index of the other view
        mask = torch.eye(2 * n, dtype=torch.bool, device=z.device)
        if decoupled:
            mask[idx, positive] = True
        logits = sim.masked_fill(mask, float("-inf"))
        pos = sim[idx, positive]  # (2N,)
        return (torch.logsumexp(logits, dim=1) - pos).mean()


class NTXentLoss(nn.Module):
    """Module wrapper of :func:`nt_xent_loss` (SimCLR, Chen et al. 2020).

    Args:
        temperature: softmax temperature T > 0.
        decoupled: exclude the positive from the denominator (DCL).

    Examples:
        >>> criterion = NTXentLoss(temperature=0.1)
        >>> loss = criterion(torch.randn(8, 16), torch.randn(8, 16))
    """

    def __init__(self, temperature: float = 0.1, decoupled: bool = False) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError(f"NTXentLoss: temperature must be > 0, got {temperature}")
        self.temperature = float(temperature)
        self.decoupled = bool(decoupled)

    def forward(self, z_a: torch.Tensor, z_b: torch.Tensor) -> torch.Tensor:
        """Loss for two (N, D) embedding batches; returns a scalar."""
        return nt_xent_loss(z_a, z_b, self.temperature, self.decoupled)

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}, decoupled={self.decoupled}"
