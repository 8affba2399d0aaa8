"""End to end: processed folder layout, listfiles, normalizers, .csv vs .csv.gz."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from mimic_tables import chart, lab, stay, write_release
from reference_discretizer import Discretizer

from medmod_lib import reference
from medmod_lib.ehr import EHRConfig, ProcessedEHR, prepare_ehr
from medmod_lib.ehr.reader import MimicSchemaError

DIAG = [dict(subject_id=10_000_001, hadm_id=20_000_001, seq_num=1, icd_code="4019", icd_version=9)]


def _population():
    stays = [stay(n, los_h=30.0 + 10 * n, death_h=(70.0 if n == 3 else None)) for n in range(1, 9)]
    stays.append(stay(9, los_h=50))  # no events at all
    rows = []
    for n in range(1, 9):
        rows += [
            chart(n, 0.0, 220045, 80 + n),
            chart(n, 0.5, 220045, 90 + n),  # same bin as t=0: last value wins
            chart(n, 2.25, 223761, 99.5),
            chart(n, 3.0, 220739, "To Speech"),
            chart(n, 3.0, 223900, "Confused"),
            chart(n, 3.0, 223901, "Localizes Pain"),
            chart(n, 30.0 + 10 * n, 220210, 18),  # at outtime
        ]
    return stays, rows, [lab(1, 6.0, 50820, 7.31)]


def _prepare(tmp_path, compress=True, name="out", **config):
    stays, rows, labs = _population()
    root = write_release(tmp_path / f"raw_{compress}", stays, rows, labs, DIAG, compress=compress)
    return prepare_ehr(root, tmp_path / name, EHRConfig(**config))


@pytest.fixture(scope="module")
def processed(tmp_path_factory):
    return _prepare(tmp_path_factory.mktemp("pipe"))


def test_folder_layout(processed):
    root = processed.root
    for rel in [
        "manifest.json",
        "cohort_flow.csv",
        "splits.csv",
        "stays.parquet",
        "timeseries.parquet",
        "hourly/inputs.npy",
        "hourly/index.parquet",
        "tasks/in-hospital-mortality.parquet",
        "normalizers/phenotyping.json",
        "listfiles/decompensation/val_listfile.csv",
    ]:
        assert (root / rel).is_file(), rel
    assert "stays=9" in repr(processed)


def test_hourly_inputs_equal_the_discretizer_on_the_timeseries(processed):
    ts = processed.timeseries()
    stays = processed.stays.set_index("stay_id")
    for sid, frame in ts.groupby("stay_id"):
        end = stays.loc[sid, "los"] * 24.0
        frame = frame[(frame["Hours"] > -1e-6) & (frame["Hours"] < end + 1e-6)]
        want, header = Discretizer().transform(frame.drop(columns="stay_id"), end=end)
        n = len(want)
        assert np.array_equal(processed.inputs(sid, n), want)
        assert header == processed.header
    x = processed.inputs(30_000_001, 3)
    hr = processed.header.index("Heart Rate")
    assert x[0, hr] == 91.0  # 0.5 h overwrote 0 h in bin 0
    total_12 = processed.header.index("Glascow coma scale total->12")
    assert x[2, total_12] == 1.0  # 3 + 4 + 5 derived at 3 h, bin 2
    assert x[0, processed.header.index("Temperature")] == 36.6  # normal value before 2.25 h


def test_inputs_past_the_stay_repeat_last_row_without_masks(processed):
    n = int(processed.index.loc[30_000_001, "n_bins"])
    x = processed.inputs(30_000_001, n + 2)
    masks = [h.startswith("mask->") for h in processed.header]
    assert np.array_equal(x[n:, ~np.array(masks)], np.repeat(x[n - 1 : n, ~np.array(masks)], 2, 0))
    assert x[n:, masks].sum() == 0
    with pytest.raises(KeyError, match="not in"):
        processed.inputs(1, 3)


def test_tasks_and_listfiles(processed):
    ihm = processed.samples("in-hospital-mortality")
    # LOS 40..110 h: stays with LOS >= 48 h and events; stay 9 has none.
    assert ihm["stay_id"].tolist() == [30_000_002 + k for k in range(7)]
    assert ihm.set_index("stay_id").loc[30_000_003, "y_true"] == 1
    assert {"intime", "outtime", "split"} <= set(ihm.columns)
    ph = processed.samples("phenotyping")
    assert ph.set_index("stay_id").loc[30_000_001, "Essential hypertension"] == 1
    assert 30_000_009 not in set(ph["stay_id"])
    lst = pd.concat(
        pd.read_csv(processed.root / "listfiles" / "length-of-stay" / f"{s}_listfile.csv")
        for s in ("train", "val", "test")
    )
    assert list(lst.columns) == ["stay", "period_length", "stay_id", "y_true"]
    assert lst["stay"].str.fullmatch(r"1000000\d_episode1_timeseries\.csv").all()
    los = processed.samples("length-of-stay")
    assert len(lst) == len(los)
    assert set(los["los_bucket"]) <= set(range(10))
    header = open(processed.root / "listfiles" / "phenotyping" / "train_listfile.csv").readline()
    assert header.rstrip("\n").split(",") == [
        "stay",
        "period_length",
        "stay_id",
        *reference.phenotypes(),
    ]


def test_normalizer_fitted_on_train_split_only(processed):
    ihm = processed.samples("in-hospital-mortality")
    train = ihm.loc[ihm["split"] == "train", "stay_id"]
    rows = np.concatenate([processed.inputs(s, 48) for s in train])
    norm = processed.normalizer("in-hospital-mortality")
    hr = processed.header.index("Heart Rate")
    assert norm.means[hr] == pytest.approx(rows[:, hr].mean())
    assert norm.stds[hr] == pytest.approx(rows[:, hr].std(ddof=1))


def test_manifest_counts_and_skips(processed):
    m = json.loads((processed.root / "manifest.json").read_text())
    assert m["counts"]["cohort_stays"] == 9
    assert (
        m["skips"]["stays: no events within the stay (kept in stays.parquet, no task samples)"] == 1
    )
    assert m["variables"]["capillary_refill_itemids"] == [223951, 224308]
    assert m["counts"]["events_per_channel"]["Glascow coma scale total"] == 8


def test_csv_and_csv_gz_give_identical_outputs(tmp_path, processed):
    other = _prepare(tmp_path, compress=False)
    for rel in [
        "stays.parquet",
        "timeseries.parquet",
        "hourly/index.parquet",
        "tasks/decompensation.parquet",
    ]:
        pd.testing.assert_frame_equal(
            pd.read_parquet(processed.root / rel), pd.read_parquet(other.root / rel)
        )
    a = np.load(processed.root / "hourly" / "inputs.npy")
    assert np.array_equal(a, np.load(other.root / "hourly" / "inputs.npy"))
    for rel in [
        "listfiles/phenotyping/test_listfile.csv",
        "normalizers/length-of-stay.json",
        "splits.csv",
    ]:
        assert (processed.root / rel).read_bytes() == (other.root / rel).read_bytes()


def test_small_chunks_give_identical_outputs(tmp_path, processed):
    other = _prepare(tmp_path, name="chunked", chunk_events=5)
    assert np.array_equal(
        np.load(processed.root / "hourly" / "inputs.npy"),
        np.load(other.root / "hourly" / "inputs.npy"),
    )
    for rel in ["timeseries.parquet", "hourly/index.parquet"]:
        pd.testing.assert_frame_equal(
            pd.read_parquet(processed.root / rel), pd.read_parquet(other.root / rel)
        )


def test_output_inside_raw_data_is_refused(tmp_path):
    stays, rows, labs = _population()
    root = write_release(tmp_path / "raw", stays, rows)
    with pytest.raises(ValueError, match="never writes inside raw data"):
        prepare_ehr(root, root / "mimiciv" / "3.1" / "processed")


def test_processed_folder_needs_a_manifest(tmp_path):
    with pytest.raises(FileNotFoundError, match="medmod_lib.prepare"):
        ProcessedEHR(tmp_path)


def test_cli_builds_the_requested_tasks(tmp_path, capsys):
    from medmod_lib.prepare import main

    stays, rows, labs = _population()
    root = write_release(tmp_path / "raw", stays, rows, labs, DIAG)
    ehr = main(
        ["--mimic-iv", str(root), "--out", str(tmp_path / "cli"), "--tasks", "phenotyping"]
        + ["--seed", "3", "--reference-variables"]
    )
    assert ehr.tasks == ["phenotyping"]
    assert ehr.manifest["parameters"]["seed"] == 3
    assert ehr.manifest["counts"]["events_per_channel"]["Glascow coma scale total"] == 0
    assert "Cohort flow" in capsys.readouterr().out


def test_phenotypes_from_icd10_through_ccs_and_unmapped_codes_counted(tmp_path):
    """ICD-10 codes outside MedFuse's table get their CCS labels; U071 is counted unmapped."""
    stays, rows, labs = _population()
    icd10 = ["J9601", "I480", "E1122", "U071", "Z7901"]
    diag = DIAG + [
        dict(subject_id=10_000_002, hadm_id=20_000_002, seq_num=k + 1, icd_code=c, icd_version=10)
        for k, c in enumerate(icd10)
    ]
    root = write_release(tmp_path / "raw", stays, rows, labs, diag)
    ccs = prepare_ehr(root, tmp_path / "ccs", EHRConfig(tasks=("phenotyping",)))
    old = prepare_ehr(
        root, tmp_path / "medfuse", EHRConfig(tasks=("phenotyping",), phenotype_map="medfuse")
    )
    lab_ccs = ccs.samples("phenotyping").set_index("stay_id")
    lab_old = old.samples("phenotyping").set_index("stay_id")
    stay2 = ccs.stays.set_index("hadm_id").loc[20_000_002, "stay_id"]
    lookup = reference.icd10_to_phenotypes()
    want = {lookup[c][0] for c in icd10 if c in lookup}
    assert want == {
        "Respiratory failure; insufficiency; arrest (adult)",
        "Cardiac dysrhythmias",
        "Diabetes mellitus with complications",
    }
    names = reference.phenotypes()
    got = {n for n in names if lab_ccs.loc[stay2, n] == 1}
    assert got == want
    assert lab_old.loc[stay2, names].sum() == 0  # MedFuse's table misses all three
    report = ccs.manifest["phenotypes"]
    assert report["map"] == "ccs"
    assert report["codes_by_icd_version"]["10"]["unmapped"] == 1
    assert report["codes_by_icd_version"]["10"]["top_unmapped"] == [["U071", 1]]
    assert report["codes_by_icd_version"]["10"]["other_group"] == 1  # Z7901
    assert report["codes_by_icd_version"]["9"]["benchmark"] == 1
    skips = ccs.manifest["skips"]
    assert any(k.startswith("diagnoses_icd: ICD-10 codes") and v == 1 for k, v in skips.items())
    prevalence = pd.DataFrame(report["prevalence_by_icd_version"])
    assert prevalence.loc["Cardiac dysrhythmias", "ICD-10"] == 1.0
    assert prevalence.loc["Essential hypertension", "ICD-9"] == 1.0
    assert old.manifest["phenotypes"]["codes_by_icd_version"]["10"]["unmapped"] == 5  # none listed


