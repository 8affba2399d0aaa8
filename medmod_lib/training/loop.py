"""The one training loop: pretraining, supervised training, probes and fine-tuning.

:func:`fit` runs ``epochs`` passes over a loader. A *step function* turns a
batch into a loss (or a dict of loss terms with a ``"loss"`` key); everything
else is shared: AdamW or LARS, warm-up + cosine per optimizer step, gradient
clipping, mixed precision and ``channels_last`` on CUDA only, DDP under
``torchrun``, a checkpoint every epoch with exact resume, per-epoch validation
(a validation loss and/or a callback such as a linear-probe AUROC), ``best.pt``
for the best validation epoch, optional early stopping on that metric, tqdm
progress and a CSV log.
"""

from __future__ import annotations

import copy
import json
import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import torch
from torch import nn
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from ..devices import AmpMode, amp_dtype, resolve_device, seed_everything
from . import distributed as ddp
from .checkpoint import (
    BEST,
    LAST,
    capture_rng_state,
    load_checkpoint,
    restore_rng_state,
    save_checkpoint,
)
from .logging import CSVLogger
from .optim import OptimConfig, build_optimizer
from .schedules import warmup_cosine_schedule

Batch = dict[str, Any]
StepOutput = torch.Tensor | Mapping[str, torch.Tensor]
StepFn = Callable[[nn.Module, Batch], StepOutput]
ValFn = Callable[[nn.Module, int], Mapping[str, float]]
LOG_FILE = "log.csv"
#: Settings that may change between an interrupted run and its resumption.
_NOT_FINGERPRINTED = ("device", "resume", "progress", "keep_epoch_checkpoints")


@dataclass
class TrainConfig:
    """Settings of :func:`fit` (everything but the model and the data).

    Attributes:
        epochs: passes over the training loader; also fixes the schedule length.
        optim: optimizer, schedule and gradient clipping.
        device: ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``.
        amp: mixed precision on CUDA (``"auto"`` = bf16 if supported, else fp16
            with a GradScaler); ignored elsewhere, so CPU runs are plain fp32.
        channels_last: NHWC memory format for images and model on CUDA only.
        seed: seeds Python, NumPy and torch at the start of a fresh run.
        monitor: validation metric for ``best.pt`` and early stopping, e.g.
            ``"val_auroc"`` (from ``val_fn``) or ``"val_loss"`` (from ``val_loader``).
            Training metrics are refused: never select on the training loss.
        mode: ``"max"`` or ``"min"`` for ``monitor``.
        patience: stop after this many epochs without improvement of
            ``monitor`` by more than ``min_delta``; ``None`` never stops early.
        min_delta: smallest change that counts as an improvement.
        log_every: write a ``train_step`` row every this many optimizer steps.
        resume: continue from ``out_dir/last.pt`` when it exists.
        keep_epoch_checkpoints: also keep ``epoch_XXX.pt`` (weights only) per epoch.
        max_steps_per_epoch: cap on batches per epoch (smoke runs); ``None`` = all.
        find_unused_parameters: passed to DDP (parameters without a gradient).
        progress: tqdm bars (rank 0 only).
    """

    epochs: int = 10
    optim: OptimConfig = field(default_factory=OptimConfig)
    device: str = "auto"
    amp: AmpMode = "auto"
    channels_last: bool = True
    seed: int = 0
    monitor: str | None = None
    mode: Literal["max", "min"] = "max"
    patience: int | None = None
    min_delta: float = 0.0
    log_every: int = 1
    resume: bool = True
    keep_epoch_checkpoints: bool = False
    max_steps_per_epoch: int | None = None
    find_unused_parameters: bool = False
    progress: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.optim, Mapping):
            self.optim = OptimConfig(**self.optim)
        if self.epochs < 1:
            raise ValueError(f"TrainConfig.epochs must be >= 1, got {self.epochs}")
        if self.mode not in ("max", "min"):
            raise ValueError(f"TrainConfig.mode must be 'max' or 'min', got {self.mode!r}")
        if self.monitor is not None and self.monitor.startswith("train"):
            raise ValueError(
                f"TrainConfig.monitor={self.monitor!r}: select epochs and stop early on a "
                "validation metric (val_loss or a val_fn metric), never on a training metric."
            )
        if self.patience is not None and self.monitor is None:
            raise ValueError("TrainConfig.patience needs a monitor (e.g. 'val_auroc').")


