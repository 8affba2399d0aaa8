"""Window flags (intubation, acuity) and the AUROC within strata."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from medmod_lib.evaluation import (
    ACUITY_CRITERIA,
    acuity_score,
    intubated,
    read_stay_events,
    stratified_auroc,
)
from medmod_lib.evaluation.strata import ALONE, DROP, STRATA_COLUMNS, VERBAL, WITHIN

CHANNELS = [c for c, *_ in ACUITY_CRITERIA]


def _events(rows):
    frame = pd.DataFrame(rows, columns=["stay_id", "Hours", *dict.fromkeys(CHANNELS)])
    return frame.fillna("")


def test_flags_count_only_events_inside_each_samples_window() -> None:
    events = _events(
        [
            (1, -0.5, "", "", "", "", "", "", "", "No Response-ETT"),  # before ICU admission
            (1, 10.0, "120", "", "", "", "", "", "", "Oriented"),
            (1, 48.0, "", "60", "", "", "", "", "", ""),  # on the edge: inside
            (1, 50.0, "", "", "", "85", "", "", "", "No Response-ETT"),  # after 48 h
            (2, 3.0, "", "", "", "", "60", "", "", ""),  # FiO2 60 %: a percentage
            (2, 4.0, "", "", "", "", "", "7", "7.2", "1.0 ET/Trach"),
        ]
    )
    samples = pd.DataFrame({"stay_id": [1, 2, 3, 2], "period_length": [48.0, 48.0, 48.0, 3.5]})
    assert intubated(events, samples).tolist() == [False, True, False, False]
    # stay 1: HR 120 and mean BP 60; stay 2: FiO2, GCS 7, pH 7.2, ETT; sample 3 stops at 3.5 h
    assert acuity_score(events, samples).tolist() == [2, 4, 0, 1]
    longer = samples.assign(period_length=[60.0, 48.0, 48.0, 48.0])
    assert intubated(events, longer).tolist() == [True, True, False, True]
    assert acuity_score(events, longer).tolist() == [4, 4, 0, 4]  # SpO2 85 and ETT at 50 h count
    assert acuity_score(events.iloc[:0], samples).tolist() == [0, 0, 0, 0]


def test_hourly_samples_of_one_stay_get_their_own_windows() -> None:
    rows = [(7, float(h), "", "", "", "", "", "", "", "") for h in range(100)]
    rows[30] = (7, 30.0, "", "", "", "", "", "", "", "No Response-ETT")
    events = _events(rows)
    samples = pd.DataFrame({"stay_id": [7] * 100, "period_length": np.arange(100.0)})
    flags = intubated(events, samples)
    assert flags.tolist() == [h >= 30 for h in range(100)]


def test_read_stay_events_reads_only_the_samples_stays(tmp_path) -> None:
    events = _events(
        [(1, 1.0, "130", "", "", "", "", "", "", ""), (5, 1.0, "130", "", "", "", "", "", "", "")]
    )
    events.to_parquet(tmp_path / "timeseries.parquet", index=False)

    class EHR:
        root = tmp_path

    samples = pd.DataFrame({"stay_id": [1], "period_length": [48.0]})
    read = read_stay_events(EHR(), samples, CHANNELS)
    assert read["stay_id"].tolist() == [1] and read["Heart Rate"].tolist() == ["130"]
    assert list(read_stay_events(EHR(), samples, [VERBAL]).columns) == ["stay_id", "Hours", VERBAL]
    assert acuity_score(read, samples).tolist() == [1]


def _naive_within(y, s, strata):
    """Count same-stratum pairs one by one (ties 1/2)."""
    num = den = 0.0
    for i in range(len(y)):
        for j in range(len(y)):
            if y[i] == 1 and y[j] == 0 and strata[i] == strata[j]:
                den += 1
                num += 1.0 if s[i] > s[j] else 0.5 if s[i] == s[j] else 0.0
    return num / den


def test_a_model_that_ranks_by_the_stratum_loses_its_auroc_within_strata() -> None:
    rng = np.random.default_rng(0)
    n = 400
    tube = rng.random(n) < 0.4
    y = (rng.random(n) < np.where(tube, 0.5, 0.1)).astype(float)
    shortcut = tube + rng.normal(0, 0.1, n)  # knows the tube, nothing else
    out = stratified_auroc(y, shortcut, tube, n_boot=200, seed=0)
    assert tuple(out.columns) == STRATA_COLUMNS
    assert out["stratum"].tolist() == ["all", "False", "True", WITHIN, DROP, ALONE]
    row = out.set_index("stratum")
    assert row.loc["all", "auroc"] == pytest.approx(roc_auc_score(y, shortcut))
    assert row.loc["all", "auroc"] > 0.7
    assert abs(row.loc[WITHIN, "auroc"] - 0.5) < 0.1
    assert row.loc[WITHIN, "ci_low"] < 0.5 < row.loc[WITHIN, "ci_high"]
    drop = row.loc[DROP]
    assert drop["auroc"] == pytest.approx(row.loc["all", "auroc"] - row.loc[WITHIN, "auroc"])
    assert drop["ci_low"] > 0.1  # resolved: the overall AUROC is mostly the shortcut's
    assert row.loc[ALONE, "auroc"] == pytest.approx(roc_auc_score(y, tube))
    assert row.loc["True", "rate"] == pytest.approx(y[tube].mean())
    assert row.loc["True", "rate_low"] < row.loc["True", "rate"] < row.loc["True", "rate_high"]
    assert row.loc["True", "n"] == tube.sum() and row.loc["True", "n_positive"] == y[tube].sum()
    # a model that sees the outcome within each stratum keeps its ranking there
    honest = y + rng.normal(0, 0.7, n)
    row = stratified_auroc(y, honest, tube, n_boot=0).set_index("stratum")
    assert row.loc[WITHIN, "auroc"] > 0.75 and np.isnan(row.loc[WITHIN, "ci_low"])
    assert abs(row.loc[DROP, "auroc"]) < 0.05


def test_pooled_value_equals_counting_same_stratum_pairs_with_ties() -> None:
    rng = np.random.default_rng(4)
    n = 60
    strata = rng.choice(["a", "b", "c"], n)
    y = (rng.random(n) < 0.35).astype(float)
    s = np.round(y + rng.normal(0, 1, n), 1)  # rounded: ties
    row = stratified_auroc(y, s, strata, n_boot=0, min_size=1).set_index("stratum")
    assert row.loc[WITHIN, "auroc"] == pytest.approx(_naive_within(y, s, strata))


def test_small_one_class_and_missing_strata_say_so_instead_of_crashing() -> None:
    y = np.array([1, 0, 1, 0, 0, 0, 1, 0], float)
    s = np.linspace(0, 1, 8)
    strata = pd.Series([True, True, True, True, False, False, None, None])
    out = stratified_auroc(y, s, strata, min_size=3, n_boot=20).set_index("stratum")
    assert out.loc["False", "flag"] == "too_small" and np.isnan(out.loc["False", "auroc"])
    assert out.loc["unknown", "n"] == 2
    assert out.loc["True", "flag"] == ""
    one_class = stratified_auroc(y * 0, s, strata, min_size=1, n_boot=20).set_index("stratum")
    assert (one_class["flag"].drop("all") != "").all() and one_class["auroc"].isna().all()
    assert one_class.loc[WITHIN, "flag"] == one_class.loc[DROP, "flag"] == "no_pairs"
    empty = stratified_auroc([], [], [], n_boot=20)
    assert empty["stratum"].tolist() == ["all", WITHIN, DROP, ALONE]
    assert empty["auroc"].isna().all()
    with pytest.raises(ValueError, match="align"):
        stratified_auroc(y, s, strata[:-1])
    with pytest.raises(ValueError, match="0/1"):
        stratified_auroc(y * 2, s, strata)
