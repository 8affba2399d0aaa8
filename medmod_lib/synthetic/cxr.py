"""MIMIC-CXR-JPG tables: studies around the ICU stays, images, labels and split."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..reference import CHEXPERT_LABELS
from . import signal
from .population import DAY, HOUR, Population

#: (Rows, Columns) of real MIMIC-CXR images; each image gets one, scaled to the image size.
SIZE_TEMPLATES = ((3056, 2544), (2705, 2539), (3050, 2539), (2544, 3056), (2539, 2705))
VIEW_CODE = {
    "AP": "antero-posterior",
    "PA": "postero-anterior",
    "LATERAL": "lateral",
    "LL": "left lateral",
    "": "",
}
PORTABLE = "CHEST (PORTABLE AP)"
PA_LAT = "CHEST (PA AND LAT)"


@dataclass(frozen=True)
class CxrTables:
    """Generated CXR rows.

    Attributes:
        metadata: ``mimic-cxr-2.0.0-metadata`` rows plus ``height``/``width`` (written pixels),
            ``render_view`` (the renderer's view: AP, PA or LATERAL) and ``intubated``
            (the film shows an ET tube: ICU film of a ventilated stay).
        chexpert, negbio, split: the label and split files (schema columns).
        intensity: float (n_images, 13): finding intensities per image, columns
            :data:`signal.FINDINGS` order.
    """

    metadata: pd.DataFrame
    chexpert: pd.DataFrame
    negbio: pd.DataFrame
    split: pd.DataFrame
    intensity: np.ndarray


def _dicom_ids(rng: np.random.Generator, n: int) -> list[str]:
    raw = rng.integers(0, 2**32, size=(n, 5), dtype=np.uint64)
    return ["-".join(f"{int(v):08x}" for v in row) for row in raw]


def _studies(pop: Population, rng: np.random.Generator) -> pd.DataFrame:
    """One row per study: subject, time, kind (icu/ed/outpatient) and its latent state."""
    stays, adm = pop.stays, pop.admissions
    rows: list[tuple] = []
    los_d = stays["los"].to_numpy()
    lam = np.minimum(0.45 + 0.6 * stays["ventilated"].to_numpy() + 0.25 * los_d, 4.0)
    n_in = rng.poisson(lam)
    for i, (sid, intime, k) in enumerate(
        zip(stays["subject_id"], stays["intime"], n_in, strict=True)
    ):
        los_h = los_d[i] * 24
        for j in range(int(k)):
            early = j == 0 and rng.random() < 0.65
            t = rng.uniform(0, min(24.0, los_h) if early else los_h)
            rows.append((sid, intime + int(t * HOUR), "icu", i, t))
        if rng.random() < 0.15:  # in the ED, hours before the ICU
            t = -rng.uniform(1, 10)
            rows.append((sid, intime + int(t * HOUR), "ed", i, t))
    first = adm.groupby("subject_id")["admittime"].min()
    last = adm.groupby("subject_id")["dischtime"].max()
    pidx = {s: k for k, s in enumerate(pop.patients["subject_id"])}
    for sid in pop.patients["subject_id"]:
        for _ in range(int(rng.poisson(0.5))):
            before = rng.random() < 0.5
            when = (
                first[sid] - rng.uniform(5, 400) * DAY
                if before
                else last[sid] + rng.uniform(5, 400) * DAY
            )
            rows.append((sid, int(when), "outpatient", -1 - pidx[sid], np.nan))
    df = pd.DataFrame(rows, columns=["subject_id", "time", "kind", "source", "t_h"])
    return df.sort_values(["subject_id", "time"], kind="stable").reset_index(drop=True)


def _intubated(pop: Population, studies: pd.DataFrame) -> np.ndarray:
    """bool (n_studies,): ICU films of ventilated stays, which show the ET tube."""
    src = studies["source"].to_numpy()
    vent = pop.stays["ventilated"].to_numpy()[np.maximum(src, 0)]
    return vent & (studies["kind"] == "icu").to_numpy()


def _findings(
    pop: Population, studies: pd.DataFrame, rng: np.random.Generator, intubated: np.ndarray
) -> np.ndarray:
    """float (n_studies, 13): finding intensities in [0, 1] (0 = absent).

    Every ``intubated`` film (bool, n_studies) shows Support Devices (the ET tube).
    """
    src = studies["source"].to_numpy()
    icu = src >= 0
    z = np.where(
        icu[:, None], pop.z[np.maximum(src, 0)], 0.8 * pop.chronic[np.maximum(-1 - src, 0)]
    )
    z = z.copy()
    z[~icu, 0] -= 1.0  # outpatients are less acutely ill
    death_h = pop.stays["death_h"].to_numpy()[np.maximum(src, 0)]
    left = death_h - studies["t_h"].to_numpy()
    near_death = np.where(icu & ~np.isnan(left), np.exp(-np.clip(left, 0, None) / 24), 0.0)
    z[:, 0] += 1.5 * np.nan_to_num(near_death)
    names = list(signal.FINDINGS)
    b0 = np.array([signal.FINDINGS[n][0] for n in names])
    w = np.array([signal.FINDINGS[n][1] for n in names])
    logit = b0 + z @ w.T
    logit[:, names.index("Support Devices")] += 3.0 * intubated
    present = rng.random(logit.shape) < signal.sigmoid(logit)
    present[intubated, names.index("Support Devices")] = True
    strength = signal.sigmoid(0.8 * logit + rng.normal(0, 0.6, logit.shape))
    return np.where(present, np.clip(0.2 + 0.8 * strength, 0.2, 1.0), 0.0)


def _labels(studies: pd.DataFrame, intensity: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    """CheXpert-style labeler output per study: 1.0, 0.0, -1.0 or blank (NaN)."""
    names = list(signal.FINDINGS)
    present = intensity > 0
    lab = np.where(present, 1.0, np.where(rng.random(present.shape) < 0.15, 0.0, np.nan))
    faint = present & (intensity < 0.45) & (rng.random(present.shape) < signal.FINDING_UNCERTAIN)
    lab[faint] = -1.0
    flip = rng.random(present.shape) < signal.FINDING_FLIP
    lab[flip & present] = 0.0
    lab[flip & ~present] = 1.0
    out = pd.DataFrame(lab, columns=names)
    clinical = [n for n in names if n != "Support Devices"]
    out["No Finding"] = np.where(
        (out[clinical] == 1.0).any(axis=1) | (out[clinical] == -1.0).any(axis=1), np.nan, 1.0
    )
    out.insert(0, "study_id", studies["study_id"].to_numpy())
    out.insert(0, "subject_id", studies["subject_id"].to_numpy())
    return out[["subject_id", "study_id", *CHEXPERT_LABELS]]


def build_cxr(
    pop: Population, rng: np.random.Generator, *, image_size: int, full_size: bool
) -> CxrTables:
    """Sample studies and images for ``pop`` and their label and split files.

    Args:
        pop: the population.
        rng: random generator.
        image_size: short side in pixels of the written JPEGs (when not ``full_size``).
        full_size: write the real ~2500x3000 pixel sizes.
    """
    studies = _studies(pop, rng)
    n = len(studies)
    studies["study_id"] = rng.choice(10_000_000, n, replace=False) + 50_000_000
    intubated = _intubated(pop, studies)
    intensity = _findings(pop, studies, rng, intubated)
    portable = studies["kind"].to_numpy() != "outpatient"
    n_img = np.where(portable, 1 + (rng.random(n) < 0.1), 1 + (rng.random(n) < 0.8))
    img_study = np.repeat(np.arange(n), n_img)
    k = np.arange(n_img.sum()) - np.repeat(np.cumsum(n_img) - n_img, n_img)
    view = np.where(portable[img_study], "AP", np.where(k == 0, "PA", "LATERAL"))
    render_view = view.copy()
    m = len(img_study)
    u = rng.random(m)
    view = np.where((view == "LATERAL") & (u < 0.05), "LL", view)
    view = np.where(u > 0.99, "", view)
    tmpl = np.array(SIZE_TEMPLATES)[rng.integers(0, len(SIZE_TEMPLATES), m)]
    if full_size:
        rows, cols = tmpl[:, 0], tmpl[:, 1]
    else:
        scale = image_size / tmpl.min(axis=1)
        rows = np.round(tmpl[:, 0] * scale).astype(int)
        cols = np.round(tmpl[:, 1] * scale).astype(int)
    # Portable films of one study share a time; seconds carry milliseconds.
    t = pd.to_datetime(studies["time"].to_numpy()[img_study], unit="s")
    ms = rng.integers(0, 1000, n)[img_study]
    hhmmss = t.hour * 10000 + t.minute * 100 + t.second
    study_time = np.round(hhmmss.to_numpy() + ms / 1000, 3)
    st = studies.iloc[img_study].reset_index(drop=True)
    procedure = np.where(portable[img_study], PORTABLE, PA_LAT)
    orient = np.where(
        view == "AP", rng.choice(["Erect", "Recumbent", ""], m, p=[0.3, 0.5, 0.2]), "Erect"
    )
    orient = np.where(view == "", "", orient)
    metadata = pd.DataFrame(
        {
            "dicom_id": _dicom_ids(rng, m),
            "subject_id": st["subject_id"].to_numpy(),
            "study_id": st["study_id"].to_numpy(),
            "PerformedProcedureStepDescription": procedure,
            "ViewPosition": view,
            "Rows": rows,
            "Columns": cols,
            "StudyDate": (t.year * 10000 + t.month * 100 + t.day).to_numpy(),
            "StudyTime": study_time,
            "ProcedureCodeSequence_CodeMeaning": procedure,
            "ViewCodeSequence_CodeMeaning": [VIEW_CODE[v] for v in view],
            "PatientOrientationCodeSequence_CodeMeaning": orient,
            "render_view": render_view,
            "intubated": intubated[img_study],
        }
    )
    chexpert = _labels(studies, intensity, rng)
    keep = rng.random(n) >= 0.01  # the labeler failed on a few studies: no row
    chexpert = chexpert[keep].reset_index(drop=True)
    negbio = chexpert.copy()
    vals = negbio[list(CHEXPERT_LABELS)].to_numpy(copy=True)
    change = (rng.random(vals.shape) < 0.03) & ~np.isnan(vals)
    vals[change & (vals == 1.0)] = -1.0
    vals[change & (vals != 1.0)] = np.nan
    negbio[list(CHEXPERT_LABELS)] = vals
    subjects = pop.patients["subject_id"].to_numpy()
    u = rng.random(len(subjects))
    split_of = dict(
        zip(
            subjects,
            np.where(u < 0.015, "validate", np.where(u < 0.04, "test", "train")),
            strict=True,
        )
    )
    split = metadata[["dicom_id", "study_id", "subject_id"]].copy()
    split["split"] = split["subject_id"].map(split_of)
    return CxrTables(metadata, chexpert, negbio, split, intensity[img_study])
