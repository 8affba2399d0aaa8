"""The hourly model input of one stay: which cells were measured, carried forward or defaulted.

The discretizer (:mod:`medmod_lib.ehr.discretizer`) turns a stay's events into
a (bins, 76) array: 59 value columns (continuous channels, then one-hot blocks
of the categorical ones) and 17 mask columns. A value cell is *measured* when
its channel's mask is 1 in that hour; otherwise it was imputed, either carried
forward from the channel's last measurement or, before the first one, set to
the channel's normal value. :func:`input_status` labels every cell that way
from the array and its header alone; :func:`plot_input_status` draws it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from ..ehr.discretizer import header as benchmark_header

MASK_PREFIX = "mask->"
#: Cell codes of :func:`input_status`, with their legend text and colour.
STATUS = {
    0: ("0: one-hot off / mask 0", "#f7f7f7"),
    1: ("normal value (before the first measurement)", "#fdb863"),
    2: ("carried forward (last measurement)", "#b2abd2"),
    3: ("measured this hour / mask 1", "#2d004b"),
}
OFF, NORMAL, CARRIED, MEASURED = 0, 1, 2, 3


def _channel_of(header: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """Channels in mask order and, per column, the channel index (-1 for mask columns)."""
    channels = [h[len(MASK_PREFIX) :] for h in header if h.startswith(MASK_PREFIX)]
    if not channels:
        raise ValueError("the header has no mask-> columns; discretize with store_masks=True")
    index = {c: i for i, c in enumerate(channels)}
    owner = np.full(len(header), -1, dtype=np.int64)
    for j, h in enumerate(header):
        if h.startswith(MASK_PREFIX):
            continue
        name = h.split("->", 1)[0]
        if name not in index:
            raise ValueError(f"column {h!r} belongs to no channel of the mask columns")
        owner[j] = index[name]
    return channels, owner


def input_status(x: np.ndarray, header: Sequence[str]) -> np.ndarray:
    """Label every cell of a discretized stay as off, normal value, carried forward or measured.

    Assumes ``impute_strategy="previous"`` (the benchmark's): an unmeasured hour
    before a channel's first measurement holds its normal value, later ones the
    last measurement.

    Args:
        x: (T, C) discretized input with masks (C = 76 for the benchmark).
        header: the C column names (``ProcessedEHR.header`` or
            :func:`medmod_lib.ehr.discretizer.header`).

    Returns:
        int8 (T, C) array of :data:`STATUS` codes. Value columns get
        ``MEASURED``, ``CARRIED`` or ``NORMAL`` (one-hot columns that are 0 get
        ``OFF``); mask columns get ``MEASURED`` (1) or ``OFF`` (0).

    Raises:
        ValueError: ``x`` is not 2-D, its width differs from the header, or the
            header has no mask columns.
    """
    x = np.asarray(x)
    if x.ndim != 2 or x.shape[1] != len(header):
        raise ValueError(f"x has shape {x.shape}; expected (T, {len(header)}) to match the header")
    channels, owner = _channel_of(header)
    mask_cols = [list(header).index(f"{MASK_PREFIX}{c}") for c in channels]
    masks = x[:, mask_cols] > 0.5  # (T, 17)
    seen = np.logical_or.accumulate(masks, axis=0)  # measured at or before this hour
    per_channel = np.where(masks, MEASURED, np.where(seen, CARRIED, NORMAL)).astype(np.int8)
    out = np.zeros(x.shape, dtype=np.int8)
    values = owner >= 0
    out[:, values] = per_channel[:, owner[values]]
    one_hot = np.array(["->" in h and not h.startswith(MASK_PREFIX) for h in header])
    out[:, one_hot] = np.where(x[:, one_hot] != 0, out[:, one_hot], OFF)
    out[:, mask_cols] = np.where(masks, MEASURED, OFF)
    return out


def _short(channel: str) -> str:
    return (
        channel.replace("Glascow coma scale ", "GCS ")
        .replace(" blood pressure", " BP")
        .replace("Fraction inspired oxygen", "FiO2")
        .replace("Oxygen saturation", "SpO2")
        .replace("Capillary refill rate", "Cap. refill")
        .replace(" response", "")
    )


def plot_input_status(x: np.ndarray, header: Sequence[str], *, title: str | None = None) -> Figure:
    """Heatmap of :func:`input_status`: hours down, the 76 input columns across.

    Channel blocks are separated by thin lines and labelled at their centre;
    the mask block (the last 17 columns) is marked.

    Args:
        x: (T, C) discretized input with masks.
        header: the C column names.
        title: figure title.

    Returns:
        The figure (one axes; a legend of the four cell kinds).
    """
    import seaborn as sns

    status = input_status(x, header)
    channels, owner = _channel_of(header)
    fig, ax = plt.subplots(figsize=(13, 5.2), layout="constrained")
    cmap = ListedColormap([STATUS[k][1] for k in sorted(STATUS)])
    sns.heatmap(
        status, ax=ax, cmap=cmap, vmin=-0.5, vmax=len(STATUS) - 0.5, cbar=False,
        linewidths=0, xticklabels=False, yticklabels=False,
    )  # fmt: skip
    n_values = int((owner >= 0).sum())
    ticks, labels = [], []
    for k, channel in enumerate(channels):
        cols = np.flatnonzero(owner == k)
        ticks.append((cols[0] + cols[-1] + 1) / 2)
        labels.append(_short(channel))
        if k:
            ax.axvline(cols[0], color="#999999", lw=0.6)
    ax.axvline(n_values, color="black", lw=1.5)
    ticks += [n_values + k + 0.5 for k in range(len(channels))]
    labels += labels[:]
    ax.set_xticks(ticks, labels, rotation=90, fontsize=7)
    sec = ax.secondary_xaxis("top")
    sec.set_xticks(
        [n_values / 2, n_values + len(channels) / 2],
        [f"values ({n_values} columns)", f"masks ({len(channels)} columns, same order)"],
    )
    sec.tick_params(length=0)
    hours = status.shape[0]
    step = 6 if hours > 12 else 1
    ax.set_yticks(np.arange(0, hours, step) + 0.5, [str(h) for h in range(0, hours, step)])
    ax.set_ylabel("hour since ICU admission (bin)")
    ax.legend(
        handles=[Patch(facecolor=STATUS[k][1], edgecolor="grey", label=STATUS[k][0])
                 for k in sorted(STATUS)],
        loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False,
    )  # fmt: skip
    if title:
        ax.set_title(title, fontsize=10, pad=22)
    return fig


def status_summary(x: np.ndarray, header: Sequence[str]) -> pd.DataFrame:
    """Per channel: hours measured, carried forward and at the normal value.

    Returns:
        One row per channel (mask order) with integer columns ``measured``,
        ``carried forward``, ``normal value`` (they sum to T).
    """
    channels, owner = _channel_of(header)
    status = input_status(x, header)
    rows = []
    for k, c in enumerate(channels):
        # a one-hot block: the hot column carries the hour's status, the others are OFF
        block = status[:, owner == k].max(axis=1)
        rows.append(
            {
                "channel": c,
                "measured": int((block == MEASURED).sum()),
                "carried forward": int((block == CARRIED).sum()),
                "normal value": int((block == NORMAL).sum()),
            }
        )
    return pd.DataFrame(rows).set_index("channel")


def measured_share(inputs: Iterable[np.ndarray], header: Sequence[str] | None = None) -> pd.Series:
    """Share of hours in which each channel was measured, pooled over stays.

    Args:
        inputs: (T_i, C) discretized arrays with masks, e.g. ``ehr.inputs(stay, 48)``.
        header: their column names (default: the benchmark's 76).

    Returns:
        Share in [0, 1] per channel (mask order), named ``measured share``.

    Raises:
        ValueError: no arrays were given.
    """
    header = list(header) if header is not None else benchmark_header(store_masks=True)
    channels, _ = _channel_of(header)
    mask_cols = [header.index(f"{MASK_PREFIX}{c}") for c in channels]
    total, hours = np.zeros(len(channels)), 0
    for x in inputs:
        total += (np.asarray(x)[:, mask_cols] > 0.5).sum(axis=0)
        hours += len(x)
    if hours == 0:
        raise ValueError("measured_share needs at least one non-empty input array")
    return pd.Series(total / hours, index=pd.Index(channels, name="channel"), name="measured share")
