"""The export, read back through re-stated mimic3-benchmarks and MedFuse readers."""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))

import benchmark_contracts as ext  # noqa: E402
from reference_discretizer import Discretizer  # noqa: E402

from medmod_lib import reference  # noqa: E402
from medmod_lib.ehr.discretizer import Normalizer, n_bins_for  # noqa: E402
from medmod_lib.export import export_processed, listfile_header  # noqa: E402
from medmod_lib.export.__main__ import main as export_main  # noqa: E402
from medmod_lib.export.episodes import Target, write_episodes  # noqa: E402
from medmod_lib.export.extras import MEDFUSE_HEADER_FILE  # noqa: E402

SPLITS = ("train", "val", "test")
FULL_TASKS = ("in-hospital-mortality", "phenotyping")
HOURLY_TASKS = ("decompensation", "length-of-stay")
HOURLY_SAMPLE = 25


def _frame(x: np.ndarray, header: list[str]) -> pd.DataFrame:
    # MedFuse discretizes without the file's header: the columns must be in this order.
    assert header == ["Hours", *reference.channels()]
    frame = pd.DataFrame(x[:, 1:], columns=header[1:])
    frame.insert(0, "Hours", x[:, 0].astype(float))
    return frame


def _check_inputs(ehr, stay_id: int, x: np.ndarray, header: list[str], end: float) -> None:
    data, _ = Discretizer().transform(_frame(x, header), end=end)
    expected = ehr.inputs(stay_id, n_bins_for(end))
    np.testing.assert_array_equal(data, expected, err_msg=f"stay {stay_id}, end {end}")


def _samples(ehr, task: str, split: str) -> pd.DataFrame:
    s = ehr.samples(task)
    return s[s["split"] == split]


def _stay_of(ehr) -> dict[str, int]:
    from medmod_lib.ehr.listfiles import episode_names

    names = episode_names(ehr.stays)
    return dict(zip(names.to_numpy(), names.index.to_numpy(), strict=True))


@pytest.mark.parametrize("task", FULL_TASKS)
def test_mimic3_readers_read_every_stay(kit, exports, task):
    ehr, _ = kit
    root = exports["mimic3-benchmarks"].out
    stay_of = _stay_of(ehr)
    labels = reference.phenotypes() if task == "phenotyping" else ["y_true"]
    for split in SPLITS:
        assert ext.mimic3_header(root, task, split) == listfile_header(task, "mimic3-benchmarks")
        examples = ext.mimic3_read(root, task, split)
        samples = _samples(ehr, task, split).set_index("stay_id")
        assert sorted(stay_of[e["name"]] for e in examples) == sorted(samples.index)
        for e in examples:
            sid = stay_of[e["name"]]
            _check_inputs(ehr, sid, e["X"], e["header"], e["t"])
            y = e["y"] if task == "phenotyping" else [e["y"]]
            assert y == samples.loc[sid, labels].astype(int).tolist()


@pytest.mark.parametrize("task", HOURLY_TASKS)
def test_mimic3_readers_read_hourly_sample(kit, exports, task):
    ehr, _ = kit
    root = exports["mimic3-benchmarks"].out
    stay_of = _stay_of(ehr)
    for split in SPLITS:
        samples = _samples(ehr, task, split)
        n_rows = len(ext.mimic3_parse(root, task, split))
        assert n_rows == len(samples)
        rng = np.random.default_rng(0)
        picked = rng.choice(n_rows, size=min(HOURLY_SAMPLE, n_rows), replace=False)
        examples = ext.mimic3_read(root, task, split, indices=list(picked))
        kit_labels = {
            (sid, round(t, 6)): y
            for sid, t, y in samples[["stay_id", "period_length", "y_true"]].itertuples(index=False)
        }
        for e in examples:
            sid = stay_of[e["name"]]
            assert e["X"][:, 0].astype(float).max() <= e["t"] + 1e-6
            _check_inputs(ehr, sid, e["X"], e["header"], e["t"])
            assert e["y"] == pytest.approx(kit_labels[(sid, round(e["t"], 6))], abs=5e-7)


