"""Helpers that write a tiny MIMIC-CXR-JPG-shaped release (no image is committed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from medmod_lib.reference import CHEXPERT_LABELS
from medmod_lib.schema import MIMIC_CXR, cxr_image_relpath

VERSION = "2.1.0"


def dicom_id(k: int) -> str:
    h = f"{k:040x}"
    return "-".join(h[i : i + 8] for i in range(0, 40, 8))


def radiograph(height: int, width: int, seed: int) -> np.ndarray:
    """A smooth grey image with some noise: uint8 (height, width)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    base = 110 + 70 * np.sin(x / (width / 5.0) + seed) * np.cos(y / (height / 4.0))
    base += 50 * np.exp(
        -(((x - width / 2) ** 2) + ((y - height / 2) ** 2)) / (0.1 * width * height)
    )
    return np.clip(base + rng.normal(0, 3, base.shape), 0, 255).astype(np.uint8)


def write_release(
    root: Path,
    rows: list[dict],
    *,
    labels: dict[int, list[float]] | None = None,
    image_shape: tuple[int, int] = (300, 240),
    gz: bool = True,
) -> Path:
    """Write metadata/chexpert/negbio/split files and JPEGs under ``root/mimic-cxr-jpg/2.1.0``.

    ``rows``: dicts with dicom_id, subject_id, study_id and optional ViewPosition,
    StudyDate, StudyTime, split, write (False: no JPEG), corrupt (True: garbage bytes).
    ``labels``: study_id -> 14 raw values; default one label row per study.
    """
    rel = root / "mimic-cxr-jpg" / VERSION
    rel.mkdir(parents=True, exist_ok=True)
    meta = []
    for k, r in enumerate(rows):
        r = {"ViewPosition": "AP", "StudyDate": 21800723, "StudyTime": 80556.875, **r}
        meta.append(
            {
                "dicom_id": r["dicom_id"],
                "subject_id": r["subject_id"],
                "study_id": r["study_id"],
                "PerformedProcedureStepDescription": "CHEST (PORTABLE AP)",
                "ViewPosition": r["ViewPosition"],
                "Rows": image_shape[0],
                "Columns": image_shape[1],
                "StudyDate": r["StudyDate"],
                "StudyTime": r["StudyTime"],
                "ProcedureCodeSequence_CodeMeaning": "CHEST (PORTABLE AP)",
                "ViewCodeSequence_CodeMeaning": "antero-posterior",
                "PatientOrientationCodeSequence_CodeMeaning": "",
            }
        )
        path = rel / cxr_image_relpath(r["subject_id"], r["study_id"], r["dicom_id"])
        if r.get("write", True):
            path.parent.mkdir(parents=True, exist_ok=True)
            if r.get("corrupt"):
                path.write_bytes(b"\xff\xd8\xff\xe0 this is not a jpeg" * 10)
            elif "pixels" in r:
                Image.fromarray(r["pixels"]).save(path, quality=95)
            else:
                Image.fromarray(radiograph(*image_shape, seed=k)).save(path, quality=95)
    suffix = ".csv.gz" if gz else ".csv"
    pd.DataFrame(meta, columns=list(MIMIC_CXR["mimic-cxr-2.0.0-metadata"])).to_csv(
        rel / f"mimic-cxr-2.0.0-metadata{suffix}", index=False
    )
    studies = pd.DataFrame(meta)[["subject_id", "study_id"]].drop_duplicates()
    if labels is None:
        labels = {int(s): [1.0, 0.0, -1.0, np.nan] + [0.0] * 10 for s in studies["study_id"]}
    lab = [
        {
            "subject_id": int(sub),
            "study_id": int(st),
            **dict(zip(CHEXPERT_LABELS, labels[st], strict=True)),
        }
        for sub, st in zip(studies["subject_id"], studies["study_id"], strict=True)
        if st in labels
    ]
    for name in ("chexpert", "negbio"):
        pd.DataFrame(lab, columns=list(MIMIC_CXR[f"mimic-cxr-2.0.0-{name}"])).to_csv(
            rel / f"mimic-cxr-2.0.0-{name}{suffix}", index=False
        )
    pd.DataFrame(
        [
            {
                "dicom_id": r["dicom_id"],
                "study_id": r["study_id"],
                "subject_id": r["subject_id"],
                "split": r.get("split", "train"),
            }
            for r in rows
        ]
    ).to_csv(rel / f"mimic-cxr-2.0.0-split{suffix}", index=False)
    return rel
