"""The generated files match the real MIMIC layout: columns, orders, formats, ids."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from medmod_lib import paths, reference, schema
from medmod_lib.synthetic.writer import MANIFEST

TS = r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$"


def _read(root, table: str) -> pd.DataFrame:
    if table in schema.MIMIC_CXR:
        path = paths.mimic_cxr_root(root) / f"{table}.csv.gz"
    else:
        path = paths.mimic_iv_root(root) / schema.module_of(table) / f"{table}.csv.gz"
    return pd.read_csv(path, dtype=str, keep_default_na=False)


@pytest.mark.parametrize(
    "table", [t for m in schema.MIMIC_IV.values() for t in m] + list(schema.MIMIC_CXR)
)
def test_columns_in_schema_order(synthetic_root, table):
    df = _read(synthetic_root, table)
    assert list(df.columns) == schema.columns(table)
    assert len(df) > 0


def test_layout_and_manifest_outside_release(synthetic_root):
    assert (synthetic_root / MANIFEST).is_file()
    assert paths.mimic_iv_root(synthetic_root) == synthetic_root / "mimiciv" / "3.1"
    assert paths.mimic_cxr_root(synthetic_root) == synthetic_root / "mimic-cxr-jpg" / "2.1.0"


def test_identifier_and_time_formats(synthetic_root):
    pat = _read(synthetic_root, "patients")
    adm = _read(synthetic_root, "admissions")
    icu = _read(synthetic_root, "icustays")
    assert pat["subject_id"].str.fullmatch(r"1\d{7}").all()
    assert adm["hadm_id"].str.fullmatch(r"2\d{7}").all()
    assert icu["stay_id"].str.fullmatch(r"3\d{7}").all()
    assert pat["anchor_year"].astype(int).between(2100, 2200).all()
    assert set(pat["anchor_year_group"]) <= {
        "2008 - 2010",
        "2011 - 2013",
        "2014 - 2016",
        "2017 - 2019",
        "2020 - 2022",
    }
    ages = pat["anchor_age"].astype(int)
    assert not ages.between(90, 90).any() and ages.max() <= 91
    dod = pat["dod"][pat["dod"] != ""]
    assert len(dod) and dod.str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    for col in ("admittime", "dischtime"):
        assert adm[col].str.fullmatch(TS).all()
    for col in ("intime", "outtime"):
        assert icu[col].str.fullmatch(TS).all()
    assert icu["los"].str.fullmatch(r"\d+\.\d{6}").all()
    los = (
        pd.to_datetime(icu["outtime"]) - pd.to_datetime(icu["intime"])
    ).dt.total_seconds() / 86400
    np.testing.assert_allclose(icu["los"].astype(float), los, atol=1e-6)


def test_mortality_fields_consistent(synthetic_root):
    adm = _read(synthetic_root, "admissions")
    died = adm["hospital_expire_flag"] == "1"
    assert died.any() and (~died).any()
    assert (adm.loc[died, "deathtime"] == adm.loc[died, "dischtime"]).all()
    assert (adm.loc[died, "discharge_location"] == "DIED").all()
    assert (adm.loc[~died, "deathtime"] == "").all()
    pat = _read(synthetic_root, "patients").set_index("subject_id")
    dod = pat.loc[adm.loc[died, "subject_id"], "dod"].to_numpy()
    assert (dod == adm.loc[died, "deathtime"].str[:10].to_numpy()).all()


def test_icd_codes_as_strings(synthetic_root):
    dx = _read(synthetic_root, "diagnoses_icd")
    titles = _read(synthetic_root, "d_icd_diagnoses")
    assert not dx["icd_code"].str.contains(r"\.").any()
    assert set(dx["icd_version"]) == {"9", "10"}
    known = set(zip(titles["icd_code"], titles["icd_version"], strict=True))
    assert set(zip(dx["icd_code"], dx["icd_version"], strict=True)) <= known
    assert titles["icd_code"].str.startswith("0").any()
    assert titles["icd_code"].str.match(r"^[VE]\d").any()
    assert (dx["seq_num"].astype(int) >= 1).all()
    lookup = reference.phenotype_lookup("ccs")
    keys = list(zip(dx["icd_version"].astype(int), dx["icd_code"], strict=True))
    assert np.mean([k in lookup for k in keys]) > 0.5


def test_icd10_codes_span_whole_ccs_categories(synthetic_root):
    """ICD-10 admissions get codes beyond MedFuse's table, all in their CCS category."""
    from medmod_lib.synthetic.codes import PHENOTYPE_CODES, icd10_options

    dx = _read(synthetic_root, "diagnoses_icd")
    ten = dx.loc[dx["icd_version"] == "10", "icd_code"]
    yaml_codes = set(reference.icd_to_phenotypes())
    ccs = reference.icd10_to_phenotypes()
    in_groups = ten[ten.isin(set(ccs))]
    assert (~in_groups.isin(yaml_codes)).sum() > 0.3 * len(in_groups)  # beyond the old table
    assert "U071" in set(ten)  # created after CCS v2019.1: the pipeline counts it unmapped
    assert "U071" not in set(reference.ccs_icd10cm()["icd_code"])
    for name, (_, typical) in PHENOTYPE_CODES.items():
        options = {c for c, _ in icd10_options(name)}
        assert {c for c, _ in typical} <= options, name
        assert all(ccs[c] == [name] for c in options)


