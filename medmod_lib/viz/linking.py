"""Linking figures: which images each rule links, and when X-rays are taken.

Both functions return a :class:`matplotlib.figure.Figure` (no ``plt.show()``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..linking.rules import LinkingRule


def plot_linking_windows(
    rules: Sequence[LinkingRule],
    *,
    study_hours: Sequence[float],
    los_hours: float,
    prediction_hour: float | None = None,
    study_views: Sequence[str] | None = None,
) -> Figure:
    """Which of a toy stay's X-rays each rule links: one row per rule.

    The decision is made by :meth:`LinkingRule.link` itself on a one-stay
    example, so the picture cannot drift from the code. Shaded: the window;
    filled star: the image the rule keeps; filled dot: in the window, not
    kept; cross: outside the window or of another view.

    Args:
        rules: rules to compare (e.g. ``LinkingRule.for_task(t)`` for each task).
        study_hours: study times of the toy images, hours since ICU admission.
        los_hours: the toy stay's length (outtime = intime + ``los_hours``).
        prediction_hour: prediction time of the hourly tasks' sample
            (default: half the stay).
        study_views: ``ViewPosition`` of each image (default: all ``AP``).
    """
    intime = pd.Timestamp("2180-01-01 08:00")
    prediction_hour = los_hours / 2 if prediction_hour is None else prediction_hour
    study_views = list(study_views) if study_views is not None else ["AP"] * len(study_hours)
    if len(study_views) != len(study_hours):
        raise ValueError(f"{len(study_views)} views for {len(study_hours)} study times")
    sample = pd.DataFrame(
        {"stay_id": [1], "subject_id": [1], "intime": [intime], "period_length": [prediction_hour]}
    ).assign(outtime=intime + pd.Timedelta(hours=los_hours))
    images = pd.DataFrame(
        {
            "dicom_id": [f"img{i}" for i in range(len(study_hours))],
            "subject_id": 1,
            "study_id": np.arange(len(study_hours)),
            "ViewPosition": study_views,
            "study_datetime": intime + pd.to_timedelta(np.asarray(study_hours, float), unit="h"),
        }
    )
    fig, axes = plt.subplots(len(rules), 1, figsize=(9, 0.9 * len(rules) + 0.8), sharex=True,
                             squeeze=False)  # fmt: skip
    hours = np.asarray(study_hours, float)
    for ax, rule in zip(axes[:, 0], rules, strict=True):
        _, end = rule.window(sample)
        end_h = (end.iloc[0] - intime) / pd.Timedelta(hours=1)
        kept = set(rule.link(sample, images)["dicom_id"])
        wide = LinkingRule(task=rule.task, window_end=rule.window_end, views=tuple(study_views),
                           choice="all")  # fmt: skip
        inside = set(wide.link(sample, images)["dicom_id"])
        ax.axvspan(0, end_h, color="tab:green", alpha=0.15, lw=0)
        ax.axvline(los_hours, color="0.4", lw=1, ls=":")
        for i, h in enumerate(hours):
            d = f"img{i}"
            style = ("*", 13, "tab:green") if d in kept else ("o", 7, "tab:blue")
            if d not in inside or study_views[i] not in rule.views:
                style = ("x", 7, "tab:red")
            ax.plot(h, 0, marker=style[0], ms=style[1], color=style[2], ls="none")
        ax.set_yticks([])
        ax.set_ylabel(rule.task.value, rotation=0, ha="right", va="center", fontsize=8)
        ax.grid(False)
    axes[-1, 0].set_xlabel("hours since ICU admission (dotted: outtime)")
    fig.suptitle("linking windows: * kept, o in window, x not linked", fontsize=10)
    fig.tight_layout()
    return fig


def plot_hours_from_intime(cohorts: Mapping[str, Any], *, bins: int = 24, ncols: int = 3) -> Figure:
    """Histogram of X-ray time since ICU admission, one panel per cohort.

    Each linked (stay, image) pair counts once, so the hourly tasks (where one
    image serves many samples) are not weighted by the number of samples.

    Args:
        cohorts: name -> :class:`~medmod_lib.linking.Cohort` (EHR-linked modes).
        bins: histogram bins per panel.
        ncols: panels per row.
    """
    names = [n for n, c in cohorts.items() if "hours_from_intime" in c.samples]
    if not names:
        raise ValueError("no cohort has linked images (hours_from_intime)")
    ncols = min(ncols, len(names))
    nrows = -(-len(names) // ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(3.4 * ncols, 2.8 * nrows), squeeze=False, layout="constrained"
    )
    for ax in axes.flat[len(names) :]:
        ax.remove()
    for ax, name in zip(axes.flat, names, strict=False):
        cohort = cohorts[name]
        linked = cohort.samples.dropna(subset=["hours_from_intime"])
        pairs = linked.drop_duplicates(["stay_id", "dicom_id"])["hours_from_intime"]
        ax.hist(pairs, bins=bins, color="#4c72b0")
        if cohort.rule.window_end == "intime+48h":
            ax.axvline(48, color="crimson", ls="--", lw=1)
        ax.set_title(f"{name}\n{len(pairs)} stay-image pairs", fontsize=9)
        ax.set_xlabel("hours since ICU admission", fontsize=9)
    for row in axes[:, :1].flat:
        row.set_ylabel("images")
    return fig
