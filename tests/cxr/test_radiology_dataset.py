"""Radiology table, subject-level split derivation and the dataset."""

from __future__ import annotations

import pandas as pd
import pytest
import torch
from cxr_release import dicom_id

from medmod_lib.cxr.cache import ImageCache, build_cache
from medmod_lib.cxr.dataset import RadiologyDataset, assign_split, radiology_table
from medmod_lib.cxr.transforms import get_transforms

SUBJECTS = pd.DataFrame({"subject_id": [10000001, 10000002], "split": ["train", "test"]})


@pytest.fixture
def cached(small_release, tmp_path):
    root, _ = small_release
    build_cache(root, tmp_path / "cache", size=32, workers=1, progress=False)
    return root, ImageCache(tmp_path / "cache")


def test_assign_split_follows_subject():
    images = pd.DataFrame({"subject_id": [1, 1, 2, 3, 3], "split": ["test"] * 5})
    out, counts = assign_split(
        images, pd.DataFrame({"subject_id": [1, 2], "split": ["val", "test"]})
    )
    assert out["split"].tolist() == ["val", "val", "test", "train", "train"]
    assert counts == {"unlisted_images": 2, "unlisted_subjects": 1}
    out, _ = assign_split(
        images, pd.DataFrame({"subject_id": [1], "split": ["validate"]}), unlisted="drop"
    )
    assert out["split"].tolist() == ["val", "val"]
    with pytest.raises(ValueError, match="listed twice"):
        assign_split(images, pd.DataFrame({"subject_id": [1, 1], "split": ["val", "test"]}))
    with pytest.raises(ValueError, match="unknown split names"):
        assign_split(images, pd.DataFrame({"subject_id": [1], "split": ["dev"]}))


def test_split_file_is_read(tmp_path):
    path = tmp_path / "splits.csv"
    SUBJECTS.to_csv(path, index=False)
    out, _ = assign_split(pd.DataFrame({"subject_id": [10000002]}), path)
    assert out["split"].tolist() == ["test"]


def test_radiology_table_views_labels_and_split(small_release):
    root, _ = small_release
    table = radiology_table(root, subject_split=SUBJECTS, views=["AP", "PA"])
    # AP/PA images: 1, 3, 4, 5, 6; the lateral (2) is filtered out.
    assert table["dicom_id"].tolist() == [dicom_id(k) for k in (1, 3, 4, 5, 6)]
    assert table["split"].tolist() == ["train", "test", "test", "train", "train"]
    assert table.attrs["report"]["unlisted_subjects"] == 1
    official = radiology_table(root, official_split=True, views=None)
    assert official.set_index("dicom_id")["split"][dicom_id(6)] == "val"
    with pytest.raises(ValueError, match="not both and not neither"):
        radiology_table(root)


def test_unlabelled_studies_are_dropped_and_counted(tmp_path):
    from cxr_release import write_release

    rows = [
        {"dicom_id": dicom_id(k), "subject_id": 10000001, "study_id": 50000000 + k}
        for k in range(3)
    ]
    write_release(tmp_path, rows, labels={50000000: [1.0] * 14})
    table = radiology_table(tmp_path, subject_split=SUBJECTS)
    assert len(table) == 1
    assert table.attrs["report"]["unlabelled_images"] == 2
    assert table.attrs["report"]["unlabelled_studies"] == 2


@pytest.mark.parametrize("policy", ["zeros", "ones", "ignore"])
def test_dataset_items(cached, policy):
    root, cache = cached
    table = radiology_table(root, subject_split=SUBJECTS, views=["AP", "PA"])
    ds = RadiologyDataset(
        table,
        cache,
        policy=policy,
        transform=get_transforms("benchmark", train=False, image_size=24),
    )
    # Of 5 AP/PA images, 4 is missing and 5 corrupt: 3 remain.
    assert len(ds) == 3 and ds.report["not_in_cache"] == 2
    item = ds[0]
    assert item["image"].shape == (3, 24, 24) and item["dicom_id"] == dicom_id(1)
    expected = {"zeros": [1, 0, 0, 0], "ones": [1, 0, 1, 0], "ignore": [1, 0, 0, 0]}[policy]
    assert item["labels"][:4].tolist() == expected
    assert ("label_mask" in item) == (policy == "ignore")
    if policy == "ignore":
        assert item["label_mask"][:4].tolist() == [1, 1, 0, 0]
    batch = torch.utils.data.default_collate([ds[i] for i in range(len(ds))])
    assert batch["labels"].shape == (3, 14) and batch["image"].dtype == torch.float32


def test_dataset_split_selection_and_repr(cached):
    root, cache = cached
    table = radiology_table(root, subject_split=SUBJECTS, views=None)
    train = RadiologyDataset(table, cache, split="train")
    test = RadiologyDataset(table, cache, split=["test"])
    assert len(train) + len(test) == 4 and len(test) == 1
    raw = RadiologyDataset(table, cache)[0]["image"]
    assert raw.dtype == torch.uint8 and raw.shape == (1, 32, 32)
    text = repr(RadiologyDataset(table, cache))
    assert "RadiologyDataset(images=4, subjects=3, studies=3, policy='zeros'" in text
    assert "splits: {'train': 3, 'val': 0, 'test': 1}" in text
    assert "views:  {'AP': 2, 'LATERAL': 1, 'PA': 1}" in text
    assert "'not_in_cache': 2" in text and "'unlisted_images': 2" in text
    atelectasis = next(line for line in text.splitlines() if "Atelectasis" in line)
    assert atelectasis.split()[1:] == ["4", "0"]
    assert next(line for line in text.splitlines() if "Consolidation" in line).split()[1:] == [
        "0",
        "4",
    ]
    with pytest.raises(ValueError, match="Unknown split"):
        RadiologyDataset(table, cache, split="validate")
