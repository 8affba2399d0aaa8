"""MedMod's cross-modal "SimCLR" loss: decoupled InfoNCE, both directions summed.

Reference: Elsharief et al., "MedMod: Multimodal Benchmark for Medical
Prediction Tasks with Electronic Health Records and Chest X-Ray Scans",
CHIL 2025; code nyuad-cai/MedMod,
``src/models/selfsupervised/models/simclr_model.py``, ``info_nce_loss``
(lines 107-122). The same expression with a learnable temperature is its
ALIGN criterion (``align_model.py``, ``ContrastiveLoss``, lines 218-245).

Despite the name, this is not SimCLR's NT-Xent
(:func:`~medmod_lib.losses.simclr.nt_xent_loss`), not even with
``decoupled=True``: there are no intra-modal negatives (an image is compared
with EHR embeddings only), the positive is left out of both denominators
(decoupled, Yeh et al. 2022), and the image->EHR and EHR->image terms are
*summed* instead of averaged. It therefore equals
``2 * clip_loss(z_img, z_ehr, 1 / temperature, decoupled=True)``.
"""

from __future__ import annotations

import torch
from torch import nn

from .clip import clip_loss


def medmod_simclr_loss(
    z_img: torch.Tensor, z_ehr: torch.Tensor, temperature: float = 0.01
) -> torch.Tensor:
    """MedMod's cross-modal contrastive loss.

    With ``s_ij = cos(z_img_i, z_ehr_j) / T`` the loss is
    ``-mean_i[(s_ii - logsumexp_{j != i} s_ij) + (s_ii - logsumexp_{j != i} s_ji)]``.
    The expression is symmetric in its two arguments (swapping them transposes s).
    It can be negative, since the positive is not in the denominators.

    Args:
        z_img: X-ray embeddings, shape (N, D), N >= 2.
        z_ehr: EHR embeddings, shape (N, D); row i pairs with row i.
        temperature: T > 0 (MedMod's scripts: 0.01).

    Returns:
        Scalar float32 loss tensor.

    Raises:
        ValueError: on non-2-D inputs, mismatched shapes, N < 2 or T <= 0.

    Examples:
        >>> z_img, z_ehr = torch.randn(8, 16), torch.randn(8, 16)
        >>> loss = medmod_simclr_loss(z_img, z_ehr, temperature=0.01)
        >>> loss.shape
        torch.Size([])
    """
    if temperature <= 0:
        raise ValueError(f"medmod_simclr_loss: temperature must be > 0, got {temperature}")
    return 2.0 * clip_loss(z_img, z_ehr, 1.0 / temperature, decoupled=True)


class MedModSimCLRLoss(nn.Module):
    """Module wrapper of :func:`medmod_simclr_loss` (MedMod's cross-modal SimCLR).

    Args:
        temperature: T > 0 (MedMod's scripts: 0.01).

    Examples:
        >>> criterion = MedModSimCLRLoss(temperature=0.01)
        >>> loss = criterion(torch.randn(8, 16), torch.randn(8, 16))
    """

    def __init__(self, temperature: float = 0.01) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError(f"MedModSimCLRLoss: temperature must be > 0, got {temperature}")
        self.temperature = float(temperature)

    def forward(self, z_a: torch.Tensor, z_b: torch.Tensor) -> torch.Tensor:
        """Loss for two (N, D) embedding batches (either order); returns a scalar."""
        return medmod_simclr_loss(z_a, z_b, self.temperature)

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}"
