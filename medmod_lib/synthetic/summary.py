"""``summarize``: a short human-readable description of a generated (or real) data root."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd

from .. import paths
from ..reference import CHEXPERT_LABELS
from . import writer


def _count_rows(path: Path) -> int:
    with gzip.open(path, "rb") as fh:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 24), b"")) - 1


def summarize(root: str | Path) -> str:
    """Counts, view mix, label prevalences and mortality of the data root ``root``."""
    root = Path(root)
    iv, cxr = paths.mimic_iv_root(root), paths.mimic_cxr_root(root)
    manifest = writer.read_manifest(root) or {}
    counts = manifest.get("counts", {})
    pat = pd.read_csv(iv / "hosp" / "patients.csv.gz")
    adm = pd.read_csv(
        iv / "hosp" / "admissions.csv.gz", usecols=["hadm_id", "hospital_expire_flag"]
    )
    icu = pd.read_csv(iv / "icu" / "icustays.csv.gz")
    meta = pd.read_csv(cxr / "mimic-cxr-2.0.0-metadata.csv.gz", keep_default_na=False)
    chex = pd.read_csv(cxr / "mimic-cxr-2.0.0-chexpert.csv.gz")
    n_chart = counts.get("chartevents") or _count_rows(iv / "icu" / "chartevents.csv.gz")
    n_lab = counts.get("labevents") or _count_rows(iv / "hosp" / "labevents.csv.gz")
    died = icu["hadm_id"].map(adm.set_index("hadm_id")["hospital_expire_flag"])
    views = meta["ViewPosition"].replace("", "(empty)").value_counts()
    lines = [
        f"Data root {root}" + (f" (synthetic, {manifest['params']})" if manifest else ""),
        f"  patients {len(pat):,}  admissions {len(adm):,}  ICU stays {len(icu):,} "
        f"(median LOS {icu['los'].median():.1f} d, {(icu['los'] < 2).mean():.0%} < 48 h)",
        f"  chartevents rows {n_chart:,}  labevents rows {n_lab:,}",
        f"  in-hospital mortality: {adm['hospital_expire_flag'].mean():.1%} of admissions, "
        f"{died.mean():.1%} of ICU stays; dod recorded for {pat['dod'].notna().mean():.1%} of patients",
        f"  X-rays: {len(meta):,} images in {meta['study_id'].nunique():,} studies; views "
        + ", ".join(f"{k} {v}" for k, v in views.items()),
        "  CheXpert positives (uncertain) per study: "
        + ", ".join(
            f"{n} {(chex[n] == 1).mean():.0%} ({(chex[n] == -1).mean():.0%})"
            for n in CHEXPERT_LABELS
        ),
    ]
    return "\n".join(lines)
