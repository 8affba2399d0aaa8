"""Bootstrap determinism, coverage on a known answer, and the paired bootstrap."""

from __future__ import annotations

import numpy as np
import pytest

from medmod_lib.metrics import auroc, bootstrap, compare_models, resample_counts


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
