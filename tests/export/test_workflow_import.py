"""The notebooks' get-or-build steps run on an imported benchmark folder.

Export the session's processed folder to the MedFuse layout, import it back, point
``MEDMOD_PROCESSED_DIR`` at the import and run what notebooks 01-03 run
(``ensure_data`` -> ``ensure_processed`` -> ``ensure_linked`` -> ``task_datasets``).
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from medmod_lib import artifacts, paths
from medmod_lib import workflow as wf
from medmod_lib.export.importer import compare_labels, import_benchmark

IHM = "in-hospital-mortality"
MODES = ("paired", "partial", "ehr_only")


@pytest.fixture(scope="module")
def imported(exports, tmp_path_factory):
    out = tmp_path_factory.mktemp("workflow-import") / "imported"
    return import_benchmark(exports["medfuse"].out, out, progress=False).root


def _cohort(linked, mode: str) -> pd.DataFrame:
    keep = ["stay_id", "subject_id", "split", "period_length", "paired", "dicom_id", "y_true"]
    samples = linked.cohort(IHM, mode).samples[keep]
    return samples.sort_values(["split", "stay_id", "period_length"]).reset_index(drop=True)


def test_notebook_steps_run_on_the_imported_folder(
    kit, imported, synthetic_root, tmp_path, monkeypatch
):
    kit_ehr, kit_linked = kit
    run = tmp_path / "run"
    monkeypatch.setenv(paths.PROCESSED_DIR_ENV, str(imported))
    root = wf.ensure_data(synthetic_root)
    ehr = wf.ensure_processed(root, run)
    assert ehr.root == imported and not (run / "processed").exists()  # nothing rebuilt
    labels = compare_labels(ehr, kit_ehr).set_index("task")
    assert (labels["label_mismatches"] == 0).all() and (labels["both"] == labels["kit"]).all()

    linked = wf.ensure_linked(ehr, root, run)
    stamp = artifacts.read_stamp(linked.root)
    assert any(k.startswith("processed/") for k in stamp["inputs"])  # the import's content
    for mode in MODES:
        pd.testing.assert_frame_equal(_cohort(linked, mode), _cohort(kit_linked, mode))

    ours = wf.task_datasets(linked, ehr, None, task=IHM, mode="partial")
    theirs = wf.task_datasets(kit_linked, kit_ehr, None, task=IHM, mode="partial")
    for split in ("train", "val", "test"):
        a, b = getattr(ours, split), getattr(theirs, split)
        assert len(a) == len(b) > 0
        np.testing.assert_array_equal(a._labels, b._labels)
        for i in (0, len(a) - 1):
            x, y = a[i], b[i]
            assert x["stay_id"] == y["stay_id"]
            np.testing.assert_array_equal(x["labels"], y["labels"])
            np.testing.assert_allclose(x["ehr"], y["ehr"], rtol=1e-5, atol=1e-5)

    # Asked again (the next notebook): reused, not relinked.
    mtime = (linked.root / "linking.json").stat().st_mtime_ns
    assert wf.ensure_linked(wf.ensure_processed(root, run), root, run).root == linked.root
    assert (linked.root / "linking.json").stat().st_mtime_ns == mtime


def test_a_changed_import_is_linked_again(exports, synthetic_root, tmp_path, monkeypatch):
    bench = tmp_path / "bench"
    shutil.copytree(exports["medfuse"].out, bench, symlinks=True)
    out, run = tmp_path / "imported", tmp_path / "run"
    import_benchmark(bench, out, progress=False)
    monkeypatch.setenv(paths.PROCESSED_DIR_ENV, str(out))
    ehr = wf.ensure_processed(synthetic_root, run)
    first = wf.ensure_linked(ehr, synthetic_root, run)
    digest = artifacts.read_stamp(first.root)["digest"]
    manifest = (out / "manifest.json").read_text()

    # One mortality label flipped upstream, imported again into the same folder: the
    # manifest is unchanged (same counts), the content is not.
    path = bench / IHM / "test_listfile.csv"
    lines = path.read_text().splitlines()
    head, row = lines[1].rsplit(",", 1)
    stay = int(lines[1].split(",")[2])  # MedFuse listfiles: stay, period_length, stay_id, y
    lines[1] = f"{head},{1 - int(row)}"
    path.write_text("\n".join(lines) + "\n")
    import_benchmark(bench, out, progress=False)
    assert (out / "manifest.json").read_text() == manifest

    again = wf.ensure_linked(wf.ensure_processed(synthetic_root, run), synthetic_root, run)
    assert artifacts.read_stamp(again.root)["digest"] != digest
    before = first.cohort(IHM, "ehr_only").samples.set_index("stay_id")["y_true"]
    after = again.cohort(IHM, "ehr_only").samples.set_index("stay_id")["y_true"]
    assert after[stay] == 1 - before[stay] and (after.drop(stay) == before.drop(stay)).all()

    # A narrower import replaces the folder whole (no stale task left) and links only what
    # it has, with a warning naming the missing tasks.
    import_benchmark(bench, out, tasks=[IHM], progress=False)
    with pytest.warns(UserWarning, match="no tasks/phenotyping.parquet"):
        narrow = wf.ensure_processed(synthetic_root, run)
    assert narrow.tasks == [IHM]
    linked = wf.ensure_linked(narrow, synthetic_root, run)
    assert sorted(linked.cohorts) == sorted(
        [f"{IHM}/{m}" for m in MODES] + ["radiology/paired", "radiology/radiology"]
    )


def test_an_incomplete_or_missing_folder_is_refused_with_the_fix(
    imported, synthetic_root, tmp_path, monkeypatch
):
    missing = tmp_path / "nowhere"
    monkeypatch.setenv(paths.PROCESSED_DIR_ENV, str(missing))
    with pytest.raises(FileNotFoundError, match="MEDMOD_PROCESSED_DIR") as err:
        wf.ensure_processed(synthetic_root, tmp_path / "run")
    assert str(missing) in str(err.value) and "medmod_lib.export.importer" in str(err.value)

    stopped = tmp_path / "stopped"
    shutil.copytree(imported, stopped)
    (stopped / "manifest.json").unlink()
    (stopped / "hourly" / "inputs.npy").unlink()
    with pytest.raises(FileNotFoundError, match="manifest.json, hourly/inputs.npy") as err:
        wf.ensure_processed(synthetic_root, tmp_path / "run", processed_dir=stopped)
    assert str(stopped) in str(err.value) and "processed_dir" in str(err.value)

    monkeypatch.setenv(paths.PROCESSED_DIR_ENV, str(imported))
    with pytest.raises(ValueError, match="EHRConfig"):
        wf.ensure_processed(synthetic_root, tmp_path / "run", wf.default_ehr_config(synthetic_root))
    assert not (tmp_path / "run" / "processed").exists()
    manifest = json.loads((imported / "manifest.json").read_text())
    assert manifest["source"]["imported"]  # the folder itself was never touched


def test_with_an_import_the_data_root_needs_only_the_xray_release(tmp_path, monkeypatch):
    (tmp_path / "data" / "mimic-cxr-jpg" / "2.0.0" / "files").mkdir(parents=True)
    monkeypatch.delenv(paths.PROCESSED_DIR_ENV, raising=False)
    with pytest.raises(FileNotFoundError, match="mimiciv"):
        wf.ensure_data(tmp_path / "data")
    monkeypatch.setenv(paths.PROCESSED_DIR_ENV, str(tmp_path / "imported"))
    assert wf.ensure_data(tmp_path / "data") == tmp_path / "data"
    monkeypatch.setenv(paths.PROCESSED_DIR_ENV, "")
    assert paths.processed_dir() is None
