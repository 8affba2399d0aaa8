"""Shared machinery for event tables: per-stay arrays, time grids, latent trajectories."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import signal
from .population import HOUR, Population


@dataclass(frozen=True)
class StayArrays:
    """Column arrays of the ICU stays that event generators index by stay position.

    Attributes:
        subject_id, hadm_id, stay_id: int64 (S,).
        intime: int64 (S,): seconds since the epoch.
        los_h: float (S,): ICU length of stay in hours.
        death_h: float (S,): hours from intime to in-hospital death, NaN if none.
        z: float (S, 5): latent state.
        ventilated: bool (S,).
    """

    subject_id: np.ndarray
    hadm_id: np.ndarray
    stay_id: np.ndarray
    intime: np.ndarray
    los_h: np.ndarray
    death_h: np.ndarray
    z: np.ndarray
    ventilated: np.ndarray

    @classmethod
    def from_population(cls, pop: Population) -> StayArrays:
        s = pop.stays
        return cls(
            subject_id=s["subject_id"].to_numpy(np.int64),
            hadm_id=s["hadm_id"].to_numpy(np.int64),
            stay_id=s["stay_id"].to_numpy(np.int64),
            intime=s["intime"].to_numpy(np.int64),
            los_h=((s["outtime"] - s["intime"]) / HOUR).to_numpy(float),
            death_h=s["death_h"].to_numpy(float),
            z=pop.z,
            ventilated=s["ventilated"].to_numpy(bool),
        )

    def __len__(self) -> int:
        return len(self.stay_id)

    def subset(self, sel: np.ndarray) -> StayArrays:
        """The stays at positions (or mask) ``sel``."""
        return StayArrays(**{k: v[sel] for k, v in self.__dict__.items()})


def grid(
    stays: StayArrays,
    sel: np.ndarray,
    step_h: float,
    rng: np.random.Generator,
    *,
    drop: float = 0.0,
    on_the_hour: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Regular charting times inside each selected stay, with random omissions.

    Args:
        stays: all stays.
        sel: bool (S,): stays that chart this item.
        step_h: hours between charting times.
        rng: random generator.
        drop: probability that a charting time is skipped.
        on_the_hour: align times to whole clock hours (MetaVision vitals).

    Returns:
        ``(idx, t_h)``: int64 (N,) stay positions and float (N,) hours since intime.
    """
    pos = np.flatnonzero(sel)
    if on_the_hour:
        off = ((HOUR - stays.intime[pos] % HOUR) % HOUR) / HOUR
        off = off % step_h if step_h < 1 else off
    else:
        off = rng.uniform(0, min(step_h, 4.0), len(pos))
    n = np.maximum(np.floor((stays.los_h[pos] - off) / step_h).astype(np.int64) + 1, 0)
    idx = np.repeat(pos, n)
    k = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)
    t = np.repeat(off, n) + k * step_h
    keep = rng.random(len(t)) >= drop
    # One charting gap of 2-6 h in a third of the stays (patient off the unit).
    gap_start = rng.uniform(0, np.maximum(stays.los_h, 1e-3))
    gap_len = np.where(rng.random(len(stays)) < 1 / 3, rng.uniform(2, 6, len(stays)), 0.0)
    in_gap = (t >= gap_start[idx]) & (t < gap_start[idx] + gap_len[idx])
    keep &= ~in_gap
    return idx[keep], t[keep]


def once(
    stays: StayArrays, sel: np.ndarray, rng: np.random.Generator, *, within_h: float
) -> tuple[np.ndarray, np.ndarray]:
    """One charting time per selected stay, uniformly in the first ``within_h`` hours."""
    idx = np.flatnonzero(sel)
    t = rng.uniform(0, 1, len(idx)) * np.minimum(within_h, stays.los_h[idx])
    return idx, t


def deterioration(stays: StayArrays, idx: np.ndarray, t_h: np.ndarray) -> np.ndarray:
    """float (N,) in [0, 1]: how close each event is to the stay's in-hospital death."""
    left = stays.death_h[idx] - t_h
    with np.errstate(invalid="ignore", over="ignore"):
        d = np.exp(-np.clip(left, 0, None) / signal.DETERIORATION_HOURS)
    return np.where(np.isnan(left), 0.0, d)


def trajectory(
    stays: StayArrays,
    idx: np.ndarray,
    t_h: np.ndarray,
    variable: str,
    rng: np.random.Generator,
    phase: np.ndarray,
) -> np.ndarray:
    """Values of a continuous variable (benchmark unit) at the given events.

    value = base + z @ w + slow within-stay wave + deterioration before death + noise.

    Args:
        stays: all stays.
        idx: int (N,) stay positions; t_h: float (N,) hours since intime.
        variable: a key of :data:`signal.VITALS`.
        rng: random generator.
        phase: float (S,): per-stay phase of the within-stay wave.

    Returns:
        float (N,) clipped to the variable's plausible range.
    """
    spec = signal.VITALS[variable]
    sd = float(spec["sd"])
    level = float(spec["base"]) + stays.z[idx] @ np.asarray(spec["w"], float)
    wave = 0.5 * sd * np.sin(2 * np.pi * t_h / 24.0 + phase[idx])
    det = float(spec["det"]) * deterioration(stays, idx, t_h)
    noise = rng.normal(0, 0.6 * sd, len(idx))
    return np.clip(level + wave + det + noise, float(spec["lo"]), float(spec["hi"]))
