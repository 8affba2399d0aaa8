"""LOS kappa and MAD (bin means, not probabilities), Brier score, reliability curve."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss, cohen_kappa_score

from medmod_lib.metrics import brier_score, los_metrics, reliability_curve
from medmod_lib.reference import LOS_BIN_MEANS_HOURS, los_bin


def test_los_bin_edges_are_left_closed() -> None:
    hours = np.array([0.0, 23.99, 24.0, 191.99, 192.0, 335.99, 336.0, 5000.0])
    assert los_bin(hours).tolist() == [0, 0, 1, 7, 8, 8, 9, 9]
    assert los_bin(30.0) == 1


def test_kappa_matches_sklearn_linear_weights() -> None:
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 10, 500)
    pred = np.clip(truth + rng.integers(-2, 3, 500), 0, 9)
    res = los_metrics(truth, pred, n_boot=50)
    expected = cohen_kappa_score(truth, pred, weights="linear", labels=list(range(10)))
    assert res["kappa"].value == pytest.approx(expected, abs=1e-12)
    assert set(res) == {"kappa"}  # class targets: no hour errors


def test_kappa_uses_all_ten_bins_when_some_are_absent() -> None:
    truth = np.array([0, 0, 9, 9, 5])
    pred = np.array([0, 9, 9, 0, 5])
    res = los_metrics(truth, pred, n_boot=0)
    assert res["kappa"].value == pytest.approx(
        cohen_kappa_score(truth, pred, weights="linear", labels=list(range(10)))
    )


def test_mad_maps_predicted_bin_to_its_mean_hours() -> None:
    hours = np.array([10.0, 30.0, 400.0])
    probs = np.zeros((3, 10))
    probs[[0, 1, 2], [0, 0, 9]] = 0.9  # predicted bins 0, 0, 9
    probs[probs == 0] = 0.1 / 9
    res = los_metrics(hours, probs, n_boot=0)
    means = np.asarray(LOS_BIN_MEANS_HOURS)
    err = hours - means[[0, 0, 9]]
    assert res["mad"].value == pytest.approx(np.abs(err).mean())
    assert res["mse"].value == pytest.approx((err**2).mean())
    assert res["mape"].value == pytest.approx(100 * np.mean(np.abs(err) / (hours + 0.1)))
    # truth in hours -> bins 0, 1, 9; predicted 0, 0, 9
    assert res["kappa"].value == pytest.approx(
        cohen_kappa_score([0, 1, 9], [0, 0, 9], weights="linear", labels=list(range(10)))
    )


def test_los_bad_input() -> None:
    with pytest.raises(ValueError, match="10 columns"):
        los_metrics(np.array([1.0, 2.0]), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="0..9"):
        los_metrics(np.array([1, 12]), np.array([1, 2]))
    with pytest.raises(ValueError, match=">= 0"):
        los_metrics(np.array([-1.0, 2.0]), np.array([1, 2]))


def test_brier_matches_sklearn_and_has_interval() -> None:
    rng = np.random.default_rng(1)
    y = (rng.random(400) < 0.3).astype(float)
    p = np.clip(0.3 * y + 0.5 * rng.random(400), 0, 1)
    res = brier_score(y, p, n_boot=200, seed=0)
    assert res.value == pytest.approx(brier_score_loss(y, p))
    assert res.ci_low < res.value < res.ci_high


def test_brier_rejects_logits() -> None:
    with pytest.raises(ValueError, match="sigmoid"):
        brier_score(np.array([0, 1]), np.array([-2.0, 3.0]))


@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
def test_reliability_curve_matches_sklearn(strategy: str) -> None:
    rng = np.random.default_rng(2)
    p = rng.random(1000)
    y = (rng.random(1000) < p).astype(float)
    curve = reliability_curve(y, p, n_bins=8, strategy=strategy)
    obs, mean_pred = calibration_curve(y, p, n_bins=8, strategy=strategy)
    np.testing.assert_allclose(curve["observed"], obs)
    np.testing.assert_allclose(curve["mean_predicted"], mean_pred)
    assert curve["count"].sum() == 1000
    assert (curve["observed_low"] <= curve["observed"]).all()
    assert (curve["observed"] <= curve["observed_high"]).all()


def test_reliability_curve_skips_empty_bins_and_keeps_p_equal_one() -> None:
    curve = reliability_curve(np.array([0, 1, 1]), np.array([0.05, 0.95, 1.0]), n_bins=10)
    assert curve["count"].tolist() == [1, 2]
    assert curve["bin_low"].tolist() == pytest.approx([0.0, 0.9])
