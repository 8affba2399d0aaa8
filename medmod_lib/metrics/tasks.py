"""The metric set of each task, and the paired comparison of two models.

=====================  ==============================================================
task                   metrics (``task_metrics`` keys)
=====================  ==============================================================
in-hospital-mortality  ``auroc``, ``auprc``, ``brier``
decompensation         ``auroc``, ``auprc``, ``brier``
phenotyping            ``auroc_{micro,macro,weighted}``, same for ``auprc``, per-label
                       ``auroc[<name>]``/``auprc[<name>]``, ``auroc_macro_acute``,
                       ``auroc_macro_chronic`` (groups by the ``type`` field
                       of MedFuse's ``icd_9_10_definitions_2.yaml``), ``brier``
radiology              as phenotyping, without the acute/chronic split
length-of-stay         ``kappa``, and ``mad``, ``mse``, ``mape`` when the truth is in hours
=====================  ==============================================================

All metrics of one call share the bootstrap resamples (same seed).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from functools import cache
from typing import Any

import numpy as np

from ..reference import Task, phenotype_definitions
from ..tasks import task_spec
from .bootstrap import BOOT_SEED, N_BOOT, MetricFn, MetricResult, PairedResult, paired_bootstrap
from .calibration import brier_score
from .classification import RankingMetric, auroc, check_scores, ranking_metrics, to_numpy
from .kernels import confusion_counts, linear_kappa_from_confusion, weighted_mean_counts
from .los import N_LOS_CLASSES, hour_errors, los_metrics, predicted_class, true_class


def _binary_1d(x: Any) -> np.ndarray:
    a = to_numpy(x)
    if a.ndim == 2 and a.shape[1] == 1:
        a = a[:, 0]
    return a


def task_metrics(
    task: str | Task,
    y_true: Any,
    y_score: Any,
    *,
    label_names: Sequence[str] | None = None,
    per_label: bool = True,
    probabilities: bool = True,
    n_boot: int = N_BOOT,
    seed: int | None = BOOT_SEED,
    level: float = 0.95,
    clusters: Any = None,
) -> dict[str, MetricResult]:
    """All metrics of ``task`` with bootstrap intervals (see the module table).

    Args:
        task: a :class:`~medmod_lib.reference.Task` or its name.
        y_true: binary (n,) or (n, 1); multi-label (n, K) with NaN = unknown;
            LOS (n,) hours (float) or bins (integer).
        y_score: probabilities of the same shape; LOS (n, 10) scores or (n,) bins.
        label_names: K label names for multi-label tasks (phenotype names enable the
            acute/chronic averages).
        per_label: include per-label AUROC/AUPRC.
        probabilities: scores are probabilities, so the Brier score is added;
            pass False for logits.
        n_boot, seed, level: bootstrap settings.
        clusters: one label per sample, the sample's stay id. Where a stay has
            several samples (decompensation and length of stay: one per hour;
            radiology: one per film) whole stays are resampled, carrying all
            their samples; where every stay has one sample this is the ordinary
            bootstrap. ``None``: samples are resampled one by one.
    """
    task = Task.parse(task)
    kw = {"n_boot": n_boot, "seed": seed, "level": level, "clusters": clusters}
    kind = task_spec(task).kind
    if kind == "multiclass":
        return los_metrics(y_true, y_score, **kw)
    if kind == "binary":
        y, s = _binary_1d(y_true), _binary_1d(y_score)
        out = ranking_metrics(y, s, **kw)
    else:
        y, s = check_scores(y_true, y_score)
        out = ranking_metrics(y, s, label_names=label_names, per_label=per_label, **kw)
        if task == Task.PHENOTYPING and label_names is not None:
            types = _phenotype_types()
            for kind in ("acute", "chronic"):
                cols = [j for j, n in enumerate(label_names) if types.get(n) == kind]
                if cols:
                    res = auroc(y[:, cols], s[:, cols], average="macro", **kw)
                    out[f"auroc_macro_{kind}"] = _renamed(res, f"auroc_macro_{kind}")
    if probabilities:
        out["brier"] = brier_score(y, s, **kw)
    return out


@cache
def _phenotype_types() -> dict[str, str]:
    """Phenotype name -> "acute"/"chronic" (parsing the YAML takes seconds: cached)."""
    return {name: str(e.get("type")) for name, e in phenotype_definitions().items()}


def _renamed(res: MetricResult, name: str) -> MetricResult:
    return replace(res, metric=name)


def _metric_fn(metric: str, y_true: Any, y_score: Any) -> tuple[MetricFn, int]:
    """Count-weighted function of ``metric`` for one model's scores, and n."""
    if metric in ("kappa", "mad", "mse", "mape"):
        truth, pred = true_class(y_true), predicted_class(y_score)
        if metric == "kappa":
            return (
                lambda w: linear_kappa_from_confusion(
                    confusion_counts(w, truth, pred, N_LOS_CLASSES)
                ),
                len(truth),
            )
        hours = to_numpy(y_true, dtype=None)
        if not np.issubdtype(hours.dtype, np.floating):
            raise ValueError(f"{metric} needs the true remaining LOS in hours (float y_true)")
        per = hour_errors(hours.astype(float), pred)[metric]
        return (lambda w: weighted_mean_counts(w, per)), len(hours)
    kind, _, average = metric.partition("_")
    if kind not in ("auroc", "auprc"):
        raise ValueError(
            f"unknown metric {metric!r}; use auroc/auprc[_micro|_macro|_weighted], "
            "kappa, mad, mse or mape"
        )
    y, s = check_scores(y_true, y_score)
    m = RankingMetric(y, s, kind)
    if y.shape[1] == 1:
        return m.fn(None, 0), m.n
    return m.fn(average or "macro"), m.n


def compare_models(
    y_true: Any,
    score_a: Any,
    score_b: Any,
    *,
    metric: str = "auroc",
    n_boot: int = N_BOOT,
    seed: int | None = BOOT_SEED,
    level: float = 0.95,
    clusters: Any = None,
) -> PairedResult:
    """Paired bootstrap of ``metric(a) - metric(b)`` on the same test set.

    Both models are scored on identical resamples, so the interval reflects the
    difference, not two independent intervals.

    Args:
        y_true: labels as in :func:`task_metrics`.
        score_a, score_b: the two models' scores for the same samples, same order.
        metric: ``auroc``/``auprc`` (binary), ``auroc_macro`` etc. (multi-label),
            ``kappa``/``mad``/``mse``/``mape`` (LOS).
        n_boot, seed, level, clusters: bootstrap settings (see :func:`task_metrics`).
    """
    fn_a, n = _metric_fn(metric, y_true, score_a)
    fn_b, n_b = _metric_fn(metric, y_true, score_b)
    if n != n_b:
        raise ValueError(f"the two models scored {n} and {n_b} samples; they must match")
    return paired_bootstrap(
        fn_a, fn_b, n, metric=metric, n_boot=n_boot, seed=seed, level=level, clusters=clusters
    )