@pytest.mark.parametrize("task", FULL_TASKS + HOURLY_TASKS)
def test_medfuse_dataset_reads_the_export(kit, exports, task):
    """Every row is read and its labels and window end checked; the episodes are the
    mimic3-benchmarks export's files byte for byte (discretized in full above), and a
    sample is discretized again here."""
    ehr, _ = kit
    root, other = exports["medfuse"].out, Path(exports["mimic3-benchmarks"].out)
    rng = np.random.default_rng(1)
    for split in SPLITS:
        classes, rows = ext.medfuse_listfile(root, task, split)
        samples = _samples(ehr, task, split)
        assert len(rows) == len(samples)
        expected_classes = reference.phenotypes() if task == "phenotyping" else ["y_true"]
        assert classes == expected_classes
        if task in HOURLY_TASKS:
            rows = [rows[i] for i in rng.choice(len(rows), min(HOURLY_SAMPLE, len(rows)), False)]
        check = set(rng.choice(len(rows), min(HOURLY_SAMPLE, len(rows)), replace=False))
        kit_rows = samples.set_index(["stay_id", samples["period_length"].round(6)])
        for i, row in enumerate(rows):
            r = ext.medfuse_read(root, task, split, row)
            sid = int(r["stay_id"])
            key = (sid, round(float(row[1]), 6)) if task != "in-hospital-mortality" else None
            want = kit_rows.loc[key] if key else samples.set_index("stay_id").loc[sid]
            assert r["labels"] == pytest.approx(want[classes].astype(float).tolist(), abs=5e-7)
            assert r["end"] == pytest.approx(want["period_length"], abs=5e-7)
            folder = ext.TASK_DIRS[split]
            same = (other / task / folder / row[0]).read_bytes()
            assert (Path(root) / task / folder / row[0]).read_bytes() == same
            if i in check:
                _check_inputs(ehr, sid, r["X"], r["header"], r["end"])


@pytest.mark.parametrize("task", FULL_TASKS)
def test_medfuse_pairing_selects_the_kit_paired_stays(kit, exports, task):
    ehr, linked = kit
    export = exports["medfuse"]
    pairs = ext.medfuse_pairs(export.out, f"{export.out}/mimic-cxr-jpg", task)
    cohort = linked.cohort(task, "paired").samples
    images = linked.images.set_index("dicom_id")
    n_paired = 0
    for split in SPLITS:
        theirs = pairs[split].set_index("stay_id")
        ours = cohort[cohort["split"] == split].set_index("stay_id")
        assert sorted(theirs.index) == sorted(ours.index), split
        n_paired += len(ours)
        # Film choice: MedFuse drops the fractional seconds and keeps the last image
        # after an unstable sort, the kit keeps them and breaks ties by dicom_id; a
        # different film is only ever a tie at whole seconds.
        for sid in ours.index:
            a, b = theirs.loc[sid, "dicom_id"], ours.loc[sid, "dicom_id"]
            if a != b:
                ta, tb = (images.loc[d, "study_datetime"].floor("s") for d in (a, b))
                assert ta == tb, (sid, a, b)
    assert n_paired > 0


def test_medfuse_cxr_split_follows_the_kit_subject_split(kit, exports):
    _, linked = kit
    cxr = f"{exports['medfuse'].out}/mimic-cxr-jpg"
    split_of = linked.images.set_index("dicom_id")["split"]
    for split, kit_split in (("train", "train"), ("validate", "val"), ("test", "test")):
        loaded = ext.medfuse_cxr_split(cxr, split)
        assert loaded and (split_of.loc[loaded] == kit_split).all()
    assert (Path(cxr) / "resized").is_symlink()


def test_listfile_flavours_and_layout(exports):
    mf, m3 = Path(exports["medfuse"].out), Path(exports["mimic3-benchmarks"].out)
    ihm = "in-hospital-mortality"
    assert (mf / ihm / "test_listfile.csv").read_text().startswith("stay,period_length,stay_id,")
    assert (m3 / ihm / "test_listfile.csv").read_text().startswith("stay,y_true\n")
    head = (m3 / "phenotyping" / "val_listfile.csv").read_text().splitlines()[0].split(",")
    assert head == ["stay", "period_length", *reference.phenotypes()]
    # The readers' default listfiles: train/ holds train + val, test/ the test rows.
    for task in ("decompensation", "phenotyping"):
        n = {s: len((m3 / task / f"{s}_listfile.csv").read_text().splitlines()) - 1 for s in SPLITS}
        assert len((m3 / task / "train/listfile.csv").read_text().splitlines()) - 1 == (
            n["train"] + n["val"]
        )
        assert (m3 / task / "test/listfile.csv").read_text() == (
            m3 / task / "test_listfile.csv"
        ).read_text()
    # MedFuse's fusion_main.py reads its discretizer header from one hard-coded file.
    stub = (mf / ihm / "train" / MEDFUSE_HEADER_FILE).read_text().splitlines()
    assert stub[0].split(",") == ["Hours", *reference.channels()]
    assert not (m3 / ihm / "train" / MEDFUSE_HEADER_FILE).exists()
    stays = pd.read_csv(mf / "root" / "all_stays.csv")
    assert {"subject_id", "stay_id", "intime", "outtime"} <= set(stays.columns)
    assert stays["stay_id"].is_unique


