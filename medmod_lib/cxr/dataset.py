"""The radiology dataset (image -> 14 CheXpert labels) over the image cache.

Split without leakage (nyuad-cai/MedFuse ``ehr_utils/create_split.py`` replaces
the official CXR split by the EHR subject split): the image split is derived from a
subject-level split (``subject_id, split``, the EHR pipeline's ``splits.csv``)
so that every image follows its subject, as MedFuse's ``create_split.py``
does. Subjects absent from that file (no ICU cohort stay) go to ``train`` by
default (MedFuse's rule; they cannot leak into EHR val/test) or are dropped
with ``unlisted="drop"``; either way they are counted. The official
``mimic-cxr-2.0.0-split`` is used only when asked (``official_split=True``);
its ``validate`` is renamed ``val``.

Studies without a labeler row (8 of 227,835 in the release) are dropped and
counted: under U-Zeros they would become fake negatives, under ``ignore`` they
would carry no signal. Images that failed to decode (missing/corrupt in the
cache's report) are dropped and counted too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from ..paths import mimic_cxr_root
from ..reference import CHEXPERT_LABELS
from .labels import Labeler, LabelPolicy, apply_policy, check_policy, read_study_labels
from .metadata import DEFAULT_VIEWS, SPLIT, load_metadata, read_cxr_table

SPLITS: tuple[str, ...] = ("train", "val", "test")


class ImageSource(Protocol):
    """What the dataset needs from a cache (:class:`~medmod_lib.cxr.cache.ImageCache`)."""

    def get(self, dicom_id: str) -> np.ndarray:
        """The image as uint8 (H, W)."""

    def __contains__(self, dicom_id: object) -> bool:
        """Whether the image is available."""


def read_subject_split(path: str | Path) -> pd.DataFrame:
    """Read a subject-level split file (``subject_id, split``), e.g. the EHR ``splits.csv``.

    Raises:
        ValueError: missing columns, unknown split names or a subject listed
            twice; the message names the file.
    """
    df = pd.read_csv(path, dtype={"split": "string"})
    missing = {"subject_id", "split"} - set(df.columns)
    if missing:
        raise ValueError(f"{path} lacks the columns {sorted(missing)}; expected subject_id,split")
    return _check_subject_split(df[["subject_id", "split"]], str(path))


def _check_subject_split(df: pd.DataFrame, where: str) -> pd.DataFrame:
    df = df.assign(
        subject_id=df["subject_id"].astype(np.int64),
        split=df["split"].astype(str).replace({"validate": "val"}),
    )
    bad = sorted(set(df["split"]) - set(SPLITS))
    if bad:
        raise ValueError(f"{where}: unknown split names {bad}; use {list(SPLITS)}")
    dup = df["subject_id"].duplicated()
    if dup.any():
        raise ValueError(
            f"{where}: subject {int(df.loc[dup, 'subject_id'].iloc[0])} is listed twice"
        )
    return df


def assign_split(
    images: pd.DataFrame,
    subject_split: pd.DataFrame | str | Path,
    *,
    unlisted: Literal["train", "drop"] = "train",
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Give each image its subject's split.

    Args:
        images: rows with ``subject_id``.
        subject_split: frame or CSV path with ``subject_id, split``.
        unlisted: where subjects absent from ``subject_split`` go.

    Returns:
        ``images`` with a ``split`` column, and counts
        ``{"unlisted_images": n, "unlisted_subjects": m}``.
    """
    if unlisted not in ("train", "drop"):
        raise ValueError(f"unlisted must be 'train' or 'drop', got {unlisted!r}")
    if isinstance(subject_split, (str, Path)):
        subject_split = read_subject_split(subject_split)
    else:
        subject_split = _check_subject_split(subject_split, "subject_split")
    mapping = subject_split.set_index("subject_id")["split"]
    split = images["subject_id"].map(mapping)
    absent = split.isna()
    counts = {
        "unlisted_images": int(absent.sum()),
        "unlisted_subjects": int(images.loc[absent, "subject_id"].nunique()),
    }
    out = images.drop(columns=["split"], errors="ignore").assign(split=split.fillna("train"))
    if unlisted == "drop":
        out = out[~absent.to_numpy()]
    return out.reset_index(drop=True), counts


def radiology_table(
    root: str | Path | None = None,
    *,
    subject_split: pd.DataFrame | str | Path | None = None,
    official_split: bool = False,
    unlisted: Literal["train", "drop"] = "train",
    views: Sequence[str] | None = DEFAULT_VIEWS,
    labeler: Labeler = "chexpert",
) -> pd.DataFrame:
    """One row per labelled image: metadata, ``split`` and the 14 raw label values.

    Args:
        root: data root or MIMIC-CXR-JPG release folder.
        subject_split: subject-level split (frame or ``splits.csv`` path).
        official_split: use the release's split file instead (only if asked).
        unlisted: see :func:`assign_split`.
        views: allowed views (default AP).
        labeler: ``"chexpert"`` or ``"negbio"``.

    Returns:
        The table; ``attrs["report"]`` holds every count that was skipped.

    Raises:
        ValueError: neither or both of ``subject_split`` and ``official_split``.
    """
    if (subject_split is None) == (not official_split):
        raise ValueError(
            "Pass subject_split (the EHR splits.csv: subject_id,split) or official_split=True, "
            "not both and not neither. The subject split avoids leakage with the EHR tasks."
        )
    meta = load_metadata(root, views=views)
    report = dict(meta.attrs["report"])
    if official_split:
        official = read_cxr_table(mimic_cxr_root(root), SPLIT)[["dicom_id", "split"]]
        meta = meta.merge(official, on="dicom_id", how="left")
        report["no_official_split"] = int(meta["split"].isna().sum())
        meta = meta[meta["split"].notna()]
        meta["split"] = meta["split"].astype(str).replace({"validate": "val"})
    else:
        meta, counts = assign_split(meta, subject_split, unlisted=unlisted)
        report.update(counts)
    labels = read_study_labels(root, labeler=labeler)
    table = meta.merge(
        labels.drop(columns=["subject_id"]), on="study_id", how="left", indicator=True
    )
    unlabelled = table["_merge"] == "left_only"
    report["labeler"] = labeler
    report["unlabelled_images"] = int(unlabelled.sum())
    report["unlabelled_studies"] = int(table.loc[unlabelled, "study_id"].nunique())
    table = table[~unlabelled].drop(columns="_merge").reset_index(drop=True)
    table.attrs["report"] = report
    return table