@dataclass
class FitResult:
    """What :func:`fit` returns.

    Attributes:
        model: the trained model (unwrapped from DDP), with the last epoch's weights.
        history: the CSV log as a DataFrame (``split`` in train_step / train / val).
        best_epoch: epoch with the best ``monitor`` value (``None`` without a monitor).
        best_score: that value.
        last_epoch: last completed epoch.
        stopped_early: True if early stopping ended the run.
        out_dir: where ``last.pt``, ``best.pt`` and ``log.csv`` are (``None`` in memory).
        best_state: the best epoch's weights on CPU (also in ``best.pt``).
    """

    model: nn.Module
    history: pd.DataFrame
    best_epoch: int | None
    best_score: float | None
    last_epoch: int
    stopped_early: bool
    out_dir: Path | None
    best_state: dict[str, torch.Tensor] | None = None


def default_step(model: nn.Module, batch: Batch) -> StepOutput:
    """Step function of models whose ``forward(batch)`` returns the loss (or loss dict)."""
    return model(batch)


def _to_device(batch: Batch, device: torch.device, channels_last: bool) -> Batch:
    out = {}
    for key, value in batch.items():
        if isinstance(value, torch.Tensor):
            value = value.to(device, non_blocking=True)
            if channels_last and value.dim() == 4 and value.is_floating_point():
                value = value.contiguous(memory_format=torch.channels_last)
        out[key] = value
    return out


def _as_terms(out: StepOutput) -> dict[str, torch.Tensor]:
    if isinstance(out, torch.Tensor):
        return {"loss": out}
    if "loss" not in out:
        raise KeyError(f"the step function returned keys {sorted(out)}; it must include 'loss'.")
    return dict(out)


def _improved(score: float, best: float | None, mode: str, min_delta: float) -> bool:
    if math.isnan(score):
        return False
    if best is None:
        return True
    return score > best + min_delta if mode == "max" else score < best - min_delta


def _logged(terms: dict[str, Any], skip: bool) -> dict[str, float]:
    """Floats of one step's terms; a skipped step keeps only its counts (``n_*``).

    A skipped batch (e.g. fewer than 2 pairs) returns a placeholder zero loss, which
    must not pull the epoch's mean loss down.
    """
    return {
        k: float(v.detach() if isinstance(v, torch.Tensor) else v)
        for k, v in terms.items()
        if k != "skip" and (not skip or k.startswith("n_"))
    }


def _aggregate(rows: list[dict[str, float]]) -> dict[str, float]:
    """Epoch summary: mean of each term, sum of counts (keys starting with ``n_``)."""
    keys = list(dict.fromkeys(k for r in rows for k in r))
    agg = {}
    for k in keys:
        vals = [r[k] for r in rows if k in r]
        agg[k] = float(sum(vals)) if k.startswith("n_") else float(sum(vals) / len(vals))
    return agg


@torch.no_grad()
def _validation_loss(
    model, step_fn, loader, device, channels_last, autocast_dtype, max_steps
) -> dict[str, float]:
    rows = []
    for i, batch in enumerate(loader):
        if max_steps is not None and i >= max_steps:
            break
        batch = _to_device(batch, device, channels_last)
        with torch.autocast(device.type, dtype=autocast_dtype, enabled=autocast_dtype is not None):
            terms = _as_terms(step_fn(model, batch))
        rows.append(_logged(terms, bool(terms.get("skip", False))))
    agg = _aggregate(rows) if rows else {}
    return {f"val_{k}": v for k, v in ddp.all_reduce_mean(agg, device).items()}


