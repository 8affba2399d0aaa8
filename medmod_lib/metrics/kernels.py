"""Count-weighted metric kernels, vectorised over bootstrap resamples.

A bootstrap resample of ``n`` samples is represented by its *counts*: row ``b``
of a (B, n) matrix ``w`` says how many times each original sample was drawn.
Every kernel here evaluates a metric for all B rows at once, which is what makes
1000 resamples of thousands of samples x 25 labels run in seconds. With
``w = ones((1, n))`` the kernels give the plain (point) metric; the definitions
match scikit-learn's ``roc_auc_score``, ``average_precision_score``,
``cohen_kappa_score`` and ``brier_score_loss`` on the duplicated samples.

Undefined values (a resample with one class only) are NaN, never an error.
Resample counts are float32 (exact up to 16 million samples) to halve memory
traffic; sums along the sample axis use numpy's pairwise summation, so a
resampled AUROC agrees with the float64 value to about 1e-6.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Upper bound on elements of one (b, n) temporary; callers slice B to stay below it.
MAX_ELEMENTS = 4_000_000


@dataclass(frozen=True)
class RankedLabel:
    """One label's samples sorted by score, with tie groups, ready for the kernels.

    Attributes:
        rows: (m,) column of each sorted sample in the count matrix.
        positive: (m,) bool, the sorted labels.
        starts: (G,) start of each group of tied scores in the sorted order.
        ascending: True if sorted by increasing score.
        pos_idx: (P,) positions of the positives in the sorted order.
    """

    rows: np.ndarray
    positive: np.ndarray
    starts: np.ndarray
    ascending: bool
    pos_idx: np.ndarray

    @property
    def has_ties(self) -> bool:
        return len(self.starts) < len(self.rows)


def rank_label(
    y_true: np.ndarray, y_score: np.ndarray, rows: np.ndarray, *, ascending: bool
) -> RankedLabel:
    """Sort one label's samples by score and find the tie groups.

    Args:
        y_true: (m,) 0/1 labels.
        y_score: (m,) scores.
        rows: (m,) column of each sample in the count matrix.
        ascending: sort order (AUROC uses ascending, AP descending).
    """
    key = y_score if ascending else -y_score
    order = np.argsort(key, kind="stable")
    s = key[order]
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    positive = y_true[order].astype(bool)
    return RankedLabel(rows[order], positive, starts, ascending, np.flatnonzero(positive))


def _group_sums(w_sorted: np.ndarray, positive: np.ndarray, starts: np.ndarray):
    """Positive and negative counts per tie group: two (b, G) arrays."""
    pos = np.where(positive, w_sorted, 0.0)
    neg = w_sorted - pos
    if len(starts) == w_sorted.shape[1]:
        return pos, neg
    return np.add.reduceat(pos, starts, axis=1), np.add.reduceat(neg, starts, axis=1)


def _chunks(b: int, m: int):
    step = max(1, MAX_ELEMENTS // max(m, 1))
    for lo in range(0, b, step):
        yield slice(lo, min(b, lo + step))


def auroc_counts(w: np.ndarray, ranked: RankedLabel) -> np.ndarray:
    """AUROC (probability a positive outranks a negative, ties count 1/2) per row of ``w``.

    Args:
        w: (B, n) resample counts.
        ranked: the label, from :func:`rank_label` with ``ascending=True``.

    Returns:
        (B,) AUROC; NaN where a resample has no positive or no negative.
    """
    out = np.empty(w.shape[0])
    for sl in _chunks(w.shape[0], len(ranked.rows)):
        ws = np.take(w[sl], ranked.rows, axis=1)
        if ranked.has_ties:
            pos, neg = _group_sums(ws, ranked.positive, ranked.starts)
            neg_below = np.cumsum(neg, axis=1) - neg
            num = (pos * (neg_below + 0.5 * neg)).sum(axis=1)
            n_pos, n_neg = pos.sum(axis=1), neg.sum(axis=1)
        else:  # negatives below a positive = all below - positives below
            below = np.cumsum(ws, axis=1)
            wp = np.take(ws, ranked.pos_idx, axis=1)
            pos_below = np.cumsum(wp, axis=1)
            num = (wp * (np.take(below, ranked.pos_idx, axis=1) - pos_below)).sum(axis=1)
            n_pos = pos_below[:, -1] if wp.shape[1] else np.zeros(len(ws))
            n_neg = below[:, -1] - n_pos
        den = n_pos.astype(np.float64) * n_neg
        with np.errstate(invalid="ignore", divide="ignore"):
            out[sl] = np.where(den > 0, num / den, np.nan)
    return out


def average_precision_counts(w: np.ndarray, ranked: RankedLabel) -> np.ndarray:
    """Average precision, sum over thresholds of (R_k - R_{k-1}) P_k, per row of ``w``.

    Args:
        w: (B, n) resample counts.
        ranked: the label, from :func:`rank_label` with ``ascending=False``.

    Returns:
        (B,) AP; NaN where a resample has no positive or no negative.
    """
    out = np.empty(w.shape[0])
    for sl in _chunks(w.shape[0], len(ranked.rows)):
        ws = np.take(w[sl], ranked.rows, axis=1)
        if ranked.has_ties:
            pos, neg = _group_sums(ws, ranked.positive, ranked.starts)
            tp = np.cumsum(pos, axis=1)
            seen = tp + np.cumsum(neg, axis=1)
        else:  # only thresholds at positives add recall
            pos = np.take(ws, ranked.pos_idx, axis=1)
            tp = np.cumsum(pos, axis=1)
            seen = np.cumsum(ws, axis=1)
            total = seen[:, -1]
            seen = np.take(seen, ranked.pos_idx, axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            precision = np.where(seen > 0, tp / seen, 0.0)
            n_pos = tp[:, -1] if tp.shape[1] else np.zeros(len(ws))
            n_neg = (seen[:, -1] if ranked.has_ties else total) - n_pos
            ap = (pos * precision).sum(axis=1) / n_pos
        out[sl] = np.where((n_pos > 0) & (n_neg > 0), ap, np.nan)
    return out


def weighted_mean_counts(w: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Mean of per-sample ``values`` (n,) under each resample: (B,)."""
    return (w @ values) / w.sum(axis=1)


