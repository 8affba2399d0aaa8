"""The 17 variables: conversions, text mapping, derived GCS total, CRR, ranges, skips."""

from __future__ import annotations

import pytest
from mimic_tables import chart, lab, stay

from medmod_lib.ehr import VariableConfig

TOTAL = "Glascow coma scale total"


def _values(events, channel):
    return events.loc[events["channel"] == channel, "value"].tolist()


@pytest.mark.parametrize(
    ("itemid", "raw", "channel", "expected"),
    [
        (223761, 98.6, "Temperature", 37.0),  # degF -> degC
        (223762, 37.5, "Temperature", 37.5),
        (226707, 70, "Height", 177.8),  # inches -> cm
        (226730, 170, "Height", 170.0),
        (226531, 200, "Weight", 90.7184),  # lb -> kg
        (226512, 80, "Weight", 80.0),
        (223835, 50, "Fraction inspired oxygen", 0.5),  # % -> fraction
        (223835, 0.4, "Fraction inspired oxygen", 0.4),
        (220277, 0.97, "Oxygen saturation", 97.0),  # fraction -> %
        (220277, 95, "Oxygen saturation", 95.0),
    ],
)
def test_unit_conversions_by_itemid(run_extract, itemid, raw, channel, expected):
    events, _, _ = run_extract([stay(1)], [chart(1, 1.0, itemid, raw)])
    assert float(_values(events, channel)[0]) == pytest.approx(expected, rel=1e-9)


def test_event_at_time_zero_kept_and_hours_relative_to_intime(run_extract):
    events, _, _ = run_extract([stay(1, start_h=10)], [chart(1, 0.0, 220045, 80, start_h=10)])
    assert events[["hours", "value"]].values.tolist() == [[0.0, "80"]]


def test_gcs_text_mapped_case_and_whitespace_insensitive_and_total_derived(run_extract):
    rows = [
        chart(1, 1, 220739, "  spontaneously "),
        chart(1, 1, 223900, "No Response-ETT"),
        chart(1, 1, 223901, "OBEYS   commands"),
        chart(1, 2, 220739, "None"),  # eye None scores 0 in channel_info; clamped to 1
        chart(1, 2, 223900, "No Response"),
        chart(1, 2, 223901, "No response"),
        chart(1, 3, 220739, "To Pain"),  # verbal/motor missing at 3 h: no total
        chart(1, 4, 220739, "Blinking"),  # unknown
    ]
    events, skips, stats = run_extract([stay(1)], rows)
    assert _values(events, "Glascow coma scale eye opening") == ["Spontaneously", "None", "To Pain"]
    assert _values(events, "Glascow coma scale motor response") == ["Obeys Commands", "No response"]
    assert events.loc[events["channel"] == TOTAL, ["hours", "value"]].values.tolist() == [
        [1.0, "11"],
        [2.0, "3"],
    ]
    assert stats.gcs_total_derived == 2
    assert skips.counts["events: unknown text value of Glascow coma scale eye opening"] == 1
    assert stats.unknown_values["Glascow coma scale eye opening"] == {"Blinking": 1}


def test_capillary_refill_found_in_d_items_and_mapped(run_extract):
    rows = [
        chart(1, 1, 223951, "Normal <3 Seconds"),
        chart(1, 2, 224308, "Abnormal >3 Seconds"),
        chart(1, 3, 224308, "brisk"),
        chart(1, 4, 223951, "Delayed"),
        chart(1, 5, 223951, "Not assessed"),
    ]
    events, skips, stats = run_extract([stay(1)], rows)
    assert stats.crr_itemids == [223951, 224308]
    assert _values(events, "Capillary refill rate") == ["0.0", "1.0", "0.0", "1.0"]
    assert skips.counts["events: unknown text value of Capillary refill rate"] == 1


def test_reference_switches_leave_crr_and_gcs_total_unobserved(run_extract):
    rows = [
        chart(1, 1, 223951, "Normal <3 Seconds"),
        chart(1, 1, 220739, "Spontaneously"),
        chart(1, 1, 223900, "Oriented"),
        chart(1, 1, 223901, "Obeys Commands"),
    ]
    config = VariableConfig(find_capillary_refill=False, derive_gcs_total=False)
    events, _, stats = run_extract([stay(1)], rows, config=config)
    assert _values(events, "Capillary refill rate") == []
    assert _values(events, TOTAL) == []
    assert stats.crr_itemids == []


def test_range_filter_drops_and_counts_outliers(run_extract):
    rows = [
        chart(1, 1, 220045, 391),  # > 390
        chart(1, 2, 220045, 390),  # boundary kept
        chart(1, 3, 223762, 14.1),  # < 14.2
        chart(1, 4, 223762, 14.2),
    ]
    events, skips, stats = run_extract([stay(1)], rows)
    assert _values(events, "Heart Rate") == ["390"]
    assert _values(events, "Temperature") == ["14.2"]
    assert stats.range_dropped == {"Heart Rate": 1, "Temperature": 1}
    events, _, _ = run_extract([stay(1)], rows, config=VariableConfig(range_filter=False))
    assert _values(events, "Heart Rate") == ["391", "390"]


