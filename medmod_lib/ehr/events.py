"""Per-chunk event processing in numpy: duplicates, same-time values, GCS total, outputs.

Events arrive from :func:`~.variables.fetch_events` as arrays (``stay_id``,
``hours``, ``itemid``, ``ch`` = channel index, ``v`` = number or category
index). :func:`clean_chunk` applies the row rules, :func:`wide_table` writes
the benchmark-style timeseries and :func:`hourly_inputs` the discretized
arrays with exactly the semantics of
:func:`~medmod_lib.ehr.discretizer.discretize_events` (tested against it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .. import reference
from .discretizer import EPS, _expand, _impute, _layout, n_bins_for

CHANNELS = reference.channels()
_CAT = np.array([reference.is_categorical(c) for c in CHANNELS])
_NUMERIC_ORDER = np.array([reference.sorts_numerically(c) for c in CHANNELS])
GCS_TOTAL = CHANNELS.index("Glascow coma scale total")
_EYE = CHANNELS.index("Glascow coma scale eye opening")
_MOTOR = CHANNELS.index("Glascow coma scale motor response")
_VERBAL = CHANNELS.index("Glascow coma scale verbal response")
_TOTAL_CODE = {int(v): k for k, v in enumerate(reference.possible_values(CHANNELS[GCS_TOTAL]))}


def _scores(ch: int) -> np.ndarray:
    """Ordinal score of each category index of a GCS channel."""
    name = CHANNELS[ch]
    table = reference.gcs_scores(name)
    return np.array([table[v] for v in reference.possible_values(name)], dtype=np.int64)


@dataclass
class ChunkCounts:
    """Row counts of the per-chunk rules, summed over chunks."""

    duplicates: int = 0
    same_time: int = 0
    gcs_total_derived: int = 0
    per_channel: np.ndarray = field(default_factory=lambda: np.zeros(len(CHANNELS), np.int64))

    def __iadd__(self, other: ChunkCounts) -> ChunkCounts:
        self.duplicates += other.duplicates
        self.same_time += other.same_time
        self.gcs_total_derived += other.gcs_total_derived
        self.per_channel = self.per_channel + other.per_channel
        return self


def value_strings(ch: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Benchmark strings of values: category text, or the shortest float repr."""
    out = np.asarray(pc.cast(pa.array(v, type=pa.float64()), pa.string()).to_pylist(), object)
    for j in np.unique(ch[_CAT[ch]]):
        rows = ch == j
        out[rows] = np.asarray(reference.possible_values(CHANNELS[j]), object)[v[rows].astype(int)]
    return out


def _order_key(ev: dict[str, np.ndarray]) -> np.ndarray:
    """One int64 per row ordering (stay, time, channel, itemid); exact for second-resolution times."""
    # Order-preserving codes (hash factorize, then sorted uniques): O(n), unlike np.unique.
    stay_idx, stays = pd.factorize(ev["stay_id"], sort=True)
    item_idx, items = pd.factorize(ev["itemid"], sort=True)
    secs = np.rint(ev["hours"] * 3600.0).astype(np.int64)
    fits = len(ev["v"]) == 0 or (
        len(stays) < 2**13 and len(items) < 2**6 and np.abs(secs).max() < 2**32
    )
    if not fits:  # dense ranks of the full lexicographic order instead
        order = np.lexsort((ev["itemid"], ev["ch"], ev["hours"], ev["stay_id"]))
        key = np.empty(len(order), np.int64)
        key[order] = np.arange(len(order))
        return key
    key = stay_idx.astype(np.int64) << 50
    key |= (secs + 2**32) << 11
    key |= ev["ch"].astype(np.int64) << 6
    key |= item_idx.astype(np.int64)
    return key


def _sort(ev: dict[str, np.ndarray], drop_duplicates: bool = False) -> tuple[dict, int]:
    """Sort by (stay, time, channel, itemid); optionally drop exact duplicate rows.

    Duplicates share the order key, so only rows in runs of equal keys (a small
    share) are compared on their value; the first in input order is kept.
    """
    key = _order_key(ev)
    order = np.argsort(key, kind="stable")  # timsort: the events arrive nearly sorted
    n_dup = 0
    if drop_duplicates and len(key) > 1:
        sorted_key = key[order]
        same = sorted_key[1:] == sorted_key[:-1]
        in_run = np.r_[same, False] | np.r_[False, same]
        rows = np.flatnonzero(in_run)
        dup = pd.DataFrame({"k": sorted_key[rows], "v": ev["v"][order[rows]]}).duplicated()
        n_dup = int(dup.sum())
        if n_dup:
            order = np.delete(order, rows[dup.to_numpy()])
    return {k: a[order] for k, a in ev.items()}, n_dup


