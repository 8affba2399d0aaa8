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
