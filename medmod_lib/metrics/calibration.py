"""Calibration: Brier score (with bootstrap interval) and the reliability curve.

Both need probabilities (after the sigmoid), not logits.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .bootstrap import BOOT_SEED, N_BOOT, MetricResult, bootstrap
from .classification import check_scores


def _check_probabilities(y_prob: np.ndarray) -> None:
    if (y_prob < 0).any() or (y_prob > 1).any():
        raise ValueError(
            "calibration needs probabilities in [0, 1]; apply a sigmoid to the logits first"
        )


def brier_score(
    y_true: Any,
    y_prob: Any,
    *,
    n_boot: int = N_BOOT,
    seed: int | None = BOOT_SEED,
    level: float = 0.95,
    clusters: Any = None,
) -> MetricResult:
    """Mean squared error between probabilities and 0/1 labels (sklearn ``brier_score_loss``).

    For (n, K) input the score is averaged over all known (sample, label) pairs.

    Args:
        y_true: (n,) or (n, K) 0/1 labels; NaN = unknown (left out).
        y_prob: probabilities of the same shape.
        n_boot, seed, level: bootstrap settings.
        clusters: one label per sample (stay ids): resample whole stays.
    """
    y, p = check_scores(y_true, y_prob)
    _check_probabilities(p)
    known = ~np.isnan(y)
    sq = np.where(known, (p - np.nan_to_num(y)) ** 2, 0.0).sum(axis=1)
    count = known.sum(axis=1).astype(float)

    def fn(w: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return (w @ sq) / (w @ count)

    return bootstrap(
        fn, len(y), metric="brier", n_boot=n_boot, seed=seed, level=level, clusters=clusters
    )


#: Two-sided 95 % normal quantile.
Z95 = 1.959963984540054


def wilson_interval(share, n, z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of observed proportions ``share`` out of ``n`` trials each.

    Unlike the normal approximation it is not degenerate at 0 or n successes, which
    matters for rare events (reliability bins, recall near a small chance level).
    Vectorised over ``share`` and ``n``; the bounds are not clipped, so at 0 or 1 they
    equal the point up to rounding.
    """
    share, n = np.asarray(share, float), np.asarray(n, float)
    centre = (share + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z * np.sqrt(share * (1 - share) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    return centre - half, centre + half


def reliability_curve(
    y_true: Any, y_prob: Any, *, n_bins: int = 10, strategy: str = "uniform"
) -> pd.DataFrame:
    """Observed frequency of positives against mean predicted probability, per bin.

    Args:
        y_true: (n,) 0/1 labels (or (n, K), pooled over labels; NaN = unknown).
        y_prob: probabilities of the same shape.
        n_bins: number of bins.
        strategy: ``"uniform"`` (equal-width bins on [0, 1]) or ``"quantile"``
            (equal-count bins).

    Returns:
        One row per non-empty bin: ``bin_low``, ``bin_high``, ``mean_predicted``,
        ``observed``, ``count``, and a 95% Wilson interval of the observed
        fraction (``observed_low``, ``observed_high``). Empty bins are absent.
    """
    y, p = check_scores(y_true, y_prob)
    _check_probabilities(p)
    known = ~np.isnan(y)
    y, p = y[known], p[known]
    if strategy == "uniform":
        edges = np.linspace(0.0, 1.0, n_bins + 1)
    elif strategy == "quantile":
        edges = np.unique(np.quantile(p, np.linspace(0.0, 1.0, n_bins + 1)))
        edges[0], edges[-1] = 0.0, 1.0
    else:
        raise ValueError(f"strategy must be 'uniform' or 'quantile', got {strategy!r}")
    which = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, len(edges) - 2)
    count = np.bincount(which, minlength=len(edges) - 1)
    sum_p = np.bincount(which, weights=p, minlength=len(edges) - 1)
    sum_y = np.bincount(which, weights=y, minlength=len(edges) - 1)
    keep = count > 0
    c = count[keep].astype(float)
    obs = sum_y[keep] / c
    low, high = wilson_interval(obs, c)
    return pd.DataFrame(
        {
            "bin_low": edges[:-1][keep],
            "bin_high": edges[1:][keep],
            "mean_predicted": sum_p[keep] / c,
            "observed": obs,
            "count": count[keep],
            "observed_low": low,
            "observed_high": high,
        }
    )
