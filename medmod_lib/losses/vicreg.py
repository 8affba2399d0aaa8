"""VICReg: variance-invariance-covariance regularisation.

Reference: Bardes, Ponce, LeCun, "VICReg: Variance-Invariance-Covariance
Regularization for Self-Supervised Learning", ICLR 2022 (arXiv 2105.04906).
Matches ``facebookresearch/vicreg`` and lightly's ``VICRegLoss(25, 25, 1, eps=1e-4)``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ._checks import check_pair, float32


def _check_single(z: torch.Tensor, loss: str) -> None:
    if z.dim() != 2:
        raise ValueError(f"{loss}: expected a 2-D tensor (N, D), got shape {tuple(z.shape)}")
    if z.shape[0] < 2:
        raise ValueError(
            f"{loss}: needs a batch of at least 2, got N={z.shape[0]} (shape {tuple(z.shape)}); "
            "the variance of a single sample is undefined."
        )


def invariance_loss(z_a: torch.Tensor, z_b: torch.Tensor) -> torch.Tensor:
    """Invariance term: mean squared error between paired embeddings.

    Args:
        z_a: shape (N, D).
        z_b: shape (N, D).

    Returns:
        Scalar ``mean((z_a - z_b) ** 2)`` over all N * D entries.
    """
    check_pair(z_a, z_b, "invariance_loss")
    with float32(z_a.device):
        return F.mse_loss(z_a.float(), z_b.float())


def variance_loss(z: torch.Tensor, eps: float = 1e-4) -> torch.Tensor:
    """Variance term: hinge on the per-dimension standard deviation.

    ``mean_d relu(1 - sqrt(var_d + eps))`` with the unbiased batch variance
    (divisor N - 1), as in the paper.

    Args:
        z: shape (N, D), N >= 2.
        eps: numerical stabiliser inside the square root.

    Returns:
        Scalar tensor in [0, 1].
    """
    _check_single(z, "variance_loss")
    with float32(z.device):
        z = z.float()
        z = z - z.mean(dim=0)
        std = torch.sqrt(z.var(dim=0) + eps)
        return F.relu(1.0 - std).mean()


def covariance_loss(z: torch.Tensor) -> torch.Tensor:
    """Covariance term: squared off-diagonal covariances divided by D.

    ``C = z_c^T z_c / (N - 1)`` with ``z_c`` centred and N the *actual* batch size
    (MedMod divides by the configured batch size, wrong for a short last batch).

    Args:
        z: shape (N, D), N >= 2.

    Returns:
        Scalar ``sum_{i != j} C_ij^2 / D``.
    """
    _check_single(z, "covariance_loss")
    n, d = z.shape
    with float32(z.device):
        z = z.float()
        z = z - z.mean(dim=0)
        cov = (z.T @ z) / (n - 1)  # (D, D)
        off_diag = cov - torch.diag_embed(torch.diagonal(cov))
        return off_diag.pow(2).sum() / d


def vicreg_terms(
    z_a: torch.Tensor, z_b: torch.Tensor, eps: float = 1e-4
) -> dict[str, torch.Tensor]:
    """The three unweighted VICReg terms, for logging and plotting.

    Args:
        z_a: first branch, shape (N, D).
        z_b: second branch, shape (N, D).
        eps: stabiliser of the standard deviation.

    Returns:
        Computed in float32 even under autocast:
        ``{"invariance": mse, "variance": (v(z_a) + v(z_b)) / 2,
        "covariance": c(z_a) + c(z_b)}``, each a scalar tensor.
    """
    check_pair(z_a, z_b, "vicreg_loss")
    return {
        "invariance": invariance_loss(z_a, z_b),
        "variance": 0.5 * (variance_loss(z_a, eps) + variance_loss(z_b, eps)),
        "covariance": covariance_loss(z_a) + covariance_loss(z_b),
    }


def vicreg_loss(
    z_a: torch.Tensor,
    z_b: torch.Tensor,
    sim_coeff: float = 25.0,
    std_coeff: float = 25.0,
    cov_coeff: float = 1.0,
    eps: float = 1e-4,
) -> torch.Tensor:
    """VICReg loss ``sim * invariance + std * variance + cov * covariance``.

    Args:
        z_a: first branch (view or modality), shape (N, D), N >= 2.
        z_b: second branch, shape (N, D).
        sim_coeff: weight lambda of the invariance (MSE) term.
        std_coeff: weight mu of the variance term (averaged over both branches).
        cov_coeff: weight nu of the covariance term (summed over both branches).
        eps: stabiliser inside the standard deviation.

    Returns:
        Scalar loss tensor.

    Raises:
        ValueError: on non-2-D inputs, mismatched shapes or N < 2.

    Examples:
        >>> z_a, z_b = torch.randn(32, 8), torch.randn(32, 8)
        >>> loss = vicreg_loss(z_a, z_b)
        >>> terms = vicreg_terms(z_a, z_b)  # for plotting each term
    """
    t = vicreg_terms(z_a, z_b, eps)
    return sim_coeff * t["invariance"] + std_coeff * t["variance"] + cov_coeff * t["covariance"]


class VICRegLoss(nn.Module):
    """Module wrapper of :func:`vicreg_loss` (Bardes et al. 2022).

    Args:
        sim_coeff: invariance weight lambda (25).
        std_coeff: variance weight mu (25).
        cov_coeff: covariance weight nu (1).
        eps: stabiliser of the standard deviation (1e-4).

    Examples:
        >>> criterion = VICRegLoss()
        >>> loss = criterion(torch.randn(32, 8), torch.randn(32, 8))
        >>> parts = criterion.terms(torch.randn(32, 8), torch.randn(32, 8))
    """

    def __init__(
        self,
        sim_coeff: float = 25.0,
        std_coeff: float = 25.0,
        cov_coeff: float = 1.0,
        eps: float = 1e-4,
    ) -> None:
        super().__init__()
        self.sim_coeff, self.std_coeff, self.cov_coeff = sim_coeff, std_coeff, cov_coeff
        self.eps = eps

    def forward(self, z_a: torch.Tensor, z_b: torch.Tensor) -> torch.Tensor:
        """Loss for two (N, D) embedding batches; returns a scalar."""
        return vicreg_loss(z_a, z_b, self.sim_coeff, self.std_coeff, self.cov_coeff, self.eps)

    def terms(self, z_a: torch.Tensor, z_b: torch.Tensor) -> dict[str, torch.Tensor]:
        """Unweighted terms plus the weighted total under ``"loss"``."""
        t = vicreg_terms(z_a, z_b, self.eps)
        t["loss"] = (
            self.sim_coeff * t["invariance"]
            + self.std_coeff * t["variance"]
            + self.cov_coeff * t["covariance"]
        )
        return t

    def extra_repr(self) -> str:
        return (
            f"sim_coeff={self.sim_coeff}, std_coeff={self.std_coeff}, "
            f"cov_coeff={self.cov_coeff}, eps={self.eps}"
        )