def fit(
    model: nn.Module,
    train_loader: DataLoader,
    *,
    config: TrainConfig,
    step_fn: StepFn | None = None,
    out_dir: str | Path | None = None,
    val_loader: DataLoader | None = None,
    val_fn: ValFn | None = None,
    stop_after_epoch: int | None = None,
    run_info: Mapping[str, Any] | None = None,
) -> FitResult:
    """Train ``model`` for ``config.epochs`` epochs.

    Args:
        model: any ``nn.Module``; moved to the device (and wrapped in DDP under torchrun).
        train_loader: yields batch dicts (CONTRIBUTING.md "Model batches"); must have a length.
            Under torchrun give it a ``DistributedSampler`` (see ``distributed.distributed_sampler``).
        config: loop settings.
        step_fn: ``step_fn(model, batch) -> loss`` or ``{"loss": ..., other terms}``; each term is
            logged. A truthy ``"skip"`` entry skips the optimizer step (e.g. a batch with < 2 pairs).
            Default: ``model(batch)``.
        out_dir: folder for ``last.pt``, ``best.pt``, ``log.csv``; ``None`` keeps everything in
            memory (no resume).
        val_loader: if given, the mean of each step term over it is logged as ``val_<term>``.
        val_fn: ``val_fn(model, epoch) -> {"val_auroc": ...}`` called after every epoch on the
            unwrapped model in eval mode (e.g. a linear probe). Must be deterministic.
        stop_after_epoch: return after this epoch as if interrupted (checkpoint written);
            used to time-box runs and to test resume.
        run_info: plain settings of the caller (model, loss) that a resumed run must share;
            stored in the checkpoint and compared on resume.

    Returns:
        A :class:`FitResult`.

    Raises:
        FloatingPointError: if a loss is NaN or infinite (names the epoch and step).
        ValueError: on resume with a checkpoint from a different configuration, or when
            ``monitor`` is not among the validation metrics.
    """
    step_fn = step_fn or default_step
    run = _start(model, train_loader, config, out_dir, run_info)
    epoch = run.start_epoch - 1
    for epoch in range(run.start_epoch, config.epochs + 1):
        if run.stopped_early:
            epoch -= 1
            break
        _train_epoch(run, epoch, train_loader, step_fn, config)
        val_metrics = _validate(run, epoch, step_fn, val_loader, val_fn, config)
        improved = _select(run, epoch, val_metrics, config)
        _save(run, epoch, improved, train_loader, config)
        ddp.barrier()
        if run.stopped_early or (stop_after_epoch is not None and epoch >= stop_after_epoch):
            break
    return FitResult(
        model=model,
        history=run.logger.frame(),
        best_epoch=run.best_epoch,
        best_score=run.best_score,
        last_epoch=epoch,
        stopped_early=run.stopped_early,
        out_dir=run.out_dir,
        best_state=copy.copy(run.best_state),
    )


@dataclass
class _Run:
    """The state :func:`fit` carries from epoch to epoch (what ``last.pt`` stores)."""

    model: nn.Module
    train_model: nn.Module  # the model, wrapped in DDP under torchrun
    optimizer: torch.optim.Optimizer
    scheduler: Any
    scaler: torch.amp.GradScaler
    device: torch.device
    autocast_dtype: torch.dtype | None
    channels_last: bool
    steps_per_epoch: int
    fingerprint: str
    out_dir: Path | None
    logger: CSVLogger
    is_main: bool
    start_epoch: int = 1
    step: int = 0
    best_score: float | None = None
    best_epoch: int | None = None
    bad_epochs: int = 0
    best_state: dict[str, torch.Tensor] | None = None
    stopped_early: bool = False


def _steps_per_epoch(train_loader: DataLoader, config: TrainConfig) -> int:
    try:
        steps = len(train_loader)
    except TypeError as err:
        raise TypeError("fit needs a train_loader with a length (a map-style dataset).") from err
    if config.max_steps_per_epoch is not None:
        steps = min(steps, config.max_steps_per_epoch)
    if steps < 1:
        raise ValueError(
            "the training loader is empty; check the dataset and batch_size/drop_last."
        )
    return steps


def _scheduler(optimizer: torch.optim.Optimizer, config: TrainConfig, steps_per_epoch: int):
    """Warm-up + cosine per optimizer step, or a constant rate."""
    total_steps = config.epochs * steps_per_epoch
    if config.optim.schedule != "warmup_cosine":
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda _: 1.0)
    warmup = round(config.optim.warmup_epochs * steps_per_epoch)
    if warmup >= total_steps:
        warnings.warn(
            f"warm-up of {config.optim.warmup_epochs} epochs ({warmup} steps) is not shorter "
            f"than the run ({total_steps} steps); using {total_steps - 1} warm-up steps.",
            stacklevel=4,  # the caller of fit
        )
        warmup = total_steps - 1
    return warmup_cosine_schedule(
        optimizer,
        warmup_steps=warmup,
        total_steps=total_steps,
        min_factor=config.optim.min_lr_factor,
    )


