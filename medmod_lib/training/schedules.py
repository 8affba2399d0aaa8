"""Learning-rate schedules, stepped once per optimizer step.

The schedule's length is always ``epochs * steps_per_epoch`` of the run
(MedMod's ALIGN anneals over 100 epochs of a 300-epoch run: nyuad-cai/MedMod
``src/models/selfsupervised/trainers/align_trainer.py`` passes ``max_epochs=100``,
used as the CosineAnnealingLR ``T_max`` in ``models/align_model.py``, while
``src/scripts/pretrain/align.sh`` trains for 300), so the rate reaches its floor
exactly at the last step.
"""

from __future__ import annotations

import math

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR


def warmup_cosine_factor(
    step: int, *, warmup_steps: int, total_steps: int, min_factor: float = 0.0
) -> float:
    """Multiplier of the base learning rate at optimizer step ``step``.

    Linear warm-up from ``1 / (warmup_steps + 1)`` to 1 over the first
    ``warmup_steps`` steps (step ``warmup_steps`` is the peak), then a half
    cosine from 1 down to ``min_factor`` at step ``total_steps``.

    Args:
        step: optimizer steps taken so far (0 for the first step).
        warmup_steps: number of warm-up steps (0 disables warm-up).
        total_steps: total optimizer steps of the run (> warmup_steps).
        min_factor: final multiplier (0 decays to zero).

    Returns:
        A float in ``[min_factor, 1]``.
    """
    if total_steps <= 0:
        raise ValueError(f"total_steps must be > 0, got {total_steps}")
    if not 0 <= warmup_steps < total_steps:
        raise ValueError(
            f"warmup_steps must be in [0, total_steps={total_steps}), got {warmup_steps}; "
            "use fewer warm-up epochs than epochs."
        )
    if step < warmup_steps:
        return (step + 1) / (warmup_steps + 1)
    progress = min((step - warmup_steps) / (total_steps - warmup_steps), 1.0)
    return min_factor + (1.0 - min_factor) * 0.5 * (1.0 + math.cos(math.pi * progress))


class WarmupCosine:
    """Picklable ``lr_lambda`` for :class:`~torch.optim.lr_scheduler.LambdaLR`.

    Its state is plain ints and floats, so the scheduler's ``state_dict()``
    loads with ``torch.load(..., weights_only=True)``.
    """

    def __init__(self, warmup_steps: int, total_steps: int, min_factor: float = 0.0) -> None:
        warmup_cosine_factor(0, warmup_steps=warmup_steps, total_steps=total_steps)  # validate
        self.warmup_steps = int(warmup_steps)
        self.total_steps = int(total_steps)
        self.min_factor = float(min_factor)

    def __call__(self, step: int) -> float:
        return warmup_cosine_factor(
            step,
            warmup_steps=self.warmup_steps,
            total_steps=self.total_steps,
            min_factor=self.min_factor,
        )

    def __repr__(self) -> str:
        return (
            f"WarmupCosine(warmup_steps={self.warmup_steps}, total_steps={self.total_steps}, "
            f"min_factor={self.min_factor})"
        )


def warmup_cosine_schedule(
    optimizer: Optimizer, *, warmup_steps: int, total_steps: int, min_factor: float = 0.0
) -> LambdaLR:
    """A ``LambdaLR`` with :class:`WarmupCosine`; call ``.step()`` after every optimizer step.

    Args:
        optimizer: the optimizer whose base rates are scaled.
        warmup_steps: linear warm-up steps.
        total_steps: ``epochs * steps_per_epoch``.
        min_factor: final fraction of the base rate.

    Examples:
        >>> import torch
        >>> opt = torch.optim.AdamW([torch.zeros(1, requires_grad=True)], lr=1.0)
        >>> sched = warmup_cosine_schedule(opt, warmup_steps=1, total_steps=5)
        >>> opt.param_groups[0]["lr"]
        0.5
    """
    return LambdaLR(optimizer, WarmupCosine(warmup_steps, total_steps, min_factor))
