"""Operating points: what a binary risk score does once a threshold turns it into alerts.

AUROC and the Brier score rate a score over all thresholds; a ward acts on one.
:func:`operating_points` tabulates, for chosen thresholds, how many patients get
an alert (per 100), and how many of the alerts are right (PPV) or of the events
are caught (sensitivity). :func:`threshold_at_sensitivity` finds the threshold
that catches a target share of the events, e.g. on the validation set.

A sample is *flagged* when its probability is at or above the threshold
(``y_prob >= threshold``).

Examples:
    >>> import numpy as np
    >>> y = np.array([0, 0, 1, 1])
    >>> p = np.array([0.1, 0.6, 0.4, 0.9])
    >>> threshold_at_sensitivity(y, p, 0.5)
    0.9
    >>> operating_points(y, p, {"0.5": 0.5})[["sensitivity", "ppv", "alerts_per_100"]]
       sensitivity  ppv  alerts_per_100
    0          0.5  0.5            50.0
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .classification import to_numpy

#: Columns of :func:`operating_points`, in order.
OPERATING_COLUMNS: tuple[str, ...] = (
    "rule",
    "threshold",
    "alerts_per_100",
    "sensitivity",
    "specificity",
    "ppv",
    "npv",
    "tp",
    "fp",
    "tn",
    "fn",
    "n",
)


def _binary(y_true: Any, y_prob: Any) -> tuple[np.ndarray, np.ndarray]:
    """(n,) 0/1 labels and (n,) scores; (n, 1) input is flattened, NaN labels dropped."""
    y = to_numpy(y_true).astype(float)
    p = to_numpy(y_prob).astype(float)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if p.ndim == 2 and p.shape[1] == 1:
        p = p[:, 0]
    if y.ndim != 1 or y.shape != p.shape:
        raise ValueError(
            f"operating points need one binary label per sample: y_true {y.shape}, "
            f"y_prob {p.shape} (pass one column of a multi-label task)"
        )
    known = ~np.isnan(y)
    y, p = y[known], p[known]
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError("y_true must hold 0/1 labels (NaN = unknown)")
    return y, p


def threshold_at_sensitivity(y_true: Any, y_prob: Any, sensitivity: float) -> float:
    """The highest threshold whose alerts catch at least ``sensitivity`` of the positives.

    With ``k = ceil(sensitivity * n_positive)``, this is the k-th highest score
    among the positives: flagging ``y_prob >= threshold`` catches at least ``k``
    of them (more where scores tie), and any higher threshold catches fewer.

    Args:
        y_true: (n,) or (n, 1) 0/1 labels; NaN = unknown (left out).
        y_prob: scores of the same shape.
        sensitivity: target share of positives to catch, in (0, 1].

    Returns:
        The threshold, or NaN when ``y_true`` has no positive.

    Raises:
        ValueError: for a target outside (0, 1] or mismatched shapes.
    """
    if not 0.0 < sensitivity <= 1.0:
        raise ValueError(f"sensitivity must be in (0, 1], got {sensitivity}")
    y, p = _binary(y_true, y_prob)
    positives = np.sort(p[y == 1])[::-1]
    if len(positives) == 0:
        return float("nan")
    k = math.ceil(round(sensitivity * len(positives), 9))  # 0.8 * 10 is 8, not 8.000001
    return float(positives[max(k, 1) - 1])


def _ratio(a: float, b: float) -> float:
    return a / b if b > 0 else float("nan")


def operating_points(
    y_true: Any,
    y_prob: Any,
    thresholds: Mapping[str, float] | Sequence[float],
) -> pd.DataFrame:
    """Confusion counts and the rates a clinician reads, at each threshold.

    Args:
        y_true: (n,) or (n, 1) 0/1 labels; NaN = unknown (left out).
        y_prob: probabilities (or any scores) of the same shape.
        thresholds: ``{rule name: threshold}``, or thresholds (named by their
            value). A NaN threshold (e.g. no positive to set it on) gives a row
            of NaN.

    Returns:
        One row per threshold with :data:`OPERATING_COLUMNS`: ``alerts_per_100``
        (flagged samples per 100), ``sensitivity`` (TP / positives),
        ``specificity`` (TN / negatives), ``ppv`` (TP / flagged), ``npv``
        (TN / not flagged), the counts and ``n``. A rate whose denominator is 0
        is NaN (e.g. PPV when nothing is flagged).
    """
    y, p = _binary(y_true, y_prob)
    if not isinstance(thresholds, Mapping):
        thresholds = {f"{t:g}": t for t in thresholds}
    rows = []
    for rule, t in thresholds.items():
        t = float(t)
        if math.isnan(t):
            rows.append({"rule": rule, "threshold": t, "n": len(y)})
            continue
        flag = p >= t
        tp = int((flag & (y == 1)).sum())
        fp = int((flag & (y == 0)).sum())
        tn = int((~flag & (y == 0)).sum())
        fn = int((~flag & (y == 1)).sum())
        rows.append(
            {
                "rule": rule,
                "threshold": t,
                "alerts_per_100": 100.0 * _ratio(tp + fp, len(y)),
                "sensitivity": _ratio(tp, tp + fn),
                "specificity": _ratio(tn, tn + fp),
                "ppv": _ratio(tp, tp + fp),
                "npv": _ratio(tn, tn + fn),
                "tp": tp,
                "fp": fp,
                "tn": tn,
                "fn": fn,
                "n": len(y),
            }
        )
    return pd.DataFrame(rows, columns=list(OPERATING_COLUMNS))
