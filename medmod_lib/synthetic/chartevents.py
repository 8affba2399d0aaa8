"""``icu/d_items`` and ``icu/chartevents``: MetaVision-style charting, vectorised."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from . import signal
from .events import StayArrays, deterioration, grid, once, trajectory
from .population import HOUR

#: ``icu/d_items`` rows: itemid -> (label, abbreviation, category, unitname, param_type).
#: Labels of the 17-variable items are those of ``mimic_iv_itemids_17vars.csv``.
D_ITEMS: dict[int, tuple[str, str, str, str, str]] = {
    220045: ("Heart Rate", "HR", "Routine Vital Signs", "bpm", "Numeric"),
    220046: ("Heart rate Alarm - High", "HR Alarm - High", "Alarms", "bpm", "Numeric"),
    220048: ("Heart Rhythm", "Heart Rhythm", "Routine Vital Signs", "", "Text"),
    220050: ("Arterial Blood Pressure systolic", "ABPs", "Routine Vital Signs", "mmHg", "Numeric"),
    220051: ("Arterial Blood Pressure diastolic", "ABPd", "Routine Vital Signs", "mmHg", "Numeric"),
    220052: ("Arterial Blood Pressure mean", "ABPm", "Routine Vital Signs", "mmHg", "Numeric"),
    220179: (
        "Non Invasive Blood Pressure systolic",
        "NBPs",
        "Routine Vital Signs",
        "mmHg",
        "Numeric",
    ),
    220180: (
        "Non Invasive Blood Pressure diastolic",
        "NBPd",
        "Routine Vital Signs",
        "mmHg",
        "Numeric",
    ),
    220181: ("Non Invasive Blood Pressure mean", "NBPm", "Routine Vital Signs", "mmHg", "Numeric"),
    220210: ("Respiratory Rate", "RR", "Respiratory", "insp/min", "Numeric"),
    220227: ("Arterial O2 Saturation", "Art O2 Sat", "Labs", "%", "Numeric"),
    220274: ("PH (Venous)", "PH (Venous)", "Labs", "", "Numeric"),
    220277: ("O2 saturation pulseoxymetry", "SpO2", "Respiratory", "%", "Numeric"),
    220621: ("Glucose (serum)", "Glucose (serum)", "Labs", "mg/dL", "Numeric"),
    220739: ("GCS - Eye Opening", "GCS - Eye Opening", "Neurological", "", "Text"),
    223761: ("Temperature Fahrenheit", "Temperature F", "Routine Vital Signs", "°F", "Numeric"),
    223762: ("Temperature Celsius", "Temperature C", "Routine Vital Signs", "°C", "Numeric"),
    223791: ("Pain Level", "Pain Level", "Pain/Sedation", "", "Text"),
    223830: ("PH (Arterial)", "PH (Arterial)", "Labs", "", "Numeric"),
    223835: ("Inspired O2 Fraction", "FiO2", "Respiratory", "%", "Numeric"),
    223900: ("GCS - Verbal Response", "GCS - Verbal Response", "Neurological", "", "Text"),
    223901: ("GCS - Motor Response", "GCS - Motor Response", "Neurological", "", "Text"),
    223951: ("Capillary Refill R", "Capillary Refill R", "Skin - Assessment", "", "Text"),
    224167: (
        "Manual Blood Pressure Systolic Left",
        "Manual BPs L",
        "Routine Vital Signs",
        "mmHg",
        "Numeric",
    ),
    224308: ("Capillary Refill L", "Capillary Refill L", "Skin - Assessment", "", "Text"),
    224322: ("IABP Mean", "IABP Mean", "Routine Vital Signs", "mmHg", "Numeric"),
    224422: ("Spont RR", "Spont RR", "Respiratory", "bpm", "Numeric"),
    224639: ("Daily Weight", "Daily Weight", "General", "kg", "Numeric"),
    224643: (
        "Manual Blood Pressure Diastolic Left",
        "Manual BPd L",
        "Routine Vital Signs",
        "mmHg",
        "Numeric",
    ),
    224689: (
        "Respiratory Rate (spontaneous)",
        "Respiratory Rate (spontaneous)",
        "Respiratory",
        "insp/min",
        "Numeric",
    ),
    224690: (
        "Respiratory Rate (Total)",
        "Respiratory Rate (Total)",
        "Respiratory",
        "insp/min",
        "Numeric",
    ),
    225309: ("ART BP Systolic", "ART BP Systolic", "Routine Vital Signs", "mmHg", "Numeric"),
    225310: ("ART BP Diastolic", "ART BP Diastolic", "Routine Vital Signs", "mmHg", "Numeric"),
    225312: ("ART BP mean", "ART BP mean", "Routine Vital Signs", "mmHg", "Numeric"),
    225664: ("Glucose finger stick", "Glucose FS", "Labs", "mg/dL", "Numeric"),
    226512: ("Admission Weight (Kg)", "Admission Weight (Kg)", "General", "kg", "Numeric"),
    226531: ("Admission Weight (lbs.)", "Admission Weight (lbs.)", "General", "lbs", "Numeric"),
    226537: ("Glucose (whole blood)", "Glucose (whole blood)", "Labs", "mg/dL", "Numeric"),
    226707: ("Height", "Height", "General", "Inch", "Numeric"),
    226730: ("Height (cm)", "Height (cm)", "General", "cm", "Numeric"),
    227243: (
        "Manual Blood Pressure Systolic Right",
        "Manual BPs R",
        "Routine Vital Signs",
        "mmHg",
        "Numeric",
    ),
}

GCS_EYE = ("None", "To Pain", "To Speech", "Spontaneously")  # scores 1..4
GCS_VERBAL = (
    "No Response",
    "Incomprehensible sounds",
    "Inappropriate Words",
    "Confused",
    "Oriented",
)
GCS_MOTOR = (
    "No response",
    "Abnormal extension",
    "Abnormal Flexion",
    "Flex-withdraws",
    "Localizes Pain",
    "Obeys Commands",
)
CRR_VALUES = ("Normal <3 secs", "Abnormal >3 secs")
RHYTHMS = ("SR (Sinus Rhythm)", "ST (Sinus Tachycardia)", "AF (Atrial Fibrillation)")
PAIN = ("None", "Mild", "Moderate")
TEXTS: tuple[str, ...] = (
    GCS_EYE + GCS_VERBAL + ("No Response-ETT",) + GCS_MOTOR + CRR_VALUES + RHYTHMS + PAIN
)
_TEXT_CODE = {t: i for i, t in enumerate(TEXTS)}


def d_items() -> pd.DataFrame:
    """``icu/d_items`` rows for every item the generator charts (plus a few unused)."""
    rows = [
        (i, lab, abbr, "chartevents", cat, unit, ptype, np.nan, np.nan)
        for i, (lab, abbr, cat, unit, ptype) in sorted(D_ITEMS.items())
    ]
    cols = ["itemid", "label", "abbreviation", "linksto", "category", "unitname", "param_type"]
    return pd.DataFrame(rows, columns=[*cols, "lownormalvalue", "highnormalvalue"])


class _Blocks:
    """Collects event blocks: stay index, time, itemid, number, decimals, text code."""

    def __init__(self) -> None:
        self.parts: list[tuple[np.ndarray, ...]] = []

    def add(self, idx, t, itemid, num=None, decimals=0, text=None) -> None:
        n = len(idx)
        num = np.full(n, np.nan) if num is None else np.asarray(num, float)
        text = np.full(n, -1, np.int16) if text is None else np.asarray(text, np.int16)
        self.parts.append(
            (
                np.asarray(idx, np.int64),
                np.asarray(t, float),
                np.full(n, itemid, np.int64) if np.isscalar(itemid) else np.asarray(itemid),
                num,
                np.full(n, decimals, np.int8),
                text,
            )
        )

    def concat(self) -> tuple[np.ndarray, ...]:
        return tuple(np.concatenate(c) for c in zip(*self.parts, strict=True))


def _gcs(stays, idx, t, rng, phase) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Eye, verbal, motor scores (int arrays) from the neuro severity at each event."""
    g = stays.z[idx] @ signal.GCS_NEURO_WEIGHTS
    g = g + 1.8 * deterioration(stays, idx, t) + 0.3 * np.sin(t / 12 + phase[idx])
    g = g + rng.normal(0, 0.35, len(idx))
    eye = 4 - np.searchsorted([0.6, 1.3, 1.9], g)
    verbal = 5 - np.searchsorted([0.3, 0.9, 1.4, 1.9], g)
    motor = 6 - np.searchsorted([0.9, 1.5, 2.0, 2.4, 2.8], g)
    return eye, verbal, motor


