"""Patients, hospital admissions and ICU stays with a latent clinical state per stay.

Times are kept as ``int64`` seconds since the Unix epoch (shifted years
2100-2200, consistent per patient); the table writers format them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import signal

HOUR = 3600
DAY = 86400

#: Real anchor-year groups (v3.x adds "2020 - 2022").
ANCHOR_YEAR_GROUPS = ("2008 - 2010", "2011 - 2013", "2014 - 2016", "2017 - 2019", "2020 - 2022")
MICU = "Medical Intensive Care Unit (MICU)"
SICU = "Surgical Intensive Care Unit (SICU)"
MSICU = "Medical/Surgical Intensive Care Unit (MICU/SICU)"
CVICU = "Cardiac Vascular Intensive Care Unit (CVICU)"
CCU = "Coronary Care Unit (CCU)"
TSICU = "Trauma SICU (TSICU)"
NEURO_INT = "Neuro Intermediate"
NEURO_STEP = "Neuro Stepdown"
NEURO_SICU = "Neuro Surgical Intensive Care Unit (Neuro SICU)"
#: Where a transfer goes from each first care unit.
TRANSFER_TO = {
    MICU: MSICU,
    SICU: TSICU,
    MSICU: MICU,
    CVICU: CCU,
    CCU: CVICU,
    TSICU: SICU,
    NEURO_SICU: NEURO_STEP,
    NEURO_INT: NEURO_SICU,
    NEURO_STEP: NEURO_INT,
}

ADMISSION_TYPES = ("EW EMER.", "URGENT", "ELECTIVE", "DIRECT EMER.", "OBSERVATION ADMIT")
ADMISSION_LOCATIONS = (
    "EMERGENCY ROOM",
    "TRANSFER FROM HOSPITAL",
    "PHYSICIAN REFERRAL",
    "CLINIC REFERRAL",
    "PROCEDURE SITE",
)
DISCHARGE_LOCATIONS = (
    "HOME",
    "HOME HEALTH CARE",
    "SKILLED NURSING FACILITY",
    "REHAB",
    "CHRONIC/LONG TERM ACUTE CARE",
    "HOSPICE",
)
INSURANCE = ("Medicare", "Medicaid", "Private", "Other")
LANGUAGES = ("English", "English", "English", "English", "Spanish", "Chinese", "Russian")
MARITAL = ("MARRIED", "SINGLE", "WIDOWED", "DIVORCED", "")
RACES = (
    "WHITE",
    "WHITE",
    "WHITE",
    "BLACK/AFRICAN AMERICAN",
    "HISPANIC/LATINO - PUERTO RICAN",
    "ASIAN",
    "WHITE - OTHER EUROPEAN",
    "OTHER",
    "UNKNOWN",
)


@dataclass(frozen=True)
class Population:
    """The generated cohort.

    Attributes:
        patients: ``hosp/patients`` rows (schema columns; ``dod`` as epoch seconds or NaN).
        admissions: ``hosp/admissions`` rows plus ``age`` and ``icd_version`` helpers.
        stays: ``icu/icustays`` rows plus helper columns ``death_h`` (hours from
            intime to in-hospital death, NaN if none), ``age``, ``ventilated``.
        z: float array (n_stays, 5): latent state per stay (:data:`signal.FACTORS`).
        chronic: float array (n_patients, 5): each patient's chronic state.
    """

    patients: pd.DataFrame
    admissions: pd.DataFrame
    stays: pd.DataFrame
    z: np.ndarray
    chronic: np.ndarray


def _unique_ids(rng: np.random.Generator, n: int, prefix: int) -> np.ndarray:
    """``n`` distinct sorted 8-digit ids ``prefix xxxxxxx``."""
    ids = rng.choice(10_000_000, size=n, replace=False) + prefix * 10_000_000
    return np.sort(ids).astype(np.int64)


def _epoch(year: int) -> int:
    return int(pd.Timestamp(year=year, month=1, day=1).value // 10**9)


def _care_unit(rng: np.random.Generator, z: np.ndarray) -> str:
    if z[3] > 1.0 and rng.random() < 0.7:
        return str(rng.choice([NEURO_SICU, NEURO_INT, NEURO_STEP], p=[0.6, 0.25, 0.15]))
    if z[2] > 1.0 and rng.random() < 0.6:
        return str(rng.choice([CVICU, CCU]))
    return str(rng.choice([MICU, SICU, MSICU, TSICU, CVICU], p=[0.35, 0.2, 0.2, 0.1, 0.15]))


def build_population(n_patients: int, rng: np.random.Generator) -> Population:
    """Sample patients, their admissions and ICU stays, deaths and latent states.

    Args:
        n_patients: number of patients (>= 1).
        rng: the generator every draw comes from.

    Returns:
        The :class:`Population`.
    """
    subject_ids = _unique_ids(rng, n_patients, 1)
    n_adm_total = n_patients * 4
    hadm_pool = rng.permutation(_unique_ids(rng, n_adm_total, 2))
    stay_pool = rng.permutation(_unique_ids(rng, n_adm_total * 2, 3))
    chronic = rng.standard_normal((n_patients, len(signal.FACTORS)))
    gender = rng.choice(["F", "M"], size=n_patients, p=[0.44, 0.56])
    child = rng.random(n_patients) < 0.02
    raw_age = np.where(child, rng.integers(1, 18, n_patients), rng.normal(64, 16, n_patients))
    raw_age = np.clip(np.round(raw_age), 1, 99).astype(int)
    raw_age[~child] = np.maximum(raw_age[~child], 18)
    anchor_age = np.where(raw_age > 89, 91, raw_age)
    anchor_year = rng.integers(2110, 2190, n_patients)
    group_idx = rng.integers(0, len(ANCHOR_YEAR_GROUPS), n_patients)

    pat_rows, adm_rows, stay_rows, z_rows = [], [], [], []
    h_i = s_i = 0
    for p in range(n_patients):
        sid = int(subject_ids[p])
        t = _epoch(int(anchor_year[p])) + int(rng.uniform(0, 2.5 * 365) * DAY) // 60 * 60
        n_adm = 1 + min(int(rng.poisson(0.3)), 3)
        dod = np.nan
        last_disch = t
        for _ in range(n_adm):
            hadm = int(hadm_pool[h_i])
            h_i += 1
            admit = t + int(rng.integers(0, 60)) * 60
            age = int(raw_age[p] + (admit - _epoch(int(anchor_year[p]))) // (365 * DAY))
            real_year = 2008 + 3 * int(group_idx[p]) + int(rng.integers(0, 3))
            real_year += (admit - _epoch(int(anchor_year[p]))) // (365 * DAY)
            n_icu = int(rng.choice([0, 1, 2], p=[0.12, 0.8, 0.08]))
            via_ed = rng.random() < 0.6
            pre_h = rng.uniform(0.3, 8) if rng.random() < 0.7 else rng.uniform(8, 72)
            cur = admit + int(pre_h * HOUR) // 60 * 60
            adm_stays = []
            for k in range(n_icu):
                z = signal.PATIENT_SHARE * chronic[p] + np.sqrt(
                    1 - signal.PATIENT_SHARE**2
                ) * rng.standard_normal(len(signal.FACTORS))
                los_d = np.exp(
                    np.log(signal.LOS_MEDIAN_DAYS)
                    + z @ signal.LOS_WEIGHTS
                    + rng.normal(0, signal.LOS_NOISE_SD)
                )
                los_s = int(np.clip(los_d, 0.12, 40) * DAY) + int(rng.integers(0, 60))
                first = _care_unit(rng, z)
                last = TRANSFER_TO[first] if rng.random() < 0.1 else first
                adm_stays.append([sid, hadm, int(stay_pool[s_i]), first, last, cur, cur + los_s])
                z_rows.append(z)
                s_i += 1
                cur += los_s
                if k + 1 < n_icu:
                    cur += int(rng.uniform(12, 96) * HOUR)
                    cur -= cur % 60
            deathtime = np.nan
            if adm_stays:
                zs = np.array(z_rows[-len(adm_stays) :])
                logit = (
                    signal.MORTALITY_INTERCEPT
                    + zs[-1] @ signal.MORTALITY_WEIGHTS
                    + signal.MORTALITY_AGE_PER_YEAR * (age - 65)
                )
                if rng.random() < signal.sigmoid(logit):
                    last_stay = adm_stays[-1]
                    if rng.random() < 0.7:  # dies in the ICU: the stay ends at death
                        last_stay[6] -= last_stay[6] % 60
                        deathtime = last_stay[6]
                    else:  # dies on the ward after ICU discharge
                        deathtime = last_stay[6] + int(rng.uniform(6, 7 * 24) * HOUR) // 60 * 60
            if np.isnan(deathtime):
                disch = (cur + int(rng.uniform(4, 8 * 24) * HOUR)) // 60 * 60
            else:
                disch = int(deathtime)
                dod = float(disch - disch % DAY)
            for row in adm_stays:
                death_h = (deathtime - row[5]) / HOUR if row is adm_stays[-1] else np.nan
                stay_rows.append([*row, death_h, age])
            ed_in = admit - int(rng.uniform(2, 10) * HOUR) // 60 * 60 if via_ed else np.nan
            adm_rows.append(
                dict(
                    subject_id=sid,
                    hadm_id=hadm,
                    admittime=admit,
                    dischtime=disch,
                    deathtime=deathtime,
                    admission_type=str(rng.choice(ADMISSION_TYPES, p=[0.5, 0.2, 0.15, 0.1, 0.05])),
                    admit_provider_id="P"
                    + "".join(rng.choice(list("0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"), 5)),
                    admission_location="EMERGENCY ROOM"
                    if via_ed
                    else str(rng.choice(ADMISSION_LOCATIONS[1:])),
                    discharge_location="DIED"
                    if not np.isnan(deathtime)
                    else str(rng.choice(DISCHARGE_LOCATIONS)),
                    insurance=str(rng.choice(INSURANCE)),
                    language=str(rng.choice(LANGUAGES)),
                    marital_status=str(rng.choice(MARITAL)),
                    race=str(rng.choice(RACES)),
                    edregtime=ed_in,
                    edouttime=float(admit) if via_ed else np.nan,
                    hospital_expire_flag=int(not np.isnan(deathtime)),
                    age=age,
                    icd_version=10 if real_year >= 2016 else 9,
                )
            )
            last_disch = disch
            if not np.isnan(deathtime):
                break
            t = disch + int((2 + rng.exponential(200)) * DAY)
        if np.isnan(dod):
            risk = signal.sigmoid(
                -2.8 + 0.6 * chronic[p, :3].sum() / 1.7 + 0.03 * (raw_age[p] - 65)
            )
            if rng.random() < risk:
                died = last_disch + int(rng.uniform(1, 365) * DAY)  # after discharge
                dod = float(died - died % DAY)
        pat_rows.append(
            dict(
                subject_id=sid,
                gender=str(gender[p]),
                anchor_age=int(anchor_age[p]),
                anchor_year=int(anchor_year[p]),
                anchor_year_group=ANCHOR_YEAR_GROUPS[int(group_idx[p])],
                dod=dod,
            )
        )

    stays = pd.DataFrame(
        stay_rows,
        columns=[
            "subject_id",
            "hadm_id",
            "stay_id",
            "first_careunit",
            "last_careunit",
            "intime",
            "outtime",
            "death_h",
            "age",
        ],
    )
    stays["los"] = (stays["outtime"] - stays["intime"]) / DAY
    z = np.array(z_rows).reshape(-1, len(signal.FACTORS))
    vent_logit = -0.6 + 1.1 * z[:, 0] + 0.9 * z[:, 1] + 0.4 * z[:, 3]
    stays["ventilated"] = rng.random(len(stays)) < signal.sigmoid(vent_logit)
    return Population(
        patients=pd.DataFrame(pat_rows),
        admissions=pd.DataFrame(adm_rows),
        stays=stays,
        z=z,
        chronic=chronic,
    )
