"""AUROC and AUPRC for binary and multi-label tasks, with bootstrap intervals.

Definitions follow scikit-learn (``roc_auc_score``, ``average_precision_score``):

- ``micro``: all (sample, label) pairs pooled into one binary problem;
- ``macro``: unweighted mean over labels;
- ``weighted``: mean over labels weighted by their number of positives.

Unlike scikit-learn, a label with one class only (in the test set or in a
resample) does not raise: it is left out of ``macro``/``weighted`` and counted
in ``MetricResult.n_skipped``. ``NaN`` in ``y_true`` marks an unknown label
(radiology "ignore" policy); that (sample, label) pair is left out of that
label's metric and of ``micro``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from .bootstrap import BOOT_SEED, N_BOOT, MetricFn, MetricResult, bootstrap, bootstrap_table
from .kernels import RankedLabel, auroc_counts, average_precision_counts, rank_label

Average = Literal["micro", "macro", "weighted"]
AVERAGES: tuple[str, ...] = ("micro", "macro", "weighted")


def to_numpy(x: Any, *, dtype: Any = float) -> np.ndarray:
    """Convert a tensor, list or array to a numpy array of ``dtype``."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=dtype)


def check_scores(y_true: Any, y_score: Any) -> tuple[np.ndarray, np.ndarray]:
    """Validate and return labels and scores as float arrays of shape (n, K).

    Args:
        y_true: (n,) or (n, K) 0/1 labels; NaN marks an unknown label.
        y_score: scores of the same shape (probabilities or logits).

    Raises:
        ValueError: on shape mismatch, labels other than 0/1/NaN, non-finite scores.
    """
    y, s = to_numpy(y_true), to_numpy(y_score)
    if y.ndim == 1:
        y = y[:, None]
    if s.ndim == 1:
        s = s[:, None]
    if y.shape != s.shape or y.ndim != 2:
        raise ValueError(
            f"y_true {to_numpy(y_true).shape} and y_score {to_numpy(y_score).shape} must have "
            "the same shape (n,) or (n, K)"
        )
    if len(y) == 0:
        raise ValueError("empty test set: y_true has no rows")
    known = y[~np.isnan(y)]
    if not np.isin(known, (0.0, 1.0)).all():
        raise ValueError("y_true must contain only 0, 1 (or NaN for an unknown label)")
    if not np.isfinite(s).all():
        raise ValueError("y_score contains NaN or inf; check the model's outputs")
    return y, s


class RankingMetric:
    """AUROC or average precision of (n, K) labels and scores as a count-weighted function.

    Args:
        y_true: (n, K) float labels, NaN = unknown.
        y_score: (n, K) scores.
        kind: ``"auroc"`` or ``"auprc"``.
    """

    def __init__(self, y_true: np.ndarray, y_score: np.ndarray, kind: str) -> None:
        if kind not in ("auroc", "auprc"):
            raise ValueError(f"kind must be 'auroc' or 'auprc', got {kind!r}")
        self.kind = kind
        self.n, self.k = y_true.shape
        self._kernel = auroc_counts if kind == "auroc" else average_precision_counts
        asc = kind == "auroc"
        self.valid = ~np.isnan(y_true)
        self.labels: list[RankedLabel] = []
        self.pos = np.nan_to_num(y_true, nan=0.0)
        for j in range(self.k):
            rows = np.flatnonzero(self.valid[:, j])
            self.labels.append(rank_label(y_true[rows, j], y_score[rows, j], rows, ascending=asc))
        rows, cols = np.nonzero(self.valid)
        self.pooled = rank_label(y_true[rows, cols], y_score[rows, cols], rows, ascending=asc)
        one = np.ones((1, self.n))
        self.single_class = int(np.isnan(self.per_label(one)[0]).sum())

    def per_label(self, w: np.ndarray) -> np.ndarray:
        """(B, K) metric of each label under each resample."""
        return np.stack([self._kernel(w, lab) for lab in self.labels], axis=1)

    def table(self, w: np.ndarray) -> np.ndarray:
        """(B, K + 3): each label, then micro, macro and weighted, under each resample."""
        per = self.per_label(w)
        micro = self._kernel(w, self.pooled)
        return np.column_stack([per, micro, _nanmean(per, None), _nanmean(per, w @ self.pos)])

    def fn(self, average: str | None, label: int | None = None) -> MetricFn:
        """The count-weighted function for one average (or one label index)."""
        if label is not None:
            return lambda w: self._kernel(w, self.labels[label])
        if average == "micro":
            return lambda w: self._kernel(w, self.pooled)
        if average == "macro":
            return lambda w: _nanmean(self.per_label(w), None)
        if average == "weighted":
            return lambda w: _nanmean(self.per_label(w), w @ self.pos)
        raise ValueError(f"average must be one of {AVERAGES}, got {average!r}")


def _nanmean(values: np.ndarray, weights: np.ndarray | None) -> np.ndarray:
    ok = np.isfinite(values)
    wts = np.ones_like(values) if weights is None else weights
    wts = np.where(ok, wts, 0.0)
    total = wts.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, (np.where(ok, values, 0.0) * wts).sum(axis=1) / total, np.nan)


def _ranking(
    kind: str,
    y_true: Any,
    y_score: Any,
    average: str | None,
    n_boot: int,
    seed: int | None,
    level: float,
    clusters: Any = None,
) -> MetricResult:
    y, s = check_scores(y_true, y_score)
    m = RankingMetric(y, s, kind)
    kw = {"n_boot": n_boot, "seed": seed, "level": level, "clusters": clusters}
    if y.shape[1] == 1:
        return bootstrap(m.fn(None, 0), m.n, metric=kind, **kw)
    skipped = m.single_class if average in ("macro", "weighted") else 0
    return bootstrap(
        m.fn(average),
        m.n,
        metric=f"{kind}_{average}",
        n_skipped=skipped,
        **kw,
    )