def _same_as_previous(ev: dict[str, np.ndarray], keys: tuple[str, ...]) -> np.ndarray:
    same = np.ones(max(len(ev["stay_id"]) - 1, 0), dtype=bool)
    for k in keys:
        same &= ev[k][1:] == ev[k][:-1]
    return np.r_[False, same] if len(ev["stay_id"]) else np.zeros(0, bool)


def _derive_gcs_total(ev: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Rows of GCS total = max(eye, 1) + verbal + motor where all three share a time.

    Returns:
        The new rows, and for each the index in ``ev`` of a component row at its time.
    """
    ch = ev["ch"]
    rows = np.flatnonzero(np.isin(ch, (_EYE, _MOTOR, _VERBAL)))
    sub = {k: a[rows] for k, a in ev.items()}
    first = ~_same_as_previous(sub, ("stay_id", "hours"))
    group = np.cumsum(first) - 1
    size = np.bincount(group, minlength=int(first.sum())) if len(group) else np.zeros(0, int)
    score = np.zeros(len(rows), np.int64)
    for j in (_EYE, _MOTOR, _VERBAL):
        m = sub["ch"] == j
        s = _scores(j)[sub["v"][m].astype(int)]
        score[m] = np.maximum(s, 1) if j == _EYE else s  # eye "None" scores 0 in channel_info
    total = np.bincount(group, weights=score, minlength=len(size)).astype(np.int64)
    full = np.flatnonzero(size == 3)
    starts = np.flatnonzero(first)[full]
    extra = {
        "stay_id": sub["stay_id"][starts],
        "hours": sub["hours"][starts],
        "itemid": np.zeros(len(full), np.int64),
        "ch": np.full(len(full), GCS_TOTAL, dtype=ch.dtype),
        "v": np.array([_TOTAL_CODE[int(t)] for t in total[full]], dtype=np.float64),
    }
    return extra, rows[starts]


def clean_chunk(
    ev: dict[str, np.ndarray], derive_gcs_total: bool = True
) -> tuple[dict[str, np.ndarray], ChunkCounts]:
    """Drop duplicates, resolve same-time values, derive GCS total; sort by (stay, hours, ch).

    Rules: rows equal in (stay, time, itemid, value) are duplicates (one is
    kept). Several values of one channel at one time are resolved as
    mimic3-benchmarks does: the ten channels it casts to float before sorting
    (:data:`~medmod_lib.reference.NUMERIC_ORDER_CHANNELS`: blood pressures,
    FiO2, SpO2, glucose, pH, temperature, weight, height, capillary refill)
    keep the numerically largest value (SBP 99 and 120 -> 120); the others
    keep the largest value *string* (heart rate 99 and 100 -> 99). The GCS total is
    derived only where eye, verbal and motor share a charttime and no total was
    recorded at that time.

    Args:
        ev: arrays ``stay_id, hours, itemid, ch, v`` of whole stays.
        derive_gcs_total: add derived GCS total rows.

    Returns:
        The cleaned arrays (``itemid`` 0 for derived rows) and the counts.
    """
    counts = ChunkCounts()
    ev, counts.duplicates = _sort(ev, drop_duplicates=True)
    first = ~_same_as_previous(ev, ("stay_id", "hours", "ch"))
    group = np.cumsum(first) - 1
    size = np.bincount(group) if len(group) else np.zeros(0, int)
    clash = np.flatnonzero(size[group] > 1) if len(group) else np.zeros(0, int)
    if len(clash):
        ch = ev["ch"][clash]
        strings = value_strings(ch, ev["v"][clash])
        numeric = _NUMERIC_ORDER[ch]
        # One channel per group, so each group is ordered by one key only:
        # its number (numeric channels) or its string (the others).
        number = np.full(len(clash), np.nan)
        number[numeric] = np.asarray(strings[numeric], dtype=np.float64)
        strings[numeric] = ""
        frame = pd.DataFrame({"g": group[clash], "n": number, "s": strings, "row": clash})
        frame = frame.sort_values(["g", "n", "s"], kind="stable")
        winners = frame.groupby("g")["row"].last()
        keep = np.ones(len(group), bool)
        keep[clash] = False
        keep[winners.to_numpy()] = True
        counts.same_time = int(len(clash) - len(winners))
        ev = {k: a[keep] for k, a in ev.items()}
    if derive_gcs_total:
        extra, at = _derive_gcs_total(ev)
        # Merge, not re-sort: rank orders the sorted rows by (stay, time, channel).
        block = np.cumsum(~_same_as_previous(ev, ("stay_id", "hours"))) - 1
        rank = block * len(CHANNELS) + ev["ch"]
        want = block[at] * len(CHANNELS) + GCS_TOTAL
        pos = np.searchsorted(rank, want)
        new = rank[np.minimum(pos, len(rank) - 1)] != want  # a recorded total wins
        counts.gcs_total_derived = int(new.sum())
        ev = {k: np.insert(a, pos[new], extra[k][new]) for k, a in ev.items()}
    counts.per_channel = np.bincount(ev["ch"].astype(np.int64), minlength=len(CHANNELS))
    return ev, counts


def _spread(text: pa.Array, present: np.ndarray) -> pa.StringArray:
    """``text`` (one string per ``present`` row) with "" in the other rows, without copying."""
    offsets = np.frombuffer(text.buffers()[1], np.int32, len(text) + 1, text.offset * 4)
    lengths = np.zeros(len(present), np.int32)
    lengths[present] = np.diff(offsets)
    full = np.empty(len(present) + 1, np.int32)
    full[0] = offsets[0]
    np.cumsum(lengths, out=full[1:])
    full[1:] += offsets[0]
    return pa.StringArray.from_buffers(len(present), pa.py_buffer(full), text.buffers()[2])


def wide_table(ev: dict[str, np.ndarray], schema: pa.Schema) -> pa.Table:
    """Benchmark timeseries rows: one per (stay, time), 17 string columns, "" = not measured."""
    first = ~_same_as_previous(ev, ("stay_id", "hours"))
    row = np.cumsum(first) - 1
    values = np.full((int(first.sum()), len(CHANNELS)), np.nan, order="F")  # contiguous columns
    values[row, ev["ch"].astype(np.int64)] = ev["v"]  # one value per (row, channel) after cleaning
    cols: dict[str, pa.Array] = {
        "stay_id": pa.array(ev["stay_id"][first], pa.int64()),
        "Hours": pa.array(ev["hours"][first], pa.float64()),
    }
    for j, name in enumerate(CHANNELS):
        col = values[:, j]
        present = ~np.isnan(col)
        if _CAT[j]:
            text = pa.array(reference.possible_values(name)).take(col[present].astype(np.int64))
        else:
            text = pc.cast(pa.array(col[present]), pa.string())  # only the measured cells
        cols[name] = _spread(text, present)
    return pa.Table.from_pydict(cols, schema=schema)


def hourly_inputs(ev: dict[str, np.ndarray], ends: pd.Series) -> tuple[np.ndarray, pd.DataFrame]:
    """Hourly benchmark inputs of the stays in ``ends`` (sorted events of those stays).

    Same output as ``discretize_events(events, ends)`` with the defaults
    (timestep 1 h, 'previous' imputation, masks), computed from the numeric
    arrays without building strings.

    Returns:
        ``(inputs, index)``: float32 (total_bins, 76) and ``stay_id, offset, n_bins``.
    """
    ends = ends.sort_index()
    ids = ends.index.to_numpy(np.int64)
    n_bins = np.array([n_bins_for(e) for e in ends.to_numpy(np.float64)], dtype=np.int64)
    offsets = np.zeros(len(n_bins), np.int64)
    offsets[1:] = np.cumsum(n_bins)[:-1]
    index = pd.DataFrame({"stay_id": ids, "offset": offsets, "n_bins": n_bins})
    pos = np.searchsorted(ids, ev["stay_id"])
    pos = np.minimum(pos, max(len(ids) - 1, 0))
    known = (ids[pos] == ev["stay_id"]) if len(ids) else np.zeros(len(pos), bool)
    hours = ev["hours"]
    bin_id = np.trunc(hours - EPS).astype(np.int64)
    keep = known & (hours > -EPS) & (hours < ends.to_numpy()[pos] + EPS) & (bin_id < n_bins[pos])
    values = np.full((int(n_bins.sum()), len(CHANNELS)), np.nan)
    rows = offsets[pos] + np.maximum(bin_id, 0)
    values[rows[keep], ev["ch"][keep].astype(np.int64)] = ev["v"][keep]
    mask = (~np.isnan(values)).astype(np.float32)
    _layout()
    filled = _impute(values, offsets, n_bins, "previous")
    return _expand(values, mask, filled, True), index
