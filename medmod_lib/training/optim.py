"""Optimizer configuration: AdamW (default) or LARS, with weight-decay groups.

MedMod's SimCLR/VICReg used LARS from lightning-flash; :class:`LARS` here is a
small self-contained version (You et al., "Large Batch Training of Convolutional
Networks", arXiv 1708.03888) so that no extra dependency is needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn
from torch.optim import Optimizer


@dataclass
class OptimConfig:
    """Optimizer and schedule settings.

    Attributes:
        name: ``"adamw"`` or ``"lars"`` (SGD with momentum and layer-wise trust ratio).
        lr: peak learning rate (after warm-up).
        weight_decay: decoupled weight decay; biases and 1-D parameters (norms,
            temperatures) are excluded.
        betas: AdamW betas; (0.9, 0.999) as in the paper. MedFuse's trainers
            (nyuad-cai/MedFuse ``trainers/fusion_trainer.py``) pass
            ``betas=(0.9, args.beta_1)`` with ``--beta_1`` defaulting to 0.9, so
            its beta2 is 0.9 by mistake; that is not copied.
        momentum: LARS momentum (MedMod 0.9).
        trust_coefficient: LARS eta (0.001 as in the paper and lightning-flash).
        warmup_epochs: linear warm-up length in epochs (MedMod 10), converted to steps.
        min_lr_factor: the cosine's floor as a fraction of ``lr``.
        schedule: ``"warmup_cosine"`` or ``"constant"``.
        grad_clip: max global gradient norm; ``None`` disables clipping.
        temperature_lr_scale: learning rate of a learnable temperature (parameters
            named ``log_logit_scale``, as in :class:`~medmod_lib.losses.CLIPLoss`) as a
            multiple of ``lr``. One scalar among millions of weights moves only about
            ``lr`` per step under Adam; a short run needs a larger step for it to
            settle (warm-up and cosine apply to it as to every group).
    """

    name: Literal["adamw", "lars"] = "adamw"
    lr: float = 1e-3
    weight_decay: float = 1e-4
    betas: tuple[float, float] = (0.9, 0.999)
    momentum: float = 0.9
    trust_coefficient: float = 0.001
    warmup_epochs: float = 0.0
    min_lr_factor: float = 0.0
    schedule: Literal["warmup_cosine", "constant"] = "warmup_cosine"
    grad_clip: float | None = None
    temperature_lr_scale: float = 1.0

    def __post_init__(self) -> None:
        if self.name not in ("adamw", "lars"):
            raise ValueError(f"OptimConfig.name must be 'adamw' or 'lars', got {self.name!r}")
        if self.schedule not in ("warmup_cosine", "constant"):
            raise ValueError(
                f"OptimConfig.schedule must be 'warmup_cosine' or 'constant', got {self.schedule!r}"
            )
        if self.lr <= 0:
            raise ValueError(f"OptimConfig.lr must be > 0, got {self.lr}")
        if self.temperature_lr_scale <= 0:
            raise ValueError(
                f"OptimConfig.temperature_lr_scale must be > 0, got {self.temperature_lr_scale}"
            )
        self.betas = (float(self.betas[0]), float(self.betas[1]))


class LARS(Optimizer):
    """SGD with momentum and a layer-wise adaptive rate (LARS).

    For every parameter with ``lars=True`` in its group the update uses
    ``lr * eta * ||w|| / (||g|| + wd * ||w||)`` times ``(g + wd * w)``; groups
    with ``lars=False`` (biases, norms) get plain SGD with momentum and no decay.

    Args:
        params: parameters or parameter groups.
        lr: learning rate.
        momentum: heavy-ball momentum.
        weight_decay: L2 weight decay added to the gradient.
        trust_coefficient: eta.
        eps: added to the denominator.
    """

    def __init__(
        self,
        params,
        lr: float,
        momentum: float = 0.9,
        weight_decay: float = 0.0,
        trust_coefficient: float = 0.001,
        eps: float = 1e-8,
    ) -> None:
        defaults = dict(
            lr=lr,
            momentum=momentum,
            weight_decay=weight_decay,
            trust_coefficient=trust_coefficient,
            eps=eps,
            lars=True,
        )
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure=None):  # noqa: D102 - torch API
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                d_p = p.grad
                if group["lars"]:
                    wd = group["weight_decay"]
                    if wd:
                        d_p = d_p.add(p, alpha=wd)
                    w_norm, g_norm = torch.linalg.vector_norm(p), torch.linalg.vector_norm(p.grad)
                    trust = (
                        group["trust_coefficient"] * w_norm / (g_norm + wd * w_norm + group["eps"])
                    )
                    trust = torch.where((w_norm > 0) & (g_norm > 0), trust, torch.ones_like(trust))
                    d_p = d_p.mul(trust)
                state = self.state[p]
                if group["momentum"]:
                    buf = state.get("momentum_buffer")
                    if buf is None:
                        buf = state["momentum_buffer"] = d_p.clone()
                    else:
                        buf.mul_(group["momentum"]).add_(d_p)
                    d_p = buf
                p.add_(d_p, alpha=-group["lr"])
        return loss


TEMPERATURE_PARAMETER = "log_logit_scale"


def param_groups(
    module: nn.Module, weight_decay: float, *, temperature_lr: float | None = None
) -> list[dict]:
    """Split parameters into a decayed group (weights, >= 2-D) and a non-decayed one.

    Args:
        module: the model.
        weight_decay: decay of the first group.
        temperature_lr: if given, learnable temperatures (parameters named
            ``log_logit_scale``) form a third, non-decayed group with this learning rate.

    Returns:
        Two or three parameter groups; all but the first have ``weight_decay=0`` and
        ``lars=False``.
    """
    decay, no_decay, temperature = [], [], []
    for name, p in module.named_parameters():
        if not p.requires_grad:
            continue
        if temperature_lr is not None and name.split(".")[-1] == TEMPERATURE_PARAMETER:
            temperature.append(p)
        else:
            (decay if p.ndim >= 2 else no_decay).append(p)
    groups = [
        {"params": decay, "weight_decay": weight_decay, "lars": True},
        {"params": no_decay, "weight_decay": 0.0, "lars": False},
    ]
    if temperature:
        groups.append(
            {"params": temperature, "weight_decay": 0.0, "lars": False, "lr": temperature_lr}
        )
    return groups


def build_optimizer(module: nn.Module, config: OptimConfig) -> Optimizer:
    """The optimizer named by ``config`` over ``module``'s trainable parameters.

    Args:
        module: the model (its frozen parameters are left out).
        config: optimizer settings.

    Returns:
        ``torch.optim.AdamW`` or :class:`LARS`.
    """
    scaled = config.temperature_lr_scale != 1.0
    groups = param_groups(
        module,
        config.weight_decay,
        temperature_lr=config.lr * config.temperature_lr_scale if scaled else None,
    )
    if not any(g["params"] for g in groups):
        raise ValueError("build_optimizer: the module has no trainable parameters.")
    if config.name == "adamw":
        for g in groups:
            g.pop("lars")
        return torch.optim.AdamW(groups, lr=config.lr, betas=config.betas)
    return LARS(
        groups,
        lr=config.lr,
        momentum=config.momentum,
        trust_coefficient=config.trust_coefficient,
    )
