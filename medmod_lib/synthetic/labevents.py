"""``hosp/d_labitems`` and ``hosp/labevents``: draws around and inside each ICU stay."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .events import StayArrays, deterioration, grid, trajectory
from .population import DAY, HOUR

#: itemid -> (label, fluid, category, valueuom, ref_range_lower, ref_range_upper, decimals).
LAB_ITEMS: dict[int, tuple[str, str, str, str, float, float, int]] = {
    50809: ("Glucose", "Blood", "Blood Gas", "mg/dL", 70, 105, 0),
    50813: ("Lactate", "Blood", "Blood Gas", "mmol/L", 0.5, 2.0, 1),
    50817: ("Oxygen Saturation", "Blood", "Blood Gas", "%", np.nan, np.nan, 0),
    50820: ("pH", "Blood", "Blood Gas", "units", 7.35, 7.45, 2),
    50831: ("pH", "Other Body Fluid", "Blood Gas", "units", np.nan, np.nan, 2),
    50912: ("Creatinine", "Blood", "Chemistry", "mg/dL", 0.5, 1.2, 1),
    50931: ("Glucose", "Blood", "Chemistry", "mg/dL", 70, 100, 0),
    50971: ("Potassium", "Blood", "Chemistry", "mEq/L", 3.5, 5.3, 1),
    50983: ("Sodium", "Blood", "Chemistry", "mEq/L", 133, 145, 0),
    51094: ("pH", "Urine", "Chemistry", "units", 5, 8, 1),
    51222: ("Hemoglobin", "Blood", "Hematology", "g/dL", 13.7, 17.5, 1),
    51301: ("White Blood Cells", "Blood", "Hematology", "K/uL", 4.0, 11.0, 1),
    51478: ("Glucose", "Urine", "Hematology", "mg/dL", np.nan, np.nan, 0),
    51491: ("pH", "Urine", "Hematology", "units", 5, 8, 1),
}


def d_labitems() -> pd.DataFrame:
    """``hosp/d_labitems`` rows for every lab item the generator writes."""
    rows = [(i, v[0], v[1], v[2]) for i, v in sorted(LAB_ITEMS.items())]
    return pd.DataFrame(rows, columns=["itemid", "label", "fluid", "category"])


def lab_table(
    stays: StayArrays,
    admittime: np.ndarray,
    dischtime: np.ndarray,
    rng: np.random.Generator,
) -> pa.Table:
    """``hosp/labevents`` rows for ``stays`` (schema column order, no ``stay_id``).

    Draws cover the ICU stay plus up to 12 h before and 72 h after it within the
    admission; a quarter of the stays also get an outpatient draw months earlier
    with an empty ``hadm_id``.

    Args:
        stays: the ICU stays.
        admittime, dischtime: int64 (S,): the stays' admission bounds (epoch seconds).
        rng: random generator.
    """
    n = len(stays)
    start = np.maximum(admittime, stays.intime - 12 * HOUR)
    end = np.minimum(dischtime, stays.intime + (stays.los_h * HOUR).astype(np.int64) + 72 * HOUR)
    window = dataclasses.replace(stays, intime=start, los_h=(end - start) / HOUR)
    shift_h = (start - stays.intime) / HOUR
    phase = rng.uniform(0, 2 * np.pi, n)
    parts: list[tuple[np.ndarray, ...]] = []  # idx, t_rel, itemid, num, draw

    def add(idx, t, itemid, num, draw):
        parts.append((idx, t, np.full(len(idx), itemid), np.asarray(num, float), draw))

    draws = 0

    def new_draws(k: int) -> np.ndarray:
        nonlocal draws
        out = np.arange(draws, draws + k)
        draws += k
        return out

    z = stays.z
    # Chemistry twice a day (the first draw in the ED or on the ward before the ICU).
    idx, t = grid(window, np.ones(n, bool), 12.0, rng, drop=0.1)
    t = t + shift_h[idx]
    d = new_draws(len(idx))
    add(idx, t, 50931, trajectory(stays, idx, t, "Glucose", rng, phase), d)
    cr = np.exp(0.45 * z[idx, 4] + 0.25 * z[idx, 0] + rng.normal(0, 0.15, len(idx)))
    add(idx, t, 50912, cr, d)
    add(idx, t, 50971, rng.normal(4.2, 0.45, len(idx)), d)
    add(idx, t, 50983, rng.normal(139, 3.5, len(idx)), d)
    # Blood counts daily.
    idx, t = grid(window, np.ones(n, bool), 24.0, rng, drop=0.1)
    t = t + shift_h[idx]
    d = new_draws(len(idx))
    add(idx, t, 51222, rng.normal(10.8, 1.6, len(idx)) - 0.5 * z[idx, 0], d)
    add(idx, t, 51301, np.clip(rng.normal(10, 3, len(idx)) + 2.5 * z[idx, 0], 0.5, None), d)
    # Blood gases every 6 h in ventilated or sicker stays, inside the ICU stay.
    sick = stays.ventilated | (z[:, 0] > 0.8)
    idx, t = grid(stays, sick, 6.0, rng, drop=0.25)
    d = new_draws(len(idx))
    add(idx, t, 50820, trajectory(stays, idx, t, "pH", rng, phase), d)
    add(idx, t, 50817, trajectory(stays, idx, t, "Oxygen saturation", rng, phase), d)
    add(idx, t, 50809, trajectory(stays, idx, t, "Glucose", rng, phase), d)
    lac = 1.3 * np.exp(0.35 * z[idx, 0] + 0.2 * z[idx, 4] + 1.2 * deterioration(stays, idx, t))
    add(idx, t, 50813, lac * np.exp(rng.normal(0, 0.2, len(idx))), d)
    # Urinalysis once in some stays (urine pH and glucose: map items that are not blood).
    idx = np.flatnonzero(rng.random(n) < 0.35)
    t = rng.uniform(0, 1, len(idx)) * np.minimum(24, stays.los_h[idx])
    d = new_draws(len(idx))
    add(idx, t, 51491, np.round(rng.normal(6.0, 0.6, len(idx)) * 2) / 2, d)
    add(idx, t, 51478, np.where(rng.random(len(idx)) < 0.8, np.nan, 100.0), d)
    # Outpatient chemistry months before the stay: no hadm_id.
    idx = np.flatnonzero(rng.random(n) < 0.25)
    t = -rng.uniform(30, 300, len(idx)) * 24
    d = new_draws(len(idx))
    add(idx, t, 50931, rng.normal(110, 20, len(idx)) + 15 * z[idx, 4], d)
    add(idx, t, 50912, np.exp(0.3 * z[idx, 4] + rng.normal(0, 0.15, len(idx))), d)

    idx, t, itemid, num, draw = (np.concatenate(c) for c in zip(*parts, strict=True))
    outpatient = t < -(10 * DAY / HOUR)
    charttime = np.round((stays.intime[idx] + t * HOUR) / 60).astype(np.int64) * 60
    order = np.lexsort((itemid, charttime, stays.subject_id[idx]))
    idx, t, itemid, num, draw, outpatient, charttime = (
        a[order] for a in (idx, t, itemid, num, draw, outpatient, charttime)
    )
    n_rows = len(idx)
    items = sorted(LAB_ITEMS)
    spec = [LAB_ITEMS[i] for i in items]
    pos = np.searchsorted(items, itemid)
    dec = np.array([s[6] for s in spec])[pos]
    lo = np.array([s[4] for s in spec])[pos]
    hi = np.array([s[5] for s in spec])[pos]
    num = np.where(dec == 0, np.round(num), np.where(dec == 1, np.round(num, 1), np.round(num, 2)))
    value = pc.cast(pa.array(num, from_pandas=True), pa.string())
    urine_glu = (itemid == 51478) & np.isnan(num)
    value = pc.if_else(pa.array(urine_glu), pa.scalar("NEG"), value)
    abnormal = (num < lo) | (num > hi)
    n_draws = draws
    specimen = rng.choice(90_000_000, n_draws, replace=False) + 10_000_000
    draw_time_store = rng.integers(20, 180, n_draws) * 60
    provider = np.where(
        rng.random(n_draws) < 0.5,
        None,
        np.char.add("P", rng.integers(10000, 99999, n_draws).astype(str)),
    )
    hadm = pa.array(np.where(outpatient, 0, stays.hadm_id[idx]), mask=outpatient)
    return pa.table(
        {
            "labevent_id": np.arange(1, n_rows + 1, dtype=np.int64),
            "subject_id": stays.subject_id[idx],
            "hadm_id": hadm,
            "specimen_id": specimen[draw].astype(np.int64),
            "itemid": itemid.astype(np.int64),
            "order_provider_id": pa.array(provider[draw], pa.string()),
            "charttime": pa.array(charttime, pa.timestamp("s")),
            "storetime": pa.array(charttime + draw_time_store[draw], pa.timestamp("s")),
            "value": value,
            "valuenum": pa.array(num, from_pandas=True),
            "valueuom": pa.array(np.array([s[3] for s in spec], dtype=object)[pos], pa.string()),
            "ref_range_lower": pa.array(lo, from_pandas=True),
            "ref_range_upper": pa.array(hi, from_pandas=True),
            "flag": pa.array(np.where(abnormal, "abnormal", None), pa.string()),
            "priority": pa.array(np.where(outpatient, "ROUTINE", "STAT"), pa.string()),
            "comments": pa.array(np.full(n_rows, None, dtype=object), pa.string()),
        }
    )
