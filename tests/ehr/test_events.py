"""Per-chunk event rules and the numeric hourly path against the discretizer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from medmod_lib import reference
from medmod_lib.ehr.discretizer import discretize_events
from medmod_lib.ehr.events import (
    CHANNELS,
    GCS_TOTAL,
    _spread,
    clean_chunk,
    hourly_inputs,
    value_strings,
    wide_table,
)


def _random_events(seed: int, n: int = 3000) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    ch = rng.integers(0, len(CHANNELS), n).astype(np.int16)
    v = rng.normal(50, 20, n).round(1)
    for j, name in enumerate(CHANNELS):
        if reference.is_categorical(name):
            rows = ch == j
            v[rows] = rng.integers(0, len(reference.possible_values(name)), rows.sum())
    return {
        "stay_id": rng.choice([3, 5, 8, 9], n).astype(np.int64),
        "hours": rng.uniform(-3, 60, n).round(2),
        "itemid": rng.integers(1, 4, n).astype(np.int64),
        "ch": ch,
        "v": v,
    }


def test_hourly_inputs_equal_discretize_events():
    ev, _ = clean_chunk(_random_events(0), derive_gcs_total=False)
    ends = pd.Series([10.5, 48.0, 0.5, 59.99], index=[3, 5, 8, 9])
    frame = pd.DataFrame(
        {
            "stay_id": ev["stay_id"],
            "hours": ev["hours"],
            "channel": [CHANNELS[c] for c in ev["ch"]],
            "value": value_strings(ev["ch"], ev["v"]),
        }
    )
    want, want_index = discretize_events(frame, ends)
    got, index = hourly_inputs(ev, ends)
    assert np.array_equal(got, want)
    pd.testing.assert_frame_equal(index, want_index)


def _same_time(channel: str, values: list[float]) -> list[float]:
    """The value clean_chunk keeps when ``values`` of ``channel`` share one charttime."""
    j = CHANNELS.index(channel)
    n = len(values)
    ev = {
        "stay_id": np.ones(n, np.int64),
        "hours": np.full(n, 2.0),
        "itemid": np.arange(1, n + 1, dtype=np.int64),
        "ch": np.full(n, j, np.int16),
        "v": np.asarray(values, np.float64),
    }
    out, counts = clean_chunk(ev, derive_gcs_total=False)
    assert counts.same_time == n - 1
    return out["v"].tolist()


def test_same_time_numeric_channels_keep_the_largest_number():
    """mimic3-benchmarks casts these ten channels to float before sorting (SBP 99, 120 -> 120)."""
    assert _same_time("Systolic blood pressure", [99.0, 120.0]) == [120.0]
    assert _same_time("Systolic blood pressure", [120.0, 99.0]) == [120.0]
    assert _same_time("Diastolic blood pressure", [9.5, 80.0, 10.0]) == [80.0]
    assert _same_time("Glucose", [99.0, 100.0]) == [100.0]
    assert _same_time("Temperature", [36.6, 100.0]) == [100.0]
    assert _same_time("Oxygen saturation", [99.0, 100.0]) == [100.0]
    assert _same_time("Fraction inspired oxygen", [0.5, 0.21]) == [0.5]
    assert _same_time("pH", [7.4, 10.0]) == [10.0]
    assert _same_time("Weight", [9.0, 80.5]) == [80.5]
    assert _same_time("Height", [99.0, 170.0]) == [170.0]
    crr = reference.possible_values("Capillary refill rate")
    assert [crr[int(v)] for v in _same_time("Capillary refill rate", [1.0, 0.0])] == ["1.0"]


def test_same_time_other_channels_keep_the_largest_string():
    """Heart rate, respiratory rate, MBP and GCS keep the benchmark's string order."""
    assert _same_time("Heart Rate", [100.0, 99.0]) == [99.0]  # "99" > "100"
    assert _same_time("Heart Rate", [99.0, 100.0]) == [99.0]
    assert _same_time("Respiratory rate", [9.0, 12.0]) == [9.0]
    assert _same_time("Mean blood pressure", [100.0, 65.5]) == [65.5]
    eye = "Glascow coma scale eye opening"
    values = reference.possible_values(eye)
    codes = [float(values.index(t)) for t in ("To Speech", "Spontaneously")]
    kept = _same_time(eye, codes)
    assert [values[int(v)] for v in kept] == [max("To Speech", "Spontaneously")]
    numeric = {c for c in CHANNELS if reference.sorts_numerically(c)}
    assert numeric == set(reference.NUMERIC_ORDER_CHANNELS)
    assert len(numeric) == 10


def test_duplicates_and_same_time_values():
    hr = CHANNELS.index("Heart Rate")
    ev = {
        "stay_id": np.array([1, 1, 1, 1], np.int64),
        "hours": np.array([2.0, 2.0, 2.0, 3.0]),
        "itemid": np.array([220045, 220045, 220046, 220045], np.int64),
        "ch": np.array([hr] * 4, np.int16),
        "v": np.array([100.0, 100.0, 99.0, 80.0]),
    }
    out, counts = clean_chunk(ev)
    assert counts.duplicates == 1
    assert counts.same_time == 1
    # Heart rate keeps string order in the benchmark: "99" > "100" keeps 99.
    assert out["v"].tolist() == [99.0, 80.0]
    assert counts.per_channel[hr] == 2


