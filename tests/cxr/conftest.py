"""Fixtures of the CXR tests: a tiny MIMIC-CXR-JPG-shaped release in tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest
from cxr_release import dicom_id, write_release


@pytest.fixture
def small_release(tmp_path) -> tuple[Path, list[dict]]:
    """Six images of three subjects (two views) with a missing and a corrupt JPEG."""
    rows = [
        {"dicom_id": dicom_id(1), "subject_id": 10000001, "study_id": 50000001},
        {
            "dicom_id": dicom_id(2),
            "subject_id": 10000001,
            "study_id": 50000001,
            "ViewPosition": "LATERAL",
        },
        {"dicom_id": dicom_id(3), "subject_id": 10000002, "study_id": 50000002, "split": "test"},
        {"dicom_id": dicom_id(4), "subject_id": 10000002, "study_id": 50000003, "write": False},
        {"dicom_id": dicom_id(5), "subject_id": 11000003, "study_id": 50000004, "corrupt": True},
        {
            "dicom_id": dicom_id(6),
            "subject_id": 11000003,
            "study_id": 50000005,
            "ViewPosition": "PA",
            "split": "validate",
        },
    ]
    root = tmp_path / "data"
    write_release(root, rows)
    return root, rows
