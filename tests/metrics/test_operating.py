"""Operating points: counts and rates at a threshold, and the threshold for a sensitivity."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from sklearn.metrics import confusion_matrix

from medmod_lib.metrics import OPERATING_COLUMNS, operating_points, threshold_at_sensitivity

# 5 deaths, 10 survivors; worked out by hand in the comments below
Y = np.array([1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
P = np.array([0.9, 0.8, 0.7, 0.4, 0.2, 0.85, 0.6, 0.5, 0.3, 0.3, 0.2, 0.1, 0.1, 0.05, 0.0])


def test_counts_and_rates_at_one_half_by_hand():
    # flagged (p >= 0.5): deaths 0.9, 0.8, 0.7; survivors 0.85, 0.6, 0.5 (0.5 counts)
    row = operating_points(Y, P, {"0.5": 0.5}).iloc[0]
    assert (row.tp, row.fp, row.tn, row.fn, row.n) == (3, 3, 7, 2, 15)
    assert row.alerts_per_100 == pytest.approx(40.0)  # 6 of 15
    assert row.sensitivity == pytest.approx(0.6)
    assert row.specificity == pytest.approx(0.7)
    assert row.ppv == pytest.approx(0.5)
    assert row.npv == pytest.approx(7 / 9)
    assert list(operating_points(Y, P, [0.5]).columns) == list(OPERATING_COLUMNS)


def test_threshold_at_sensitivity_by_hand():
    # deaths sorted: 0.9, 0.8, 0.7, 0.4, 0.2; 80 % of 5 is 4 -> the 4th highest, 0.4
    assert threshold_at_sensitivity(Y, P, 0.8) == pytest.approx(0.4)
    assert threshold_at_sensitivity(Y, P, 0.7) == pytest.approx(0.4)  # ceil(3.5) = 4
    assert threshold_at_sensitivity(Y, P, 0.6) == pytest.approx(0.7)  # 0.6 * 5 is 3, not 4
    assert threshold_at_sensitivity(Y, P, 1.0) == pytest.approx(0.2)
    row = operating_points(Y, P, {"80%": threshold_at_sensitivity(Y, P, 0.8)}).iloc[0]
    assert (row.tp, row.fp, row.tn, row.fn) == (4, 3, 7, 1)
    assert row.sensitivity == pytest.approx(0.8)
    assert row.ppv == pytest.approx(4 / 7)
    assert row.alerts_per_100 == pytest.approx(700 / 15)


def test_tied_scores_are_all_flagged():
    # at 0.2 the survivor tied with the last death is flagged too
    row = operating_points(Y, P, [threshold_at_sensitivity(Y, P, 1.0)]).iloc[0]
    assert (row.tp, row.fp) == (5, 6)
    assert row.rule == "0.2"


@pytest.mark.parametrize("target", [0.1, 0.25, 0.5, 0.8, 0.95, 1.0])
def test_threshold_reaches_the_target_and_a_higher_one_does_not(target):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    p = rng.random(200)
    t = threshold_at_sensitivity(y, p, target)
    assert operating_points(y, p, [t]).iloc[0].sensitivity >= target
    higher = np.min(p[p > t]) if (p > t).any() else 1.1
    assert operating_points(y, p, [higher]).iloc[0].sensitivity < target


def test_matches_sklearn_confusion_matrix():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 300)
    p = rng.random(300)
    for t in (0.1, 0.5, 0.9):
        tn, fp, fn, tp = confusion_matrix(y, p >= t, labels=[0, 1]).ravel()
        row = operating_points(y, p, [t]).iloc[0]
        assert (row.tp, row.fp, row.tn, row.fn) == (tp, fp, tn, fn)


def test_undefined_rates_are_nan():
    row = operating_points(Y, P, [0.99]).iloc[0]  # nothing flagged
    assert row.alerts_per_100 == 0.0 and row.sensitivity == 0.0
    assert math.isnan(row.ppv)
    assert math.isnan(threshold_at_sensitivity(np.zeros(4), np.arange(4) / 4, 0.8))
    nan_row = operating_points(Y, P, {"unset": float("nan")}).iloc[0]
    assert math.isnan(nan_row.sensitivity) and nan_row.n == 15


def test_column_input_tensors_and_unknown_labels():
    y = torch.tensor([[1.0], [0.0], [float("nan")], [1.0]])
    p = torch.tensor([[0.9], [0.2], [0.99], [0.3]])
    row = operating_points(y, p, [0.5]).iloc[0]
    assert row.n == 3 and (row.tp, row.fp, row.tn, row.fn) == (1, 0, 1, 1)
    assert threshold_at_sensitivity(y, p, 1.0) == pytest.approx(0.3)


def test_bad_input_raises():
    with pytest.raises(ValueError, match="one binary label per sample"):
        operating_points(np.zeros((4, 2)), np.zeros((4, 2)), [0.5])
    with pytest.raises(ValueError, match="0/1"):
        operating_points(np.array([0, 2]), np.array([0.1, 0.2]), [0.5])
    with pytest.raises(ValueError, match="sensitivity"):
        threshold_at_sensitivity(Y, P, 0.0)
