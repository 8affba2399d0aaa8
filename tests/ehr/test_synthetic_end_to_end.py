"""The whole pipeline on the session's synthetic dataset, .csv.gz and uncompressed .csv."""

from __future__ import annotations

import gzip
import shutil

import numpy as np
import pandas as pd
import pytest

from medmod_lib import reference
from medmod_lib.ehr import ProcessedEHR, prepare_ehr
from medmod_lib.paths import mimic_iv_root


@pytest.fixture(scope="module")
def processed(synthetic_root, tmp_path_factory) -> ProcessedEHR:
    return prepare_ehr(synthetic_root, tmp_path_factory.mktemp("syn") / "processed")


def test_every_task_has_samples_in_every_split(processed):
    for task in ("in-hospital-mortality", "phenotyping", "decompensation", "length-of-stay"):
        samples = processed.samples(task)
        assert set(samples["split"]) == {"train", "val", "test"}, task
        assert samples.groupby("subject_id")["split"].nunique().max() == 1
    ihm = processed.samples("in-hospital-mortality")
    assert 0 < ihm["y_true"].mean() < 1


def test_all_17_channels_observed_including_crr_and_gcs_total(processed):
    counts = processed.manifest["counts"]["events_per_channel"]
    assert set(counts) == set(reference.channels())
    assert all(n > 0 for n in counts.values()), counts
    assert processed.manifest["variables"]["unknown_values"] == {}


def test_flow_is_monotone_and_matches_stays(processed):
    flow = processed.cohort_flow
    assert (flow[["subjects", "admissions", "stays"]].diff().dropna() <= 0).all().all()
    assert flow["stays"].iloc[-1] == len(processed.stays)
    assert processed.stays["anchor_age"].min() >= 18


def test_uncompressed_copy_gives_identical_outputs(synthetic_root, processed, tmp_path):
    src = mimic_iv_root(synthetic_root)
    dst = tmp_path / "plain" / "mimiciv" / src.name
    for path in src.rglob("*.csv.gz"):
        target = dst / path.relative_to(src).with_suffix("")
        target.parent.mkdir(parents=True, exist_ok=True)
        with gzip.open(path, "rb") as fin, target.open("wb") as fout:
            shutil.copyfileobj(fin, fout)
    other = prepare_ehr(tmp_path / "plain", tmp_path / "out")
    for rel in ["stays.parquet", "timeseries.parquet", "tasks/length-of-stay.parquet"]:
        pd.testing.assert_frame_equal(
            pd.read_parquet(processed.root / rel), pd.read_parquet(other.root / rel)
        )
    assert np.array_equal(
        np.load(processed.root / "hourly" / "inputs.npy"),
        np.load(other.root / "hourly" / "inputs.npy"),
    )
    for rel in [
        "normalizers/phenotyping.json",
        "listfiles/in-hospital-mortality/train_listfile.csv",
    ]:
        assert (processed.root / rel).read_bytes() == (other.root / rel).read_bytes()
    assert processed.manifest["skips"] == other.manifest["skips"]


def test_phenotype_labels_equal_the_ccs_table_for_every_stay(processed):
    """Labels recomputed from the raw codes: ICD-9 via the YAML, ICD-10 via CCS v2019.1."""
    dx = pd.read_csv(
        mimic_iv_root(processed.manifest["source"]["mimic_iv"]) / "hosp" / "diagnoses_icd.csv.gz",
        dtype={"icd_code": str},
    )
    names = reference.phenotypes()
    ccs_of = dict(zip(*reference.ccs_icd10cm()[["icd_code", "ccs_category"]].T.values, strict=True))
    group_of_ccs = {reference.phenotype_definitions()[n]["id"]: n for n in names}
    icd9 = {c: n for n in names for c in reference.phenotype_definitions()[n]["codes"]}
    want: dict[int, set[str]] = {}
    for hadm, code, version in dx[["hadm_id", "icd_code", "icd_version"]].itertuples(index=False):
        group = group_of_ccs.get(ccs_of.get(code)) if version == 10 else icd9.get(code)
        if group is not None:
            want.setdefault(int(hadm), set()).add(group)
    samples = processed.samples("phenotyping")
    hadm = samples["stay_id"].map(processed.stays.set_index("stay_id")["hadm_id"])
    for i, h in enumerate(hadm):
        got = {n for n in names if samples.at[i, n] == 1}
        assert got == want.get(int(h), set()), int(h)
    cohort = dx[dx["hadm_id"].isin(processed.stays["hadm_id"])]
    icd10 = cohort[cohort["icd_version"] == 10].drop_duplicates(["hadm_id", "icd_code"])
    in_groups = icd10["icd_code"].map(ccs_of).isin(group_of_ccs)
    beyond_table = in_groups & ~icd10["icd_code"].isin(set(reference.icd_to_phenotypes()))
    assert beyond_table.sum() > 10 and len(want) > 20
    unmapped = processed.manifest["phenotypes"]["codes_by_icd_version"]["10"]["unmapped"]
    assert unmapped == (~icd10["icd_code"].isin(set(ccs_of))).sum() > 0
