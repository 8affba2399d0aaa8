"""Task samples and labels with the mimic3-benchmarks windows and exclusions (FACTS §5.2).

Pure pandas/numpy over the cohort stays and a per-stay event summary, so
every rule can be tested on hand-written frames:

* in-hospital-mortality: LOS >= 48 h (up to 1e-6), >= 1 event in (-eps, 48 + eps);
  one sample, ``period_length`` 48, label = in-hospital mortality (FACTS §1.6).
* phenotyping: >= 1 event in (-eps, LOS + eps); ``period_length`` = LOS hours;
  25 labels from the admission's ICD codes.
* decompensation: ``t = 0, 1, ...`` up to min(LOS, deathtime - intime) + eps,
  kept if t > 4 h and t > the first event; label 1 iff in-hospital
  mortality = 1 and (deathtime - intime) - t < 24 h.
* length-of-stay: the same times up to LOS (not capped at death, as the
  benchmark); ``y_true`` = LOS - t hours, ``los_bucket`` = 10-class CustomBins.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import reference
from ..reference import Task

EPS = 1e-6
IHM_HOURS = 48.0
SHORTEST_HOURS = 4.0
SAMPLE_RATE_HOURS = 1.0
FUTURE_HOURS = 24.0
EHR_TASKS = (
    Task.IN_HOSPITAL_MORTALITY,
    Task.PHENOTYPING,
    Task.DECOMPENSATION,
    Task.LENGTH_OF_STAY,
)


@dataclass(frozen=True)
class EventSummary:
    """Per-stay event facts the task rules need (indexed by ``stay_id``).

    Attributes:
        first_event: hours of the first event in (-eps, LOS + eps), NaN if none.
        n_in_stay: events in (-eps, LOS + eps).
        n_in_48h: events in (-eps, 48 + eps).
    """

    first_event: pd.Series
    n_in_stay: pd.Series
    n_in_48h: pd.Series

    @classmethod
    def from_events(cls, events: pd.DataFrame, los_hours: pd.Series) -> EventSummary:
        """Summarise long events (``stay_id, hours``) against each stay's LOS hours."""
        los = los_hours.reindex(events["stay_id"].to_numpy()).to_numpy()
        h = events["hours"].to_numpy(np.float64)
        in_stay = (h > -EPS) & (h < los + EPS)
        in_48 = (h > -EPS) & (h < IHM_HOURS + EPS)
        frame = pd.DataFrame(
            {
                "stay_id": events["stay_id"].to_numpy(),
                "first": np.where(in_stay, h, np.nan),
                "s": in_stay.astype(np.int64),
                "w": in_48.astype(np.int64),
            }
        )
        g = frame.groupby("stay_id")
        idx = los_hours.index
        return cls(
            first_event=g["first"].min().reindex(idx),
            n_in_stay=g["s"].sum().reindex(idx, fill_value=0).astype(np.int64),
            n_in_48h=g["w"].sum().reindex(idx, fill_value=0).astype(np.int64),
        )

    @classmethod
    def concat(cls, parts: list[EventSummary]) -> EventSummary:
        return cls(
            first_event=pd.concat([p.first_event for p in parts]),
            n_in_stay=pd.concat([p.n_in_stay for p in parts]),
            n_in_48h=pd.concat([p.n_in_48h for p in parts]),
        )


def los_bucket(hours: np.ndarray | pd.Series) -> np.ndarray:
    """CustomBins class 0..9 of remaining LOS hours (see :func:`reference.los_bin`)."""
    return np.atleast_1d(reference.los_bin(np.asarray(hours, dtype=np.float64)))


def _base(stays: pd.DataFrame) -> pd.DataFrame:
    return stays.set_index("stay_id", drop=False)


def in_hospital_mortality(stays: pd.DataFrame, summary: EventSummary) -> pd.DataFrame:
    """One sample per stay with LOS >= 48 h and an event in the first 48 h."""
    s = _base(stays)
    los_h = s["los"] * 24.0
    keep = (los_h >= IHM_HOURS - EPS) & (summary.n_in_48h.reindex(s.index).fillna(0) > 0)
    out = s.loc[keep, ["stay_id", "subject_id"]].copy()
    out["period_length"] = IHM_HOURS
    out["y_true"] = s.loc[keep, "mortality_inhospital"].astype(np.int64)
    return out.reset_index(drop=True)