def test_stays_record_their_event_counts(processed):
    stays = processed.stays.set_index("stay_id")
    assert stays.loc[30_000_009, "n_events"] == 0  # the stay without events
    assert (stays.drop(index=30_000_009)["n_events"] >= 6).all()
    ph = set(processed.samples("phenotyping")["stay_id"])
    assert ph == set(stays.index[stays["n_events"] > 0])


def test_a_chartevents_without_rows_is_an_error_naming_the_file(tmp_path):
    """Regression: a header-only chartevents gave rc 0 and 14 of 17 channels empty."""
    stays, rows, labs = _population()
    root = write_release(tmp_path / "raw", stays, [], labs)
    with pytest.raises(MimicSchemaError, match=r"chartevents\.csv\.gz has no data rows"):
        prepare_ehr(root, tmp_path / "out")
    assert not (tmp_path / "out" / "manifest.json").exists()


def test_a_full_disk_is_an_error_naming_the_file_not_a_bus_error(tmp_path, monkeypatch):
    """Regression: ``open_memmap`` on a sparse file ended in SIGBUS (rc 135) on a full disk."""
    import errno
    import os

    def full(fd, offset, length):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "posix_fallocate", full)
    stays, rows, labs = _population()
    root = write_release(tmp_path / "raw", stays, rows, labs)
    with pytest.raises(OSError, match="cannot reserve") as err:
        prepare_ehr(root, tmp_path / "out")
    assert err.value.errno == errno.ENOSPC and err.value.filename.endswith("inputs.npy")
