"""Windows that end at an image: no event charted after the image reaches the EHR input."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from medmod_lib.ehr.discretizer import discretize_events, header
from medmod_lib.ehr.processed import ProcessedEHR
from medmod_lib.ehr.windows import ends_inside_bin, needs_rebuild
from medmod_lib.linking.dataset import MultimodalDataset
from medmod_lib.pretrain.pairs import stay_image_samples
from medmod_lib.reference import channels

HR, SBP, DBP, TEMP = (
    "Heart Rate",
    "Systolic blood pressure",
    "Diastolic blood pressure",
    "Temperature",
)
VERBAL = "Glascow coma scale verbal response"
INTIME = pd.Timestamp("2150-01-01 08:00:00")
FILM_H = 5.3  # the film at 13:18
LOS_H = 30.0

#: Stay 1: events before the film, and an injected HR 150 at 5.8 h (30 minutes after
#: the film, in its hour), SBP and a ventilated GCS verbal charted just after it.
#: Stay 2: a film at 0.2 h with events after it in bin 0 only.
EVENTS = pd.DataFrame(
    [
        (1, 1.0, HR, "80"),
        (1, 4.5, SBP, "120"),
        (1, 4.9, VERBAL, "Oriented"),
        (1, 5.1, HR, "90"),
        (1, 5.2, TEMP, "37.5"),
        (1, FILM_H, DBP, "60"),  # charted at the film's minute: inside the window
        (1, 5.6, SBP, "200"),
        (1, 5.7, VERBAL, "1.0 ET/Trach"),
        (1, 5.8, HR, "150"),
        (1, 6.5, HR, "110"),
        (2, 0.1, HR, "70"),
        (2, 0.6, HR, "140"),
        (2, 0.7, DBP, "95"),
    ],
    columns=["stay_id", "hours", "channel", "value"],
)


def _wide(events: pd.DataFrame) -> pd.DataFrame:
    wide = events.pivot_table(
        index=["stay_id", "hours"], columns="channel", values="value", aggfunc="last"
    )
    wide = wide.reindex(columns=channels()).astype(object).fillna("").reset_index()
    return wide.rename(columns={"hours": "Hours"})


@pytest.fixture
def processed(tmp_path) -> ProcessedEHR:
    """A processed folder written as the pipeline does: whole-stay arrays up to LOS."""
    root = tmp_path / "processed"
    (root / "hourly").mkdir(parents=True)
    ends = pd.Series([LOS_H, LOS_H], index=[1, 2])
    inputs, index = discretize_events(EVENTS, ends)
    np.save(root / "hourly" / "inputs.npy", inputs)
    index.to_parquet(root / "hourly" / "index.parquet")
    _wide(EVENTS).to_parquet(root / "timeseries.parquet")
    stays = pd.DataFrame(
        {
            "stay_id": [1, 2],
            "subject_id": [11, 12],
            "split": ["train", "train"],
            "intime": [INTIME, INTIME],
            "outtime": [INTIME + pd.Timedelta(hours=LOS_H)] * 2,
            "los": [LOS_H / 24, LOS_H / 24],
        }
    )
    stays.to_parquet(root / "stays.parquet")
    (root / "manifest.json").write_text(json.dumps({"hourly": {"header": header()}}))
    return ProcessedEHR(root)


def _benchmark(stay_id: int, end: float) -> np.ndarray:
    """The benchmark discretizer given only the events charted up to ``end``."""
    seen = EVENTS[(EVENTS["stay_id"] == stay_id) & (EVENTS["hours"] < end + 1e-6)]
    return discretize_events(seen, pd.Series([end], index=[stay_id]))[0]


def _col(name: str) -> int:
    return header().index(name)


def test_window_at_a_film_has_no_event_charted_after_it(processed):
    got = processed.window(1, FILM_H)
    want = _benchmark(1, FILM_H)
    np.testing.assert_array_equal(got, want)
    last = got[-1]
    assert last[_col("mask->Heart Rate")] == 1 and last[_col(HR)] == 90  # 5.1 h, not 5.8 h
    assert last[_col(SBP)] == 120 and last[_col("mask->Systolic blood pressure")] == 0
    assert last[_col(DBP)] == 60  # charted at the film's time: kept
    assert last[_col(f"{VERBAL}->1.0 ET/Trach")] == 0 and last[_col(f"{VERBAL}->Oriented")] == 1
    # The whole-bin array holds the 5.8 h heart rate: the look-ahead this removes.
    whole = processed.inputs(1, 6)[-1]
    assert whole[_col(HR)] == 150 and whole[_col(f"{VERBAL}->1.0 ET/Trach")] == 1
    np.testing.assert_array_equal(got[:-1], processed.inputs(1, 5))


def test_film_in_the_first_hour_uses_normal_values(processed):
    got = processed.window(2, 0.2)
    np.testing.assert_array_equal(got, _benchmark(2, 0.2))
    assert got.shape == (1, 76)
    assert got[0, _col(HR)] == 70 and got[0, _col("mask->Diastolic blood pressure")] == 0


@pytest.mark.parametrize("end", [5.0, 6.0, 48.0, LOS_H, LOS_H + 2.5])
def test_windows_on_the_hour_or_past_the_stay_need_no_rebuild(processed, end):
    got = processed.window(1, end)
    np.testing.assert_array_equal(got, processed.inputs(1, max(int(end + 1 - 1e-6), 1)))
    if end <= LOS_H:
        np.testing.assert_array_equal(got, _benchmark(1, end))


def test_rebuild_rule():
    assert ends_inside_bin([5.3, 0.0, 0.2, 5.0, 5.9999995]).tolist() == [
        True,
        True,
        True,
        False,
        False,
    ]
    assert needs_rebuild([5.3, 29.9995, 31.2], [30.0, 30.0, 30.0]).tolist() == [True, False, False]


def _item_ehr(samples: pd.DataFrame, processed: ProcessedEHR, i: int = 0) -> np.ndarray:
    ds = MultimodalDataset(samples, task="radiology", label_columns=["y_true"], ehr=processed)
    return ds[i]["ehr"]


def test_radiology_samples_end_at_the_film_without_look_ahead(processed):
    samples = pd.DataFrame(
        {
            "stay_id": [1, 2],
            "subject_id": [11, 12],
            "period_length": [FILM_H, 0.2],
            "paired": [False, False],
            "y_true": [0.0, 1.0],
        }
    )
    np.testing.assert_array_equal(_item_ehr(samples, processed, 0), _benchmark(1, FILM_H))
    np.testing.assert_array_equal(_item_ehr(samples, processed, 1), _benchmark(2, 0.2))


def test_pretraining_pairs_end_at_the_film_without_look_ahead(processed):
    images = pd.DataFrame(
        {
            "dicom_id": ["a", "b"],
            "subject_id": [11, 12],
            "study_id": [51, 52],
            "ViewPosition": ["AP", "AP"],
            "study_datetime": [
                INTIME + pd.Timedelta(hours=FILM_H),
                INTIME + pd.Timedelta(minutes=12),
            ],
        }
    )
    pairs = stay_image_samples(processed.stays, images, split="train")
    assert pairs["period_length"].tolist() == pytest.approx([FILM_H, 0.2])
    ds = MultimodalDataset(pairs, task="radiology", label_columns=["y_true"], ehr=processed)
    np.testing.assert_array_equal(ds[0]["ehr"], _benchmark(1, FILM_H))
    np.testing.assert_array_equal(ds[1]["ehr"], _benchmark(2, 0.2))
    assert ds[0]["ehr"][-1, _col(HR)] == 90