def confusion_counts(
    w: np.ndarray, y_true: np.ndarray, y_pred: np.ndarray, n_classes: int
) -> np.ndarray:
    """Confusion matrices (B, K, K) (rows: true class) of each resample."""
    cell = y_true.astype(np.int64) * n_classes + y_pred.astype(np.int64)
    order = np.argsort(cell, kind="stable")
    c = cell[order]
    starts = np.flatnonzero(np.r_[True, c[1:] != c[:-1]])
    out = np.zeros((w.shape[0], n_classes * n_classes))
    for sl in _chunks(w.shape[0], len(c)):
        out[sl][:, c[starts]] = np.add.reduceat(np.take(w[sl], order, axis=1), starts, axis=1)
    return out.reshape(-1, n_classes, n_classes)


def linear_kappa_from_confusion(conf: np.ndarray) -> np.ndarray:
    """Linear-weighted Cohen's kappa of each (K, K) confusion matrix in ``conf`` (B, K, K)."""
    k = conf.shape[-1]
    idx = np.arange(k)
    weights = np.abs(idx[:, None] - idx[None, :]).astype(float)
    total = conf.sum(axis=(1, 2))
    expected = np.einsum("bi,bj->bij", conf.sum(axis=2), conf.sum(axis=1)) / total[:, None, None]
    observed_cost = np.einsum("ij,bij->b", weights, conf)
    expected_cost = np.einsum("ij,bij->b", weights, expected)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(expected_cost > 0, 1.0 - observed_cost / expected_cost, np.nan)
