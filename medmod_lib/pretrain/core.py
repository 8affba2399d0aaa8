"""``pretrain()``: self-supervised pretraining through the one training loop."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from torch import nn
from torch.utils.data import DataLoader

from ..devices import seed_everything
from ..training import FitResult, OptimConfig, TrainConfig, fit
from ..training.loop import default_step
from .config import PretrainConfig
from .model import PretrainModel, build_pretrain_model

ProbeFn = Callable[[PretrainModel, int], Mapping[str, float]]


@dataclass
class PretrainResult:
    """Outcome of :func:`pretrain`.

    Attributes:
        model: the pretraining model (``model.ehr_encoder`` / ``model.cxr_encoder`` are
            the pretrained encoders); best-epoch weights if ``restore_best`` and a
            monitor was set, else the last epoch's.
        history: per-step (``train_step``), per-epoch (``train``) and validation (``val``)
            rows: ``epoch, step, split, lr, loss``, the method's terms, ``n_pairs``,
            ``n_unpaired``, ``val_auroc``...
        best_epoch: the selected epoch (``None`` without a monitor).
        best_score: its monitored value.
        config: the configuration used.
        out_dir: folder with ``last.pt``, ``best.pt`` and ``log.csv`` (``None`` in memory).
        fit: the underlying :class:`~medmod_lib.training.FitResult`.
    """

    model: PretrainModel
    history: pd.DataFrame
    best_epoch: int | None
    best_score: float | None
    config: PretrainConfig
    out_dir: Path | None
    fit: FitResult

    def epochs(self) -> pd.DataFrame:
        """One row per epoch: training means joined with the validation metrics."""
        h = self.history
        train = h[h["split"] == "train"].dropna(axis=1, how="all").drop(columns=["split"])
        val = h[h["split"] == "val"].dropna(axis=1, how="all")
        val = val.drop(columns=["split", "step", "lr"], errors="ignore")
        return train.merge(val, on="epoch", how="left")


def train_config(config: PretrainConfig, *, monitor: str | None) -> TrainConfig:
    """The loop settings implied by a :class:`PretrainConfig`."""
    return TrainConfig(
        epochs=config.epochs,
        optim=OptimConfig(
            name=config.optimizer,
            lr=config.lr,
            weight_decay=config.weight_decay,
            warmup_epochs=config.warmup_epochs,
            grad_clip=config.grad_clip,
            temperature_lr_scale=config.temperature_lr_scale,
        ),
        device=config.device,
        amp=config.amp,
        seed=config.seed,
        monitor=monitor,
        mode="min" if monitor is not None and monitor.endswith("loss") else "max",
        patience=config.patience,
        max_steps_per_epoch=config.max_steps_per_epoch,
        keep_epoch_checkpoints=config.keep_epoch_checkpoints,
        find_unused_parameters=config.views == "intra",
        progress=config.progress,
    )


def resolve_monitor(monitor: str | None, *, probe_fn=None, val_loader=None) -> str | None:
    """``"auto"`` -> the probe's ``val_auroc``, else ``val_loss`` with a val loader, else none."""
    if monitor != "auto":
        return monitor
    if probe_fn is not None:
        return "val_auroc"
    return "val_loss" if val_loader is not None else None


def pretrain(
    config: PretrainConfig,
    train_loader: DataLoader,
    val_loader: DataLoader | None = None,
    *,
    out_dir: str | Path | None = None,
    probe_fn: ProbeFn | None = None,
    model: PretrainModel | None = None,
    stop_after_epoch: int | None = None,
) -> PretrainResult:
    """Pretrain EHR and X-ray encoders with SimCLR, VICReg or ALIGN.

    Args:
        config: the run's settings.
        train_loader: batch dicts (CONTRIBUTING.md "Model batches"); unpaired rows are
            skipped and counted (``n_unpaired`` in the history). Use
            :func:`~medmod_lib.pretrain.data.make_loader` for a seeded, DDP-aware loader.
        val_loader: optional; its mean loss is logged as ``val_loss``.
        out_dir: checkpoints and ``log.csv``; a rerun with the same ``out_dir`` resumes.
        probe_fn: per-epoch validation, e.g. :func:`~medmod_lib.pretrain.make_probe_fn`
            (linear-probe AUROC, MedMod's epoch selection).
        model: a prebuilt model (default: :func:`build_pretrain_model` after seeding).
        stop_after_epoch: stop after this epoch as if interrupted (for time-boxed runs).

    Returns:
        A :class:`PretrainResult`.

    Examples:
        >>> from medmod_lib.pretrain import PretrainConfig, RandomPairs, make_loader, pretrain
        >>> cfg = PretrainConfig(method="vicreg", epochs=1, cxr_arch="resnet18", device="cpu",
        ...                      progress=False)
        >>> loader = make_loader(RandomPairs(16), batch_size=8, shuffle=True)
        >>> result = pretrain(cfg, loader)
        >>> sorted({"invariance", "variance", "covariance"} & set(result.history.columns))
        ['covariance', 'invariance', 'variance']
    """
    if model is None:
        seed_everything(config.seed)
        model = build_pretrain_model(config)
    return fit_pretraining(
        model,
        config,
        train_loader,
        val_loader,
        loop=config,
        out_dir=out_dir,
        probe_fn=probe_fn,
        stop_after_epoch=stop_after_epoch,
        run_info={"pretrain": config.to_dict()},
    )


def fit_pretraining(
    model: nn.Module,
    config: Any,
    train_loader: DataLoader,
    val_loader: DataLoader | None = None,
    *,
    loop: PretrainConfig,
    out_dir: str | Path | None = None,
    probe_fn: ProbeFn | None = None,
    stop_after_epoch: int | None = None,
    run_info: dict[str, Any] | None = None,
) -> PretrainResult:
    """Train a built self-supervised model with the one loop; restore the best epoch.

    Shared by :func:`pretrain` and :func:`medmod_lib.prompts.pretrain_prompts`.

    Args:
        model: ``forward(batch)`` returns the loss terms.
        config: the run's settings (``monitor``, ``restore_best``; kept in the result).
        train_loader, val_loader, out_dir, probe_fn, stop_after_epoch: as in :func:`pretrain`.
        loop: optimisation settings of the loop (:func:`train_config`).
        run_info: stored with the checkpoints (a resume must match it).
    """
    monitor = resolve_monitor(config.monitor, probe_fn=probe_fn, val_loader=val_loader)
    result = fit(
        model,
        train_loader,
        config=train_config(loop, monitor=monitor),
        step_fn=default_step,
        out_dir=out_dir,
        val_loader=val_loader,
        val_fn=probe_fn,
        stop_after_epoch=stop_after_epoch,
        run_info=run_info,
    )
    if config.restore_best and result.best_state is not None:
        model.load_state_dict(result.best_state)
    return PretrainResult(
        model=model,
        history=result.history,
        best_epoch=result.best_epoch,
        best_score=result.best_score,
        config=config,
        out_dir=result.out_dir,
        fit=result,
    )
