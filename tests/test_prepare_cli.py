"""`python -m medmod_lib.prepare` with an X-ray root links every task and can build the cache."""

from __future__ import annotations

import subprocess
import sys

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
