"""The most confident errors of a binary model."""

from __future__ import annotations

import numpy as np
import pytest

from medmod_lib.evaluation import most_confident_errors
from medmod_lib.evaluation.errors import ERROR_COLUMNS, FALSE_ALARM, MISSED


def test_highest_scored_survivors_and_lowest_scored_deaths() -> None:
    y = np.array([0, 1, 0, 1, 0, 1, 0, 0])
    s = np.array([0.9, 0.1, 0.5, 0.8, 0.9, 0.3, 0.2, 0.7])
    ids = np.arange(100, 108)
    out = most_confident_errors(y, s, k=2, stay_id=ids)
    assert tuple(out.columns) == ERROR_COLUMNS
    alarms, missed = out[out["kind"] == FALSE_ALARM], out[out["kind"] == MISSED]
    assert alarms["row"].tolist() == [0, 4]  # tied at 0.9: the earlier row first
    assert missed["row"].tolist() == [1, 5]
    assert out["rank"].tolist() == [1, 2, 1, 2]
    assert out["stay_id"].tolist() == [100, 104, 101, 105]
    assert (alarms["y_true"] == 0).all() and (missed["y_true"] == 1).all()
    # share of all samples scored strictly lower
    assert alarms["percentile"].tolist() == [6 / 8, 6 / 8]
    assert missed["percentile"].tolist() == [0.0, 2 / 8]


def test_fewer_rows_when_a_class_is_small_or_absent() -> None:
    out = most_confident_errors([0, 0, 1], [[0.2], [0.4], [0.3]], k=5)
    assert out["kind"].tolist() == [FALSE_ALARM, FALSE_ALARM, MISSED]
    assert (out["stay_id"] == -1).all()
    none = most_confident_errors([0, 0], [0.1, 0.2], k=1)
    assert none["kind"].tolist() == [FALSE_ALARM]
    assert most_confident_errors([], [], k=1).empty


def test_bad_inputs_raise() -> None:
    with pytest.raises(ValueError, match="k must"):
        most_confident_errors([0, 1], [0.1, 0.2], k=0)
    with pytest.raises(ValueError, match="0/1"):
        most_confident_errors([0, 2], [0.1, 0.2])
    with pytest.raises(ValueError, match="align"):
        most_confident_errors([0, 1], [0.1, 0.2], stay_id=[1])
    with pytest.raises(ValueError, match=r"\(n,\)"):
        most_confident_errors(np.zeros((3, 2)), np.zeros((3, 2)))
