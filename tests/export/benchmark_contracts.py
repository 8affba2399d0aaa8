"""The external readers' file contracts, re-stated (not copied) for the export tests.

Each function reads files exactly as the named upstream code does: the same paths,
the same splitting on ',' without a CSV parser, the same positional parsing and casts,
the same time bounds. A file the upstream reader would reject makes these raise too.
Line numbers: YerevaNN/mimic3-benchmarks at ea0314c, nyuad-cai/MedFuse at 3f8b54e.

* YerevaNN/mimic3-benchmarks ``mimic3benchmark/readers.py`` (``Reader`` l. 6-25,
  ``DecompensationReader`` l. 38-92, ``InHospitalMortalityReader`` l. 95-149,
  ``LengthOfStayReader`` l. 152-207, ``PhenotypingReader`` l. 210-262) and the
  ``main.py`` scripts' listfile paths (``mimic3models/in_hospital_mortality/main.py``
  l. 33-39 and 161-162: ``{data}/train`` + ``{data}/train_listfile.csv`` ...).
* nyuad-cai/MedFuse ``datasets/ehr_dataset.py`` (``EHRdataset.__init__`` l. 13-45,
  ``_read_timeseries`` l. 47-60, ``read_by_file_name`` l. 62-73, ``__getitem__``
  l. 91-104, ``get_datasets`` l. 110-114), ``datasets/fusion.py::loadmetadata``
  l. 106-143 and ``load_cxr_ehr`` l. 146-163, ``datasets/cxr_dataset.py::MIMICCXR``
  l. 15-39 and ``get_cxr_datasets`` l. 87-96.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

TASK_DIRS = {"train": "train", "val": "train", "test": "test"}


def _lines(listfile: str) -> tuple[str, list[str]]:
    with open(listfile) as f:
        data = f.readlines()
    return data[0], data[1:]


def _read_ts(path: str, time_bound: float | None) -> tuple[np.ndarray, list[str]]:
    """The readers' ``_read_timeseries``: split on ',', stop after ``time_bound + 1e-6``."""
    ret = []
    with open(path) as f:
        header = f.readline().strip().split(",")
        assert header[0] == "Hours"
        for line in f:
            mas = line.strip().split(",")
            if time_bound is not None and float(mas[0]) > time_bound + 1e-6:
                break
            ret.append(np.array(mas))
    return np.stack(ret), header


def mimic3_parse(data: str, task: str, split: str) -> list[tuple]:
    """The reader constructors: ``(name, t, y)`` per listfile row (``t`` = 48 for IHM)."""
    _, rows = _lines(os.path.join(data, task, f"{split}_listfile.csv"))
    rows = [line.split(",") for line in rows]
    if task == "in-hospital-mortality":
        return [(x, 48.0, int(y)) for (x, y) in rows]  # unpacking fails on extra columns
    if task == "decompensation":
        return [(x, float(t), int(y)) for (x, t, y) in rows]
    if task == "length-of-stay":
        return [(x, float(t), float(y)) for (x, t, y) in rows]
    return [(m[0], float(m[1]), list(map(int, m[2:]))) for m in rows]


def mimic3_read(data: str, task: str, split: str, indices: list[int] | None = None) -> list[dict]:
    """``read_example`` of the rows ``indices`` (default: all) of ``{data}/{task}`` ``split``.

    Decompensation and LOS read up to ``t`` (the readers stop at ``t + 1e-6``); the others
    read the whole file.
    """
    dataset_dir = os.path.join(data, task, TASK_DIRS[split])
    parsed = mimic3_parse(data, task, split)
    bounded = task in ("decompensation", "length-of-stay")
    out = []
    for i in range(len(parsed)) if indices is None else indices:
        name, t, y = parsed[i]
        x, header = _read_ts(os.path.join(dataset_dir, name), t if bounded else None)
        out.append({"X": x, "t": t, "y": y, "header": header, "name": name})
    return out


