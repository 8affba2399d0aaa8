"""stay_image_samples: every image inside a training stay, EHR up to the image."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from medmod_lib.pretrain.pairs import stay_image_samples

T0 = pd.Timestamp("2150-01-01 00:00")


def frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    stays = pd.DataFrame(
        {
            "stay_id": [10, 11, 20],
            "subject_id": [1, 1, 2],
            "split": ["train", "train", "test"],
            "intime": [T0, T0 + pd.Timedelta(days=30), T0],
            "outtime": [
                T0 + pd.Timedelta(hours=72),
                T0 + pd.Timedelta(days=32),
                T0 + pd.Timedelta(hours=50),
            ],
        }
    )
    h = pd.Timedelta(hours=1)
    images = pd.DataFrame(
        {
            "dicom_id": ["a", "b", "c", "d", "e", "f", "g"],
            "subject_id": [1, 1, 1, 1, 1, 2, 1],
            "study_id": [100, 101, 102, 103, 104, 200, 105],
            "ViewPosition": ["AP", "AP", "PA", "AP", "AP", "AP", "AP"],
            "study_datetime": [
                T0 + 5 * h,  # stay 10, AP
                T0 + 60 * h,  # stay 10, AP, after 48 h: still inside the stay
                T0 + 6 * h,  # stay 10, PA: other view
                T0 - 3 * h,  # before intime (ED): outside
                T0 + pd.Timedelta(days=30, hours=2),  # stay 11
                T0 + 4 * h,  # test subject: never a pretraining pair
                T0 + 80 * h,  # after outtime of stay 10: outside
            ],
        }
    )
    return stays, images


def test_every_in_stay_image_of_the_split_with_the_ehr_up_to_it():
    stays, images = frames()
    out = stay_image_samples(stays, images, label=pd.Series({10: 1.0, 11: 0.0}))
    assert out["dicom_id"].tolist() == ["a", "b", "e"]
    assert out["stay_id"].tolist() == [10, 10, 11]
    np.testing.assert_allclose(out["period_length"], [5.0, 60.0, 2.0])
    np.testing.assert_allclose(out["hours_from_intime"], out["period_length"])
    assert out["paired"].all() and (out["split"] == "train").all()
    assert out["y_true"].tolist() == [1.0, 1.0, 0.0]


def test_views_split_and_missing_label():
    stays, images = frames()
    both = stay_image_samples(stays, images, views=("AP", "PA"))
    assert both["dicom_id"].tolist() == ["a", "c", "b", "e"]
    assert both["y_true"].isna().all()
    test = stay_image_samples(stays, images, split="test")
    assert test["dicom_id"].tolist() == ["f"]


def test_errors_name_the_problem():
    stays, images = frames()
    with pytest.raises(ValueError, match="split"):
        stay_image_samples(stays, images, split="dev")
    with pytest.raises(ValueError, match="outtime"):
        stay_image_samples(stays.drop(columns="outtime"), images)