def test_chartevents_items_and_values(synthetic_root):
    ce = _read(synthetic_root, "chartevents")
    items = _read(synthetic_root, "d_items")
    assert ce["charttime"].str.fullmatch(TS).all() and ce["storetime"].str.fullmatch(TS).all()
    assert set(ce["warning"]) == {"0", "1"}
    charted = set(ce["itemid"].astype(int))
    chart_map = reference.itemid_map().query("table == 'chartevents'")
    assert set(chart_map["itemid"]) <= set(items["itemid"].astype(int))
    assert {
        220045,
        220179,
        220739,
        223900,
        223901,
        223761,
        223762,
        226707,
        226730,
        226531,
    } <= charted
    gcs = ce[ce["itemid"].isin(["220739", "223900", "223901"])]
    assert set(gcs["value"]) <= {
        "Spontaneously",
        "To Speech",
        "To Pain",
        "None",
        "Oriented",
        "Confused",
        "Inappropriate Words",
        "Incomprehensible sounds",
        "No Response",
        "No Response-ETT",
        "Obeys Commands",
        "Localizes Pain",
        "Flex-withdraws",
        "Abnormal Flexion",
        "Abnormal extension",
        "No response",
    }
    crr_ids = items.loc[items["label"].str.startswith("Capillary Refill"), "itemid"]
    crr = ce[ce["itemid"].isin(crr_ids)]
    assert set(crr["value"]) == {"Normal <3 secs", "Abnormal >3 secs"}
    temp_f = ce.loc[ce["itemid"] == "223761", "valuenum"].astype(float)
    assert temp_f.between(90, 108).mean() > 0.99
    fio2 = ce.loc[ce["itemid"] == "223835", "valuenum"].astype(float)
    assert fio2.between(21, 100).all() and fio2.mean() > 21
    inches = ce.loc[ce["itemid"] == "226707", "valuenum"].astype(float)
    assert inches.between(48, 90).all()
    assert ce.duplicated().any(), "real chartevents has exact duplicate rows"


def test_labevents_layout(synthetic_root):
    lab = _read(synthetic_root, "labevents")
    d_lab = _read(synthetic_root, "d_labitems")
    assert "stay_id" not in lab.columns
    assert (lab["hadm_id"] == "").any() and (lab["hadm_id"] != "").any()
    lab_map = reference.itemid_map().query("table == 'labevents'")
    assert set(lab_map["itemid"].astype(str)) <= set(d_lab["itemid"])
    assert lab["labevent_id"].astype(int).is_unique
    assert d_lab["itemid"].str.fullmatch(r"5\d{4}").all()


def test_cxr_metadata_formats(synthetic_root):
    meta = _read(synthetic_root, "mimic-cxr-2.0.0-metadata")
    assert meta["dicom_id"].str.fullmatch(r"[0-9a-f]{8}(-[0-9a-f]{8}){4}").all()
    assert meta["study_id"].str.fullmatch(r"5\d{7}").all()
    assert meta["StudyDate"].str.fullmatch(r"2[12]\d{6}").all()
    assert meta["StudyTime"].str.fullmatch(r"\d{1,6}(\.\d{1,3})?").all()
    assert (meta["StudyTime"].str.split(".").str[0].str.len() < 6).any(), "leading zero lost"
    assert {"AP", "PA", "LATERAL"} <= set(meta["ViewPosition"])
    lines = (paths.mimic_cxr_root(synthetic_root) / "IMAGE_FILENAMES").read_text().split()
    assert len(lines) == len(meta)
    assert all(re.fullmatch(r"files/p1\d/p1\d{7}/s5\d{7}/[0-9a-f-]{44}\.jpg", s) for s in lines)


def test_every_image_exists_with_metadata_size(synthetic_root):
    root = paths.mimic_cxr_root(synthetic_root)
    meta = _read(synthetic_root, "mimic-cxr-2.0.0-metadata")
    for d, s, t, rows, cols in meta[
        ["dicom_id", "subject_id", "study_id", "Rows", "Columns"]
    ].itertuples(index=False):
        with Image.open(root / schema.cxr_image_relpath(s, t, d)) as img:
            assert img.mode == "L"
            assert img.size == (int(cols), int(rows))
    short = np.minimum(meta["Rows"].astype(int), meta["Columns"].astype(int))
    assert (short == 64).all()


def test_labels_and_split(synthetic_root):
    chex = _read(synthetic_root, "mimic-cxr-2.0.0-chexpert")
    neg = _read(synthetic_root, "mimic-cxr-2.0.0-negbio")
    meta = _read(synthetic_root, "mimic-cxr-2.0.0-metadata")
    split = _read(synthetic_root, "mimic-cxr-2.0.0-split")
    labels = list(reference.CHEXPERT_LABELS)
    values = set(np.unique(chex[labels].to_numpy()))
    assert values == {"", "1.0", "0.0", "-1.0"}
    assert chex["study_id"].is_unique
    assert chex["study_id"].nunique() < meta["study_id"].nunique(), "some studies unlabelled"
    assert (chex[labels].to_numpy() != neg[labels].to_numpy()).any()
    assert set(split["split"]) <= {"train", "validate", "test"}
    assert (split.groupby("subject_id")["split"].nunique() == 1).all()
    assert list(split["dicom_id"]) == list(meta["dicom_id"])