class RadiologyDataset(Dataset):
    """Cached X-rays with their 14 CheXpert labels.

    Each item is a dict: ``image`` (transformed; uint8 (1, S, S) without a
    transform), ``labels`` float32 (14,), ``label_mask`` float32 (14,) (only
    under the ``ignore`` policy), ``dicom_id`` (str), ``subject_id`` and
    ``study_id`` (int). See ``data_cards/mimic_cxr_jpg.md`` for provenance and
    access (PhysioNet credentialed licence).

    Args:
        table: rows from :func:`radiology_table` (any frame with ``dicom_id``,
            ``subject_id``, ``study_id``, ``ViewPosition``, ``split`` and the
            14 label columns).
        cache: an :class:`~medmod_lib.cxr.cache.ImageCache` (or anything with
            ``get(dicom_id)`` and ``in``).
        split: keep these splits (``"train"``, ``["val", "test"]``); None = all.
        policy: ``"zeros"`` (default, U-Zeros), ``"ones"`` or ``"ignore"``.
        transform: applied to the uint8 (1, S, S) tensor, e.g.
            :func:`~medmod_lib.cxr.transforms.get_transforms`.
    """

    def __init__(
        self,
        table: pd.DataFrame,
        cache: ImageSource,
        *,
        split: str | Sequence[str] | None = None,
        policy: LabelPolicy = "zeros",
        transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> None:
        self.policy = check_policy(policy)
        self.cache, self.transform = cache, transform
        self.report = dict(table.attrs.get("report", {}))
        if split is not None:
            wanted = [split] if isinstance(split, str) else list(split)
            unknown = sorted(set(wanted) - set(SPLITS))
            if unknown:
                raise ValueError(f"Unknown split {unknown}; choose from {list(SPLITS)}")
            table = table[table["split"].isin(wanted)]
        self.split = split
        cached = table["dicom_id"].map(lambda d: d in cache).to_numpy(bool)
        self.report["not_in_cache"] = int((~cached).sum())
        self.table = table[cached].reset_index(drop=True)
        self._dicom_ids = self.table["dicom_id"].astype(str).to_numpy()
        self._subject_ids = self.table["subject_id"].to_numpy(np.int64)
        self._study_ids = self.table["study_id"].to_numpy(np.int64)
        self.raw = self.table[list(CHEXPERT_LABELS)].to_numpy(np.float32)
        self.labels, self.mask = apply_policy(self.raw, policy)

    def __len__(self) -> int:
        return len(self.table)

    def __getitem__(self, i: int) -> dict[str, Any]:
        image = torch.from_numpy(self.cache.get(self._dicom_ids[i])).unsqueeze(0)
        if self.transform is not None:
            image = self.transform(image)
        item = {
            "image": image,
            "labels": torch.from_numpy(self.labels[i]),
            "dicom_id": str(self._dicom_ids[i]),
            "subject_id": int(self._subject_ids[i]),
            "study_id": int(self._study_ids[i]),
        }
        if self.policy == "ignore":
            item["label_mask"] = torch.from_numpy(self.mask[i])
        return item

    def __repr__(self) -> str:
        t = self.table
        splits = t["split"].value_counts().reindex(list(SPLITS), fill_value=0).to_dict()
        views = t["ViewPosition"].fillna("").replace("", "(empty)").value_counts().to_dict()
        positives = (self.labels * self.mask).sum(axis=0).astype(int)
        uncertain = (self.raw == -1).sum(axis=0)
        width = max(len(n) for n in CHEXPERT_LABELS)
        skipped = {
            k: v
            for k, v in self.report.items()
            if k
            in (
                "unlabelled_images",
                "unlisted_images",
                "not_in_cache",
                "invalid_study_datetime",
                "no_official_split",
            )
            and v
        }
        lines = [
            f"RadiologyDataset(images={len(t)}, subjects={t['subject_id'].nunique()}, "
            f"studies={t['study_id'].nunique()}, policy={self.policy!r}, split={self.split!r})",
            f"  splits: {splits}",
            f"  views:  {views}"
            + (
                f" (filter {self.report['views']}, removed {self.report['removed_by_view']})"
                if self.report.get("removed_by_view")
                else ""
            ),
            f"  skipped: {skipped or 'none'}",
            f"  {'label':<{width}}  positive  uncertain(raw)",
        ]
        for name, p, u in zip(CHEXPERT_LABELS, positives, uncertain, strict=True):
            lines.append(f"  {name:<{width}}  {p:>8}  {u:>9}")
        return "\n".join(lines)
