"""The discretizer pins the mimic3-benchmarks semantics.

Reference: YerevaNN/mimic3-benchmarks ``mimic3models/preprocessing.py``
(``Discretizer``, ``Normalizer``): right-closed hourly bins, last value in a bin
wins, 'previous' imputation from the config's normal values, 59 value + 17 mask
columns, and z-scoring of the continuous columns only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from reference_discretizer import Discretizer

from medmod_lib import reference
from medmod_lib.ehr.discretizer import (
    Normalizer,
    discretize_events,
    header,
    n_bins_for,
)

HEADER = header()
COL = {name: i for i, name in enumerate(HEADER)}
HR, GCS_T = "Heart Rate", "Glascow coma scale total"


def oracle(frame: pd.DataFrame, end: float, strategy: str) -> np.ndarray:
    """A loop-for-loop port of the reference algorithm, written independently."""
    chans = reference.channels()
    width = [len(reference.possible_values(c)) or 1 for c in chans]
    begin = np.concatenate([[0], np.cumsum(width)[:-1]])
    n = int(end + 1.0 - 1e-6)
    data = np.zeros((n, sum(width)))
    mask = np.zeros((n, len(chans)))
    original = [["" for _ in chans] for _ in range(n)]

    def write(b, c, v):
        j = chans.index(c)
        if reference.is_categorical(c):
            vals = reference.possible_values(c)
            data[b, begin[j] : begin[j] + len(vals)] = 0
            data[b, begin[j] + vals.index(v)] = 1
        else:
            data[b, begin[j]] = float(v)

    for _, row in frame.iterrows():
        t = row["Hours"]
        if t > end + 1e-6:
            continue
        b = int(t - 1e-6)
        for c in frame.columns[1:]:
            if pd.isna(row[c]) or row[c] == "":
                continue
            mask[b, chans.index(c)] = 1
            write(b, c, row[c])
            original[b][chans.index(c)] = row[c]
    order = range(n) if strategy != "next" else range(n - 1, -1, -1)
    prev = [[] for _ in chans]
    for b in order:
        for j, c in enumerate(chans):
            if mask[b, j]:
                prev[j].append(original[b][j])
                continue
            if strategy == "zero":
                continue
            if strategy == "normal_value" or not prev[j]:
                write(b, c, reference.normal_value(c))
            else:
                write(b, c, prev[j][-1])
    return np.hstack([data, mask]).astype(np.float32)


def random_stay(rng: np.random.Generator, n_rows: int) -> pd.DataFrame:
    hours = rng.uniform(0, 20, n_rows)
    hours[:2] = [0.0, 1.0]  # an event exactly at intime and one on a bin edge
    hours = np.sort(hours)
    frame = pd.DataFrame({"Hours": hours})
    for c in reference.channels():
        if reference.is_categorical(c):
            vals = np.array(reference.possible_values(c), dtype=object)
            col = rng.choice(vals, n_rows)
        else:
            col = np.round(rng.normal(50, 10, n_rows), 2).astype(object)
        col[rng.random(n_rows) < 0.7] = ""
        frame[c] = col
    return frame


def test_header_matches_the_benchmark():
    assert len(HEADER) == 76
    assert HEADER[0] == "Capillary refill rate->0.0"
    assert "Glascow coma scale total->15" in HEADER
    assert HEADER[59:] == [f"mask->{c}" for c in reference.channels()]
    assert sum("->" not in h for h in HEADER) == 12


@pytest.mark.parametrize(("end", "bins"), [(48, 48), (10.5, 11), (10, 10), (0.5, 1), (0, 0)])
def test_number_of_bins(end, bins):
    assert n_bins_for(end) == bins


def test_bins_are_right_closed_and_time_zero_is_kept():
    frame = pd.DataFrame({"Hours": [0.0, 1.0, 1.0001], HR: [60, 70, 80]})
    data, _ = Discretizer().transform(frame, end=3)
    # t=0 and t=1.0 share bin 0 (the later row wins); t=1.0001 opens bin 1.
    assert data[:, COL[HR]].tolist() == [70, 80, 80]
    assert data[:, COL["mask->Heart Rate"]].tolist() == [1, 1, 0]


def test_previous_imputation_uses_normal_value_before_first_observation():
    frame = pd.DataFrame({"Hours": [2.5], HR: [100], GCS_T: ["7"]})
    data, _ = Discretizer().transform(frame, end=5)
    assert data[:, COL[HR]].tolist() == [86, 86, 100, 100, 100]
    assert data[:, COL[f"{GCS_T}->15"]].tolist() == [1, 1, 0, 0, 0]
    assert data[:, COL[f"{GCS_T}->7"]].tolist() == [0, 0, 1, 1, 1]
    assert data[:, COL["mask->Glascow coma scale total"]].tolist() == [0, 0, 1, 0, 0]
    # A bin's one-hot block has exactly one 1 for every categorical channel.
    onehot = [i for i, h in enumerate(HEADER[:59]) if "->" in h]
    assert (data[:, onehot].sum(axis=1) == 5).all()


def test_other_strategies():
    frame = pd.DataFrame({"Hours": [2.5], HR: [100]})
    zero, _ = Discretizer(impute_strategy="zero").transform(frame, end=4)
    nxt, _ = Discretizer(impute_strategy="next").transform(frame, end=4)
    normal, _ = Discretizer(impute_strategy="normal_value").transform(frame, end=4)
    assert zero[:, COL[HR]].tolist() == [0, 0, 100, 0]
    assert zero[:, :59].sum() == 100  # nothing else was written
    assert nxt[:, COL[HR]].tolist() == [100, 100, 100, 86]
    assert normal[:, COL[HR]].tolist() == [86, 86, 100, 86]


def test_events_after_end_are_ignored_and_end_defaults_to_last_event():
    frame = pd.DataFrame({"Hours": [0.5, 3.2], HR: [60, 70]})
    data, _ = Discretizer().transform(frame, end=3)
    assert data.shape == (3, 76) and data[:, COL[HR]].max() == 60
    data, _ = Discretizer().transform(frame)
    assert data.shape == (4, 76) and data[-1, COL[HR]] == 70


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="not a known value"):
        Discretizer().transform(pd.DataFrame({"Hours": [1.0], GCS_T: ["16"]}), end=2)
    with pytest.raises(ValueError, match="Unknown channel"):
        Discretizer().transform(pd.DataFrame({"Hours": [1.0], "Pulse": [1]}), end=2)
    with pytest.raises(ValueError, match="impute_strategy"):
        Discretizer(impute_strategy="mean")


@pytest.mark.parametrize("strategy", ["previous", "next", "normal_value", "zero"])
def test_matches_the_reference_algorithm(strategy):
    rng = np.random.default_rng(0)
    for _ in range(5):
        frame = random_stay(rng, 40)
        ours, _ = Discretizer(impute_strategy=strategy).transform(frame, end=17.5)
        np.testing.assert_array_equal(ours, oracle(frame, 17.5, strategy))


def to_long(frame: pd.DataFrame, stay_id: int) -> pd.DataFrame:
    long = frame.melt(id_vars="Hours", var_name="channel", value_name="value", ignore_index=False)
    long = long[long["value"] != ""].reset_index().sort_values(["Hours", "index"], kind="stable")
    return pd.DataFrame(
        {
            "stay_id": stay_id,
            "hours": long["Hours"],
            "channel": long["channel"],
            "value": long["value"],
        }
    )


@pytest.mark.parametrize("strategy", ["previous", "next", "normal_value", "zero"])
def test_vectorised_version_equals_per_stay_version(strategy):
    rng = np.random.default_rng(1)
    frames = {sid: random_stay(rng, 30) for sid in (30000003, 30000001, 30000002)}
    ends = pd.Series({30000003: 12.0, 30000001: 20.0, 30000002: 7.5, 30000009: 3.0})
    events = pd.concat([to_long(f, sid) for sid, f in frames.items()], ignore_index=True)
    events = events.sort_values(["stay_id", "hours"], kind="stable")
    inputs, index = discretize_events(events, ends, impute_strategy=strategy)
    assert index["stay_id"].tolist() == [30000001, 30000002, 30000003, 30000009]
    assert index["n_bins"].tolist() == [20, 8, 12, 3]
    assert inputs.shape == (43, 76) and inputs.dtype == np.float32
    for row in index.itertuples():
        got = inputs[row.offset : row.offset + row.n_bins]
        if row.stay_id in frames:
            want, _ = Discretizer(impute_strategy=strategy).transform(
                frames[row.stay_id], end=ends[row.stay_id]
            )
        else:  # a stay without events: all imputed, masks 0
            want, _ = Discretizer(impute_strategy=strategy).transform(
                pd.DataFrame({"Hours": []}), end=3
            )
            assert got[:, 59:].sum() == 0
        np.testing.assert_array_equal(got, want)


def test_vectorised_window_drops_negative_and_late_events():
    events = pd.DataFrame(
        {
            "stay_id": [1, 1, 1, 1],
            "hours": [-0.5, 0.0, 2.0, 2.5],
            "channel": [HR] * 4,
            "value": ["50", "60", "70", "80"],
        }
    )
    inputs, _ = discretize_events(events, pd.Series({1: 2.0}))
    assert inputs[:, COL[HR]].tolist() == [60, 70]


def test_vectorised_bad_values_are_named():
    events = pd.DataFrame({"stay_id": [1], "hours": [0.5], "channel": [HR], "value": ["fast"]})
    with pytest.raises(ValueError, match="Non-numeric values of 'Heart Rate'"):
        discretize_events(events, pd.Series({1: 2.0}))


def test_normalizer_scales_only_continuous_columns(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(5, 2, size=(200, 76)).astype(np.float32)
    x[:, 0] = 1.0  # a constant column gets std 1e-7, not a division by zero
    norm = Normalizer().fit(x, HEADER)
    out = norm.transform(x)
    cont = np.array(["->" not in h for h in HEADER])
    np.testing.assert_allclose(out[:, cont].mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(out[:, cont].std(0, ddof=1), 1, atol=1e-5)
    np.testing.assert_array_equal(out[:, ~cont], x[:, ~cont])
    np.testing.assert_allclose(norm.stds[cont], x[:, cont].std(0, ddof=1), rtol=1e-5)
    assert norm.stds[0] == 1e-7
    loaded = Normalizer.load(norm.save(tmp_path / "ihm.json"))
    np.testing.assert_array_equal(loaded.transform(x), out)


def test_normalizer_partial_fit_equals_fit():
    x = np.random.default_rng(2).normal(size=(300, 76))
    whole = Normalizer().fit(x, HEADER)
    chunks = Normalizer()
    for part in np.array_split(x, 4):
        chunks.partial_fit(part, HEADER)
    np.testing.assert_allclose(chunks.means, whole.means)
    np.testing.assert_allclose(chunks.stds, whole.stds)


def test_normalizer_errors(tmp_path):
    with pytest.raises(ValueError, match="not fitted"):
        Normalizer().transform(np.zeros((2, 76)))
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    with pytest.raises(ValueError, match="prepare"):
        Normalizer.load(bad)
