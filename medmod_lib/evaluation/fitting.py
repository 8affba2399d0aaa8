"""The shared core of the evaluation protocols: train a classifier, select, score.

:func:`train_and_evaluate` runs :func:`medmod_lib.training.fit` with the task loss
(:func:`~medmod_lib.evaluation.heads.task_loss`), a per-epoch validation metric
(the task's ``TaskSpec.monitor``, :mod:`medmod_lib.tasks`) for epoch selection and
early stopping, restores the best epoch and turns the test predictions into tidy result
rows with bootstrap intervals.
:mod:`medmod_lib.evaluation.protocols` builds the models and loaders around it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from ..devices import resolve_device
from ..metrics import N_BOOT, task_metrics
from ..reference import Task
from ..tasks import task_spec
from ..training import OptimConfig, TrainConfig, fit
from .heads import task_loss, task_scores
from .predict import Predictions, collect_predictions, stay_clusters
from .results import evaluate_predictions


@dataclass
class ProtocolConfig:
    """Training and scoring settings shared by the protocols.

    Attributes:
        epochs: maximum epochs (MedMod linear eval 100, fine-tuning 200; MedFuse 50).
        batch_size: samples per batch (MedMod 256; MedFuse 16).
        lr: peak learning rate of AdamW (MedMod probe 0.01, fine-tuning 1e-3).
        weight_decay: AdamW decoupled weight decay.
        warmup_epochs: linear warm-up before the cosine decay.
        patience: early-stopping patience on the validation metric (MedMod 30,
            MedFuse 15); ``None`` trains all epochs (the best epoch is still kept).
        device: ``"auto"``, ``"cpu"``, ``"cuda"``, ...
        amp: mixed precision on CUDA only (``"auto"``, ``"off"``, ...).
        seed: seeds initialisation, shuffling and augmentation.
        n_boot: bootstrap resamples of the test intervals (1000).
        bootstrap_seed: seed of the resamples (stored in every row).
        max_steps_per_epoch: cap on batches per epoch (smoke runs).
        grad_clip: max gradient norm, ``None`` = off.
        num_workers: data-loader workers of the image/EHR loaders.
        progress: tqdm bars.
    """

    epochs: int = 20
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 1e-4
    warmup_epochs: float = 0.0
    patience: int | None = 10
    device: str = "auto"
    amp: str = "auto"
    seed: int = 0
    n_boot: int = N_BOOT
    bootstrap_seed: int = 0
    max_steps_per_epoch: int | None = None
    grad_clip: float | None = None
    num_workers: int = 0
    progress: bool = True

    def train_config(self, monitor: str) -> TrainConfig:
        """The loop's settings, monitoring ``val_<monitor>`` (maximised; kappa and AUROC)."""
        return TrainConfig(
            epochs=self.epochs,
            optim=OptimConfig(
                lr=self.lr,
                weight_decay=self.weight_decay,
                warmup_epochs=self.warmup_epochs,
                grad_clip=self.grad_clip,
            ),
            device=self.device,
            amp=self.amp,
            seed=self.seed,
            monitor=f"val_{monitor}",
            mode="max",
            patience=self.patience,
            max_steps_per_epoch=self.max_steps_per_epoch,
            progress=self.progress,
        )


@dataclass
class ProtocolResult:
    """One trained model, its test predictions and its tidy result rows.

    Attributes:
        task, method, protocol, modality, seed, test_set: the row keys.
        model: batch dict -> logits, best-epoch weights, eval mode.
        predictions: test labels and probabilities (paired rows only for ``"cxr"``).
        rows: tidy rows (:data:`~medmod_lib.evaluation.results.RESULT_COLUMNS`).
        history: the loop's log.
        best_epoch, best_score: selected epoch and its validation metric
            (``None`` if the metric was never defined, e.g. one-class validation).
        label_names: label columns of the task.
    """

    task: Task
    method: str
    protocol: str
    modality: str
    seed: int
    test_set: str
    model: nn.Module
    predictions: Predictions
    rows: pd.DataFrame
    history: pd.DataFrame
    best_epoch: int | None
    best_score: float | None
    label_names: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        """``method/protocol/modality``, e.g. ``simclr/linear/ehr+cxr``."""
        return f"{self.method}/{self.protocol}/{self.modality}"

    def predict(self, batch: Mapping[str, Any]) -> torch.Tensor:
        """Probabilities (B, K) of a raw batch dict (for sweeps: ``missing_modality_sweep``)."""
        device = next(self.model.parameters()).device
        moved = {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}
        return task_scores(self.task, self.model(moved)).cpu()