def chart_blocks(stays: StayArrays, rng: np.random.Generator, density: float = 1.0) -> _Blocks:
    """Generate every charted event of ``stays``.

    Args:
        stays: the ICU stays.
        rng: random generator.
        density: charting frequency multiplier (1 = realistic; the benchmark mode
            raises it to reach a row count).

    Returns:
        The collected blocks.
    """
    n = len(stays)
    b = _Blocks()
    phase = rng.uniform(0, 2 * np.pi, n)
    all_ = np.ones(n, bool)
    z = stays.z
    art = rng.random(n) < signal.sigmoid(-0.8 + 1.2 * z[:, 0])
    art_alt = rng.random(n) < 0.1  # charts the "ART BP" itemids instead
    temp_f = rng.random(n) < 0.7
    step = 1.0 / density

    # Hourly vitals on the hour: HR, BP (arterial or non-invasive), RR, SpO2.
    idx, t = grid(stays, all_, step, rng, drop=0.07, on_the_hour=True)
    hr = trajectory(stays, idx, t, "Heart Rate", rng, phase)
    bad = rng.random(len(idx)) < 0.0005  # monitor artefacts and typos
    hr = np.where(bad, rng.choice([0.0, 999.0], len(idx)), hr)
    b.add(idx, t, 220045, hr)
    sbp = trajectory(stays, idx, t, "Systolic blood pressure", rng, phase)
    dbp = np.clip(sbp * rng.normal(0.52, 0.05, len(idx)), 20, 150)
    mbp = dbp + (sbp - dbp) / 3 + rng.normal(0, 2, len(idx))
    on_art = art[idx]
    alt = art_alt[idx]
    for val, (a_id, a2_id, n_id) in zip(
        (sbp, dbp, mbp),
        ((220050, 225309, 220179), (220051, 225310, 220180), (220052, 225312, 220181)),
        strict=True,
    ):
        item = np.where(on_art, np.where(alt, a2_id, a_id), n_id)
        b.add(idx, t, item, val)
    rr_item = np.where(stays.ventilated[idx], 224690, 220210)
    b.add(idx, t, rr_item, trajectory(stays, idx, t, "Respiratory rate", rng, phase))
    b.add(idx, t, 220277, trajectory(stays, idx, t, "Oxygen saturation", rng, phase))
    # Non-invasive cuff pressure every 4 h as a cross-check on arterial-line stays.
    idx, t = grid(stays, art, 4 * step, rng, drop=0.3)
    sbp = trajectory(stays, idx, t, "Systolic blood pressure", rng, phase)
    b.add(idx, t, 220179, sbp)
    # Manual pressures, rare.
    idx, t = grid(stays, rng.random(n) < 0.15, 24 * step, rng, drop=0.3)
    sbp = trajectory(stays, idx, t, "Systolic blood pressure", rng, phase)
    b.add(idx, t, np.where(rng.random(len(idx)) < 0.5, 224167, 227243), sbp)
    b.add(idx, t, 224643, sbp * 0.55)

    # Every 4 h: temperature, GCS components, capillary refill.
    idx, t = grid(stays, all_, 4 * step, rng, drop=0.1)
    temp_c = trajectory(stays, idx, t, "Temperature", rng, phase)
    f = temp_f[idx]
    wrong_unit = ~f & (rng.random(len(idx)) < 0.01)  # a Fahrenheit value typed as Celsius
    temp = np.where(f | wrong_unit, temp_c * 9 / 5 + 32, temp_c)
    b.add(idx, t, np.where(f, 223761, 223762), temp, decimals=1)
    eye, verbal, motor = _gcs(stays, idx, t, rng, phase)
    b.add(idx, t, 220739, eye, text=eye - 1)
    ett = stays.ventilated[idx] & (rng.random(len(idx)) < 0.85)
    v_text = np.where(ett, _TEXT_CODE["No Response-ETT"], len(GCS_EYE) + verbal - 1)
    b.add(idx, t, 223900, np.where(ett, np.nan, verbal), text=v_text)
    m_off = _TEXT_CODE[GCS_MOTOR[0]]
    b.add(idx, t, 223901, motor, text=m_off + motor - 1)
    crr = rng.random(len(idx)) < 0.6
    p_abn = signal.sigmoid(
        -1.6 + 0.9 * z[idx, 0] + 0.5 * z[idx, 2] + 2.5 * deterioration(stays, idx, t)
    )
    abn = rng.random(len(idx)) < p_abn
    side = np.where(rng.random(len(idx)) < 0.5, 223951, 224308)
    b.add(idx[crr], t[crr], side[crr], text=_TEXT_CODE[CRR_VALUES[0]] + abn[crr])
    b.add(idx, t, 223791, text=_TEXT_CODE[PAIN[0]] + rng.integers(0, 3, len(idx)))

    # Ventilated stays: FiO2 (percent) and spontaneous RR every 4 h; arterial pH, SpO2
    # and whole-blood glucose with each blood gas every 8 h.
    vent = stays.ventilated
    idx, t = grid(stays, vent, 4 * step, rng, drop=0.1)
    b.add(
        idx,
        t,
        223835,
        np.clip(
            np.round(trajectory(stays, idx, t, "Fraction inspired oxygen", rng, phase) / 5) * 5,
            21,
            100,
        ),
    )
    b.add(idx, t, 224689, trajectory(stays, idx, t, "Respiratory rate", rng, phase) * 0.7)
    idx, t = grid(stays, vent | art, 8 * step, rng, drop=0.2)
    b.add(idx, t, 223830, trajectory(stays, idx, t, "pH", rng, phase), decimals=2)
    b.add(idx, t, 220227, trajectory(stays, idx, t, "Oxygen saturation", rng, phase))
    b.add(idx, t, 226537, trajectory(stays, idx, t, "Glucose", rng, phase))
    idx, t = grid(stays, rng.random(n) < 0.05, 12 * step, rng, drop=0.2)
    b.add(idx, t, 220274, trajectory(stays, idx, t, "pH", rng, phase) - 0.04, decimals=2)

    # Glucose: finger sticks every 6 h, serum glucose charted twice a day in some stays.
    idx, t = grid(stays, all_, 6 * step, rng, drop=0.35)
    b.add(idx, t, 225664, trajectory(stays, idx, t, "Glucose", rng, phase))
    idx, t = grid(stays, rng.random(n) < 0.2, 12 * step, rng, drop=0.3)
    b.add(idx, t, 220621, trajectory(stays, idx, t, "Glucose", rng, phase))

    # Height once (inches or cm), admission weight once (kg or lbs), daily weights.
    height_cm = rng.normal(170, 10, n)
    weight_kg = np.clip(rng.normal(81, 18, n), 35, 220)
    which = rng.random(n)
    idx, t = once(stays, which < 0.45, rng, within_h=12)
    b.add(idx, t, 226707, height_cm[idx] / 2.54)
    idx, t = once(stays, (which >= 0.45) & (which < 0.8), rng, within_h=12)
    b.add(idx, t, 226730, height_cm[idx])
    lbs = rng.random(n) < 0.4
    idx, t = once(stays, ~lbs, rng, within_h=3)
    b.add(idx, t, 226512, weight_kg[idx], decimals=1)
    idx, t = once(stays, lbs, rng, within_h=3)
    b.add(idx, t, 226531, weight_kg[idx] / 0.453592, decimals=1)
    idx, t = grid(stays, rng.random(n) < 0.5, 24 * step, rng, drop=0.2)
    b.add(idx, t, 224639, weight_kg[idx] + rng.normal(0, 1.5, len(idx)), decimals=1)

    # Distractors: rhythm every 2 h, high-HR alarm limit twice a day.
    idx, t = grid(stays, all_, 2 * step, rng, drop=0.2)
    af = rng.random(len(idx)) < signal.sigmoid(-2 + z[idx, 2])
    rhythm = np.where(af, 2, np.where(rng.random(len(idx)) < 0.2, 1, 0))
    b.add(idx, t, 220048, text=_TEXT_CODE[RHYTHMS[0]] + rhythm)
    idx, t = grid(stays, all_, 12 * step, rng, drop=0.2)
    b.add(idx, t, 220046, np.full(len(idx), 120.0))
    return b


