"""The files around the episodes that MedFuse's loaders open.

* ``root/all_stays.csv``: nyuad-cai/MedFuse ``datasets/fusion.py::loadmetadata`` reads
  ``{ehr_data_dir}/root/all_stays.csv`` (l. 110) and uses ``subject_id, stay_id, intime,
  outtime``.
  The export writes every column MedFuse's extractor writes, in its order
  (``mimic4extract/mimic3benchmark/scripts/extract_subjects_iv.py`` l. 37-67 with
  ``mimic3csv.py`` l. 13-117): ``ethnicity`` is MIMIC-IV v1.0's name for ``race``.
* ``mimic-cxr-jpg/``, a folder to pass as MedFuse's ``--cxr_data_dir``:
  ``datasets/cxr_dataset.py::MIMICCXR`` l. 25-30 reads ``mimic-cxr-2.0.0-metadata.csv``,
  ``mimic-cxr-2.0.0-chexpert.csv`` (uncompressed) and ``mimic-cxr-ehr-split.csv``, and
  ``get_cxr_datasets`` l. 96 globs ``resized/**/*.jpg`` (file stem = ``dicom_id``). The
  split re-states ``ehr_utils/create_split.py`` l. 21-27: every image ``train``, images
  of val subjects ``validate``, of test subjects ``test``, from the kit's subject split (the same rule the
  kit's linking applies). ``resized`` is a symbolic link to the release's ``files/``;
  replace it with the output of MedFuse's ``resize.py`` to train at MedFuse's size.
* ``normalizers/<task>.normalizer``: the kit's train-split statistics as the pickle
  ``{'means', 'stds'}`` that ``Normalizer.load_params`` reads (``--normalizer_state``).
* MedFuse's ``fusion_main.py`` l. 37-55 builds the discretizer header from one hard-coded
  file, ``{task}/train/14991576_episode3_timeseries.csv``; where the export has no such
  episode it writes a stub there (the header and one empty row at 1 h). No listfile names it.
"""

from __future__ import annotations

import gzip
import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from ..cxr.metadata import CHEXPERT, METADATA, SPLIT, find_cxr_file
from ..ehr.discretizer import Normalizer
from .layout import episode_header

ALL_STAYS_COLUMNS = [
    "subject_id",
    "hadm_id",
    "stay_id",
    "last_careunit",
    "intime",
    "outtime",
    "los",
    "admittime",
    "dischtime",
    "deathtime",
    "ethnicity",
    "gender",
    "anchor_age",
    "dod",
    "age",
    "mortality_inunit",
    "mortality",
    "mortality_inhospital",
]
MEDFUSE_HEADER_FILE = "14991576_episode3_timeseries.csv"
CXR_SPLIT_OF = {"train": "train", "val": "validate", "test": "test"}


def all_stays(stays: pd.DataFrame) -> pd.DataFrame:
    """``stays.parquet`` rows in MedFuse's ``all_stays.csv`` columns."""
    out = stays.rename(columns={"race": "ethnicity"}).assign(
        mortality=stays["mortality_inhospital"]
    )
    return out[ALL_STAYS_COLUMNS].sort_values(["subject_id", "intime"], kind="stable")


def write_all_stays(stays: pd.DataFrame, out: Path) -> Path:
    path = out / "root" / "all_stays.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    all_stays(stays).to_csv(path, index=False, date_format="%Y-%m-%d %H:%M:%S")
    return path


def cxr_ehr_split(cxr_split: pd.DataFrame, subject_splits: pd.DataFrame) -> pd.DataFrame:
    """MedFuse's ``mimic-cxr-ehr-split.csv``: the official rows with ``split`` rewritten.

    Args:
        cxr_split: ``mimic-cxr-2.0.0-split`` (``dicom_id, study_id, subject_id, split``).
        subject_splits: the kit's ``splits.csv`` (``subject_id, split``).
    """
    of_subject = subject_splits.set_index("subject_id")["split"].map(CXR_SPLIT_OF)
    split = cxr_split["subject_id"].map(of_subject).fillna("train")
    return cxr_split.assign(split=split.to_numpy())


def _gunzip(src: Path, dst: Path) -> None:
    if src.suffix == ".gz":
        with gzip.open(src, "rb") as f, open(dst, "wb") as g:
            shutil.copyfileobj(f, g, 1 << 20)
    else:
        shutil.copyfile(src, dst)


def write_cxr_folder(cxr_root: Path, subject_splits: pd.DataFrame, out: Path) -> Path:
    """``out/mimic-cxr-jpg/``: the CXR files MedFuse opens, without touching the release."""
    folder = out / "mimic-cxr-jpg"
    folder.mkdir(parents=True, exist_ok=True)
    for stem in (METADATA, CHEXPERT):
        _gunzip(find_cxr_file(cxr_root, stem), folder / f"{stem}.csv")
    official = pd.read_csv(find_cxr_file(cxr_root, SPLIT))
    cxr_ehr_split(official, subject_splits).to_csv(folder / "mimic-cxr-ehr-split.csv", index=False)
    link = folder / "resized"
    if link.is_symlink() or link.exists():
        link.unlink()
    os.symlink((Path(cxr_root) / "files").resolve(), link, target_is_directory=True)
    return folder


def write_normalizer(state: Path, path: Path) -> Path:
    """The kit's JSON normalizer as the benchmark's pickle ``{'means', 'stds'}``."""
    norm = Normalizer.load(state)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        pickle.dump(
            {
                "means": np.asarray(norm.means, np.float64),
                "stds": np.asarray(norm.stds, np.float64),
            },
            f,
            protocol=2,
        )
    return path


def write_header_stub(train_folder: Path) -> Path | None:
    """The hard-coded header file of MedFuse's ``fusion_main.py``, unless exported already."""
    path = train_folder / MEDFUSE_HEADER_FILE
    if path.exists():
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(",".join(episode_header()) + "\n" + "1.0" + "," * 17 + "\n")
    return path
