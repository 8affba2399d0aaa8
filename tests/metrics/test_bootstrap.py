"""Bootstrap determinism, coverage on a known answer, and the paired bootstrap."""

from __future__ import annotations

import numpy as np
import pytest

from medmod_lib.metrics import auroc, bootstrap, compare_models, resample_counts, task_metrics


def _binary(n: int, seed: int, signal: float = 1.0):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.3).astype(float)
    return y, y * signal + rng.normal(size=n)


def test_counts_are_resamples_of_size_n() -> None:
    blocks = list(resample_counts(7, 10, seed=0))
    w = np.concatenate(blocks)
    assert w.shape == (10, 7)
    assert (w.sum(axis=1) == 7).all()
    assert (w >= 0).all()


def test_same_seed_same_interval_different_seed_different() -> None:
    y, s = _binary(300, seed=0)
    a = auroc(y, s, n_boot=200, seed=11)
    b = auroc(y, s, n_boot=200, seed=11)
    c = auroc(y, s, n_boot=200, seed=12)
    assert (a.ci_low, a.ci_high) == (b.ci_low, b.ci_high)
    assert (a.ci_low, a.ci_high) != (c.ci_low, c.ci_high)
    assert a.value == c.value


def test_no_resamples_gives_point_value_only() -> None:
    y, s = _binary(100, seed=0)
    res = auroc(y, s, n_boot=0)
    assert np.isnan(res.ci_low) and np.isnan(res.ci_high) and res.n_boot_valid == 0


def test_mean_interval_covers_the_population_mean() -> None:
    """Bootstrap CI of a sample mean of N(0.5, 1) covers 0.5 in ~95% of 200 samples."""
    rng = np.random.default_rng(2024)
    covered = 0
    for rep in range(200):
        x = rng.normal(0.5, 1.0, size=200)
        res = bootstrap(
            lambda w, x=x: (w @ x) / w.sum(axis=1), 200, metric="mean", n_boot=400, seed=rep
        )
        covered += res.ci_low <= 0.5 <= res.ci_high
    assert 0.90 * 200 <= covered <= 0.99 * 200


def test_auroc_interval_covers_the_population_auroc() -> None:
    """Scores N(d, 1) for positives, N(0, 1) for negatives: AUROC = Phi(d / sqrt 2)."""
    d = 1.0
    true_auc = 0.7602499389065233  # Phi(1 / sqrt(2))
    rng = np.random.default_rng(7)
    covered = 0
    for rep in range(200):
        y = (rng.random(300) < 0.3).astype(float)
        s = y * d + rng.normal(size=300)
        res = auroc(y, s, n_boot=300, seed=rep)
        covered += res.ci_low <= true_auc <= res.ci_high
    assert 0.88 * 200 <= covered <= 0.99 * 200


def test_paired_identical_predictions_give_exact_zero() -> None:
    y, s = _binary(400, seed=1)
    res = compare_models(y, s, s.copy(), metric="auroc", n_boot=200)
    assert res.diff == 0.0
    assert (res.ci_low, res.ci_high) == (0.0, 0.0)
    assert res.p_value == 1.0


def test_paired_equal_quality_models_interval_contains_zero() -> None:
    rng = np.random.default_rng(3)
    y = (rng.random(500) < 0.3).astype(float)
    a = y + rng.normal(size=500)
    b = y + rng.normal(size=500)
    res = compare_models(y, a, b, metric="auroc", n_boot=500, seed=0)
    assert res.ci_low <= 0.0 <= res.ci_high


def test_paired_better_model_excludes_zero() -> None:
    rng = np.random.default_rng(4)
    y = (rng.random(500) < 0.3).astype(float)
    good = 2 * y + rng.normal(size=500)
    weak = 0.3 * y + rng.normal(size=500)
    res = compare_models(y, good, weak, metric="auroc", n_boot=500, seed=0)
    assert res.diff > 0 and res.ci_low > 0
    assert res.p_value < 0.01
    assert res.value_a == pytest.approx(auroc(y, good, n_boot=0).value)


def test_paired_uses_the_same_resamples_as_single() -> None:
    y, s = _binary(300, seed=5)
    rng = np.random.default_rng(0)
    other = rng.random(300)
    single = auroc(y, s, n_boot=300, seed=9)
    paired = compare_models(y, s, other, n_boot=300, seed=9)
    assert paired.value_a == single.value


