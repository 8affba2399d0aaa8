"""Killed builds are never reused, and reuse follows the inputs' content."""

from __future__ import annotations

import gzip
import io
import json
import os
import shutil
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from medmod_lib import artifacts
from medmod_lib import workflow as wf
from medmod_lib.ehr import pipeline


def _tree(folder: Path) -> dict[str, object]:
    """Every file's bytes; ``manifest.json`` without its timings (the only varying field)."""
    files = {}
    for p in sorted(folder.rglob("*")):
        if not p.is_file():
            continue
        rel = str(p.relative_to(folder))
        if p.name == "manifest.json":
            files[rel] = {k: v for k, v in json.loads(p.read_text()).items() if k != "timings"}
        else:
            files[rel] = p.read_bytes()
    return files


@pytest.fixture(scope="module")
def uninterrupted(synthetic_root, tmp_path_factory):
    out = tmp_path_factory.mktemp("uninterrupted")
    return _tree(wf.ensure_processed(synthetic_root, out).root)


def _interrupt(monkeypatch, where: str) -> None:
    def stop(*args, **kwargs):
        raise KeyboardInterrupt

    target = {
        "extract": (pipeline, "extract_events"),
        "tasks": (pipeline, "write_listfiles"),
        "end": (pipeline, "summary_text"),  # after manifest.json is written
        "rename": (artifacts, "_swap"),
    }[where]
    monkeypatch.setattr(*target, stop)


@pytest.mark.parametrize("where", ["extract", "tasks", "end", "rename"])
def test_a_killed_rebuild_is_never_reused(
    synthetic_root, tmp_path, monkeypatch, uninterrupted, where
):
    default = wf.default_ehr_config(synthetic_root)
    wf.ensure_processed(synthetic_root, tmp_path)
    with monkeypatch.context() as m:  # rebuild with another seed, killed
        _interrupt(m, where)
        with pytest.raises(KeyboardInterrupt):
            wf.ensure_processed(synthetic_root, tmp_path, replace(default, seed=1))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["processed"]  # no partial left
    assert _tree(wf.ensure_processed(synthetic_root, tmp_path).root) == uninterrupted
    # A first build killed, then asked again: built whole, byte-identical.
    first = tmp_path / "first"
    with monkeypatch.context() as m:
        _interrupt(m, where)
        with pytest.raises(KeyboardInterrupt):
            wf.ensure_processed(synthetic_root, first)
    assert not (first / "processed").exists()
    assert _tree(wf.ensure_processed(synthetic_root, first).root) == uninterrupted


@pytest.fixture
def own_root(synthetic_root, tmp_path):
    """A private copy of the session dataset that a test may edit."""
    root = tmp_path / "data"
    shutil.copytree(synthetic_root, root, ignore=shutil.ignore_patterns("files"))
    return root


def _gz(text: str) -> bytes:
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as gz:
        gz.write(text.encode())
    return buf.getvalue()


def _rewrite_gz_same_size(path: Path, edit) -> None:
    """Apply ``edit`` to the decompressed text so that the .gz keeps its size and mtime."""
    st = path.stat()
    text = gzip.decompress(path.read_bytes()).decode()
    for new in edit(text):
        data = _gz(new)
        if len(data) == st.st_size:
            path.write_bytes(data)
            os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
            return
    pytest.skip("no same-size edit found")


def _ages(text: str):
    """Versions of patients.csv with one patient's anchor_age changed (same digit count)."""
    lines = text.split("\n")
    col = lines[0].split(",").index("anchor_age")
    for i in range(1, len(lines)):
        fields = lines[i].split(",")
        if len(fields) <= col or len(fields[col]) != 2:
            continue
        for age in range(18, 90):
            if str(age) != fields[col]:
                new = fields[:col] + [str(age)] + fields[col + 1 :]
                yield "\n".join(lines[:i] + [",".join(new)] + lines[i + 1 :])