def _scores_fn(task: Task, model: nn.Module, device: torch.device) -> Callable:
    def fn(batch: Mapping[str, Any]) -> torch.Tensor:
        moved = {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}
        return task_scores(task, model(moved)).cpu()

    return fn


def subset_predictions(p: Predictions, keep: np.ndarray) -> Predictions:
    """Rows ``keep`` (bool mask or indices) of ``p`` (without ``scores_without_images``)."""
    return Predictions(
        y_true=p.y_true[keep], scores=p.scores[keep], paired=p.paired[keep], stay_id=p.stay_id[keep]
    )


def train_and_evaluate(
    model: nn.Module,
    *,
    task: str | Task,
    train_loader: Iterable,
    val_loader: Iterable,
    test_loader: Iterable,
    config: ProtocolConfig,
    method: str,
    protocol: str,
    modality: str,
    test_set: str,
    label_names: Sequence[str],
    paired_only: bool = False,
    los_hours: np.ndarray | None = None,
    out_dir: str | Path | None = None,
) -> ProtocolResult:
    """Train ``model`` (batch -> logits) with the task loss, select on validation, score test.

    Args:
        model: ``model(batch) -> logits (B, K)``; its trainable parameters are optimised.
        task: the task (loss, monitor metric, metric set).
        train_loader, val_loader, test_loader: batch dicts; val/test in a fixed order.
        config: protocol settings.
        method, protocol, modality, test_set: the result-row keys.
        label_names: label columns (phenotype names enable acute/chronic averages).
        paired_only: learn from and score only rows with ``paired`` True (X-ray only).
        los_hours: (n_test,) true remaining LOS in hours in test-loader order, so
            MAD/MSE/MAPE are reported besides kappa (length of stay only).
        out_dir: checkpoints and ``log.csv`` of the loop (``None``: in memory).

    Returns:
        A :class:`ProtocolResult` with the best validation epoch's weights.
    """
    task = Task.parse(task)
    metric = task_spec(task).monitor
    device = resolve_device(config.device)
    names = list(label_names)

    def rows_of(batch: Mapping[str, Any]) -> torch.Tensor | None:
        return batch["paired"].bool() if paired_only else None

    def step(m: nn.Module, batch: dict[str, Any]) -> torch.Tensor:
        return task_loss(task, m(batch), batch, row_mask=rows_of(batch))

    def predictions(m: nn.Module, loader: Iterable, desc: str) -> tuple[Predictions, np.ndarray]:
        p = collect_predictions(
            _scores_fn(task, m, device), loader, desc=desc, progress=config.progress
        )
        keep = p.paired if paired_only else np.ones(len(p), bool)
        return subset_predictions(p, keep), keep

    def val_fn(m: nn.Module, epoch: int) -> dict[str, float]:
        p, _ = predictions(m, val_loader, "validate")
        res = task_metrics(task, p.y_true, p.scores, label_names=names, per_label=False, n_boot=0)
        return {f"val_{metric}": res[metric].value}

    fitted = fit(
        model,
        train_loader,
        config=config.train_config(metric),
        step_fn=step,
        out_dir=out_dir,
        val_fn=val_fn,
        run_info={"protocol": protocol, "method": method, "modality": modality},
    )
    if fitted.best_state is not None:
        model.load_state_dict(fitted.best_state)
    model.eval()
    preds, keep = predictions(model, test_loader, "test")
    y_true: Any = preds.y_true
    if task == Task.LENGTH_OF_STAY and los_hours is not None:
        hours = np.asarray(los_hours, dtype=float)
        if len(hours) != len(keep):
            raise ValueError(f"los_hours has {len(hours)} rows; the test loader {len(keep)}")
        y_true = hours[keep]
    rows = evaluate_predictions(
        task,
        y_true,
        preds.scores,
        method=method,
        protocol=protocol,
        modality=modality,
        seed=config.seed,
        test_set=test_set,
        label_names=names if task_spec(task).kind == "multilabel" else None,
        n_boot=config.n_boot,
        bootstrap_seed=config.bootstrap_seed,
        clusters=stay_clusters(preds.stay_id),
    )
    return ProtocolResult(
        task=task,
        method=method,
        protocol=protocol,
        modality=modality,
        seed=config.seed,
        test_set=test_set,
        model=model,
        predictions=preds,
        rows=rows,
        history=fitted.history,
        best_epoch=fitted.best_epoch,
        best_score=fitted.best_score,
        label_names=names,
    )
