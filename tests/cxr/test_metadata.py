"""Metadata reading, study datetimes and the view filter."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from cxr_release import dicom_id, write_release

from medmod_lib.cxr.metadata import (
    filter_views,
    find_cxr_file,
    load_metadata,
    parse_study_datetime,
    read_cxr_table,
)


@pytest.mark.parametrize(
    ("date", "time", "expected"),
    [
        (21800723, 80556.875, "2180-07-23 08:05:56.875"),  # leading zero lost
        (21800506, 213014.531, "2180-05-06 21:30:14.531"),
        (21800101, 0.0, "2180-01-01 00:00:00"),
        (21800101, 5.0, "2180-01-01 00:00:05"),
        (21800101, 905.5, "2180-01-01 00:09:05.500"),
        (21800101, 235959.999, "2180-01-01 23:59:59.999"),
        (21000229, 120000.0, None),  # 2100 is not a leap year
        (21801301, 0.0, None),  # month 13
        (21800101, 240000.0, None),  # hour 24
        (21800101, 126000.0, None),  # minute 60
        (21800101, 120060.0, None),  # second 60
        (21800101, -1.0, None),
        (21800101, np.nan, None),
        (None, 0.0, None),
    ],
)
def test_study_datetime(date, time, expected):
    got = parse_study_datetime(pd.Series([date], dtype="float64"), pd.Series([time]))[0]
    if expected is None:
        assert pd.isna(got)
    else:
        assert got == pd.Timestamp(expected)


def test_study_datetime_keeps_index_and_dtype():
    s = parse_study_datetime(
        pd.Series([21800723, 21800101], index=[7, 9]), pd.Series([80556.875, 5.0], index=[7, 9])
    )
    assert list(s.index) == [7, 9]
    assert s.dtype == "datetime64[ns]"


def _meta(views):
    return pd.DataFrame({"ViewPosition": views, "k": range(len(views))})


def test_filter_views_default_and_lists():
    df = _meta(["AP", "PA", "LATERAL", "LL", None, "", " ap ", "AP AXIAL"])
    kept, removed = filter_views(df, ["AP"])
    assert kept["k"].tolist() == [0, 6]
    assert removed == {"PA": 1, "LATERAL": 1, "LL": 1, "": 2, "AP AXIAL": 1}
    kept, _ = filter_views(df, ["AP", "PA"])
    assert kept["k"].tolist() == [0, 1, 6]
    kept, _ = filter_views(df, [""])
    assert kept["k"].tolist() == [4, 5]
    kept, removed = filter_views(df, None)
    assert len(kept) == len(df) and removed == {}


@pytest.mark.parametrize("views", ["AP", []])
def test_filter_views_rejects_bad_argument(views):
    with pytest.raises(ValueError, match="views"):
        filter_views(_meta(["AP"]), views)


@pytest.mark.parametrize("gz", [True, False])
def test_load_metadata_report_and_paths(tmp_path, gz):
    rows = [
        {"dicom_id": dicom_id(1), "subject_id": 10000032, "study_id": 50414267},
        {
            "dicom_id": dicom_id(2),
            "subject_id": 10000032,
            "study_id": 50414267,
            "ViewPosition": "PA",
        },
        {
            "dicom_id": dicom_id(3),
            "subject_id": 10000033,
            "study_id": 50414268,
            "StudyTime": 250000.0,
        },
    ]
    write_release(tmp_path, rows, gz=gz)
    with pytest.warns(UserWarning, match="1 images have an invalid"):
        df = load_metadata(tmp_path)
    assert df["dicom_id"].tolist() == [dicom_id(1), dicom_id(3)]
    assert df["path"][0] == f"files/p10/p10000032/s50414267/{dicom_id(1)}.jpg"
    assert df["study_datetime"][0] == pd.Timestamp("2180-07-23 08:05:56.875")
    assert pd.isna(df["study_datetime"][1])
    assert df["subject_id"].dtype == np.int64
    rep = df.attrs["report"]
    assert rep["rows_read"] == 3 and rep["rows"] == 2
    assert rep["removed_by_view"] == {"PA": 1} and rep["invalid_study_datetime"] == 1
    with pytest.warns(UserWarning):
        assert len(load_metadata(tmp_path / "mimic-cxr-jpg" / "2.1.0", views=None)) == 3


def test_missing_column_names_file_and_column(tmp_path):
    rel = write_release(tmp_path, [{"dicom_id": dicom_id(1), "subject_id": 1, "study_id": 5}])
    path = find_cxr_file(rel, "mimic-cxr-2.0.0-metadata")
    pd.read_csv(path).drop(columns=["StudyTime"]).to_csv(path, index=False)
    with pytest.raises(ValueError, match=r"metadata\.csv\.gz lacks the columns \['StudyTime'\]"):
        read_cxr_table(rel, "mimic-cxr-2.0.0-metadata")


def test_missing_file_is_named(tmp_path):
    rel = write_release(tmp_path, [{"dicom_id": dicom_id(1), "subject_id": 1, "study_id": 5}])
    (rel / "mimic-cxr-2.0.0-negbio.csv.gz").unlink()
    with pytest.raises(FileNotFoundError, match="mimic-cxr-2.0.0-negbio.csv.gz nor"):
        read_cxr_table(rel, "mimic-cxr-2.0.0-negbio")


def test_unparsable_value_names_file(tmp_path):
    rel = write_release(tmp_path, [{"dicom_id": dicom_id(1), "subject_id": 1, "study_id": 5}])
    path = find_cxr_file(rel, "mimic-cxr-2.0.0-metadata")
    df = pd.read_csv(path)
    df["Rows"] = "tall"
    df.to_csv(path, index=False)
    with pytest.raises(ValueError, match=r"metadata\.csv\.gz: a value does not parse"):
        read_cxr_table(rel, "mimic-cxr-2.0.0-metadata")


def test_blank_subject_id_is_fatal_and_named(tmp_path):
    rel = write_release(tmp_path, [{"dicom_id": dicom_id(1), "subject_id": 1, "study_id": 5}])
    path = find_cxr_file(rel, "mimic-cxr-2.0.0-split")
    df = pd.read_csv(path)
    df["subject_id"] = np.nan
    df.to_csv(path, index=False)
    with pytest.raises(ValueError, match=r"split\.csv\.gz: column 'subject_id' has 1 empty"):
        read_cxr_table(rel, "mimic-cxr-2.0.0-split")