def test_blood_only_labs_drops_urine_and_other_fluid_items_and_counts_them(run_extract):
    labs = [
        lab(1, 1.0, 50931, 110),  # glucose, blood (chemistry)
        lab(1, 2.0, 51478, 500),  # glucose, urine
        lab(1, 3.0, 50820, 7.3),  # pH, blood gas
        lab(1, 4.0, 51491, 7.0),  # pH, urine
        lab(1, 4.5, 51094, 7.1),  # pH, urine (chemistry)
        lab(1, 5.0, 50831, 7.2),  # pH, other body fluid
    ]
    events, skips, stats = run_extract([stay(1)], labevents=labs)
    assert _values(events, "Glucose") == ["110", "500"]  # the benchmark mixes fluids
    assert _values(events, "pH") == ["7.3", "7", "7.1", "7.2"]
    blood = VariableConfig(blood_only_labs=True)
    events, skips, stats = run_extract([stay(1)], labevents=labs, config=blood)
    assert _values(events, "Glucose") == ["110"]
    assert _values(events, "pH") == ["7.3"]
    assert stats.non_blood_itemids == [50831, 51094, 51478, 51491]
    for itemid in (51478, 51491, 51094, 50831):
        assert (
            skips.counts[f"labevents: not a blood sample (blood_only_labs): itemid {itemid}"] == 1
        )


def test_blood_only_labs_needs_d_labitems(run_extract):
    from medmod_lib.ehr.reader import MimicLayoutError

    blood = VariableConfig(blood_only_labs=True)
    with pytest.raises(MimicLayoutError, match="d_labitems"):
        run_extract(
            [stay(1)],
            labevents=[lab(1, 1.0, 50931, 110)],
            config=blood,
            skip_tables=("d_labitems",),
        )


def test_labevents_matched_by_subject_and_time_window(run_extract):
    labs = [
        lab(1, -0.5, 50931, 100),  # before intime: not in the stay
        lab(1, 0.0, 50931, 110),  # at intime
        lab(1, 72.0, 50820, 7.3),  # at outtime
        lab(1, 10.0, 50931, 120, hadm=None),  # outpatient-style row without hadm_id
        lab(1, 11.0, 50931, 130, hadm=29_999_999),  # another admission
    ]
    events, skips, stats = run_extract([stay(1, los_h=72)], labevents=labs)
    assert events[["hours", "channel", "value"]].values.tolist() == [
        [0.0, "Glucose", "110"],
        [10.0, "Glucose", "120"],
        [72.0, "pH", "7.3"],
    ]
    assert stats.labevents_rows == 5
    assert (
        skips.counts[
            "labevents: not within a cohort ICU stay (expected: most labs are outside the ICU)"
        ]
        == 2
    )


def test_bad_rows_are_counted_not_silent(run_extract):
    rows = [
        chart(1, 1, 220045, 80),
        chart(1, 1, 220045, 80),  # exact duplicate
        chart(1, 2, 220045, "n/a", "n/a"),  # non-numeric valuenum and value
        chart(1, 3, 220045, "85", "oops"),  # non-numeric valuenum, numeric value: kept
        {**chart(1, 4, 220045, 90), "charttime": "2150-13-45 99:00:00"},
        {**chart(1, 5, 220045, 90), "stay_id": 39_999_999},  # not an ICU stay
        {**chart(1, 5, 220045, 91), "stay_id": ""},  # no stay at all
        chart(2, 5, 220045, 92),  # an ICU stay the cohort drops (a child)
        chart(1, 6, 220050, 120),
        chart(1, 6, 220179, 99),  # same-time second value of the channel
    ]
    events, skips, _ = run_extract([stay(1), stay(2, age=12)], rows)
    assert _values(events, "Heart Rate") == ["80", "85"]
    # The benchmark casts SBP to float before sorting: the larger number wins.
    assert _values(events, "Systolic blood pressure") == ["120"]
    c = skips.counts
    assert c["events: exact duplicate rows"] == 1
    assert c["events: non-numeric value of Heart Rate"] == 1
    assert c["chartevents: non-numeric valuenum"] == 2
    assert c["chartevents: unparseable charttime"] == 1
    assert c["chartevents: stay_id missing or not in icustays (outside any stay)"] == 2
    assert c["chartevents: stay not in the cohort (cohort filter, expected)"] == 1
    assert set(events["stay_id"]) == {30_000_001}
    assert c["events: same-time values of one channel (benchmark: largest number or string)"] == 1