def test_normalizer_state_is_the_benchmark_pickle(kit, exports):
    ehr, _ = kit
    path = Path(exports["medfuse"].out) / "normalizers" / "phenotyping.normalizer"
    with open(path, "rb") as f:
        state = pickle.load(f, encoding="latin1")
    kit_norm = Normalizer.load(ehr.root / "normalizers" / "phenotyping.json")
    np.testing.assert_array_equal(state["means"], kit_norm.means)
    np.testing.assert_array_equal(state["stds"], kit_norm.stds)


def test_export_refuses_raw_and_processed_folders(kit, synthetic_root, tmp_path):
    ehr, _ = kit
    raw = synthetic_root / "mimiciv"
    for bad in (ehr.root / "export", raw / "3.1" / "export", raw / "export", ehr.root.parent):
        with pytest.raises(ValueError, match="never writes"):
            export_processed(ehr.root, bad, flavour="medfuse", progress=False)
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="not an earlier export"):
        export_processed(ehr.root, foreign, flavour="medfuse", progress=False)
    with pytest.raises(ValueError, match="Unknown export format"):
        export_processed(ehr.root, tmp_path / "x", flavour="medmod", progress=False)


def test_cli_overwrites_an_earlier_export(kit, tmp_path, capsys):
    ehr, _ = kit
    out = tmp_path / "export"
    args = ["--processed", str(ehr.root), "--format", "mimic3-benchmarks", "--out", str(out)]
    export_main([*args, "--tasks", "phenotyping", "--no-progress"])
    (out / "phenotyping" / "train" / "stale.csv").write_text("old")
    result = export_main([*args, "--tasks", "in-hospital-mortality", "--no-progress"])
    assert "rows/s" in capsys.readouterr().out
    assert not (out / "phenotyping").exists()
    assert list(result.tasks) == ["in-hospital-mortality"]


def test_streaming_is_independent_of_the_batch_size(kit, exports, tmp_path):
    """Stays cut by record-batch boundaries are written whole and unchanged."""
    ehr, _ = kit
    root = Path(exports["mimic3-benchmarks"].out) / "phenotyping"
    files = sorted((root / "test").glob("*_timeseries.csv"))[:12]
    stay_of = _stay_of(ehr)
    los_h = ehr.stays.set_index("stay_id")["los"] * 24.0
    targets = {
        int(stay_of[f.name]): [Target(tmp_path / f.name, float(los_h[stay_of[f.name]]))]
        for f in files
    }
    stats = write_episodes(ehr.root / "timeseries.parquet", targets, batch_rows=7, progress=False)
    assert stats.files == len(files) and not stats.missing and not stats.empty
    for f in files:
        assert (tmp_path / f.name).read_bytes() == f.read_bytes()


def test_unsorted_timeseries_is_refused(tmp_path):
    channels = reference.channels()
    frame = pd.DataFrame({"stay_id": [1, 1, 2], "Hours": [2.0, 1.0, 0.5]})
    for c in channels:
        frame[c] = ["", "", ""]
    frame.to_parquet(tmp_path / "timeseries.parquet", index=False)
    targets = {1: [Target(tmp_path / "a.csv", 10.0)]}
    with pytest.raises(ValueError, match="not sorted by Hours"):
        write_episodes(tmp_path / "timeseries.parquet", targets, progress=False)
    frame.assign(stay_id=[2, 2, 1], Hours=[0.0, 1.0, 0.0]).to_parquet(
        tmp_path / "timeseries.parquet", index=False
    )
    with pytest.raises(ValueError, match="not sorted by stay_id"):
        write_episodes(tmp_path / "timeseries.parquet", targets, batch_rows=2, progress=False)


def test_listfile_values_are_written_as_the_benchmark_does(exports):
    root = Path(exports["mimic3-benchmarks"].out)
    los = (root / "length-of-stay" / "test_listfile.csv").read_text().splitlines()[1].split(",")
    assert len(los[1].split(".")[1]) == 6 and len(los[2].split(".")[1]) == 6
    pheno = (root / "phenotyping" / "test_listfile.csv").read_text().splitlines()[1].split(",")
    assert set(pheno[2:]) <= {"0", "1"} and len(pheno) == 27
    ihm = Path(exports["medfuse"].out) / "in-hospital-mortality" / "test_listfile.csv"
    row = ihm.read_text().splitlines()[1].split(",")
    assert row[1] == "0" and row[2].isdigit() and row[3] in {"0", "1"}