def auroc(
    y_true: Any,
    y_score: Any,
    *,
    average: str = "macro",
    n_boot: int = N_BOOT,
    seed: int | None = BOOT_SEED,
    level: float = 0.95,
    clusters: Any = None,
) -> MetricResult:
    """Area under the ROC curve with a percentile bootstrap interval.

    Args:
        y_true: (n,) binary or (n, K) multi-label 0/1 labels; NaN = unknown.
        y_score: scores of the same shape.
        average: ``"micro"``, ``"macro"`` or ``"weighted"``; ignored for (n,) input.
        n_boot: bootstrap resamples (0: no interval).
        seed: bootstrap seed.
        level: confidence level.
        clusters: one label per sample (stay ids) to resample whole stays
            (:mod:`~medmod_lib.metrics.bootstrap`); ``None``: samples one by one.

    Examples:
        >>> auroc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], n_boot=0).value
        0.75
    """
    return _ranking("auroc", y_true, y_score, average, n_boot, seed, level, clusters)


def auprc(
    y_true: Any,
    y_score: Any,
    *,
    average: str = "macro",
    n_boot: int = N_BOOT,
    seed: int | None = BOOT_SEED,
    level: float = 0.95,
    clusters: Any = None,
) -> MetricResult:
    """Average precision (area under the precision-recall curve, sklearn definition).

    Args: as in :func:`auroc`.
    """
    return _ranking("auprc", y_true, y_score, average, n_boot, seed, level, clusters)


def ranking_metrics(
    y_true: Any,
    y_score: Any,
    *,
    label_names: Sequence[str] | None = None,
    per_label: bool = True,
    n_boot: int = N_BOOT,
    seed: int | None = BOOT_SEED,
    level: float = 0.95,
    clusters: Any = None,
) -> dict[str, MetricResult]:
    """AUROC and AUPRC: binary, or per label plus micro/macro/weighted for multi-label.

    Keys: ``auroc``, ``auprc`` for (n,) input; otherwise ``auroc_micro``,
    ``auroc_macro``, ``auroc_weighted`` (same for ``auprc``) and, with
    ``per_label``, ``auroc[<label name>]``, ``auprc[<label name>]``. All use the
    same resamples (same seed), so intervals of different keys are comparable.

    Args:
        y_true: (n,) or (n, K) labels; NaN = unknown.
        y_score: scores of the same shape.
        label_names: K names (default ``"0"``, ``"1"``, ...).
        per_label: also return each label's metrics.
        n_boot, seed, level, clusters: as in :func:`auroc`.
    """
    y, s = check_scores(y_true, y_score)
    binary = to_numpy(y_true).ndim == 1
    names = list(label_names) if label_names is not None else [str(j) for j in range(y.shape[1])]
    if len(names) != y.shape[1]:
        raise ValueError(f"{len(names)} label names for {y.shape[1]} label columns")
    n_known = (~np.isnan(y)).sum(axis=0)
    ms = [RankingMetric(y, s, kind) for kind in ("auroc", "auprc")]
    n = ms[0].n
    if binary:
        keys = ["auroc", "auprc"]
        table = bootstrap_table(
            lambda w: np.column_stack([m.fn(None, 0)(w) for m in ms]),
            n,
            metrics=keys,
            n_valid=[int(n_known[0])] * 2,
            n_boot=n_boot,
            seed=seed,
            level=level,
            clusters=clusters,
        )
        return table
    keys, skipped, valid = [], [], []
    for m in ms:
        keys += [f"{m.kind}[{name}]" for name in names] + [f"{m.kind}_{a}" for a in AVERAGES]
        skipped += [0] * (len(names) + 1) + [m.single_class] * 2
        valid += [*n_known, n, n, n]
    table = bootstrap_table(
        lambda w: np.column_stack([m.table(w) for m in ms]),
        n,
        metrics=keys,
        n_skipped=skipped,
        n_valid=valid,
        n_boot=n_boot,
        seed=seed,
        level=level,
        clusters=clusters,
    )
    out: dict[str, MetricResult] = {}
    for m in ms:
        out |= {f"{m.kind}_{a}": table[f"{m.kind}_{a}"] for a in AVERAGES}
        if per_label:
            out |= {f"{m.kind}[{name}]": table[f"{m.kind}[{name}]"] for name in names}
    return out


def auroc_half_width(auc: float, n_pos: int, n_neg: int, z: float = 1.96) -> float:
    """Half-width of a normal-approximation 95% interval of an AUROC (Hanley and McNeil).

    Used to size test sets before training anything: how many positives and
    negatives a test set needs for an interval narrow enough to resolve a planted
    difference. Hanley, J. A. and McNeil, B. J., "The meaning and use of the area
    under a receiver operating characteristic (ROC) curve", Radiology 143 (1982),
    equation 1. (The kit's reported intervals are bootstraps; this is the planning
    formula.)

    Args:
        auc: the AUROC expected, in (0, 1).
        n_pos, n_neg: positives and negatives of the test set (both > 0).
        z: normal quantile (1.96 for 95%).

    Raises:
        ValueError: a count below 1 or an AUROC outside (0, 1).
    """
    if n_pos < 1 or n_neg < 1:
        raise ValueError(f"need positives and negatives, got {n_pos} and {n_neg}")
    if not 0.0 < auc < 1.0:
        raise ValueError(f"auc must lie in (0, 1), got {auc}")
    q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
    var = (auc * (1 - auc) + (n_pos - 1) * (q1 - auc**2) + (n_neg - 1) * (q2 - auc**2)) / (
        n_pos * n_neg
    )
    return float(z * np.sqrt(var))