def test_a_same_size_change_of_a_raw_table_is_rebuilt(own_root, tmp_path):
    patients = next((own_root / "mimiciv").glob("*/hosp/patients.csv.gz"))
    patients.write_bytes(_gz(gzip.decompress(patients.read_bytes()).decode()))  # our gzip header
    ehr = wf.ensure_processed(own_root, tmp_path / "out")
    digest = artifacts.read_stamp(ehr.root)["digest"]
    size, mtime = patients.stat().st_size, patients.stat().st_mtime_ns
    _rewrite_gz_same_size(patients, _ages)
    assert (patients.stat().st_size, patients.stat().st_mtime_ns) == (size, mtime)
    stays = wf.ensure_processed(own_root, tmp_path / "out").stays
    assert artifacts.read_stamp(ehr.root)["digest"] != digest  # rebuilt
    raw = pd.read_csv(patients).set_index("subject_id")["anchor_age"]
    assert (stays["anchor_age"] == stays["subject_id"].map(raw)).all()


def test_a_changed_metadata_file_with_an_old_mtime_is_relinked(own_root, tmp_path):
    ehr = wf.ensure_processed(own_root, tmp_path / "out")
    linked = wf.ensure_linked(ehr, own_root, tmp_path / "out")
    digest = artifacts.read_stamp(linked.root)["digest"]
    metadata = next((own_root / "mimic-cxr-jpg").glob("*/mimic-cxr-2.0.0-metadata.csv.gz"))
    st = metadata.stat()
    frame = pd.read_csv(metadata)
    frame.loc[frame["ViewPosition"] == "AP", "ViewPosition"] = "PA"  # no AP film left
    frame.to_csv(metadata, index=False, compression="gzip")
    os.utime(metadata, ns=(st.st_atime_ns, st.st_mtime_ns - 10**12))  # older than the links
    relinked = wf.ensure_linked(ehr, own_root, tmp_path / "out")
    assert artifacts.read_stamp(relinked.root)["digest"] != digest
    paired = relinked.cohort("in-hospital-mortality", "partial").split("train")["paired"]
    assert not paired.any()
    assert linked.cohort("in-hospital-mortality", "partial").split("train")["paired"].any()


def test_a_rebuilt_processed_folder_invalidates_its_links(own_root, tmp_path):
    out = tmp_path / "out"
    ehr = wf.ensure_processed(own_root, out)
    linked = wf.ensure_linked(ehr, own_root, out)
    digest = artifacts.read_stamp(linked.root)["digest"]
    other = wf.ensure_processed(own_root, out, replace(wf.default_ehr_config(own_root), seed=3))
    assert artifacts.read_stamp(wf.ensure_linked(other, own_root, out).root)["digest"] != digest


def test_a_killed_linking_is_never_reused(synthetic_root, tmp_path, monkeypatch):
    from medmod_lib.linking import build

    ehr = wf.ensure_processed(synthetic_root, tmp_path)
    fresh = _tree(wf.ensure_linked(ehr, synthetic_root, tmp_path / "a").root)

    def stop(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as m:  # after the cohorts and the figure, before linking.json
        m.setattr(build, "write_cohort_card", stop)
        with pytest.raises(KeyboardInterrupt):
            wf.ensure_linked(ehr, synthetic_root, tmp_path / "b")
    assert not (tmp_path / "b" / "linked").exists()
    assert not list((tmp_path / "b").glob(".linked*"))
    assert _tree(wf.ensure_linked(ehr, synthetic_root, tmp_path / "b").root) == fresh


def test_an_image_cache_of_another_image_list_is_rebuilt(synthetic_root, tmp_path):
    root = tmp_path / "data"
    shutil.copytree(synthetic_root, root)
    cache = wf.ensure_image_cache(root, tmp_path, size=32, progress=False)
    n = len(cache)
    metadata = next((root / "mimic-cxr-jpg").glob("*/mimic-cxr-2.0.0-metadata.csv.gz"))
    st = metadata.stat()
    frame = pd.read_csv(metadata)
    frame.iloc[1:].to_csv(metadata, index=False, compression="gzip")  # one film fewer
    os.utime(metadata, ns=(st.st_atime_ns, st.st_mtime_ns))
    again = wf.ensure_image_cache(root, tmp_path, size=32, progress=False)
    assert len(again) == n - 1 and str(frame["dicom_id"].iloc[0]) not in again
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
