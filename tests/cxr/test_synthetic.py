"""The CXR pipeline on the kit's synthetic release (skipped until the generator lands)."""

from __future__ import annotations

import importlib
import importlib.util

import numpy as np
import pandas as pd
import pytest

from medmod_lib.cxr import ImageCache, RadiologyDataset, build_cache, load_metadata, radiology_table


@pytest.fixture
def root(request):
    spec = importlib.util.find_spec("medmod_lib.synthetic")
    if spec is None or not hasattr(importlib.import_module("medmod_lib.synthetic"), "generate"):
        pytest.skip("medmod_lib.synthetic.generate is not available yet")
    return request.getfixturevalue("synthetic_root")


def test_synthetic_release_end_to_end(root, tmp_path):
    meta = load_metadata(root, views=None)
    assert len(meta) > 0 and meta["study_datetime"].notna().all()
    assert set(meta["ViewPosition"].fillna("")) <= {"AP", "PA", "LATERAL", "LL", ""}
    report = build_cache(root, tmp_path / "cache", size=32, workers=1, progress=False)
    assert report.ok == len(meta) and report.failures == []
    subjects = np.sort(meta["subject_id"].unique())
    split = pd.DataFrame(
        {
            "subject_id": subjects,
            "split": np.resize(["train", "train", "val", "test"], len(subjects)),
        }
    )
    table = radiology_table(root, subject_split=split, views=None)
    ds = RadiologyDataset(table, ImageCache(tmp_path / "cache"), policy="ignore")
    assert len(ds) == len(table) > 0
    assert ds[0]["image"].shape == (1, 32, 32)
    # Every image of a subject shares the subject's split.
    assert (table.groupby("subject_id")["split"].nunique() == 1).all()
