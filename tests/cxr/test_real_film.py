"""End to end on one real chest radiograph: pydicom-data's PA film RG1_UNCR.dcm.

The DICOM (15-bit, MONOCHROME1) becomes an 8-bit JPEG inside a
MIMIC-CXR-JPG-shaped release in tmp_path; nothing is committed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from cxr_release import dicom_id, write_release
from dicom_film import dicom_to_uint8
from PIL import Image

from medmod_lib.cxr import (
    ImageCache,
    RadiologyDataset,
    build_cache,
    get_transforms,
    load_metadata,
    radiology_table,
)
from medmod_lib.reference import CHEXPERT_LABELS

pydicom_data = pytest.importorskip("pydicom.data")
SUBJECT, STUDY = 10000032, 50414267


@pytest.fixture(scope="module")
def film() -> np.ndarray:
    try:
        path = pydicom_data.get_testdata_file("RG1_UNCR.dcm", download=False)
    except TypeError:  # older pydicom without the download flag
        path = pydicom_data.get_testdata_file("RG1_UNCR.dcm")
    if path is None:
        pytest.skip("pydicom-data (RG1_UNCR.dcm) is not installed")
    return dicom_to_uint8(path)


def test_dicom_conversion(film):
    assert film.shape == (1955, 1841) and film.dtype == np.uint8
    # MONOCHROME1 inverted: the lung fields are darker than the spine/mediastinum.
    lung = film[700:1100, 300:600].mean()
    spine = film[700:1100, 880:960].mean()
    assert lung < spine - 20
    assert film.min() < 60 and film.max() > 230


def test_real_film_end_to_end(film, tmp_path):
    labels = {STUDY: [np.nan, 1.0, 0.0, -1.0] + [np.nan] * 10}
    rows = [
        {
            "dicom_id": dicom_id(1),
            "subject_id": SUBJECT,
            "study_id": STUDY,
            "ViewPosition": "PA",
            "StudyTime": 213014.531,
            "pixels": film,
        }
    ]
    rel = write_release(tmp_path / "data", rows, labels=labels, image_shape=film.shape)
    jpeg = rel / f"files/p10/p{SUBJECT}/s{STUDY}/{dicom_id(1)}.jpg"
    assert jpeg.is_file()

    assert len(load_metadata(tmp_path / "data")) == 0  # default AP: the PA film is filtered
    meta = load_metadata(tmp_path / "data", views=["PA"])
    assert meta["study_datetime"][0] == pd.Timestamp("2180-07-23 21:30:14.531")

    report = build_cache(tmp_path / "data", tmp_path / "cache", workers=1, progress=False)
    assert (report.ok, report.missing, report.corrupt) == (1, 0, 0)
    cache = ImageCache(tmp_path / "cache")
    cached = cache.get(dicom_id(1))
    with Image.open(jpeg) as im:
        from torchvision.transforms import v2

        direct = np.asarray(v2.CenterCrop(256)(v2.Resize(256)(im.convert("L"))))
    assert cached.shape == (256, 256)
    assert np.abs(cached.astype(int) - direct.astype(int)).mean() < 1.0

    table = radiology_table(
        tmp_path / "data",
        subject_split=pd.DataFrame({"subject_id": [SUBJECT], "split": ["test"]}),
        views=["PA"],
    )
    ds = RadiologyDataset(
        table,
        cache,
        split="test",
        policy="ignore",
        transform=get_transforms("benchmark", train=False),
    )
    item = ds[0]
    assert item["image"].shape == (3, 224, 224)
    assert item["labels"][:4].tolist() == [0, 1, 0, 0]
    assert item["label_mask"].tolist() == [0, 1, 1, 0] + [0] * 10
    assert "views:  {'PA': 1}" in repr(ds)
    assert CHEXPERT_LABELS[1] == "Cardiomegaly"

    torch.manual_seed(0)
    view1 = get_transforms("simclr", train=True, channels=1)(torch.from_numpy(cached)[None])
    assert view1.shape == (1, 224, 224) and torch.isfinite(view1).all()
