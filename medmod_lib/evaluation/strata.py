"""Stay-level strata read from a sample's EHR window, and a model's AUROC within strata.

Two questions of the evaluation notebooks need a flag or a score per test sample
that no model computes:

- *Is the model ranking by a shortcut?* On the synthetic data (and in real ICUs)
  intubation is visible in both modalities: the verbal GCS is charted
  "No Response-ETT" and the film shows the endotracheal tube (CheXpert "Support
  Devices"). :func:`intubated` flags the samples whose window charts it, and
  :func:`stratified_auroc` scores a model within each stratum and pooled over
  pairs of the same stratum. A model that ranks mostly by the shortcut keeps its
  overall AUROC but loses it within strata.
- *Which films would a hospital not take?* :func:`acuity_score` counts
  derangement and organ-support criteria (:data:`ACUITY_CRITERIA`) in the window,
  a model-free severity proxy for ordering the removal of films by acuity.

Every function reads only what the model's input window holds: events with
``0 <= Hours <= period_length`` of the sample (the first 48 h for in-hospital
mortality, up to the film for radiology), so no flag sees the future.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..metrics import N_BOOT, auroc, bootstrap, paired_bootstrap, wilson_interval
from ..metrics.classification import to_numpy
from ..metrics.kernels import auroc_counts, rank_label
from ..reference import INTUBATED_VERBAL_RESPONSES

VERBAL = "Glascow coma scale verbal response"
#: (channel, comparison, threshold, meaning): one point each when met at least once
#: in the window. Thresholds are common bedside alarm levels, not a validated score
#: (SOFA or APACHE need labs, drugs and ventilator settings the 17 channels lack).
ACUITY_CRITERIA: tuple[tuple[str, str, float, str], ...] = (
    ("Heart Rate", ">", 110.0, "heart rate > 110/min"),
    ("Mean blood pressure", "<", 65.0, "mean BP < 65 mmHg"),
    ("Respiratory rate", ">", 25.0, "respiratory rate > 25/min"),
    ("Oxygen saturation", "<", 90.0, "SpO2 < 90 %"),
    ("Fraction inspired oxygen", ">", 0.5, "FiO2 > 0.5"),
    ("Glascow coma scale total", "<", 9.0, "GCS total <= 8"),
    ("pH", "<", 7.3, "pH < 7.30"),
    (VERBAL, "ett", 0.0, 'intubated (verbal GCS "No Response-ETT")'),
)
STRATA_COLUMNS = (
    "stratum",
    "n",
    "n_positive",
    "rate",
    "rate_low",
    "rate_high",
    "auroc",
    "ci_low",
    "ci_high",
    "flag",
)
WITHIN = "within strata (pooled)"
DROP = "overall minus within"
ALONE = "stratum alone as the score"


def _column(x: Any) -> np.ndarray:
    """(n,) from (n,) or (n, 1); anything else unchanged (the caller rejects it)."""
    a = to_numpy(x)
    return a[:, 0] if a.ndim == 2 and a.shape[1] == 1 else a


def read_stay_events(ehr: Any, samples: pd.DataFrame, channels: Sequence[str]) -> pd.DataFrame:
    """The charted values of ``channels`` over the samples' stays.

    Reads only those stays' rows (and columns) of ``timeseries.parquet`` of a processed
    EHR folder; :func:`intubated` and :func:`acuity_score` then cut each sample's window.

    Args:
        ehr: a :class:`~medmod_lib.ehr.processed.ProcessedEHR` (anything with ``root``).
        samples: one row per sample with ``stay_id``.
        channels: channel names of the timeseries (e.g. :data:`VERBAL`).

    Returns:
        ``stay_id``, ``Hours`` and the channels as strings ("" = not charted).
    """
    ids = [int(i) for i in pd.unique(samples["stay_id"])]
    return pd.read_parquet(
        ehr.root / "timeseries.parquet",
        columns=["stay_id", "Hours", *channels],
        filters=[("stay_id", "in", ids)] if ids else None,
    )


def first_met(events: pd.DataFrame, met: Any) -> pd.Series:
    """Per stay, the first hour (from ICU admission on) at which ``met`` holds.

    Args:
        events: ``stay_id`` and ``Hours`` per charted time.
        met: bool per row of ``events`` (NaN counts as False).

    Returns:
        Hours indexed by ``stay_id``; stays where it never holds are absent.
    """
    hit = pd.Series(met, index=events.index).fillna(False).to_numpy(bool)
    hours = events["Hours"].astype(float)
    keep = hit & (hours >= -1e-6).to_numpy(bool)
    return hours[keep].groupby(events["stay_id"][keep]).min()


def in_window(samples: pd.DataFrame, first: pd.Series) -> np.ndarray:
    """(n,) bool: the stay's first hour in ``first`` falls inside the sample's window.

    A sample's window is ``0 <= Hours <= period_length``: what its model input holds
    (the first 48 h for in-hospital mortality, up to the film for radiology, up to the
    prediction time for hourly tasks).
    """
    t = first.reindex(samples["stay_id"].to_numpy(np.int64)).to_numpy(float)
    end = samples["period_length"].to_numpy(float)
    with np.errstate(invalid="ignore"):
        return np.nan_to_num(t, nan=np.inf) <= end + 1e-6


def _ett(values: pd.Series) -> pd.Series:
    return values.astype(str).str.strip().isin(INTUBATED_VERBAL_RESPONSES)


def intubated(events: pd.DataFrame, samples: pd.DataFrame) -> np.ndarray:
    """(n,) bool: the sample's window charts a verbal GCS of an intubated patient.

    Args:
        events: :func:`read_stay_events` with the :data:`VERBAL` column.
        samples: ``stay_id`` and ``period_length`` per sample.
    """
    return in_window(samples, first_met(events, _ett(events[VERBAL])))


def acuity_score(events: pd.DataFrame, samples: pd.DataFrame) -> np.ndarray:
    """(n,) int: how many :data:`ACUITY_CRITERIA` the sample's window meets at least once.

    A sample with nothing charted scores 0. FiO2 above 1 is read as a percentage.
    Linear in events and samples: each criterion's first hour per stay is compared
    with each sample's window end.

    Args:
        events: :func:`read_stay_events` with every criterion's channel.
        samples: ``stay_id`` and ``period_length`` per sample.
    """
    score = np.zeros(len(samples), np.int64)
    for channel, op, threshold, _ in ACUITY_CRITERIA:
        raw = events[channel]
        if op == "ett":
            met = _ett(raw)
        else:
            v = pd.to_numeric(raw.replace("", np.nan), errors="coerce")
            if channel == "Fraction inspired oxygen":
                v = v.where(v <= 1.0, v / 100.0)
            met = v > threshold if op == ">" else v < threshold
        score += in_window(samples, first_met(events, met))
    return score


def _pooled_fn(y: np.ndarray, s: np.ndarray, codes: np.ndarray):
    """counts (B, n) -> (B,): P(positive outranks negative | same stratum), ties 1/2."""
    parts = []
    for k in np.unique(codes):
        rows = np.flatnonzero(codes == k)
        if len(np.unique(y[rows])) == 2:
            parts.append((rows, rank_label(y[rows], s[rows], rows, ascending=True)))

    def fn(w: np.ndarray) -> np.ndarray:
        num, den = np.zeros(w.shape[0]), np.zeros(w.shape[0])
        for rows, ranked in parts:
            pos = (w[:, rows] * y[rows]).sum(axis=1, dtype=np.float64)
            pairs = pos * (w[:, rows].sum(axis=1, dtype=np.float64) - pos)
            auc = auroc_counts(w, ranked)
            num += np.where(pairs > 0, np.nan_to_num(auc) * pairs, 0.0)
            den += pairs
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(den > 0, num / den, np.nan)

    return fn, bool(parts)


def stratified_auroc(
    y_true: Any,
    y_score: Any,
    strata: Any,
    *,
    min_size: int = 10,
    n_boot: int = N_BOOT,
    seed: int | None = 0,
) -> pd.DataFrame:
    """A binary model's AUROC overall, within each stratum, and pooled within strata.

    The overall AUROC compares every death with every survivor, so a model can earn
    it by ranking one stratum (say intubated stays, whose death rate is higher) above
    the other. The *pooled within-strata* AUROC counts only pairs of the same
    stratum: the probability that a positive outranks a negative of its own stratum
    (a stratified Mann-Whitney statistic; each stratum weighted by its number of
    positive-negative pairs). *Stratum alone* scores every sample with its stratum's
    outcome rate (in this sample): the AUROC a model would get from the stratum and
    nothing else.

    Args:
        y_true: (n,) 0/1 labels (or (n, 1)).
        y_score: (n,) scores of the same shape.
        strata: (n,) stratum label per sample (bool, str, ...); NaN is a stratum
            "unknown".
        min_size: strata with fewer samples get no AUROC (flag ``"too_small"``).
        n_boot, seed: percentile bootstrap of every interval (same seed each row).

    Returns:
        Columns :data:`STRATA_COLUMNS`: a row ``all``, one per stratum (sorted),
        then :data:`WITHIN`, :data:`DROP` (overall minus pooled within-strata
        AUROC, its interval from a paired bootstrap on the same resamples) and
        :data:`ALONE`. ``rate`` is the outcome rate with its
        Wilson interval. ``flag`` is ``""``, ``"too_small"``, ``"one_class"`` or
        ``"no_pairs"`` (no stratum has both classes), and the AUROC is NaN then.

    Raises:
        ValueError: lengths differ, or labels are not 0/1.
    """
    y, s = _column(y_true), _column(y_score)
    if y.ndim != 1 or s.shape != y.shape:
        raise ValueError(f"need (n,) labels and scores, got {y.shape} and {s.shape}")
    labels = pd.Series(strata).reset_index(drop=True)
    if len(labels) != len(y):
        raise ValueError(f"strata ({len(labels)}) and y_true ({len(y)}) must align")
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError("stratified_auroc needs 0/1 labels")
    labels = labels.astype(object).where(labels.notna(), "unknown").astype(str)
    codes, names = pd.factorize(labels, sort=True)

    def row(name: str, mask: np.ndarray, small: bool = True) -> dict:
        n, pos = int(mask.sum()), float(y[mask].sum())
        rate = pos / n if n else np.nan
        lo, hi = wilson_interval(rate, n) if n else (np.nan, np.nan)
        flag = (
            "too_small"
            if small and n < min_size
            else "one_class"
            if len(np.unique(y[mask])) < 2
            else ""
        )
        r = None if flag else auroc(y[mask], s[mask], n_boot=n_boot, seed=seed)
        return {
            "stratum": name,
            "n": n,
            "n_positive": pos,
            "rate": rate,
            "rate_low": float(lo),
            "rate_high": float(hi),
            "auroc": r.value if r else np.nan,
            "ci_low": r.ci_low if r else np.nan,
            "ci_high": r.ci_high if r else np.nan,
            "flag": flag,
        }

    rows = [row("all", np.ones(len(y), bool), small=False)]
    rows += [row(str(name), codes == k) for k, name in enumerate(names)]
    fn, any_pairs = _pooled_fn(y, s, codes)
    nan_rate = {"rate": np.nan, "rate_low": np.nan, "rate_high": np.nan}
    pooled = {"stratum": WITHIN, "n": len(y), "n_positive": float(y.sum()), **nan_rate}
    if any_pairs and len(y):
        r = bootstrap(fn, len(y), metric="auroc_within", n_boot=n_boot, seed=seed)
        pooled |= {"auroc": r.value, "ci_low": r.ci_low, "ci_high": r.ci_high, "flag": ""}
    else:
        pooled |= {"auroc": np.nan, "ci_low": np.nan, "ci_high": np.nan, "flag": "no_pairs"}
    rows.append(pooled)
    drop = {"stratum": DROP, "n": len(y), "n_positive": float(y.sum()), **nan_rate}
    if any_pairs and len(y):
        whole = rank_label(y, s, np.arange(len(y)), ascending=True)
        d = paired_bootstrap(
            lambda w: auroc_counts(w, whole), fn, len(y), metric="auroc", n_boot=n_boot, seed=seed
        )
        drop |= {"auroc": d.diff, "ci_low": d.ci_low, "ci_high": d.ci_high, "flag": ""}
    else:
        drop |= {"auroc": np.nan, "ci_low": np.nan, "ci_high": np.nan, "flag": "no_pairs"}
    rows.append(drop)
    alone = {"stratum": ALONE, "n": len(y), "n_positive": float(y.sum()), **nan_rate}
    if len(np.unique(y)) == 2:
        rate_of = pd.Series(y).groupby(codes).transform("mean").to_numpy()
        r = auroc(y, rate_of, n_boot=n_boot, seed=seed)
        alone |= {"auroc": r.value, "ci_low": r.ci_low, "ci_high": r.ci_high, "flag": ""}
    else:
        alone |= {"auroc": np.nan, "ci_low": np.nan, "ci_high": np.nan, "flag": "one_class"}
    rows.append(alone)
    return pd.DataFrame(rows, columns=list(STRATA_COLUMNS))
