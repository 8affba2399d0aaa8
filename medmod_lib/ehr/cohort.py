"""The ICU cohort: the benchmark's stay filters, mortality labels and the cohort flow.

Follows mimic3-benchmarks in its order (YerevaNN/mimic3-benchmarks
``mimic3benchmark/scripts/extract_subjects.py`` with the filters of
``mimic3benchmark/mimic3csv.py``; MedFuse's MIMIC-IV port is
``mimic4extract/mimic3benchmark/scripts/extract_subjects_iv.py``):
drop stays with a transfer between care units, keep admissions with exactly
one remaining ICU stay, keep adults by ``anchor_age``. Every filter can be
switched off through :class:`CohortConfig`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import schema
from .reader import MimicIVReader, SkipLog

STAY_COLUMNS = [
    "subject_id",
    "hadm_id",
    "stay_id",
    "intime",
    "outtime",
    "los",
    "admittime",
    "dischtime",
    "deathtime",
    "dod",
    "gender",
    "anchor_age",
    "age",
    "race",
    "admission_type",
    "first_careunit",
    "last_careunit",
    "mortality_inunit",
    "mortality_inhospital",
]


class EmptyCohortError(ValueError):
    """No ICU stay is left after the cohort filters."""


@dataclass(frozen=True)
class CohortConfig:
    """Cohort filters; the defaults reproduce mimic3-benchmarks on MIMIC-IV.

    Attributes:
        no_transfers: drop stays whose ``first_careunit != last_careunit``.
        one_stay_per_admission: keep admissions with exactly one ICU stay
            (counted after the transfer filter, as the benchmark does).
        min_age: minimum age in years; ``None`` keeps everyone.
        age_from: ``"anchor_age"`` (benchmark) or ``"intime"`` (age at ICU admission).
    """

    no_transfers: bool = True
    one_stay_per_admission: bool = True
    min_age: float | None = 18
    age_from: str = "anchor_age"

    def __post_init__(self) -> None:
        if self.age_from not in ("anchor_age", "intime"):
            raise ValueError(f"age_from must be 'anchor_age' or 'intime', got {self.age_from!r}")


def _flow_row(step: str, stays: pd.DataFrame) -> dict[str, object]:
    return {
        "step": step,
        "subjects": int(stays["subject_id"].nunique()),
        "admissions": int(stays["hadm_id"].nunique()),
        "stays": int(len(stays)),
    }


def mortality_between(
    start: pd.Series, end: pd.Series, dod: pd.Series, deathtime: pd.Series
) -> pd.Series:
    """1 if ``dod`` or ``deathtime`` lies in ``[start, end]``, else 0.

    The rule of YerevaNN/mimic3-benchmarks ``mimic3benchmark/mimic3csv.py``
    (``add_inhospital_mortality_to_icustays``). The ``deathtime`` test matters on
    MIMIC-IV, where ``dod`` is a date (midnight) and can precede ``admittime``.
    """
    by_dod = dod.notna() & (start <= dod) & (dod <= end)
    by_deathtime = deathtime.notna() & (start <= deathtime) & (deathtime <= end)
    return (by_dod | by_deathtime).astype("int64")


def _dedupe(df: pd.DataFrame, key: str, table: str, path: object, skips: SkipLog) -> pd.DataFrame:
    exact = df.duplicated(keep="first")
    skips.add(table, "exact duplicate rows", int(exact.sum()))
    df = df[~exact]
    clash = df[key].duplicated(keep=False)
    if clash.any():
        ids = df.loc[clash, key].head(5).tolist()
        raise ValueError(
            f"{path}: {int(clash.sum())} rows share a {key} but differ in other columns "
            f"(e.g. {key} {ids}). Each {key} must appear once; re-download the table."
        )
    return df


def build_cohort(
    reader: MimicIVReader, config: CohortConfig | None = None, skips: SkipLog | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Select the cohort stays and label their mortality.

    Args:
        reader: the MIMIC-IV release.
        config: cohort filters.
        skips: where dropped rows are counted.

    Returns:
        ``(stays, flow)``: one row per cohort stay with :data:`STAY_COLUMNS`
        sorted by ``stay_id``, and the cohort flow (``step, subjects,
        admissions, stays``, one row per step).

    Raises:
        EmptyCohortError: nothing is left after the filters (message has the flow).
    """
    config = config or CohortConfig()
    skips = skips if skips is not None else SkipLog()
    icu = reader.table("icustays", schema.columns("icustays"), skips=skips)
    icu = _dedupe(icu, "stay_id", "icustays", reader.path("icustays"), skips)
    adm = reader.table(
        "admissions",
        ["subject_id", "hadm_id", "admittime", "dischtime", "deathtime", "admission_type", "race"],
        skips=skips,
    )
    adm = _dedupe(adm, "hadm_id", "admissions", reader.path("admissions"), skips)
    pat = reader.table(
        "patients", ["subject_id", "gender", "anchor_age", "anchor_year", "dod"], skips=skips
    )
    pat = _dedupe(pat, "subject_id", "patients", reader.path("patients"), skips)

    flow = [_flow_row("ICU stays in icustays", icu)]
    bad_time = icu["intime"].isna() | icu["outtime"].isna() | (icu["outtime"] < icu["intime"])
    skips.add(
        "icustays", "missing/unparseable intime or outtime, or outtime < intime", bad_time.sum()
    )
    icu = icu[~bad_time].copy()
    no_los = icu["los"].isna()
    skips.add("icustays", "missing los filled from outtime - intime (not dropped)", no_los.sum())
    icu.loc[no_los, "los"] = (icu["outtime"] - icu["intime"]).dt.total_seconds() / 86400.0

    stays = icu.merge(adm.drop(columns="subject_id"), on="hadm_id", how="inner")
    skips.add("icustays", "hadm_id not in admissions", len(icu) - len(stays))
    n = len(stays)
    stays = stays.merge(pat, on="subject_id", how="inner")
    skips.add("icustays", "subject_id not in patients", n - len(stays))
    flow.append(_flow_row("with admission and patient records", stays))

    if config.no_transfers:
        stays = stays[stays["first_careunit"] == stays["last_careunit"]]
        flow.append(_flow_row("no transfer between care units", stays))
    if config.one_stay_per_admission:
        counts = stays.groupby("hadm_id")["stay_id"].transform("size")
        stays = stays[counts == 1]
        flow.append(_flow_row("one ICU stay per admission", stays))

    stays = stays.copy()
    stays["age"] = stays["anchor_age"] + (stays["intime"].dt.year - stays["anchor_year"])
    if config.min_age is not None:
        age = stays["anchor_age"] if config.age_from == "anchor_age" else stays["age"]
        stays = stays[age >= config.min_age]
        flow.append(_flow_row(f"adults ({config.age_from} >= {config.min_age:g})", stays))
    flow_df = pd.DataFrame(flow)
    if stays.empty:
        raise EmptyCohortError(
            f"No ICU stay of {reader.root} is left after the cohort filters:\n"
            f"{flow_df.to_string(index=False)}\nCheck the data or relax CohortConfig."
        )

    stays["mortality_inunit"] = mortality_between(
        stays["intime"], stays["outtime"], stays["dod"], stays["deathtime"]
    )
    stays["mortality_inhospital"] = mortality_between(
        stays["admittime"], stays["dischtime"], stays["dod"], stays["deathtime"]
    )
    stays["age"] = stays["age"].astype(np.int64)
    return stays[STAY_COLUMNS].sort_values("stay_id").reset_index(drop=True), flow_df


def los_hours(stays: pd.DataFrame) -> pd.Series:
    """LOS in hours per stay (``los`` days x 24, as the benchmark), indexed by ``stay_id``."""
    return pd.Series(stays["los"].to_numpy(np.float64) * 24.0, index=stays["stay_id"].to_numpy())


def number_episodes(stays: pd.DataFrame) -> pd.Series:
    """Benchmark episode numbers: 1-based by ``intime`` within each subject.

    As YerevaNN/mimic3-benchmarks ``mimic3benchmark/subject.py`` (``read_stays``
    sorts by intime) and ``scripts/extract_episodes_from_subjects.py`` (``episode{i+1}``).
    """
    order = stays.sort_values(["subject_id", "intime", "stay_id"])
    episode = order.groupby("subject_id").cumcount() + 1
    return episode.reindex(stays.index).astype("int64")
