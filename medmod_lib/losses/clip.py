"""Symmetric InfoNCE (CLIP / ALIGN / ConVIRT) with a learnable temperature.

References: Radford et al., "Learning Transferable Visual Models From Natural
Language Supervision", ICML 2021 (arXiv 2103.00020); Jia et al., "ALIGN",
ICML 2021 (arXiv 2102.05918); Zhang et al., "ConVIRT", MLHC 2022 (arXiv 2010.00747).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ._checks import check_pair, float32


def clip_loss(
    z_a: torch.Tensor,
    z_b: torch.Tensor,
    logit_scale: float | torch.Tensor,
    decoupled: bool = False,
) -> torch.Tensor:
    """Symmetric cross-modal InfoNCE on cosine similarities.

    With ``s_ij = logit_scale * cos(z_a_i, z_b_j)`` the loss is the mean of the
    a->b cross-entropy (rows of s) and the b->a cross-entropy (columns of s),
    each averaged over the N pairs. Only cross-modal pairs are compared (no
    intra-modal negatives, unlike :func:`~medmod_lib.losses.simclr.nt_xent_loss`).

    - ``decoupled=False`` (standard CLIP): the positive is in the softmax.
    - ``decoupled=True``: the positive is excluded from the denominator. MedMod's
      SimCLR and ALIGN losses are twice this (they sum the two directions
      instead of averaging): see
      :func:`~medmod_lib.losses.medmod_simclr.medmod_simclr_loss`.

    Args:
        z_a: first modality (e.g. EHR), shape (N, D), N >= 2.
        z_b: second modality (e.g. X-ray), shape (N, D); row i pairs with row i.
        logit_scale: inverse temperature 1 / tau (float or scalar tensor, > 0);
            a tensor keeps its gradient.
        decoupled: exclude the positive from the denominator.

    Returns:
        Scalar float32 loss tensor (computed in float32 even under autocast).

    Raises:
        ValueError: on non-2-D inputs, mismatched shapes or N < 2.

    Examples:
        >>> z_ehr, z_cxr = torch.randn(8, 32), torch.randn(8, 32)
        >>> loss = clip_loss(z_ehr, z_cxr, logit_scale=1 / 0.07)
    """
    check_pair(z_a, z_b, "clip_loss")
    n = z_a.shape[0]
    with float32(z_a.device):
        cos = F.normalize(z_a.float(), dim=1) @ F.normalize(z_b.float(), dim=1).T  # (N, N)
        logits = logit_scale * cos
        if not decoupled:
            target = torch.arange(n, device=logits.device)
            return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))
        pos = torch.diagonal(logits)
        eye = torch.eye(n, dtype=torch.bool, device=logits.device)
        neg = logits.masked_fill(eye, float("-inf"))
        a_to_b = (torch.logsumexp(neg, dim=1) - pos).mean()
        b_to_a = (torch.logsumexp(neg, dim=0) - pos).mean()
        return 0.5 * (a_to_b + b_to_a)


class CLIPLoss(nn.Module):
    """Symmetric InfoNCE with a learnable, log-parametrised, clamped temperature.

    The parameter is ``log_logit_scale = log(1 / tau)``, initialised at
    ``tau = temperature`` (0.07 as in CLIP and MedMod's ALIGN). Before each use
    it is clamped so that ``logit_scale <= max_logit_scale`` (100, i.e.
    tau >= 0.01), as CLIP does; the clamp is an in-place, gradient-free update,
    so the temperature can move back down after touching the bound. This fixes
    MedMod's ALIGN, whose temperature is a raw ``nn.Parameter`` with no log
    parametrisation or clamp (nyuad-cai/MedMod
    ``src/models/selfsupervised/models/align_model.py``, ``ContrastiveLoss``) and
    can drift to zero or below.

    Args:
        temperature: initial tau > 0.
        learnable: learn the temperature (an ``nn.Parameter``) or keep it fixed
            (a buffer).
        max_logit_scale: upper bound of 1 / tau.
        decoupled: exclude the positive from the denominator (see :func:`clip_loss`).

    Examples:
        >>> criterion = CLIPLoss()  # tau starts at 0.07, learnable
        >>> loss = criterion(torch.randn(8, 32), torch.randn(8, 32))
        >>> round(criterion.temperature, 2)
        0.07
    """

    def __init__(
        self,
        temperature: float = 0.07,
        learnable: bool = True,
        max_logit_scale: float = 100.0,
        decoupled: bool = False,
    ) -> None:
        super().__init__()
        if temperature <= 0 or max_logit_scale <= 0:
            raise ValueError(
                f"CLIPLoss: temperature and max_logit_scale must be > 0, got "
                f"{temperature} and {max_logit_scale}"
            )
        if 1.0 / temperature > max_logit_scale:
            raise ValueError(
                f"CLIPLoss: initial 1/temperature = {1.0 / temperature:.4g} exceeds "
                f"max_logit_scale = {max_logit_scale}; raise max_logit_scale or temperature."
            )
        init = torch.tensor(math.log(1.0 / temperature))
        if learnable:
            self.log_logit_scale = nn.Parameter(init)
        else:
            self.register_buffer("log_logit_scale", init)
        self.max_logit_scale = float(max_logit_scale)
        self.learnable = learnable
        self.decoupled = decoupled

    @property
    def logit_scale(self) -> torch.Tensor:
        """Current 1 / tau as a scalar tensor (clamped, differentiable)."""
        return self.log_logit_scale.clamp(max=math.log(self.max_logit_scale)).exp()

    @property
    def temperature(self) -> float:
        """Current tau as a Python float."""
        return float(1.0 / self.logit_scale.detach())

    def forward(self, z_a: torch.Tensor, z_b: torch.Tensor) -> torch.Tensor:
        """Loss for two (N, D) embedding batches; returns a scalar."""
        # In-place, gradient-free clamp (no host sync). exp() saves its output,
        # not its input, so calling the loss twice before backward stays valid.
        with torch.no_grad():
            self.log_logit_scale.clamp_(max=math.log(self.max_logit_scale))
        return clip_loss(z_a, z_b, self.log_logit_scale.exp(), self.decoupled)

    def extra_repr(self) -> str:
        return (
            f"temperature={self.temperature:.4g}, learnable={self.learnable}, "
            f"max_logit_scale={self.max_logit_scale}, decoupled={self.decoupled}"
        )
