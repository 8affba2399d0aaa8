"""Seeded percentile bootstrap and paired bootstrap over count-weighted metrics.

A *metric function* maps resample counts ``w`` (B, n) to the metric of each
resample (B,); ``w = ones((1, n))`` is the test set itself. Resamples are drawn
with replacement at the test set's size from ``numpy.random.default_rng(seed)``,
in blocks whose size depends only on ``n``, so the same seed and the same number
of samples give the same resamples in every call (and both models of a paired
bootstrap see exactly the same resamples).

The 95% interval is the 2.5th and 97.5th percentile of the resampled metric
(MedFuse's "delta" arithmetic reduces to the same thing; MedFuse
``trainers/utils.py``), but seeded, and for averaged metrics the average itself
is resampled.

**Clusters.** When one stay contributes several samples (decompensation and
length of stay: one sample per hour), the samples are not independent and
resampling them one by one gives intervals that are too narrow. Pass
``clusters`` (one label per sample, e.g. the stay id) to resample whole
clusters instead: each resample draws as many clusters as the test set has,
with replacement, and every sample of a drawn cluster is carried with it
(its count is the cluster's count). If every cluster holds one sample the
ordinary sample bootstrap is used (the same resamples as without ``clusters``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from .kernels import MAX_ELEMENTS

MetricFn = Callable[[np.ndarray], np.ndarray]

#: Default number of bootstrap resamples (MedFuse/MedMod use 1000).
N_BOOT = 1000
#: Default bootstrap seed; stored with every result.
BOOT_SEED = 0


@dataclass(frozen=True)
class MetricResult:
    """A metric with its percentile bootstrap confidence interval.

    Attributes:
        metric: name, e.g. ``"auroc_macro"``.
        value: the metric on the full test set (NaN if undefined).
        ci_low, ci_high: percentile interval bounds (NaN if ``n_boot == 0``).
        n: number of test samples.
        n_boot: resamples drawn; ``n_boot_valid`` of them gave a defined value.
        seed: bootstrap seed.
        level: confidence level of the interval.
        n_skipped: labels left out of an average because they had one class only.
        n_clusters: clusters (stays) resampled by a cluster bootstrap; ``None``
            when samples were resampled one by one.
    """

    metric: str
    value: float
    ci_low: float
    ci_high: float
    n: int
    n_boot: int
    seed: int | None
    level: float = 0.95
    n_boot_valid: int = 0
    n_skipped: int = 0
    n_clusters: int | None = None

    def as_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        return (
            f"{self.metric} {self.value:.3f} [{self.ci_low:.3f}, {self.ci_high:.3f}] (n={self.n})"
        )


@dataclass(frozen=True)
class PairedResult:
    """Difference ``a - b`` between two models on the same test set.

    Attributes:
        metric: name of the metric.
        value_a, value_b: the metric of each model on the full test set.
        diff: ``value_a - value_b``.
        ci_low, ci_high: percentile interval of the resampled difference.
        p_value: two-sided bootstrap fraction, ``2 * min(P(d <= 0), P(d >= 0))``
            over resamples (capped at 1); small when the sign of the difference
            is stable. Not an exact test.
        n, n_boot, seed, level, n_clusters: as in :class:`MetricResult`.
    """

    metric: str
    value_a: float
    value_b: float
    diff: float
    ci_low: float
    ci_high: float
    p_value: float
    n: int
    n_boot: int
    seed: int | None
    level: float = 0.95
    n_clusters: int | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def cluster_index(clusters: Any, n: int) -> tuple[np.ndarray, int] | None:
    """Per-sample cluster codes ``0..m-1`` and ``m``, or ``None`` if no sample shares a cluster.

    Args:
        clusters: one label per sample (e.g. stay ids), or ``None``.
        n: number of samples.

    Raises:
        ValueError: if ``clusters`` does not have one label per sample or has missing labels.
    """
    if clusters is None:
        return None
    labels = np.asarray(clusters)
    if labels.shape != (n,):
        raise ValueError(
            f"clusters must hold one label per sample, shape ({n},); got {labels.shape}"
        )
    codes, uniques = pd.factorize(labels, sort=True)
    if (codes < 0).any():
        raise ValueError("clusters contain missing labels (NaN/None); give every sample a stay")
    if len(uniques) == n:
        return None
    return codes.astype(np.int64), len(uniques)


def resample_counts(
    n: int, n_boot: int, seed: int | None, clusters: Any = None
) -> Iterator[np.ndarray]:
    """Yield bootstrap count matrices (b, n) in blocks, n_boot rows in total.

    Args:
        n: test set size.
        n_boot: number of resamples.
        seed: seed of ``numpy.random.default_rng``.
        clusters: one label per sample; if some samples share a label, whole
            clusters are resampled (m draws among the m clusters) and each
            sample's count is its cluster's count.
    """
    if n < 1:
        raise ValueError("cannot bootstrap an empty test set (n = 0)")
    index = cluster_index(clusters, n)
    rng = np.random.default_rng(seed)
    block = max(1, MAX_ELEMENTS // n)
    m = n if index is None else index[1]
    for lo in range(0, n_boot, block):
        b = min(block, n_boot - lo)
        idx = rng.integers(0, m, size=(b, m))
        flat = idx + (np.arange(b) * m)[:, None]
        counts = np.bincount(flat.ravel(), minlength=b * m).reshape(b, m).astype(np.float32)
        yield counts if index is None else counts[:, index[0]]


def _replicates(
    fns: list[MetricFn], n: int, n_boot: int, seed: int | None, clusters: Any = None
) -> list[np.ndarray]:
    parts: list[list[np.ndarray]] = [[] for _ in fns]
    for w in tqdm(
        resample_counts(n, n_boot, seed, clusters),
        total=-(-n_boot // max(1, MAX_ELEMENTS // max(n, 1))),
        desc="bootstrap",
        leave=False,
        disable=None if n_boot * n > 50 * MAX_ELEMENTS else True,
    ):
        for part, fn in zip(parts, fns, strict=True):
            part.append(np.asarray(fn(w), dtype=float))
    return [np.concatenate(p) if p else np.empty(0) for p in parts]


def _percentiles(reps: np.ndarray, level: float) -> tuple[float, float]:
    valid = reps[np.isfinite(reps)]
    if len(valid) == 0:
        return float("nan"), float("nan")
    alpha = 100 * (1 - level) / 2
    lo, hi = np.percentile(valid, [alpha, 100 - alpha])
    return float(lo), float(hi)


def bootstrap(
    fn: MetricFn,
    n: int,
    *,
    metric: str,
    n_boot: int = N_BOOT,
    seed: int | None = BOOT_SEED,
    level: float = 0.95,
    n_skipped: int = 0,
    clusters: Any = None,
) -> MetricResult:
    """Point value and percentile bootstrap interval of one metric.

    Args:
        fn: metric function, counts (B, n) -> (B,).
        n: number of test samples.
        metric: name stored in the result.
        n_boot: resamples; 0 gives the point value with NaN bounds.
        seed: bootstrap seed (``None`` is allowed but not reproducible).
        level: confidence level.
        n_skipped: stored as is (labels an average left out).
        clusters: one label per sample (stay ids): resample whole clusters
            (see the module docstring); ``None``: samples one by one.
    """
    value = float(fn(np.ones((1, n)))[0])
    reps = _replicates([fn], n, n_boot, seed, clusters)[0]
    lo, hi = _percentiles(reps, level)
    return MetricResult(
        metric,
        value,
        lo,
        hi,
        n,
        n_boot,
        seed,
        level,
        int(np.isfinite(reps).sum()),
        n_skipped,
        _n_clusters(clusters, n),
    )


def _n_clusters(clusters: Any, n: int) -> int | None:
    index = cluster_index(clusters, n)
    return None if index is None else index[1]


def bootstrap_table(
    fn: MetricFn,
    n: int,
    *,
    metrics: Sequence[str],
    n_boot: int = N_BOOT,
    seed: int | None = BOOT_SEED,
    level: float = 0.95,
    n_skipped: Sequence[int] | None = None,
    n_valid: Sequence[int] | None = None,
    clusters: Any = None,
) -> dict[str, MetricResult]:
    """Like :func:`bootstrap` for a function computing M metrics at once, counts -> (B, M).

    Args:
        fn: counts (B, n) -> (B, M), one column per name in ``metrics``.
        n: number of test samples.
        metrics: the M names.
        n_boot, seed, level: as in :func:`bootstrap`.
        n_skipped: per metric, stored as is.
        n_valid: per metric, the ``n`` to report (e.g. known labels); default ``n``.
        clusters: as in :func:`bootstrap`.
    """
    value = np.asarray(fn(np.ones((1, n))), dtype=float).reshape(1, -1)[0]
    if len(value) != len(metrics):
        raise ValueError(f"fn returned {len(value)} columns for {len(metrics)} metric names")
    reps = _replicates([fn], n, n_boot, seed, clusters)[0].reshape(-1, len(metrics))
    n_clusters = _n_clusters(clusters, n)
    out = {}
    for j, name in enumerate(metrics):
        lo, hi = _percentiles(reps[:, j], level)
        out[name] = MetricResult(
            name,
            float(value[j]),
            lo,
            hi,
            int(n_valid[j]) if n_valid is not None else n,
            n_boot,
            seed,
            level,
            int(np.isfinite(reps[:, j]).sum()),
            int(n_skipped[j]) if n_skipped is not None else 0,
            n_clusters,
        )
    return out


def paired_bootstrap(
    fn_a: MetricFn,
    fn_b: MetricFn,
    n: int,
    *,
    metric: str,
    n_boot: int = N_BOOT,
    seed: int | None = BOOT_SEED,
    level: float = 0.95,
    clusters: Any = None,
) -> PairedResult:
    """Bootstrap the difference of one metric between two models, same resamples for both.

    Args:
        fn_a, fn_b: metric functions of model a and model b on the same test set.
        n: number of test samples.
        metric: name stored in the result.
        n_boot, seed, level, clusters: as in :func:`bootstrap`.
    """
    ones = np.ones((1, n))
    va, vb = float(fn_a(ones)[0]), float(fn_b(ones)[0])
    ra, rb = _replicates([fn_a, fn_b], n, n_boot, seed, clusters)
    d = ra - rb
    d = d[np.isfinite(d)]
    lo, hi = _percentiles(d, level)
    if len(d):
        p = float(min(1.0, 2 * min(np.mean(d <= 0), np.mean(d >= 0))))
    else:
        p = float("nan")
    n_clusters = _n_clusters(clusters, n)
    return PairedResult(metric, va, vb, va - vb, lo, hi, p, n, n_boot, seed, level, n_clusters)