def test_duplicates_found_when_not_adjacent_and_counted_like_pandas():
    """Rows equal in (stay, time, itemid, value) are duplicates wherever they sit."""
    hr = CHANNELS.index("Heart Rate")
    ev = {
        "stay_id": np.array([1, 2, 1, 1, 1, 2], np.int64),
        "hours": np.array([2.0, 2.0, 2.0, 2.0, 5.0, 2.0]),
        "itemid": np.array([220045] * 6, np.int64),
        "ch": np.array([hr] * 6, np.int16),
        "v": np.array([100.0, 100.0, 90.0, 100.0, 100.0, 100.0]),
    }
    out, counts = clean_chunk(ev)
    assert counts.duplicates == 2  # (1, 2 h, 100) twice and (2, 2 h, 100) twice
    assert counts.same_time == 1  # then 100 vs 90 at (1, 2 h): "90" wins as a string
    assert list(zip(out["stay_id"], out["hours"], out["v"], strict=True)) == [
        (1, 2.0, 90.0),
        (1, 5.0, 100.0),
        (2, 2.0, 100.0),
    ]
    rng = _random_events(3)
    frame = pd.DataFrame(rng)  # in real data the itemid fixes the channel
    doubled = {k: np.concatenate([a, a[::3]]) for k, a in rng.items()}
    assert clean_chunk(doubled)[1].duplicates == frame.duplicated().sum() + len(rng["v"][::3])


def test_gcs_total_needs_all_three_components_at_one_time():
    eye = CHANNELS.index("Glascow coma scale eye opening")
    motor = CHANNELS.index("Glascow coma scale motor response")
    verbal = CHANNELS.index("Glascow coma scale verbal response")

    def code(ch, text):
        return float(reference.possible_values(CHANNELS[ch]).index(text))

    ev = {
        "stay_id": np.array([1, 1, 1, 1, 1], np.int64),
        "hours": np.array([1.0, 1.0, 1.0, 2.0, 2.0]),
        "itemid": np.zeros(5, np.int64),
        "ch": np.array([eye, motor, verbal, eye, motor], np.int16),
        "v": np.array(
            [
                code(eye, "To Speech"),
                code(motor, "Localizes Pain"),
                code(verbal, "Confused"),
                code(eye, "Spontaneously"),
                code(motor, "Obeys Commands"),
            ]
        ),
    }
    out, counts = clean_chunk(ev)
    total = out["ch"] == GCS_TOTAL
    assert counts.gcs_total_derived == 1
    assert value_strings(out["ch"][total], out["v"][total]).tolist() == ["12"]
    assert out["hours"][total].tolist() == [1.0]


def test_clean_chunk_output_sorted_with_derived_totals_merged_in():
    # Dense times so that many (stay, hour) cells hold all three GCS components; more
    # than 64 itemids exercises the exact-rank order as well as the packed key.
    for n_items in (3, 100):
        ev = _random_events(4)
        rng = np.random.default_rng(5)
        ev["hours"] = rng.integers(0, 6, len(ev["v"])).astype(float)
        ev["itemid"] = rng.integers(1, n_items + 1, len(ev["v"])).astype(np.int64)
        keep = (ev["ch"] != GCS_TOTAL) | (ev["hours"] == 0)  # totals recorded at hour 0 only
        ev = {k: a[keep] for k, a in ev.items()}
        out, counts = clean_chunk(ev)
        assert counts.gcs_total_derived > 10
        order = np.lexsort((out["itemid"], out["ch"], out["hours"], out["stay_id"]))
        assert np.array_equal(order, np.arange(len(order)))
        cells = pd.DataFrame({k: out[k] for k in ("stay_id", "hours", "ch")})
        assert not cells.duplicated().any()  # one value per channel and time
        total = out["ch"] == GCS_TOTAL
        derived = total & (out["itemid"] == 0)
        assert derived.sum() == counts.gcs_total_derived
        assert (out["hours"][derived] > 0).all()  # a recorded total wins over a derived one
        assert (total & ~derived).sum() == 4  # the hour-0 totals of the four stays


def test_spread_places_strings_among_empty_cells():
    sliced = pa.array(["x", "yy", "zzz"]).slice(1)  # buffers shared with the parent array
    out = _spread(sliced, np.array([False, True, False, True]))
    out.validate(full=True)
    assert out.to_pylist() == ["", "yy", "", "zzz"]
    assert _spread(pa.array([], pa.string()), np.zeros(2, bool)).to_pylist() == ["", ""]
    assert _spread(pa.array([], pa.string()), np.zeros(0, bool)).to_pylist() == []


def test_wide_table_strings_and_empty_cells():
    ev, _ = clean_chunk(_random_events(1, 50))
    schema = pa.schema(
        [("stay_id", pa.int64()), ("Hours", pa.float64())] + [(c, pa.string()) for c in CHANNELS]
    )
    table = wide_table(ev, schema).to_pandas()
    keys = pd.DataFrame({"s": ev["stay_id"], "h": ev["hours"]}).drop_duplicates()
    assert len(table) == len(keys)
    assert ((table[CHANNELS] != "").sum().sum()) == len(ev["v"])
    for name in CHANNELS:
        if reference.is_categorical(name):
            assert set(table[name]) <= {"", *reference.possible_values(name)}
