"""CheXpert / NegBio study labels and the policies for uncertain and blank values.

Raw values per study and label: ``1.0`` positive, ``0.0`` negative, ``-1.0``
uncertain, blank (NaN) not mentioned. A policy maps them to training targets:

========  =========  =====  ===========================================
policy    uncertain  blank  notes
========  =========  =====  ===========================================
zeros     0          0      U-Zeros: the MedFuse/MedMod default
ones      1          0      U-Ones (Irvin et al., CheXpert)
ignore    masked     masked targets 0 and a mask that is 0 where unknown
========  =========  =====  ===========================================

Under ``ignore`` the per-study label table holds NaN where a value is unknown,
which is what :class:`medmod_lib.linking.MultimodalCollate` turns into
``label_mask``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from ..paths import mimic_cxr_root
from ..reference import CHEXPERT_LABELS
from .metadata import CHEXPERT, NEGBIO, find_cxr_file, read_cxr_table

LabelPolicy = Literal["zeros", "ones", "ignore"]
Labeler = Literal["chexpert", "negbio"]
POLICIES: tuple[str, ...] = ("zeros", "ones", "ignore")
LABELERS: dict[str, str] = {"chexpert": CHEXPERT, "negbio": NEGBIO}


def check_policy(policy: str) -> str:
    """Return ``policy`` if known, else raise ``ValueError`` listing the policies."""
    if policy not in POLICIES:
        raise ValueError(f"Unknown label policy {policy!r}; choose one of {list(POLICIES)}")
    return policy


def read_study_labels(
    root: str | Path | None = None, *, labeler: Labeler = "chexpert"
) -> pd.DataFrame:
    """Raw labels per study: ``subject_id, study_id`` and the 14 CheXpert columns.

    Args:
        root: data root or release folder (see :func:`medmod_lib.paths.mimic_cxr_root`).
        labeler: ``"chexpert"`` (default, as the benchmark) or ``"negbio"``.

    Returns:
        One row per study with values in {1, 0, -1, NaN}.

    Raises:
        ValueError: unknown labeler, a value outside {1, 0, -1, blank}, or a
            study listed twice (the message names the file).
    """
    if labeler not in LABELERS:
        raise ValueError(f"Unknown labeler {labeler!r}; choose one of {list(LABELERS)}")
    cxr_root = mimic_cxr_root(root)
    df = read_cxr_table(cxr_root, LABELERS[labeler])
    values = df[list(CHEXPERT_LABELS)].to_numpy(dtype=float)
    bad = ~(np.isnan(values) | np.isin(values, (1.0, 0.0, -1.0)))
    path = find_cxr_file(cxr_root, LABELERS[labeler])
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise ValueError(
            f"{path}: {int(bad.sum())} label values are not 1, 0, -1 or blank "
            f"(first: row {r}, {CHEXPERT_LABELS[c]!r} = {values[r, c]})"
        )
    dup = df["study_id"].duplicated()
    if dup.any():
        raise ValueError(
            f"{path}: {int(dup.sum())} studies appear more than once "
            f"(first: study_id {int(df.loc[dup, 'study_id'].iloc[0])})"
        )
    return df


def apply_policy(raw: np.ndarray, policy: LabelPolicy = "zeros") -> tuple[np.ndarray, np.ndarray]:
    """Map raw label values to targets and a mask.

    Args:
        raw: float array (..., 14) with values in {1, 0, -1, NaN}.
        policy: ``"zeros"``, ``"ones"`` or ``"ignore"``.

    Returns:
        ``(targets, mask)``, both float32 of the input shape. ``mask`` is 1
        everywhere except, under ``"ignore"``, where the raw value is -1 or NaN
        (there the target is 0).
    """
    check_policy(policy)
    raw = np.asarray(raw, dtype=np.float32)
    unknown = np.isnan(raw) | (raw == -1.0)
    mask = np.ones_like(raw)
    if policy == "zeros":
        targets = np.where(unknown, 0.0, raw)
    elif policy == "ones":
        targets = np.where(raw == -1.0, 1.0, np.nan_to_num(raw, nan=0.0))
    else:
        targets = np.where(unknown, 0.0, raw)
        mask[unknown] = 0.0
    return targets.astype(np.float32), mask


def policy_table(labels: pd.DataFrame, policy: LabelPolicy = "zeros") -> pd.DataFrame:
    """A label table with the policy applied; under ``"ignore"`` unknown = NaN.

    This is the per-study ``image_labels`` frame that
    :func:`medmod_lib.linking.build_cohort` expects.

    Args:
        labels: raw table from :func:`read_study_labels`.
        policy: label policy.
    """
    targets, mask = apply_policy(labels[list(CHEXPERT_LABELS)].to_numpy(float), policy)
    out = labels.copy()
    out[list(CHEXPERT_LABELS)] = np.where(mask > 0, targets, np.nan)
    return out
