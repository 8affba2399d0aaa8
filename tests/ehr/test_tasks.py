"""Task windows and labels at their boundaries.

The rules are those of YerevaNN/mimic3-benchmarks
``mimic3benchmark/scripts/create_{in_hospital_mortality,decompensation,length_of_stay,
phenotyping}.py``: in-hospital mortality needs LOS >= 48 h and an event in
(-1e-6, 48 + 1e-6); decompensation and LOS sample every hour after 4 h.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from medmod_lib import reference
from medmod_lib.ehr.tasks import (
    EventSummary,
    build_task,
    decompensation,
    in_hospital_mortality,
    length_of_stay,
    los_bucket,
    phenotype_code_counts,
    phenotype_labels,
)

T0 = pd.Timestamp("2150-01-01")


def _stays(rows: list[dict]) -> pd.DataFrame:
    out = []
    for k, r in enumerate(rows):
        death = r.get("death_h")
        out.append(
            {
                "stay_id": 30_000_000 + k,
                "subject_id": 10_000_000 + k,
                "hadm_id": 20_000_000 + k,
                "intime": T0,
                "los": r["los_h"] / 24.0,
                "deathtime": pd.NaT if death is None else T0 + pd.Timedelta(hours=death),
                "mortality_inhospital": int(r.get("mort", death is not None)),
            }
        )
    return pd.DataFrame(out)


def _summary(stays: pd.DataFrame, event_hours: list[list[float]]) -> EventSummary:
    ev = pd.DataFrame(
        [(s, h) for s, hs in zip(stays["stay_id"], event_hours, strict=True) for h in hs],
        columns=["stay_id", "hours"],
    )
    los = pd.Series(stays["los"].to_numpy() * 24.0, index=stays["stay_id"].to_numpy())
    return EventSummary.from_events(ev, los)


def test_ihm_needs_48h_and_an_event_in_window():
    stays = _stays([{"los_h": 47.9}, {"los_h": 48.0, "death_h": 50}, {"los_h": 60}, {"los_h": 60}])
    summary = _summary(stays, [[1.0], [0.0], [48.0], [48.5]])
    out = in_hospital_mortality(stays, summary)
    # 47.9 h excluded; event at t=0 counts; event at 48.0 is in (-eps, 48+eps); 48.5 is not.
    assert out["stay_id"].tolist() == [30_000_001, 30_000_002]
    assert out["y_true"].tolist() == [1, 0]
    assert (out["period_length"] == 48.0).all()


def test_decompensation_death_within_24h_boundary():
    # Death at 100 h; samples t = 5..100. Label 1 iff 100 - t < 24, i.e. t >= 77.
    stays = _stays([{"los_h": 120, "death_h": 100}])
    out = decompensation(stays, _summary(stays, [[0.5]]))
    t = out["period_length"].to_numpy()
    assert t[0] == 5.0 and t[-1] == 100.0  # capped at death, t > 4
    assert out.loc[out["period_length"] == 76.0, "y_true"].item() == 0  # death 24 h ahead
    assert out.loc[out["period_length"] == 77.0, "y_true"].item() == 1  # 23 h ahead


@pytest.mark.parametrize(("death_h", "label"), [(23.9 + 10, 1), (24.1 + 10, 0)])
def test_decompensation_death_at_23_9_vs_24_1_hours_ahead(death_h, label):
    stays = _stays([{"los_h": 200, "death_h": death_h}])
    out = decompensation(stays, _summary(stays, [[0.0]]))
    assert out.loc[out["period_length"] == 10.0, "y_true"].item() == label


def test_decompensation_survivor_and_dod_only_death_are_negative():
    stays = _stays([{"los_h": 30}, {"los_h": 30, "mort": 1}])  # second: dod only, no deathtime
    out = decompensation(stays, _summary(stays, [[0.0], [0.0]]))
    assert out["y_true"].sum() == 0
    assert out.groupby("stay_id").size().tolist() == [26, 26]  # t = 5..30


def test_hourly_samples_start_after_first_event_and_need_events():
    stays = _stays([{"los_h": 12.5}, {"los_h": 12.5}, {"los_h": 12.5}])
    out = length_of_stay(stays, _summary(stays, [[7.0], [], [13.0]]))
    # stay 0: t > 7 -> 8..12; stay 1: no events; stay 2: event after LOS -> no samples.
    assert out["period_length"].tolist() == [8.0, 9.0, 10.0, 11.0, 12.0]
    assert out["y_true"].tolist() == pytest.approx([4.5, 3.5, 2.5, 1.5, 0.5])


def test_length_of_stay_not_capped_at_death():
    stays = _stays([{"los_h": 20, "death_h": 10}])
    out = length_of_stay(stays, _summary(stays, [[0.0]]))
    assert out["period_length"].max() == 20.0


def test_los_bucket_edges_left_closed():
    hours = np.array([0, 23.999, 24, 47.9, 48, 191.9, 192, 335.9, 336, 5000])
    assert los_bucket(hours).tolist() == [0, 0, 1, 1, 2, 7, 8, 8, 9, 9]
    assert len(reference.LOS_BIN_MEANS_HOURS) == los_bucket(np.array([1e9]))[0] + 1


def test_phenotype_labels_from_icd_codes_as_strings():
    lookup = reference.icd_to_phenotypes()
    code = next(c for c, p in lookup.items() if p == ["Essential hypertension"])
    diagnoses = pd.DataFrame(
        {"hadm_id": [1, 1, 2], "icd_code": [code, code, "NOT_A_CODE"], "icd_version": [9, 9, 9]}
    )
    for phenotype_map in ("ccs", "medfuse"):
        labels = phenotype_labels(diagnoses, pd.Series([1, 2, 3]), phenotype_map)
        assert list(labels.columns) == reference.phenotypes()
        assert labels.loc[1, "Essential hypertension"] == 1
        assert labels.loc[1].sum() == 1
        assert labels.loc[[2, 3]].to_numpy().sum() == 0


#: ICD-10 codes MedFuse's table misses, and their CCS v2019.1 phenotype.
ICD10_MISSED = {
    "J9601": "Respiratory failure; insufficiency; arrest (adult)",
    "J80": "Respiratory failure; insufficiency; arrest (adult)",
    "I480": "Cardiac dysrhythmias",
    "I482": "Cardiac dysrhythmias",
    "I2101": "Acute myocardial infarction",
    "E1122": "Diabetes mellitus with complications",
    "E11649": "Diabetes mellitus with complications",
    "R571": "Shock",
    "E784": "Disorders of lipid metabolism",
    "I5089": "Congestive heart failure; nonhypertensive",
    "A4181": "Septicemia (except in labor)",
    "E8770": "Fluid and electrolyte disorders",
}


def test_icd10_codes_map_through_ccs_and_medfuse_table_misses_them():
    codes = list(ICD10_MISSED)
    diagnoses = pd.DataFrame({"hadm_id": range(len(codes)), "icd_code": codes, "icd_version": 10})
    labels = phenotype_labels(diagnoses, diagnoses["hadm_id"])
    for hadm, code in enumerate(codes):
        row = labels.loc[hadm]
        assert row[ICD10_MISSED[code]] == 1 and row.sum() == 1, code
    old = phenotype_labels(diagnoses, diagnoses["hadm_id"], phenotype_map="medfuse")
    assert old.to_numpy().sum() == 0  # the benchmark YAML lists none of them


def test_codes_are_keyed_on_version_and_code():
    # "4019" is ICD-9 essential hypertension; as an ICD-10 string it is no code at all.
    # "E119" is ICD-10 diabetes without complication; ICD-9 E-codes are external causes.
    diagnoses = pd.DataFrame(
        {
            "hadm_id": [1, 2, 3, 4],
            "icd_code": ["4019", "4019", "E119", "E11.9"],
            "icd_version": [9, 10, 9, 10],
        }
    )
    labels = phenotype_labels(diagnoses, pd.Series([1, 2, 3, 4]))
    assert labels.loc[1, "Essential hypertension"] == 1 and labels.loc[2].sum() == 0
    assert labels.loc[3].sum() == 0
    assert labels.loc[4, "Diabetes mellitus without complication"] == 1  # dots removed
    # ICD-9 E870 (accidental cut during care) vs ICD-10 E87.0 (hyperosmolality):
    misadventure = pd.DataFrame({"hadm_id": [1], "icd_code": ["E870"], "icd_version": [9]})
    fluid = "Fluid and electrolyte disorders"
    assert phenotype_labels(misadventure, pd.Series([1])).loc[1].sum() == 0
    assert phenotype_labels(misadventure, pd.Series([1]), "medfuse").loc[1, fluid] == 1
    with pytest.raises(ValueError, match="icd_version"):
        phenotype_labels(diagnoses.drop(columns="icd_version"), pd.Series([1]))
    with pytest.raises(ValueError, match="phenotype_map"):
        phenotype_labels(diagnoses, pd.Series([1]), phenotype_map="gems")


def test_unmapped_codes_are_counted_by_version():
    diagnoses = pd.DataFrame(
        {
            "hadm_id": [1, 1, 1, 1, 2, 2, 3],
            "icd_code": ["J9601", "Z7901", "U071", "U071", "4019", "XYZ", "U071"],
            "icd_version": [10, 10, 10, 10, 9, 9, 10],
        }
    )
    counts = phenotype_code_counts(diagnoses)
    assert counts["10"] == {
        "rows": 4,  # distinct (admission, code): the repeated U071 of admission 1 once
        "benchmark": 1,
        "other_group": 1,
        "unmapped": 2,
        "unmapped_codes": 1,
        "top_unmapped": [["U071", 2]],
    }
    assert counts["9"]["benchmark"] == 1 and counts["9"]["unmapped"] == 1
    medfuse = phenotype_code_counts(diagnoses, "medfuse")
    assert medfuse["10"]["benchmark"] == 0 and medfuse["10"]["unmapped"] == 4


def test_radiology_is_not_an_ehr_task():
    stays = _stays([{"los_h": 10}])
    with pytest.raises(ValueError, match="CXR"):
        build_task("radiology", stays, _summary(stays, [[1.0]]))
    with pytest.raises(ValueError, match="Unknown task"):
        build_task("mortality", stays, _summary(stays, [[1.0]]))