def _start(
    model: nn.Module,
    train_loader: DataLoader,
    config: TrainConfig,
    out_dir: str | Path | None,
    run_info: Mapping[str, Any] | None,
) -> _Run:
    """Restore: a fresh, seeded run, or the state of ``out_dir/last.pt`` when resuming."""
    info = ddp.current()
    device = resolve_device(config.device)
    autocast_dtype = amp_dtype(device, config.amp)
    channels_last = config.channels_last and device.type == "cuda"
    steps_per_epoch = _steps_per_epoch(train_loader, config)
    out_dir = Path(out_dir) if out_dir is not None else None
    last_path = out_dir / LAST if out_dir is not None else None
    fingerprint = json.dumps(
        {
            "train": {k: v for k, v in asdict(config).items() if k not in _NOT_FINGERPRINTED},
            "steps_per_epoch": steps_per_epoch,
            "run": dict(run_info or {}),
        },
        sort_keys=True,
        default=str,
    )
    ckpt = None
    if config.resume and last_path is not None and last_path.is_file():
        ckpt = load_checkpoint(last_path)
        if ckpt.get("fingerprint") != fingerprint:
            raise ValueError(
                f"{last_path} was written by a run with a different configuration or data size. "
                "Use a new out_dir, delete the checkpoint, or set resume=False."
            )
    else:
        seed_everything(config.seed)

    model.to(device)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    optimizer = build_optimizer(model, config.optim)
    scheduler = _scheduler(optimizer, config, steps_per_epoch)
    scaler = torch.amp.GradScaler(device.type, enabled=autocast_dtype == torch.float16)
    run = _Run(
        model=model,
        train_model=model,
        optimizer=optimizer,
        scheduler=scheduler,
        scaler=scaler,
        device=device,
        autocast_dtype=autocast_dtype,
        channels_last=channels_last,
        steps_per_epoch=steps_per_epoch,
        fingerprint=fingerprint,
        out_dir=out_dir,
        logger=None,  # type: ignore[arg-type]  # set below, once the start epoch is known
        is_main=info.is_main,
    )
    if ckpt is not None:
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        scheduler.load_state_dict(ckpt["scheduler"])
        scaler.load_state_dict(ckpt["scaler"])
        run.start_epoch, run.step = ckpt["epoch"] + 1, ckpt["step"]
        run.best_score, run.best_epoch = ckpt["best_score"], ckpt["best_epoch"]
        run.bad_epochs, run.stopped_early = ckpt["bad_epochs"], ckpt["stopped_early"]
        restore_rng_state(ckpt["rng"], train_loader)
        if out_dir is not None and (out_dir / BEST).is_file():
            run.best_state = load_checkpoint(out_dir / BEST)["model"]
    run.logger = CSVLogger(
        out_dir / LOG_FILE if out_dir is not None and info.is_main else None,
        resume_epoch=run.start_epoch - 1 if ckpt is not None else None,
    )
    run.train_model = ddp.wrap_ddp(
        model, device, find_unused_parameters=config.find_unused_parameters
    )
    return run


def _train_epoch(
    run: _Run, epoch: int, train_loader: DataLoader, step_fn: StepFn, config: TrainConfig
) -> None:
    """Train one epoch: every batch through ``step_fn``, one optimizer step each."""
    sampler = getattr(train_loader, "sampler", None)
    if hasattr(sampler, "set_epoch"):
        sampler.set_epoch(epoch)
    run.train_model.train()
    rows: list[dict[str, float]] = []
    bar = tqdm(
        total=run.steps_per_epoch,
        desc=f"epoch {epoch}/{config.epochs}",
        leave=False,
        disable=not (config.progress and run.is_main),
    )
    for i, batch in enumerate(train_loader):
        if i >= run.steps_per_epoch:
            break
        batch = _to_device(batch, run.device, run.channels_last)
        with torch.autocast(
            run.device.type, dtype=run.autocast_dtype, enabled=run.autocast_dtype is not None
        ):
            terms = _as_terms(step_fn(run.train_model, batch))
        skip = ddp.any_true(bool(terms.pop("skip", False)), run.device)
        lr = _optimizer_step(run, terms["loss"], skip, epoch, config)
        values = _logged(terms, skip)
        values["n_skipped_steps"] = float(skip)
        rows.append(values)
        if run.step % config.log_every == 0:
            run.logger.log_many(
                epoch=epoch, step=run.step, split="train_step", lr=lr, values=values
            )
        bar.update(1)
        bar.set_postfix(loss=f"{values.get('loss', float('nan')):.4g}")
    bar.close()
    run.logger.log_many(
        epoch=epoch,
        step=run.step,
        split="train",
        lr=run.optimizer.param_groups[0]["lr"],
        values=ddp.all_reduce_mean(_aggregate(rows), run.device),
    )


