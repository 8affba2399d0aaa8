"""The one training loop, checkpoints with exact resume, schedules, DDP helpers, CSV logs."""

from .checkpoint import (
    capture_rng_state,
    load_checkpoint,
    load_model_weights,
    restore_rng_state,
    save_checkpoint,
)
from .distributed import DistInfo, init_distributed
from .logging import CSVLogger
from .loop import FitResult, TrainConfig, default_step, fit
from .optim import LARS, OptimConfig, build_optimizer
from .schedules import WarmupCosine, warmup_cosine_factor, warmup_cosine_schedule

__all__ = [
    "LARS",
    "CSVLogger",
    "DistInfo",
    "FitResult",
    "OptimConfig",
    "TrainConfig",
    "WarmupCosine",
    "build_optimizer",
    "capture_rng_state",
    "default_step",
    "fit",
    "init_distributed",
    "load_checkpoint",
    "load_model_weights",
    "restore_rng_state",
    "save_checkpoint",
    "warmup_cosine_factor",
    "warmup_cosine_schedule",
]
