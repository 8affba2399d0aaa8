"""Length-of-stay metrics: linear-weighted kappa on the 10 bins, MAD/MSE/MAPE in hours.

The model predicts one of the 10 LOS bins (``medmod_lib.reference.LOS_BIN_EDGES_DAYS``).
For the hour-based errors the predicted bin is mapped to its mean remaining
LOS in hours (``LOS_BIN_MEANS_HOURS``), as mimic3-benchmarks does
(YerevaNN/mimic3-benchmarks ``mimic3models/metrics.py``, ``CustomBins.means``).
MedMod's MAD, the error between the true hours and the top softmax probability
(nyuad-cai/MedMod ``src/models/supervised/trainers/fusion_trainer.py``,
``mean_absolute_error(..., outPRED.max(1)[0])``), is not reproduced.

Kappa uses all 10 classes as the label set, so the distance between bins 0 and
9 is always 9 steps. scikit-learn's ``cohen_kappa_score`` without ``labels=``
renumbers only the classes present, which differs when a bin is absent from
both truth and prediction; with ``labels=range(10)`` the two agree.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..reference import LOS_BIN_MEANS_HOURS, los_bin
from .bootstrap import BOOT_SEED, N_BOOT, MetricResult, bootstrap
from .classification import to_numpy
from .kernels import confusion_counts, linear_kappa_from_confusion, weighted_mean_counts

N_LOS_CLASSES = len(LOS_BIN_MEANS_HOURS)
#: Added to the true hours in MAPE's denominator (mimic3-benchmarks).
MAPE_EPS_HOURS = 0.1


def predicted_class(y_pred: Any) -> np.ndarray:
    """Class indices (n,) from class indices (n,) or class scores (n, 10) (argmax)."""
    p = to_numpy(y_pred)
    if p.ndim == 2:
        if p.shape[1] != N_LOS_CLASSES:
            raise ValueError(f"LOS scores must have {N_LOS_CLASSES} columns, got {p.shape[1]}")
        return p.argmax(axis=1)
    if p.ndim != 1 or not np.isin(p, np.arange(N_LOS_CLASSES)).all():
        raise ValueError(
            f"LOS predictions must be class indices 0..{N_LOS_CLASSES - 1} (n,) or scores (n, 10)"
        )
    return p.astype(np.int64)


def true_class(y_true: Any) -> np.ndarray:
    """Class indices (n,) from class indices (integer dtype) or remaining hours (float dtype)."""
    y = to_numpy(y_true, dtype=None)
    if y.ndim != 1:
        raise ValueError(f"LOS targets must be 1-D (n,), got shape {y.shape}")
    if np.issubdtype(y.dtype, np.integer):
        if not np.isin(y, np.arange(N_LOS_CLASSES)).all():
            raise ValueError(f"LOS class targets must lie in 0..{N_LOS_CLASSES - 1}")
        return y.astype(np.int64)
    return los_bin(y.astype(float))


def los_metrics(
    y_true: Any,
    y_pred: Any,
    *,
    n_boot: int = N_BOOT,
    seed: int | None = BOOT_SEED,
    level: float = 0.95,
    clusters: Any = None,
) -> dict[str, MetricResult]:
    """Kappa (linear weights) and, if the truth is in hours, MAD, MSE and MAPE.

    Args:
        y_true: (n,) remaining LOS in hours (float dtype) or bin indices (integer dtype).
            Hour errors need hours; with class indices only ``kappa`` is returned.
        y_pred: (n,) predicted bins or (n, 10) class scores/probabilities.
        n_boot, seed, level: bootstrap settings.
        clusters: one label per sample (the stay id): resample whole stays, since
            the hourly samples of a stay are correlated; ``None``: samples one by one.

    Returns:
        ``kappa`` and, for hours, ``mad`` (hours), ``mse`` (hours^2), ``mape`` (%).
    """
    pred = predicted_class(y_pred)
    truth = true_class(y_true)
    if len(pred) != len(truth):
        raise ValueError(f"{len(truth)} LOS targets but {len(pred)} predictions")
    n = len(truth)
    kw = {"n_boot": n_boot, "seed": seed, "level": level, "clusters": clusters}
    out = {
        "kappa": bootstrap(
            lambda w: linear_kappa_from_confusion(confusion_counts(w, truth, pred, N_LOS_CLASSES)),
            n,
            metric="kappa",
            **kw,
        )
    }
    raw = to_numpy(y_true, dtype=None)
    if not np.issubdtype(raw.dtype, np.floating):
        return out
    y = raw.astype(float)
    if not np.isfinite(y).all() or (y < 0).any():
        raise ValueError("remaining LOS hours must be finite and >= 0")
    for name, values in hour_errors(y, pred).items():
        out[name] = bootstrap(lambda w, v=values: weighted_mean_counts(w, v), n, metric=name, **kw)
    return out


def hour_errors(hours: np.ndarray, pred: np.ndarray) -> dict[str, np.ndarray]:
    """Per-sample errors of predicted bins against true hours.

    Args:
        hours: (n,) true remaining LOS in hours.
        pred: (n,) predicted bin indices, mapped to ``LOS_BIN_MEANS_HOURS``.

    Returns:
        ``mad`` (absolute error, h), ``mse`` (squared error, h^2), ``mape``
        (100 * |error| / (hours + 0.1), %), each (n,).
    """
    err = hours - np.asarray(LOS_BIN_MEANS_HOURS)[pred]
    return {
        "mad": np.abs(err),
        "mse": err**2,
        "mape": 100.0 * np.abs(err) / (hours + MAPE_EPS_HOURS),
    }