def phenotype_labels(diagnoses: pd.DataFrame, hadm_ids: pd.Series) -> pd.DataFrame:
    """25 binary phenotype columns per admission from its dot-less ICD codes.

    Args:
        diagnoses: ``hadm_id, icd_code`` (codes as strings).
        hadm_ids: the admissions to label (all get a row, zeros if no codes).

    Returns:
        int64 frame indexed by ``hadm_id`` with :func:`reference.phenotypes` columns.
    """
    names = reference.phenotypes()
    lookup = reference.icd_to_phenotypes()
    codes = diagnoses[["hadm_id", "icd_code"]].dropna().drop_duplicates()
    codes = codes.assign(icd_code=codes["icd_code"].astype(str).str.strip().str.replace(".", ""))
    codes["phen"] = codes["icd_code"].map(lookup)
    pairs = codes.dropna(subset=["phen"]).explode("phen")
    pairs = pairs.assign(v=1).drop_duplicates(["hadm_id", "phen"])
    wide = pairs.pivot(index="hadm_id", columns="phen", values="v")
    wide = wide.reindex(index=pd.Index(pd.unique(hadm_ids), name="hadm_id"), columns=names)
    return wide.fillna(0).astype(np.int64)


def phenotyping(
    stays: pd.DataFrame, summary: EventSummary, diagnoses: pd.DataFrame
) -> pd.DataFrame:
    """One sample per stay with an event in the stay; labels from its admission's codes."""
    s = _base(stays)
    keep = summary.n_in_stay.reindex(s.index).fillna(0) > 0
    out = s.loc[keep, ["stay_id", "subject_id", "hadm_id"]].copy()
    out["period_length"] = s.loc[keep, "los"] * 24.0
    labels = phenotype_labels(diagnoses, out["hadm_id"])
    out = out.join(labels, on="hadm_id").drop(columns="hadm_id")
    return out.reset_index(drop=True)


def _hourly(stays: pd.DataFrame, summary: EventSummary, cap_at_death: bool) -> pd.DataFrame:
    s = _base(stays)
    first = summary.first_event.reindex(s.index)
    s = s[first.notna()]
    first = first[s.index].to_numpy(np.float64)
    los_h = s["los"].to_numpy(np.float64) * 24.0
    lived = ((s["deathtime"] - s["intime"]).dt.total_seconds() / 3600.0).to_numpy(np.float64)
    lived = np.where(np.isnan(lived), np.inf, lived)
    end = np.minimum(los_h, lived) if cap_at_death else los_h
    # np.arange(0, end + eps, rate) has ceil((end + eps) / rate) points when end + eps > 0.
    count = np.where(end + EPS > 0, np.ceil((end + EPS) / SAMPLE_RATE_HOURS), 0)
    count = count.astype(np.int64)
    rep = np.repeat(np.arange(len(s)), count)
    starts = np.cumsum(count) - count
    t = (np.arange(count.sum()) - np.repeat(starts, count)) * SAMPLE_RATE_HOURS
    keep = (t > SHORTEST_HOURS) & (t > first[rep])
    rep, t = rep[keep], t[keep].astype(np.float64)
    return pd.DataFrame(
        {
            "stay_id": s["stay_id"].to_numpy()[rep],
            "subject_id": s["subject_id"].to_numpy()[rep],
            "period_length": t,
            "_los_h": los_h[rep],
            "_lived": lived[rep],
            "_mort": s["mortality_inhospital"].to_numpy()[rep],
        }
    )


def decompensation(stays: pd.DataFrame, summary: EventSummary) -> pd.DataFrame:
    """Hourly samples; label 1 iff the patient dies in hospital within the next 24 h."""
    out = _hourly(stays, summary, cap_at_death=True)
    died = (out["_mort"] == 1) & (out["_lived"] - out["period_length"] < FUTURE_HOURS)
    out["y_true"] = died.astype(np.int64)
    return out.drop(columns=["_los_h", "_lived", "_mort"])


def length_of_stay(stays: pd.DataFrame, summary: EventSummary) -> pd.DataFrame:
    """Hourly samples; remaining LOS hours (``y_true``) and its 10-class bucket."""
    out = _hourly(stays, summary, cap_at_death=False)
    out["y_true"] = out["_los_h"] - out["period_length"]
    out["los_bucket"] = los_bucket(out["y_true"]).astype(np.int64)
    return out.drop(columns=["_los_h", "_lived", "_mort"])


def build_task(
    task: Task | str,
    stays: pd.DataFrame,
    summary: EventSummary,
    diagnoses: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Samples of one EHR task: ``stay_id, subject_id, period_length`` + labels."""
    task = Task.parse(task)
    if task == Task.IN_HOSPITAL_MORTALITY:
        return in_hospital_mortality(stays, summary)
    if task == Task.PHENOTYPING:
        if diagnoses is None:
            raise ValueError("phenotyping needs the diagnoses_icd rows (hadm_id, icd_code)")
        return phenotyping(stays, summary, diagnoses)
    if task == Task.DECOMPENSATION:
        return decompensation(stays, summary)
    if task == Task.LENGTH_OF_STAY:
        return length_of_stay(stays, summary)
    raise ValueError(f"{task.value!r} is not an EHR task; its labels come from the CXR side")
