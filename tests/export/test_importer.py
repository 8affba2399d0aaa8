"""Importing a benchmark folder gives back the kit's samples, labels and hourly inputs."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from medmod_lib.ehr.discretizer import Normalizer
from medmod_lib.export.importer import compare_labels, import_benchmark, main
from medmod_lib.linking import LinkConfig, link_cohorts


@pytest.fixture(scope="module")
def imported(exports, tmp_path_factory):
    base = tmp_path_factory.mktemp("imported")
    return {
        flavour: import_benchmark(result.out, base / flavour, progress=False)
        for flavour, result in exports.items()
    }


@pytest.mark.parametrize("flavour", ["medfuse", "mimic3-benchmarks"])
def test_import_gives_back_the_kit_folder(kit, imported, flavour):
    ehr, _ = kit
    back = imported[flavour]
    table = compare_labels(back, ehr).set_index("task")
    assert sorted(table.index) == sorted(ehr.tasks)
    assert (table["both"] == table["kit"]).all() and (table["both"] == table["imported"]).all()
    assert (table["label_mismatches"] == 0).all() and (table["split_mismatches"] == 0).all()
    for task in ehr.tasks:
        a = back.samples(task).drop(columns=["intime", "outtime"])
        b = ehr.samples(task).drop(columns=["intime", "outtime"])
        b = b.sort_values(["stay_id", "period_length"], kind="stable").reset_index(drop=True)
        pd.testing.assert_frame_equal(a, b[a.columns], check_dtype=False, atol=5e-7)
    # Hourly inputs of every stay with samples, to its LOS.
    for sid, n in back.index["n_bins"].items():
        np.testing.assert_array_equal(back.inputs(sid, n), ehr.inputs(sid, n), err_msg=str(sid))
    merged = back.splits.merge(ehr.splits, on="subject_id", suffixes=("", "_kit"))
    assert len(merged) == len(back.splits) and (merged["split"] == merged["split_kit"]).all()
    for task in ("phenotyping", "in-hospital-mortality"):
        ours, theirs = back.normalizer(task), ehr.normalizer(task)
        assert isinstance(ours, Normalizer)
        np.testing.assert_allclose(ours.means, theirs.means, rtol=1e-6, atol=1e-6)


def test_imported_folder_links_like_the_kit(kit, imported, synthetic_root, tmp_path):
    ehr, linked = kit
    config = LinkConfig(tasks=("in-hospital-mortality",), modes=("paired",))
    ours = link_cohorts(
        imported["mimic3-benchmarks"], synthetic_root, out=tmp_path, config=config, figure=False
    )
    a = ours.cohort("in-hospital-mortality", "paired").samples
    b = linked.cohort("in-hospital-mortality", "paired").samples
    pairs = [sorted(zip(c["stay_id"], c["dicom_id"], strict=True)) for c in (a, b)]
    assert pairs[0] == pairs[1]


def test_label_mismatch_is_reported(kit, exports, tmp_path):
    ehr, _ = kit
    folder = tmp_path / "bench"
    shutil.copytree(exports["medfuse"].out, folder, symlinks=True)
    path = folder / "in-hospital-mortality" / "test_listfile.csv"
    lines = path.read_text().splitlines()
    head, row = lines[1].rsplit(",", 1)
    lines[1] = f"{head},{1 - int(row)}"
    path.write_text("\n".join(lines) + "\n")
    back = import_benchmark(
        folder, tmp_path / "back", tasks=["in-hospital-mortality"], progress=False
    )
    table = compare_labels(back, ehr).set_index("task")
    assert table.loc["in-hospital-mortality", "label_mismatches"] == 1


def test_import_errors_name_the_file(exports, tmp_path):
    folder = tmp_path / "bench"
    shutil.copytree(exports["mimic3-benchmarks"].out, folder, symlinks=True)
    with pytest.raises(ValueError, match="overlaps"):
        import_benchmark(folder, folder / "processed", progress=False)
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="not an earlier import"):
        import_benchmark(folder, other, progress=False)
    (folder / "root" / "all_stays.csv").unlink()
    with pytest.raises(FileNotFoundError, match="all_stays.csv"):
        main(["--benchmark", str(folder), "--out", str(tmp_path / "out")])