def mimic3_header(data: str, task: str, split: str) -> list[str]:
    return _lines(os.path.join(data, task, f"{split}_listfile.csv"))[0].strip().split(",")


def medfuse_listfile(data: str, task: str, split: str) -> tuple[list[str], list[list[str]]]:
    """``EHRdataset.__init__``: classes from header[3:], rows split on ','."""
    header, rows = _lines(f"{data}/{task}/{split}_listfile.csv")
    return header.strip().split(",")[3:], [line.split(",") for line in rows]


def medfuse_read(
    data: str, task: str, split: str, row: list[str], period_length: float = 48.0
) -> dict:
    """One listfile row as ``EHRdataset`` reads it (``time_bound`` = the row's time for the
    hourly tasks, as ``get_decomp_los`` passes; none for in-hospital mortality and
    phenotyping), with the end its ``__getitem__`` discretizes to."""
    name, t, stay_id = row[0], float(row[1]), float(row[2])
    labels = list(map(float, row[3:]))
    bound = t if task in ("decompensation", "length-of-stay") else None
    x, header = _read_ts(os.path.join(data, task, TASK_DIRS[split], name), bound)
    end = t if t > 0.0 else period_length
    ys = np.array(labels, dtype=np.int32) if len(labels) > 1 else np.array(labels, np.int32)[0]
    return {"X": x, "end": end, "y": ys, "labels": labels, "stay_id": stay_id, "header": header}


def medfuse_pairs(ehr_data_dir: str, cxr_data_dir: str, task: str) -> dict[str, pd.DataFrame]:
    """``loadmetadata`` + ``load_cxr_ehr``: the paired rows of each split."""
    cxr_metadata = pd.read_csv(f"{cxr_data_dir}/mimic-cxr-2.0.0-metadata.csv")
    icu = pd.read_csv(f"{ehr_data_dir}/root/all_stays.csv")
    merged = cxr_metadata.merge(
        icu[["subject_id", "stay_id", "intime", "outtime"]], how="inner", on="subject_id"
    )
    merged["StudyTime"] = merged["StudyTime"].apply(lambda x: f"{int(float(x)):06}")
    merged["StudyDateTime"] = pd.to_datetime(
        merged["StudyDate"].astype(str) + " " + merged["StudyTime"].astype(str),
        format="%Y%m%d %H%M%S",
    )
    merged.intime = pd.to_datetime(merged.intime)
    merged.outtime = pd.to_datetime(merged.outtime)
    end_time = merged.outtime
    if task == "in-hospital-mortality":
        end_time = merged.intime + pd.DateOffset(hours=48)
    during = merged.loc[
        (merged.StudyDateTime >= merged.intime) & (merged.StudyDateTime <= end_time)
    ]
    ap = during[during["ViewPosition"] == "AP"]
    selected = [
        g.sort_values("StudyDateTime").tail(1).reset_index() for _, g in ap.groupby("stay_id")
    ]
    groups = pd.concat(selected, ignore_index=True)
    out = {}
    for split in ("train", "val", "test"):
        labels = pd.read_csv(f"{ehr_data_dir}/{task}/{split}_listfile.csv")
        out[split] = groups.merge(labels, how="inner", on="stay_id")
    return out


def medfuse_cxr_split(cxr_data_dir: str, split: str) -> list[str]:
    """``MIMICCXR.filenames_loaded``: dicom_ids of ``split`` that have labels."""
    metadata = pd.read_csv(f"{cxr_data_dir}/mimic-cxr-2.0.0-metadata.csv")
    labels = pd.read_csv(f"{cxr_data_dir}/mimic-cxr-2.0.0-chexpert.csv")
    splits = pd.read_csv(f"{cxr_data_dir}/mimic-cxr-ehr-split.csv")
    with_labels = set(metadata.merge(labels[["study_id"]], how="inner", on="study_id").dicom_id)
    return [d for d in splits.loc[splits.split == split]["dicom_id"].values if d in with_labels]
