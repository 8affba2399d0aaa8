"""Cohort filters, flow table, age and mortality labels."""

from __future__ import annotations

import pandas as pd
import pytest
from mimic_tables import stay, write_release

from medmod_lib.ehr import CohortConfig, EmptyCohortError, MimicIVReader, SkipLog, build_cohort
from medmod_lib.ehr.cohort import mortality_between, number_episodes


def _cohort(tmp_path, stays, config=None):
    reader = MimicIVReader(write_release(tmp_path / "raw", stays))
    skips = SkipLog()
    try:
        out, flow = build_cohort(reader, config, skips)
    finally:
        reader.close()
    return out, flow, skips


def _population():
    return [
        stay(1),
        stay(2, age=17),  # child
        stay(3, first="MICU", last="CCU"),  # transfer
        stay(4),
        {**stay(5), "icustays": {**stay(5)["icustays"], "hadm_id": 20_000_004}},  # 2nd stay
        stay(6, age=18),
    ]


def test_benchmark_filters_and_flow(tmp_path):
    pop = _population()
    pop[4]["admissions"] = pop[3]["admissions"]
    out, flow, _ = _cohort(tmp_path, pop)
    assert out["stay_id"].tolist() == [30_000_001, 30_000_006]
    assert flow["step"].tolist() == [
        "ICU stays in icustays",
        "with admission and patient records",
        "no transfer between care units",
        "one ICU stay per admission",
        "adults (anchor_age >= 18)",
    ]
    assert flow["stays"].tolist() == [6, 6, 5, 3, 2]
    assert out["hadm_id"].dtype == "int64" and out["intime"].dtype.kind == "M"


def test_filters_switch_off(tmp_path):
    pop = _population()
    pop[4]["admissions"] = pop[3]["admissions"]
    config = CohortConfig(no_transfers=False, one_stay_per_admission=False, min_age=None)
    out, flow, _ = _cohort(tmp_path, pop, config)
    assert len(out) == 6 and len(flow) == 2


def test_age_at_intime(tmp_path):
    s = stay(1, age=17, start_h=24 * 400)  # anchor_year 2150, intime in 2151
    out, _, _ = _cohort(tmp_path, [s, stay(2)], CohortConfig(age_from="intime"))
    assert out.set_index("stay_id").loc[30_000_001, "age"] == 18
    assert len(out) == 2


def test_empty_cohort_is_an_error(tmp_path):
    with pytest.raises(EmptyCohortError, match=r"(?s)No ICU stay.*adults"):
        _cohort(tmp_path, [stay(1, age=12)])


def test_mortality_in_hospital_and_in_unit(tmp_path):
    pop = [
        stay(1, los_h=48, death_h=60),  # died in hospital after the ICU
        stay(2, los_h=48, death_h=48),  # died at ICU outtime
        stay(3, los_h=48, dod_h=24 * 30),  # died after discharge
        stay(4, los_h=48),
    ]
    out, _, _ = _cohort(tmp_path, pop)
    assert out["mortality_inhospital"].tolist() == [1, 1, 0, 0]
    assert out["mortality_inunit"].tolist() == [0, 1, 0, 0]


def test_mortality_between_uses_dod_or_deathtime():
    t = pd.to_datetime(["2150-01-01 05:00", "2150-01-01 05:00", "2150-01-01 05:00"])
    end = pd.to_datetime(["2150-01-03 00:00"] * 3)
    dod = pd.to_datetime(["2150-01-01", "2150-01-02", None])  # midnight before admission fails
    death = pd.to_datetime([None, None, "2150-01-03 00:00"])
    got = mortality_between(pd.Series(t), pd.Series(end), pd.Series(dod), pd.Series(death))
    assert got.tolist() == [0, 1, 1]


def test_episodes_numbered_by_intime_within_subject():
    stays = pd.DataFrame(
        {
            "subject_id": [1, 1, 2, 1],
            "intime": pd.to_datetime(["2150-03-01", "2150-01-01", "2150-01-01", "2150-02-01"]),
            "stay_id": [10, 11, 12, 13],
        }
    )
    assert number_episodes(stays).tolist() == [3, 1, 1, 2]


def test_duplicate_rows_counted_and_conflicting_ids_rejected(tmp_path):
    s = stay(1)
    out, _, skips = _cohort(tmp_path / "a", [s, s])
    assert len(out) == 1
    assert skips.counts["icustays: exact duplicate rows"] == 1
    clash = {**s, "icustays": {**s["icustays"], "last_careunit": "CCU"}}
    with pytest.raises(ValueError, match="icustays.*share a stay_id"):
        _cohort(tmp_path / "b", [s, clash])


def test_unparseable_intime_is_a_counted_skip(tmp_path):
    bad = stay(2)
    bad["icustays"] = {**bad["icustays"], "intime": "yesterday"}
    out, _, skips = _cohort(tmp_path, [stay(1), bad])
    assert out["stay_id"].tolist() == [30_000_001]
    assert skips.counts["icustays: unparseable intime (set to missing)"] == 1
    assert skips.counts["icustays: missing/unparseable intime or outtime, or outtime < intime"] == 1


def _rename(path, old: str, new: str, bom: bool = False) -> None:
    frame = pd.read_csv(path).rename(columns={old: new})
    if bom:
        import gzip

        path.write_bytes(gzip.compress(("\ufeff" + frame.to_csv(index=False)).encode()))
    else:
        frame.to_csv(path, index=False)


@pytest.mark.parametrize(
    "table, column",
    [
        ("icustays", "intime"),
        ("icustays", "los"),
        ("icustays", "stay_id"),
        ("icustays", "first_careunit"),
        ("patients", "anchor_age"),
        ("admissions", "dischtime"),
    ],
)
def test_a_renamed_column_is_named_with_the_file_and_what_was_found(tmp_path, table, column):
    """Regression: a renamed icustays column gave a bare KeyError."""
    root = write_release(tmp_path, [stay(1), stay(2)])
    path = next(root.glob(f"mimiciv/3.1/*/{table}.csv.gz"))
    _rename(path, column, f"my_{column}")
    with pytest.raises(Exception) as err:
        build_cohort(MimicIVReader(root), CohortConfig(), SkipLog())
    message = str(err.value)
    assert not isinstance(err.value, KeyError)
    assert str(path) in message and f"['{column}']" in message and f"my_{column}" in message


def test_a_byte_order_mark_before_the_icustays_header_is_accepted(tmp_path):
    plain = write_release(tmp_path / "plain", [stay(1), stay(2)])
    root = write_release(tmp_path / "bom", [stay(1), stay(2)])
    path = next(root.glob("mimiciv/3.1/icu/icustays.csv.gz"))
    _rename(path, "subject_id", "subject_id", bom=True)
    assert path.read_bytes()[:2] == b"\x1f\x8b"
    stays, _ = build_cohort(MimicIVReader(root), CohortConfig(), SkipLog())
    expected, _ = build_cohort(MimicIVReader(plain), CohortConfig(), SkipLog())
    pd.testing.assert_frame_equal(stays, expected)
