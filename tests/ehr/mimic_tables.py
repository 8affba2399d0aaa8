"""Hand-written MIMIC-IV-shaped tables for the EHR tests (written to tmp_path)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from medmod_lib import schema

BASE = pd.Timestamp("2150-01-01 00:00:00")
CRR_ITEMS = [(223951, "Capillary Refill R"), (224308, "Capillary Refill L")]
#: ``d_labitems`` fluids of the benchmark's lab items (as in MIMIC-IV).
LAB_FLUIDS = {
    50809: "Blood",
    50817: "Blood",
    50820: "Blood",
    50831: "Other Body Fluid",
    50931: "Blood",
    51094: "Urine",
    51478: "Urine",
    51491: "Urine",
}


def ts(hours: float) -> str:
    """A MIMIC timestamp ``hours`` after :data:`BASE` (second resolution)."""
    return (BASE + pd.Timedelta(hours=hours)).strftime("%Y-%m-%d %H:%M:%S")


def stay(
    n: int,
    *,
    los_h: float = 72.0,
    age: int = 60,
    first: str = "MICU",
    last: str | None = None,
    death_h: float | None = None,
    dod_h: float | None = None,
    hadm: int | None = None,
    start_h: float = 0.0,
    disch_h: float | None = None,
) -> dict[str, dict]:
    """Rows of one patient/admission/stay; ids 1000000n / 2000000n / 3000000n."""
    sid, hid, stid = 10_000_000 + n, hadm or 20_000_000 + n, 30_000_000 + n
    disch = disch_h if disch_h is not None else start_h + los_h + 24.0
    if death_h is not None:
        disch = death_h
    return {
        "patients": dict(
            subject_id=sid,
            gender="F",
            anchor_age=age,
            anchor_year=2150,
            anchor_year_group="2011 - 2013",
            dod="" if dod_h is None else ts(dod_h)[:10],
        ),
        "admissions": dict(
            subject_id=sid,
            hadm_id=hid,
            admittime=ts(start_h - 5.0),
            dischtime=ts(disch),
            deathtime="" if death_h is None else ts(death_h),
            admission_type="URGENT",
            race="WHITE",
            hospital_expire_flag=int(death_h is not None),
        ),
        "icustays": dict(
            subject_id=sid,
            hadm_id=hid,
            stay_id=stid,
            first_careunit=first,
            last_careunit=last or first,
            intime=ts(start_h),
            outtime=ts(start_h + los_h),
            los=f"{los_h / 24.0:.6f}",
        ),
    }


def chart(stay_n: int, hours: float, itemid: int, value, valuenum=None, start_h: float = 0.0):
    """One chartevents row of stay ``3000000n`` at ``hours`` after its intime."""
    num = value if valuenum is None else valuenum
    try:
        float(num)
    except (TypeError, ValueError):
        num = "" if valuenum is None else valuenum
    return dict(
        subject_id=10_000_000 + stay_n,
        hadm_id=20_000_000 + stay_n,
        stay_id=30_000_000 + stay_n,
        caregiver_id=1,
        charttime=ts(start_h + hours),
        storetime=ts(start_h + hours),
        itemid=itemid,
        value=value,
        valuenum=num,
        valueuom="",
        warning=0,
    )


def lab(subject_n: int, hours: float, itemid: int, value, hadm: int | None | str = "same"):
    h = 20_000_000 + subject_n if hadm == "same" else ("" if hadm is None else hadm)
    return dict(
        labevent_id=1,
        subject_id=10_000_000 + subject_n,
        hadm_id=h,
        specimen_id=1,
        itemid=itemid,
        charttime=ts(hours),
        value=value,
        valuenum=value,
    )


def _frame(table: str, rows: list[dict]) -> pd.DataFrame:
    cols = schema.columns(table)
    df = pd.DataFrame(rows, columns=cols) if rows else pd.DataFrame(columns=cols)
    return df


def write_release(
    root: Path,
    stays: list[dict[str, dict]],
    chartevents: list[dict] = (),
    labevents: list[dict] = (),
    diagnoses: list[dict] = (),
    d_items: list[tuple[int, str]] | None = None,
    *,
    compress: bool = True,
    version: str = "3.1",
    drop: dict[str, list[str]] | None = None,
    skip_tables: tuple[str, ...] = (),
) -> Path:
    """Write a minimal release ``root/mimiciv/<version>/{hosp,icu}`` and return ``root``."""
    rel = Path(root) / "mimiciv" / version
    tables = {
        "patients": [s["patients"] for s in stays],
        "admissions": [s["admissions"] for s in stays],
        "icustays": [s["icustays"] for s in stays],
        "chartevents": list(chartevents),
        "labevents": list(labevents),
        "diagnoses_icd": list(diagnoses),
        "d_items": [
            dict(itemid=i, label=lbl, linksto="chartevents", category="Skin")
            for i, lbl in (CRR_ITEMS if d_items is None else d_items)
        ],
        "d_labitems": [
            dict(itemid=i, label="lab", fluid=f, category="Blood Gas")
            for i, f in LAB_FLUIDS.items()
        ],
    }
    for table, rows in tables.items():
        if table in skip_tables:
            continue
        df = _frame(table, rows)
        if table == "patients":
            df = df.drop_duplicates("subject_id")
        if table == "admissions":
            df = df.drop_duplicates("hadm_id")
        if drop and table in drop:
            df = df.drop(columns=drop[table])
        folder = rel / schema.module_of(table)
        folder.mkdir(parents=True, exist_ok=True)
        suffix = ".csv.gz" if compress else ".csv"
        df.to_csv(folder / f"{table}{suffix}", index=False)
    return Path(root)
