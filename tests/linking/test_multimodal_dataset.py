"""The multimodal dataset and collate: padding, masks for missing images, labels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from medmod_lib.ehr.discretizer import Normalizer, header
from medmod_lib.linking.dataset import MultimodalCollate, MultimodalDataset


class FakeEHR:
    def inputs(self, stay_id: int, n_bins: int) -> np.ndarray:
        x = np.full((200, 76), float(stay_id % 100), dtype=np.float32)
        x[:, 0] = np.arange(200)
        return x[:n_bins]


class FakeImages:
    def get(self, dicom_id: str) -> np.ndarray:
        return np.full((8, 8), int(dicom_id[1:]), dtype=np.uint8)


def samples() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "stay_id": [30000001, 30000002, 30000003],
            "subject_id": [10000001, 10000002, 10000003],
            "period_length": [48.0, 10.5, 3.0],
            "paired": [True, False, True],
            "dicom_id": ["d7", None, "d9"],
            "y_true": [1.0, 0.0, np.nan],
        }
    )


def test_batch_layout_pads_sequences_and_flags_missing_images():
    ds = MultimodalDataset(
        samples(),
        task="in-hospital-mortality",
        label_columns=["y_true"],
        ehr=FakeEHR(),
        images=FakeImages(),
    )
    batch = MultimodalCollate()([ds[0], ds[1], ds[2]])
    assert batch["ehr"].shape == (3, 48, 76)
    assert batch["ehr_lengths"].tolist() == [48, 11, 3]
    assert batch["ehr"][1, 11:].abs().sum() == 0  # padding is zero
    assert batch["paired"].tolist() == [True, False, True]
    assert batch["image"].shape == (3, 1, 8, 8)
    assert batch["image"][1].sum() == 0 and batch["image"][0].unique().tolist() == [7]
    assert batch["labels"].tolist() == [[1.0], [0.0], [0.0]]
    assert batch["label_mask"].tolist() == [[1.0], [1.0], [0.0]]
    assert batch["stay_id"].dtype == torch.long
    assert "paired=2" in repr(ds)


def test_normalizer_and_truncation_are_applied():
    x = np.random.default_rng(0).normal(size=(500, 76))
    norm = Normalizer().fit(x, header())
    ds = MultimodalDataset(
        samples(),
        task="phenotyping",
        label_columns=["y_true"],
        ehr=FakeEHR(),
        normalizer=norm,
        max_bins=5,
    )
    item = ds[0]
    assert item["ehr"].shape == (5, 76)
    np.testing.assert_allclose(
        item["ehr"], norm.transform(FakeEHR().inputs(30000001, 48)[-5:]), rtol=1e-6
    )
    assert item["image"] is None and not item["paired"]  # no image source: EHR only


def test_unpaired_only_batch_uses_the_configured_image_shape_and_class_labels():
    s = samples().assign(los_bucket=[3, 0, 9])
    ds = MultimodalDataset(
        s, task="length-of-stay", label_columns=["los_bucket"], ehr=FakeEHR(), images=FakeImages()
    )
    batch = MultimodalCollate(image_shape=(1, 16, 16), class_labels=True)([ds[1]])
    assert batch["image"].shape == (1, 1, 16, 16) and not batch["paired"].any()
    batch = MultimodalCollate(class_labels=True)([ds[0], ds[2]])
    assert batch["labels"].tolist() == [3, 9] and batch["labels"].dtype == torch.long
