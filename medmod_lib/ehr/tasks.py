"""Task samples and labels with the mimic3-benchmarks windows and exclusions.

The rules restate YerevaNN/mimic3-benchmarks ``mimic3benchmark/scripts/create_*.py``
(and MedFuse's MIMIC-IV copies under ``mimic4extract/``).

Pure pandas/numpy over the cohort stays and a per-stay event summary, so
every rule can be tested on hand-written frames:

* in-hospital-mortality: LOS >= 48 h (up to 1e-6), >= 1 event in (-eps, 48 + eps);
  one sample, ``period_length`` 48, label = in-hospital mortality (``dod`` or
  ``deathtime`` within the admission; :func:`~.cohort.mortality_between`).
* phenotyping: >= 1 event in (-eps, LOS + eps); ``period_length`` = LOS hours;
  25 labels from the admission's ICD codes, keyed on ``(icd_version, icd_code)``:
  ICD-9 through the benchmark's CCS definitions, ICD-10 through AHRQ CCS for
  ICD-10-CM v2019.1 (``phenotype_map="ccs"``, default); ``"medfuse"`` looks
  every code up in MedFuse's YAML by string, which misses most ICD-10 codes.
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


def _coded(diagnoses: pd.DataFrame, phenotype_map: str) -> pd.DataFrame:
    """Distinct ``hadm_id, icd_version, icd_code, key`` rows with dot-less string codes."""
    if phenotype_map not in reference.PHENOTYPE_MAPS:
        raise ValueError(
            f"phenotype_map must be one of {reference.PHENOTYPE_MAPS}, got {phenotype_map!r}"
        )
    if phenotype_map == "ccs" and "icd_version" not in diagnoses:
        raise ValueError(
            "phenotype_map='ccs' keys codes on (icd_version, icd_code); pass the diagnoses_icd "
            "rows with their icd_version column (or phenotype_map='medfuse' to ignore it)"
        )
    cols = ["hadm_id", "icd_code"] + (["icd_version"] if "icd_version" in diagnoses else [])
    codes = diagnoses[cols].dropna(subset=["hadm_id", "icd_code"]).copy()
    codes["icd_code"] = codes["icd_code"].astype(str).str.strip().str.replace(".", "")
    if "icd_version" in codes:
        codes["icd_version"] = pd.to_numeric(codes["icd_version"], errors="coerce")
        bad = ~codes["icd_version"].isin([9, 10])
        if phenotype_map == "ccs" and bad.any():
            seen = sorted(set(codes.loc[bad, "icd_version"].astype(str)))
            raise ValueError(f"diagnoses_icd: icd_version must be 9 or 10, got {seen}")
    else:
        codes["icd_version"] = np.nan
    codes = codes.drop_duplicates(["hadm_id", "icd_version", "icd_code"])
    if phenotype_map == "ccs":
        codes["key"] = list(zip(codes["icd_version"].astype(int), codes["icd_code"], strict=True))
    else:
        codes["key"] = codes["icd_code"]
    return codes


def phenotype_labels(
    diagnoses: pd.DataFrame, hadm_ids: pd.Series, phenotype_map: str = "ccs"
) -> pd.DataFrame:
    """25 binary phenotype columns per admission from its dot-less ICD codes.

    Args:
        diagnoses: ``hadm_id, icd_code`` (codes as strings) and, for ``"ccs"``,
            ``icd_version`` (9 or 10).
        hadm_ids: the admissions to label (all get a row, zeros if no codes).
        phenotype_map: ``"ccs"`` (ICD-9 through the benchmark definitions, ICD-10
            through CCS for ICD-10-CM v2019.1) or ``"medfuse"`` (MedFuse's YAML by
            string; :data:`~medmod_lib.reference.PHENOTYPE_MAPS`).

    Returns:
        int64 frame indexed by ``hadm_id`` with :func:`reference.phenotypes` columns.

    Raises:
        ValueError: an unknown map, or ``"ccs"`` without valid ``icd_version``.
    """
    names = reference.phenotypes()
    lookup = reference.phenotype_lookup(phenotype_map)
    codes = _coded(diagnoses, phenotype_map)
    codes["phen"] = codes["key"].map(lookup)
    pairs = codes.dropna(subset=["phen"])[["hadm_id", "phen"]].explode("phen")
    pairs = pairs.assign(v=1).drop_duplicates(["hadm_id", "phen"])
    wide = pairs.pivot(index="hadm_id", columns="phen", values="v")
    wide = wide.reindex(index=pd.Index(pd.unique(hadm_ids), name="hadm_id"), columns=names)
    return wide.fillna(0).astype(np.int64)


def phenotype_code_counts(diagnoses: pd.DataFrame, phenotype_map: str = "ccs") -> dict:
    """How the distinct (admission, code) rows map, by ICD version; for the manifest.

    A code is ``benchmark`` (one of the 25 groups), ``other_group`` (a known CCS
    group outside the 25) or ``unmapped``: not in the map at all (for ICD-10,
    codes CCS v2019.1 does not list, e.g. those created after FY2019; for
    ``"medfuse"`` every code absent from its YAML).

    Returns:
        ``{"9" | "10" | "unknown": {"rows", "benchmark", "other_group", "unmapped",
        "unmapped_codes", "top_unmapped"}}``; ``top_unmapped`` lists up to 20
        ``[code, rows]`` pairs, most frequent first.
    """
    codes = _coded(diagnoses, phenotype_map)
    bench = reference.phenotype_lookup(phenotype_map)
    yaml_codes = {c for e in reference.phenotype_definitions().values() for c in e["codes"]}
    if phenotype_map == "ccs":
        ccs = set(reference.ccs_icd10cm()["icd_code"])
        known = {9: yaml_codes, 10: ccs}
        is_known = [c in known[v] for v, c in codes["key"]]
    else:
        is_known = codes["icd_code"].isin(yaml_codes).tolist()
    in_bench = codes["key"].map(lambda k: k in bench).to_numpy(bool)
    is_known = np.asarray(is_known, bool) | in_bench
    version = codes["icd_version"].map(lambda v: "unknown" if pd.isna(v) else str(int(v)))
    out: dict[str, dict] = {}
    for v in sorted(set(version)):
        rows = (version == v).to_numpy()
        missing = codes.loc[rows & ~is_known, "icd_code"].value_counts()
        out[v] = {
            "rows": int(rows.sum()),
            "benchmark": int((rows & in_bench).sum()),
            "other_group": int((rows & is_known & ~in_bench).sum()),
            "unmapped": int((rows & ~is_known).sum()),
            "unmapped_codes": int(len(missing)),
            "top_unmapped": [[str(c), int(n)] for c, n in missing.head(20).items()],
        }
    return out


def phenotype_prevalence_by_version(
    samples: pd.DataFrame, stays: pd.DataFrame, diagnoses: pd.DataFrame
) -> pd.DataFrame:
    """Share of phenotyping samples with each label, by the ICD version their admission used.

    Args:
        samples: phenotyping samples (``stay_id`` and the 25 label columns).
        stays: cohort stays (``stay_id, hadm_id``).
        diagnoses: ``hadm_id, icd_version`` rows.

    Returns:
        One row per phenotype, one column per version (``ICD-9``, ``ICD-10``,
        ``none``: admissions without codes) plus ``n`` rows giving the sample counts.
    """
    names = reference.phenotypes()
    hadm = samples["stay_id"].map(stays.set_index("stay_id")["hadm_id"])
    if "icd_version" in diagnoses and len(diagnoses):
        version = diagnoses.groupby("hadm_id")["icd_version"].agg(lambda v: int(v.mode().iloc[0]))
        label = hadm.map(version).map(lambda v: "none" if pd.isna(v) else f"ICD-{int(v)}")
    else:
        label = pd.Series("none", index=samples.index)
    table = samples[names].astype(float).groupby(label.to_numpy()).mean().T
    table.loc["n"] = label.value_counts().reindex(table.columns).to_numpy(float)
    return table


def phenotyping(
    stays: pd.DataFrame,
    summary: EventSummary,
    diagnoses: pd.DataFrame,
    phenotype_map: str = "ccs",
) -> pd.DataFrame:
    """One sample per stay with an event in the stay; labels from its admission's codes."""
    s = _base(stays)
    keep = summary.n_in_stay.reindex(s.index).fillna(0) > 0
    out = s.loc[keep, ["stay_id", "subject_id", "hadm_id"]].copy()
    out["period_length"] = s.loc[keep, "los"] * 24.0
    labels = phenotype_labels(diagnoses, out["hadm_id"], phenotype_map)
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
    phenotype_map: str = "ccs",
) -> pd.DataFrame:
    """Samples of one EHR task: ``stay_id, subject_id, period_length`` + labels.

    ``phenotype_map`` is used by phenotyping only (see :func:`phenotype_labels`).
    """
    task = Task.parse(task)
    if task == Task.IN_HOSPITAL_MORTALITY:
        return in_hospital_mortality(stays, summary)
    if task == Task.PHENOTYPING:
        if diagnoses is None:
            raise ValueError(
                "phenotyping needs the diagnoses_icd rows (hadm_id, icd_code, icd_version)"
            )
        return phenotyping(stays, summary, diagnoses, phenotype_map)
    if task == Task.DECOMPENSATION:
        return decompensation(stays, summary)
    if task == Task.LENGTH_OF_STAY:
        return length_of_stay(stays, summary)
    raise ValueError(f"{task.value!r} is not an EHR task; its labels come from the CXR side")