def test_paired_multilabel_macro() -> None:
    rng = np.random.default_rng(6)
    y = (rng.random((300, 5)) < 0.3).astype(float)
    res = compare_models(
        y, y + rng.normal(size=y.shape), rng.random(y.shape), metric="auroc_macro", n_boot=200
    )
    assert res.ci_low > 0


def test_compare_models_rejects_unknown_metric() -> None:
    y, s = _binary(50, seed=0)
    with pytest.raises(ValueError, match="unknown metric"):
        compare_models(y, s, s, metric="accuracy")


def _hourly(seed: int = 0, stays: int = 60, hours: int = 24):
    """Decompensation-like data: each stay's samples share their label and (almost) score."""
    rng = np.random.default_rng(seed)
    y_stay = rng.integers(0, 2, stays)
    s_stay = 1 / (1 + np.exp(-(1.2 * (2 * y_stay - 1) + rng.normal(0, 1.5, stays))))
    stay = np.repeat(np.arange(1000, 1000 + stays), hours)
    y = y_stay.repeat(hours)
    s = np.clip(s_stay.repeat(hours) + rng.normal(0, 0.01, stays * hours), 0, 1)
    return y, s, stay


def test_cluster_counts_carry_whole_stays() -> None:
    stay = np.array([7, 7, 7, 3, 3, 9, 9, 9, 9, 5])  # 4 clusters, unsorted, unequal sizes
    sizes = {7: 3, 3: 2, 9: 4, 5: 1}
    blocks = list(resample_counts(len(stay), 500, seed=2, clusters=stay))
    w = np.concatenate(blocks)
    assert w.shape == (500, len(stay))
    for label in sizes:
        rows = w[:, stay == label]
        assert (rows == rows[:, :1]).all()  # every sample of a stay has the stay's count
    per_cluster = np.column_stack([w[:, stay == label][:, 0] for label in sizes])
    assert (per_cluster.sum(axis=1) == 4).all()  # 4 draws among the 4 stays
    size = np.array(list(sizes.values()))
    assert np.array_equal(w.sum(axis=1), per_cluster @ size)
    assert per_cluster.max() > 1 and (per_cluster == 0).any()


def test_one_sample_per_cluster_is_the_sample_bootstrap() -> None:
    ids = np.arange(40)[::-1] * 3
    a = np.concatenate(list(resample_counts(40, 200, seed=5)))
    b = np.concatenate(list(resample_counts(40, 200, seed=5, clusters=ids)))
    assert np.array_equal(a, b)


def test_stay_clusters_widen_hourly_intervals() -> None:
    """Samples of one stay are correlated: resampling them one by one is too narrow."""
    y, s, stay = _hourly()
    flat = auroc(y, s, n_boot=400, seed=0)
    clustered = auroc(y, s, n_boot=400, seed=0, clusters=stay)
    assert clustered.value == flat.value
    assert clustered.n_clusters == 60 and flat.n_clusters is None
    width = clustered.ci_high - clustered.ci_low
    assert width > 2.5 * (flat.ci_high - flat.ci_low)
    # The clustered interval matches the one from the 60 stays themselves.
    per_stay = auroc(y[::24], s[::24], n_boot=400, seed=1)
    assert width == pytest.approx(per_stay.ci_high - per_stay.ci_low, rel=0.35)


def test_task_metrics_and_paired_comparison_take_clusters() -> None:
    y, s, stay = _hourly(1)
    res = task_metrics("decompensation", y, s, n_boot=200, seed=0, clusters=stay)
    flat = task_metrics("decompensation", y, s, n_boot=200, seed=0)
    for key in ("auroc", "auprc", "brier"):
        assert res[key].n_clusters == 60
        assert (res[key].ci_high - res[key].ci_low) > 2 * (flat[key].ci_high - flat[key].ci_low)
    hours = np.random.default_rng(0).uniform(1, 400, len(y))
    scores = np.random.default_rng(1).random((len(y), 10))
    los = task_metrics("length-of-stay", hours, scores, n_boot=50, clusters=stay)
    assert {r.n_clusters for r in los.values()} == {60}
    d = compare_models(y, s, s[::-1], metric="auroc", n_boot=100, clusters=stay)
    assert d.n_clusters == 60
    with pytest.raises(ValueError, match="one label per sample"):
        auroc(y, s, n_boot=10, clusters=stay[:-1])
