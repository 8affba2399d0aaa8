"""The larger, label-free pretraining pair set: every X-ray taken during a stay.

A task's paired cohort keeps one image per sample (in-hospital mortality: the
latest AP film of the first 48 h), which leaves a few hundred training pairs on
demo-sized data. Pretraining needs no labels, so it can use *every* image of the
chosen views taken during any cohort stay of the training split, each paired
with that stay's EHR up to the image's study time (never later: no future
information), like the radiology task's linked samples with ``choice="all"``.
Validation and test subjects are never used, so the probe's held-out pairs stay
unseen.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..linking.rules import LinkingRule
from ..reference import Task

#: ``PairData.train_pairs`` values.
TRAIN_PAIRS = ("task", "stay_images")


def stay_image_samples(
    stays: pd.DataFrame,
    images: pd.DataFrame,
    *,
    split: str = "train",
    views: Sequence[str] = ("AP",),
    label: pd.Series | None = None,
) -> pd.DataFrame:
    """One row per (stay, image) of ``split``: the image and the EHR up to its study time.

    Args:
        stays: cohort stays (``ProcessedEHR.stays``) with ``stay_id``, ``subject_id``,
            ``split``, ``intime``, ``outtime``.
        images: image metadata of the linked data (``LinkedData.images``) with ``dicom_id``,
            ``subject_id``, ``study_id``, ``ViewPosition``, ``study_datetime``.
        split: which split's stays (``"train"`` for pretraining).
        views: ``ViewPosition`` values to keep.
        label: optional per-stay value (indexed by ``stay_id``) written as ``y_true``
            (NaN where missing); the pretraining loss ignores it.

    Returns:
        Samples in the linked-cohort layout (``stay_id``, ``subject_id``, ``split``,
        ``intime``, ``outtime``, ``period_length`` = hours from intime to the image, ``dicom_id``, ``study_id``,
        ``study_datetime``, ``hours_from_intime``, ``paired`` = True, ``y_true``),
        sorted by stay and study time.

    Raises:
        ValueError: unknown split or missing columns (names them).
    """
    if split not in ("train", "val", "test"):
        raise ValueError(f"split must be 'train', 'val' or 'test', got {split!r}")
    need = {"stay_id", "subject_id", "split", "intime", "outtime"}
    missing = sorted(need - set(stays.columns))
    if missing:
        raise ValueError(f"stays lack the columns {missing}; pass ProcessedEHR.stays.")
    chosen = stays[stays["split"] == split].reset_index(drop=True)
    rule = LinkingRule.for_task(Task.RADIOLOGY, views=tuple(views), choice="all")
    links = rule.link(chosen, images)
    keep = ["stay_id", "subject_id", "split", "intime", "outtime"]
    out = chosen.loc[links["sample"].to_numpy(), keep]
    out = out.reset_index(drop=True)
    for col in ("dicom_id", "study_id", "study_datetime", "hours_from_intime"):
        out[col] = links[col].to_numpy()
    out["period_length"] = out["hours_from_intime"].to_numpy(float)
    out["paired"] = True
    y = np.nan if label is None else out["stay_id"].map(label).astype(float)
    out["y_true"] = y
    return out.sort_values(["stay_id", "study_datetime", "dicom_id"], kind="stable").reset_index(
        drop=True
    )