#: Items outside the 17 variables that :func:`chart_table` adds as ``other`` rows.
OTHER_ITEMS = (220046, 220048, 223791)


def _other_rows(b: _Blocks, stays: StayArrays, n: int, rng: np.random.Generator) -> None:
    """Add ``n`` rows of :data:`OTHER_ITEMS` at random times, spread over stays by length."""
    hours = np.maximum(stays.los_h, 1e-3)
    idx = rng.choice(len(stays), size=n, p=hours / hours.sum())
    t = rng.random(n) * hours[idx]
    item = np.asarray(OTHER_ITEMS)[rng.integers(0, len(OTHER_ITEMS), n)]
    alarm = item == 220046
    b.add(idx[alarm], t[alarm], 220046, 100.0 + 10 * rng.integers(0, 5, int(alarm.sum())))
    rhythm = item == 220048
    k = int(rhythm.sum())
    b.add(idx[rhythm], t[rhythm], 220048, text=_TEXT_CODE[RHYTHMS[0]] + rng.integers(0, 3, k))
    pain = item == 223791
    k = int(pain.sum())
    b.add(idx[pain], t[pain], 223791, text=_TEXT_CODE[PAIN[0]] + rng.integers(0, 3, k))


def chart_table(
    stays: StayArrays, rng: np.random.Generator, density: float = 1.0, fill_to: int = 0
) -> pa.Table:
    """``icu/chartevents`` rows of ``stays`` as an Arrow table in schema column order.

    Rows are sorted by stay, charttime and itemid; about 0.3 % are exact duplicates
    of their neighbour, as in the real table. ``fill_to`` tops the rows up to that
    count (before the duplicates) with items outside the 17 variables
    (:data:`OTHER_ITEMS`): the benchmark writer gives a full-size table the real one's
    mix of items that way.
    """
    blocks = chart_blocks(stays, rng, density)
    n_own = sum(len(part[0]) for part in blocks.parts)
    if fill_to > n_own:
        _other_rows(blocks, stays, int(fill_to) - n_own, rng)
    idx, t, itemid, num, dec, text = blocks.concat()
    dup = np.flatnonzero(rng.random(len(idx)) < 0.003)
    sel = np.concatenate([np.arange(len(idx)), dup])
    charttime = np.round((stays.intime[idx] + t * HOUR) / 60).astype(np.int64) * 60
    charttime, idx, itemid, num, dec, text = (
        a[sel] for a in (charttime, idx, itemid, num, dec, text)
    )
    order = np.lexsort((itemid, charttime, idx))
    charttime, idx, itemid, num, dec, text = (
        a[order] for a in (charttime, idx, itemid, num, dec, text)
    )
    n = len(idx)
    rounded = np.where(
        dec == 0, np.round(num), np.where(dec == 1, np.round(num, 1), np.round(num, 2))
    )
    is_text = text >= 0
    num_str = pc.cast(pa.array(rounded, from_pandas=True), pa.string())
    text_str = pa.array(np.asarray(TEXTS, dtype=object)[np.maximum(text, 0)], pa.string())
    value = pc.if_else(pa.array(is_text), text_str, num_str)
    units = {i: spec[3] for i, spec in D_ITEMS.items()}
    uom_vals = np.array([units[i] or None for i in sorted(units)], dtype=object)
    uom = uom_vals[np.searchsorted(sorted(units), itemid)]
    uom = np.where(is_text, None, uom)
    shift = (charttime // (12 * HOUR)).astype(np.int64)
    caregiver = 10000 + ((stays.stay_id[idx] * 7 + shift * 13) % 997) * 89
    storetime = charttime + rng.integers(1, 90, n) * 60
    warning = ((rounded == 999) | (rng.random(n) < 0.005)).astype(np.int64)
    return pa.table(
        {
            "subject_id": stays.subject_id[idx],
            "hadm_id": stays.hadm_id[idx],
            "stay_id": stays.stay_id[idx],
            "caregiver_id": caregiver,
            "charttime": pa.array(charttime, pa.timestamp("s")),
            "storetime": pa.array(storetime, pa.timestamp("s")),
            "itemid": itemid.astype(np.int64),
            "value": value,
            "valuenum": pa.array(rounded, from_pandas=True),
            "valueuom": pa.array(uom, pa.string()),
            "warning": warning,
        }
    )
