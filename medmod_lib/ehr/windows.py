"""Windows that end inside an hour: rebuild the last hourly bin from the events up to the end.

The processed hourly arrays hold whole bins: bin ``k`` covers ``(k, k + 1]``
hours after intime and was filled from every event of that hour. A window
that ends inside an hour (the radiology task linked to EHR and the stay-image
pretraining pairs end at the image's study time, e.g. 5.3 h) has
``n_bins_for(5.3) = 6`` bins, and its last bin (5, 6] would show events charted
*after* the image (HR 150 at 5.8 h, a ventilator setting charted just after
the film). The benchmark discretizer given the events up to 5.3 h fills that
bin only from the events in (5, 5.3] and imputes the other channels from the
previous bin (or their normal value in bin 0), with mask 0.

:func:`last_bins` does exactly that, for many (stay, end) windows at once;
:meth:`medmod_lib.ehr.processed.ProcessedEHR.window` uses it, and so every
place that cuts a window at an image (``linking.MultimodalDataset`` for the
radiology cohorts and for pretraining pairs) gets the same rule. The earlier
bins are unchanged: with 'previous' imputation a bin depends on the past only.
Windows ending on the hour grid, or at/after the end of the stay's hourly
array (the stay's LOS, which the array was discretized up to), need no rebuild.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .. import reference
from .discretizer import EPS, _layout, discretize_events, n_bins_for

#: Window ends this close (hours) to the end of a stay's hourly array count as the
#: array's end (the array was discretized up to ``los`` x 24; 1e-3 h is 3.6 s).
LOS_TOLERANCE_H = 1e-3


def last_bin_index(end: float) -> int:
    """Index k of the last bin of a window ending at ``end`` hours (at least one bin)."""
    return max(n_bins_for(end), 1) - 1


def last_bin_indices(ends: Sequence[float] | np.ndarray) -> np.ndarray:
    """:func:`last_bin_index` of many ends at once (int64)."""
    ends = np.asarray(ends, dtype=np.float64)
    n = np.maximum(np.trunc(ends + 1.0 - EPS), 0).astype(np.int64)  # n_bins_for
    return np.maximum(n, 1) - 1


def ends_inside_bin(ends: Sequence[float] | np.ndarray) -> np.ndarray:
    """True where a window's last bin (k, k + 1] is cut before its end (``end < k + 1``)."""
    ends = np.asarray(ends, dtype=np.float64)
    return (last_bin_indices(ends) + 1.0) - ends > 2 * EPS


def needs_rebuild(ends: Sequence[float] | np.ndarray, array_ends: Sequence[float]) -> np.ndarray:
    """Windows whose last bin must be rebuilt: cut inside an hour, before the array's end.

    Args:
        ends: window ends in hours after intime.
        array_ends: for each window, the end its stay's hourly array was
            discretized up to (the stay's LOS in hours).
    """
    ends = np.asarray(ends, dtype=np.float64)
    return ends_inside_bin(ends) & (ends < np.asarray(array_ends, np.float64) - LOS_TOLERANCE_H)


def long_events(timeseries: pd.DataFrame) -> pd.DataFrame:
    """The benchmark wide timeseries (``stay_id, Hours``, 17 channels, "" = none) as long rows.

    Returns:
        ``stay_id, hours, channel, value``, sorted by ``(stay_id, hours)`` with a
        stable sort (the discretizer's last-value-wins order).
    """
    parts = []
    for channel in reference.channels():
        col = timeseries[channel]
        present = col.notna() & (col.astype(str) != "")
        if present.any():
            parts.append(
                pd.DataFrame(
                    {
                        "stay_id": timeseries.loc[present, "stay_id"].to_numpy(np.int64),
                        "hours": timeseries.loc[present, "Hours"].to_numpy(np.float64),
                        "channel": channel,
                        "value": col[present].astype(str).to_numpy(),
                    }
                )
            )
    if not parts:
        return pd.DataFrame({"stay_id": [], "hours": [], "channel": [], "value": []})
    out = pd.concat(parts, ignore_index=True)
    return out.sort_values(["stay_id", "hours"], kind="stable").reset_index(drop=True)


def last_bins(
    events: pd.DataFrame,
    stay_ids: Sequence[int] | np.ndarray,
    ends: Sequence[float] | np.ndarray,
    previous_rows: np.ndarray,
) -> np.ndarray:
    """The benchmark's last bin of each window, from the events charted up to its end.

    Args:
        events: long events (:func:`long_events`) of at least the windows' stays.
        stay_ids: m stays.
        ends: m window ends in hours (each cut inside its last bin).
        previous_rows: (m, 76) hourly row ``k - 1`` of each window's stay (the
            bin before the last; any values where ``k == 0``, they are unused).

    Returns:
        float32 (m, 76): the last bin, as the discretizer ('previous'
        imputation, masks) gives it for the stay's events in ``(-eps, end + eps)``.
    """
    stay_ids = np.asarray(stay_ids, dtype=np.int64)
    ends = np.asarray(ends, dtype=np.float64)
    m = len(stay_ids)
    k = last_bin_indices(ends)
    windows = pd.DataFrame({"window": np.arange(m), "stay_id": stay_ids, "bin": k, "end": ends})
    ev = events[events["stay_id"].isin(np.unique(stay_ids))]
    hours = ev["hours"].to_numpy(np.float64)
    ev = ev.assign(bin=np.trunc(hours - EPS).astype(np.int64))[hours > -EPS]
    # Only the events of each window's own last bin, charted up to its end.
    joined = windows.merge(ev, on=["stay_id", "bin"], how="inner", sort=False)
    joined = joined[joined["hours"] < joined["end"] + EPS]
    joined = joined.sort_values(["window", "hours"], kind="stable")
    shifted = pd.DataFrame(
        {
            "stay_id": joined["window"].to_numpy(np.int64),
            "hours": joined["hours"].to_numpy() - joined["bin"].to_numpy(),
            "channel": joined["channel"].to_numpy(),
            "value": joined["value"].to_numpy(),
        }
    )
    # Every window becomes one bin (0, 1): its observed channels and masks, normal
    # values elsewhere (right for k == 0, replaced by the previous bin below).
    one_bin = pd.Series(np.full(m, 1.0 - EPS), index=np.arange(m))
    rows, _ = discretize_events(shifted, one_bin)
    lay = _layout()
    masks = rows[:, lay.n_values :]
    for j in range(len(lay.channels)):
        cols = slice(lay.begin[j], lay.begin[j] + lay.width[j])
        carry = (masks[:, j] == 0) & (k > 0)
        rows[carry, cols] = previous_rows[carry, cols]
    return rows
