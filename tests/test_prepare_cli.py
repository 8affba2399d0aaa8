"""`python -m medmod_lib.prepare` with an X-ray root links every task and can build the cache."""

from __future__ import annotations

import subprocess
import sys

import pytest

from medmod_lib.linking import LinkedData
from medmod_lib.prepare import main


def test_prepare_with_xrays_links_and_caches(synthetic_root, tmp_path):
    out = tmp_path / "processed"
    ehr = main(
        [
            "--mimic-iv",
            str(synthetic_root),
            "--mimic-cxr",
            str(synthetic_root),
            "--out",
            str(out),
            "--cache",
            "--cache-size",
            "32",
        ]
    )
    linked = LinkedData.load(out / "linked")
    assert "in-hospital-mortality/paired" in linked.cohorts
    assert set(linked.images["subject_id"]) & set(ehr.stays["subject_id"])
    assert (out / "cxr_cache_32" / "manifest.json").exists()


def test_prepare_refuses_output_inside_the_raw_data(synthetic_root):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "medmod_lib.prepare",
            "--mimic-iv",
            str(synthetic_root),
            "--out",
            str(synthetic_root / "mimiciv" / "3.1" / "processed"),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "raw" in (result.stderr + result.stdout).lower()


def test_prepare_flags_for_blood_only_labs_and_the_medfuse_phenotype_table(
    synthetic_root, tmp_path
):
    args = ["--mimic-iv", str(synthetic_root), "--out", str(tmp_path / "p"), "--tasks"]
    ehr = main([*args, "phenotyping", "--blood-only-labs", "--phenotype-map", "medfuse"])
    manifest = ehr.manifest
    assert manifest["parameters"]["variables"]["blood_only_labs"] is True
    assert manifest["parameters"]["phenotype_map"] == "medfuse"
    assert manifest["phenotypes"]["map"] == "medfuse"
    assert manifest["variables"]["non_blood_lab_itemids_dropped"] == [50831, 51094, 51478, 51491]
    dropped = [k for k in manifest["skips"] if "not a blood sample" in k]
    assert dropped and all(manifest["skips"][k] > 0 for k in dropped)


@pytest.mark.parametrize(
    "command, out",
    [
        ("prepare", "mimic-cxr-jpg/2.1.0/x"),
        ("prepare", "processed"),
        ("prepare", "mimiciv/3.1"),
        ("cxr", "mimiciv/3.1/cache"),
        ("cxr", "cache"),
    ],
)
def test_every_output_is_checked_against_every_raw_folder(
    synthetic_root, command, out, monkeypatch
):
    """Regression: each pipeline used to check only its own release folder."""
    from medmod_lib.cxr.__main__ import main as cxr_main

    def no_reading(*args, **kwargs):
        raise AssertionError("read the data before checking the output folder")

    monkeypatch.setattr("medmod_lib.ehr.reader.MimicIVReader.__init__", no_reading)
    monkeypatch.setattr("medmod_lib.cxr.metadata.load_metadata", no_reading)
    target = synthetic_root / out
    existed = target.exists()
    if command == "prepare":
        args = ["--mimic-iv", str(synthetic_root), "--mimic-cxr", str(synthetic_root)]
        run = lambda: main([*args, "--out", str(target)])  # noqa: E731
    else:
        run = lambda: cxr_main(["--root", str(synthetic_root), "--out", str(target)])  # noqa: E731
    with pytest.raises(ValueError, match="never writes inside raw data"):
        run()
    assert target.exists() == existed
    assert not list(target.parent.glob(f".{target.name}.partial-*"))


def test_prepare_rebuild_keeps_the_image_cache_and_refreshes_stale_links(synthetic_root, tmp_path):
    out = tmp_path / "processed"
    args = [
        "--mimic-iv",
        str(synthetic_root),
        "--mimic-cxr",
        str(synthetic_root),
        "--out",
        str(out),
    ]
    main([*args, "--cache", "--cache-size", "32"])
    plan = (out / "cxr_cache_32" / "plan.json").read_bytes()
    links = (out / "linked" / ".medmod_build.json").read_bytes()
    main([*args, "--seed", "2"])
    assert (out / "cxr_cache_32" / "plan.json").read_bytes() == plan  # kept
    assert (out / "linked" / ".medmod_build.json").read_bytes() != links  # relinked
    assert LinkedData.load(out / "linked").config["seed"] == 2