def _optimizer_step(
    run: _Run, loss: torch.Tensor, skip: bool, epoch: int, config: TrainConfig
) -> float:
    """Backward, clip, step (unless ``skip``) and advance the schedule; returns the step's lr."""
    if not torch.isfinite(loss.detach()):
        raise FloatingPointError(
            f"loss is {float(loss.detach())} at epoch {epoch}, step {run.step + 1}; lower the "
            "learning rate, enable grad_clip or set amp='off'."
        )
    run.optimizer.zero_grad(set_to_none=True)
    run.scaler.scale(loss).backward()
    lr = run.optimizer.param_groups[0]["lr"]
    if not skip:
        if config.optim.grad_clip is not None:
            run.scaler.unscale_(run.optimizer)
            nn.utils.clip_grad_norm_(run.model.parameters(), config.optim.grad_clip)
        run.scaler.step(run.optimizer)
        run.scaler.update()
    with warnings.catch_warnings():  # a skipped step warns "scheduler before optimizer"
        warnings.simplefilter("ignore", UserWarning)
        run.scheduler.step()
    run.step += 1
    return lr


def _validate(
    run: _Run,
    epoch: int,
    step_fn: StepFn,
    val_loader: DataLoader | None,
    val_fn: ValFn | None,
    config: TrainConfig,
) -> dict[str, float]:
    """Validate: the mean step terms over ``val_loader`` and ``val_fn``'s metrics."""
    val_metrics: dict[str, float] = {}
    if val_loader is not None:
        run.model.eval()
        val_metrics |= _validation_loss(
            run.train_model,
            step_fn,
            val_loader,
            run.device,
            run.channels_last,
            run.autocast_dtype,
            config.max_steps_per_epoch,
        )
    if val_fn is not None:
        run.model.eval()
        val_metrics |= ddp.all_reduce_mean(
            {k: float(v) for k, v in val_fn(run.model, epoch).items()}, run.device
        )
    if val_metrics:
        run.logger.log_many(epoch=epoch, step=run.step, split="val", lr=None, values=val_metrics)
    return val_metrics


def _select(run: _Run, epoch: int, val_metrics: Mapping[str, float], config: TrainConfig) -> bool:
    """Select: keep the best epoch's weights; count epochs without improvement."""
    if config.monitor is None:
        return False
    if config.monitor not in val_metrics:
        raise ValueError(
            f"monitor {config.monitor!r} is not among the validation metrics "
            f"{sorted(val_metrics)}; pass val_loader/val_fn or change TrainConfig.monitor."
        )
    score = val_metrics[config.monitor]
    improved = _improved(score, run.best_score, config.mode, config.min_delta)
    if improved:
        run.best_score, run.best_epoch, run.bad_epochs = score, epoch, 0
        run.best_state = {
            k: v.detach().to("cpu", copy=True) for k, v in run.model.state_dict().items()
        }
    else:
        run.bad_epochs += 1
    run.stopped_early = config.patience is not None and run.bad_epochs >= config.patience
    return improved


def _save(
    run: _Run, epoch: int, improved: bool, train_loader: DataLoader, config: TrainConfig
) -> None:
    """Checkpoint: ``best.pt`` when improved, ``last.pt`` (exact resume) every epoch."""
    if run.out_dir is None or not run.is_main:
        return
    meta = {"epoch": epoch, "step": run.step, "monitor": config.monitor, "score": run.best_score}
    if improved:
        save_checkpoint(run.out_dir / BEST, {"model": run.best_state, **meta})
    if config.keep_epoch_checkpoints:
        save_checkpoint(
            run.out_dir / f"epoch_{epoch:03d}.pt", {"model": run.model.state_dict(), **meta}
        )
    save_checkpoint(
        run.out_dir / LAST,
        {
            "model": run.model.state_dict(),
            "optimizer": run.optimizer.state_dict(),
            "scheduler": run.scheduler.state_dict(),
            "scaler": run.scaler.state_dict(),
            "epoch": epoch,
            "step": run.step,
            "best_score": run.best_score,
            "best_epoch": run.best_epoch,
            "bad_epochs": run.bad_epochs,
            "stopped_early": run.stopped_early,
            "rng": capture_rng_state(train_loader),
            "fingerprint": run.fingerprint,
        },
    )
    run.logger.flush()
