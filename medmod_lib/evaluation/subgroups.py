"""Metrics by sex, age group and race, with counts and a minimum-size rule.

Every group is reported, however small: a group with fewer than ``min_size``
samples, or with a single class, gets NaN metrics and a ``flag`` saying why,
so a fairness table never hides a group by leaving it out. Intervals come from
the same seeded bootstrap as the overall metrics, resampling within the group.

Race strings of MIMIC-IV ``admissions.race`` are grouped by prefix
(:func:`race_group`); anything not matched, including ``UNKNOWN``, ``OTHER``,
``UNABLE TO OBTAIN`` and ``PATIENT DECLINED TO ANSWER``, becomes
``"Unknown/other"``. Small groups (American Indian/Alaska Native, Native
Hawaiian/Pacific Islander, multiple races) also fall there: on MIMIC-IV they
are too small for an interval worth reading.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..metrics import N_BOOT, task_metrics
from ..metrics.classification import to_numpy
from ..reference import Task
from ..tasks import task_spec

#: Lower edges of the age groups: 18-39, 40-59, 60-79, 80+.
AGE_BINS: tuple[int, ...] = (18, 40, 60, 80)
#: Race groups and the MIMIC-IV race-string prefixes that map to them, in order.
RACE_PREFIXES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("White", ("WHITE", "PORTUGUESE")),
    ("Black", ("BLACK",)),
    ("Hispanic/Latino", ("HISPANIC", "SOUTH AMERICAN")),
    ("Asian", ("ASIAN",)),
)
UNKNOWN_RACE = "Unknown/other"
#: Columns of the per-group table.
SUBGROUP_COLUMNS = (
    "attribute",
    "group",
    "n",
    "n_positive",
    "metric",
    "value",
    "ci_low",
    "ci_high",
    "flag",
)


def age_group(age: Any, bins: Sequence[int] = AGE_BINS) -> pd.Series:
    """Age group labels ("18-39", ..., "80+"); below the first edge "<18"; NaN "Unknown".

    Args:
        age: ages in years (scalar sequence or Series).
        bins: increasing lower edges of the groups.
    """
    edges = list(bins)
    if edges != sorted(edges) or len(set(edges)) != len(edges):
        raise ValueError(f"age bins must be strictly increasing, got {edges}")
    labels = [f"{lo}-{hi - 1}" for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
    labels.append(f"{edges[-1]}+")
    a = pd.Series(age, dtype="float64").reset_index(drop=True)
    idx = np.searchsorted(edges, a.to_numpy(), side="right") - 1
    out = np.where(idx >= 0, np.array(labels, dtype=object)[np.clip(idx, 0, None)], f"<{edges[0]}")
    out = np.where(a.isna().to_numpy(), "Unknown", out)
    order = [f"<{edges[0]}", *labels, "Unknown"]
    return pd.Series(pd.Categorical(out, categories=order), name="age_group")


def race_group(race: Any) -> pd.Series:
    """Group MIMIC-IV race strings into White, Black, Hispanic/Latino, Asian, Unknown/other."""
    r = pd.Series(race, dtype="string").reset_index(drop=True).str.strip().str.upper()
    out = pd.Series(UNKNOWN_RACE, index=r.index, dtype=object)
    for name, prefixes in reversed(RACE_PREFIXES):
        hit = r.str.startswith(prefixes).fillna(False).to_numpy(bool)
        out[hit] = name
    cats = [name for name, _ in RACE_PREFIXES] + [UNKNOWN_RACE]
    return pd.Series(pd.Categorical(out, categories=cats), name="race_group")


def sex_group(gender: Any) -> pd.Series:
    """'F' -> "Female", 'M' -> "Male", anything else -> "Unknown"."""
    g = pd.Series(gender, dtype="string").reset_index(drop=True).str.upper()
    out = g.map({"F": "Female", "M": "Male"}).fillna("Unknown").astype(object)
    return pd.Series(pd.Categorical(out, categories=["Female", "Male", "Unknown"]), name="sex")


def subgroup_frame(samples: pd.DataFrame, *, age_bins: Sequence[int] = AGE_BINS) -> pd.DataFrame:
    """Subgroup columns (``sex``, ``age_group``, and ``race_group`` where present), row for row.

    Args:
        samples: test samples with ``gender`` and ``age`` (or ``anchor_age``), and
            optionally ``race`` (e.g. a cohort's samples joined with ``stays.parquet``).
        age_bins: lower edges of the age groups.

    Raises:
        KeyError: if ``gender`` or an age column is missing.
    """
    age_col = "age" if "age" in samples else "anchor_age" if "anchor_age" in samples else None
    if "gender" not in samples or age_col is None:
        raise KeyError(
            "subgroups need 'gender' and 'age' (or 'anchor_age') columns; join the samples "
            f"with stays.parquet on stay_id first (have {list(samples.columns)})"
        )
    out = pd.DataFrame(
        {"sex": sex_group(samples["gender"]), "age_group": age_group(samples[age_col], age_bins)}
    )
    if "race" in samples:
        out["race_group"] = race_group(samples["race"])
    if "stay_id" in samples:  # the bootstrap's clusters, not a subgroup attribute
        out["stay_id"] = samples["stay_id"].to_numpy()
    return out


def _positives(task: Task, y: np.ndarray) -> float:
    if task == Task.LENGTH_OF_STAY:
        return float("nan")
    return float(np.nansum(y))


def _one_class(task: Task, y: np.ndarray) -> bool:
    if task == Task.LENGTH_OF_STAY:
        return len(np.unique(y)) < 2
    y2 = y.reshape(len(y), -1)
    for j in range(y2.shape[1]):
        col = y2[:, j][~np.isnan(y2[:, j])]
        if len(np.unique(col)) == 2:
            return False
    return True


def subgroup_metrics(
    task: str | Task,
    y_true: Any,
    y_score: Any,
    groups: pd.DataFrame,
    *,
    attributes: Sequence[str] | None = None,
    metrics: Sequence[str] | None = None,
    min_size: int = 50,
    label_names: Sequence[str] | None = None,
    n_boot: int = N_BOOT,
    seed: int | None = 0,
    clusters: Any = None,
) -> pd.DataFrame:
    """Metrics with intervals for every group of every attribute, plus an ``all`` row.

    Args:
        task: the task.
        y_true, y_score: as in :func:`medmod_lib.metrics.task_metrics`, n rows.
        groups: n rows of group labels, e.g. from :func:`subgroup_frame`.
        attributes: columns of ``groups`` to use (default: all).
        metrics: metric names (default: the task's ``TaskSpec.headline``).
        min_size: groups with fewer samples get NaN metrics, flag ``"too_small"``.
        label_names: for multi-label tasks.
        n_boot, seed: bootstrap settings.
        clusters: n stay ids; within each group whole stays are resampled where a
            stay has several samples. Default: the ``stay_id`` column of ``groups``
            if it has one (never used as an attribute).

    Returns:
        Columns :data:`SUBGROUP_COLUMNS`; ``n_positive`` counts positive labels
        (NaN for LOS); ``flag`` is ``""``, ``"too_small"`` or ``"one_class"``.
    """
    task = Task.parse(task)
    y, s = to_numpy(y_true, dtype=None), to_numpy(y_score, dtype=None)
    if len(groups) != len(y) or len(s) != len(y):
        raise ValueError(
            f"groups ({len(groups)} rows), y_true ({len(y)}) and y_score ({len(s)}) must align"
        )
    names = list(metrics) if metrics is not None else list(task_spec(task).headline)
    if clusters is None and "stay_id" in groups:
        clusters = groups["stay_id"].to_numpy()
    ids = None if clusters is None else np.asarray(clusters)
    if ids is not None and len(ids) != len(y):
        raise ValueError(f"clusters ({len(ids)} rows) and y_true ({len(y)}) must align")
    columns = [c for c in groups.columns if c != "stay_id"]
    attrs = list(attributes) if attributes is not None else columns
    missing = [a for a in attrs if a not in groups]
    if missing:
        raise KeyError(f"attributes {missing} are not columns of groups {list(groups.columns)}")
    yf = y.astype(float)
    parts = [("all", "all", np.ones(len(y), bool))]
    for attr in attrs:
        col = groups[attr].reset_index(drop=True)
        cats = col.cat.categories if isinstance(col.dtype, pd.CategoricalDtype) else col.unique()
        for g in cats:
            mask = (col == g).to_numpy(bool)
            if mask.any():
                parts.append((attr, str(g), mask))
    rows = []
    for attr, g, mask in parts:
        n = int(mask.sum())
        flag = "too_small" if n < min_size else "one_class" if _one_class(task, yf[mask]) else ""
        res = {}
        if not flag:
            res = task_metrics(
                task,
                y[mask],
                s[mask],
                label_names=label_names,
                per_label=False,
                probabilities=False,
                n_boot=n_boot,
                seed=seed,
                clusters=None if ids is None else ids[mask],
            )
        for m in names:
            r = res.get(m)
            if not flag and r is None:
                raise ValueError(
                    f"metric {m!r} is not computed for {task.value}; have {sorted(res)}"
                )
            rows.append(
                {
                    "attribute": attr,
                    "group": g,
                    "n": n,
                    "n_positive": _positives(task, yf[mask]),
                    "metric": m,
                    "value": r.value if r else np.nan,
                    "ci_low": r.ci_low if r else np.nan,
                    "ci_high": r.ci_high if r else np.nan,
                    "flag": flag,
                }
            )
    return pd.DataFrame(rows, columns=list(SUBGROUP_COLUMNS))


def forest_frame(
    by_group: pd.DataFrame, *, metric: str | None = None, positive_name: str = "positive"
) -> pd.DataFrame:
    """The rows of one metric of :func:`subgroup_metrics`, ready for a forest plot.

    Args:
        by_group: the frame :func:`subgroup_metrics` returns.
        metric: which metric (default: the frame's first).
        positive_name: what a positive label is called in the row labels ("deaths").

    Returns:
        The metric's rows in the frame's order (``all`` first) with ``label``
        ("sex: Female (n=120, 25 deaths)"), ``width`` (``ci_high - ci_low``) and
        ``covers_overall``: whether the group's interval contains the ``all`` value
        (NaN for the ``all`` row and for groups without a value).

    Raises:
        ValueError: the metric is not in the frame, or it has no ``all`` row.
    """
    if by_group.empty:
        raise ValueError("the subgroup frame is empty")
    metric = metric if metric is not None else str(by_group["metric"].iloc[0])
    rows = by_group[by_group["metric"] == metric].reset_index(drop=True)
    if rows.empty:
        raise ValueError(
            f"metric {metric!r} is not in the frame ({sorted(set(by_group['metric']))})"
        )
    overall = rows[rows["attribute"] == "all"]
    if overall.empty:
        raise ValueError("the frame has no 'all' row (the overall value)")
    ref = float(overall["value"].iloc[0])

    def label(r: pd.Series) -> str:
        name = "all test samples" if r["attribute"] == "all" else f"{r['attribute']}: {r['group']}"
        pos = "" if pd.isna(r["n_positive"]) else f", {r['n_positive']:.0f} {positive_name}"
        return f"{name} (n={r['n']}{pos})"

    covers = (rows["ci_low"] <= ref) & (ref <= rows["ci_high"])
    defined = rows["value"].notna() & (rows["attribute"] != "all")
    return rows.assign(
        label=rows.apply(label, axis=1),
        width=rows["ci_high"] - rows["ci_low"],
        covers_overall=covers.astype(object).where(defined, np.nan),
    )


def plot_subgroup_forest(
    by_group: pd.DataFrame,
    *,
    metric: str | None = None,
    positive_name: str = "positive",
    ax: Any = None,
) -> Any:
    """Forest plot: each group's metric with its 95% interval, the overall value as a line.

    Groups without a value (too small, one class) keep their row, with the reason
    written where the point would be, so a figure never hides a group.

    Args:
        by_group: the frame :func:`subgroup_metrics` returns.
        metric: which metric (default: the frame's first).
        positive_name: what a positive label is called in the row labels.
        ax: matplotlib Axes to draw on (a new figure if ``None``).

    Returns:
        The Axes.
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    rows = forest_frame(by_group, metric=metric, positive_name=positive_name)
    if ax is None:
        _, ax = plt.subplots(figsize=(7.5, 0.42 * len(rows) + 1.2))
    attrs = list(dict.fromkeys(rows["attribute"]))
    colours = dict(zip(attrs, sns.color_palette(n_colors=len(attrs)), strict=True))
    ref = float(rows.loc[rows["attribute"] == "all", "value"].iloc[0])
    if np.isfinite(ref):
        ax.axvline(ref, color="grey", ls="--", lw=1, label=f"overall {ref:.3f}")
    y = np.arange(len(rows))[::-1]
    for yi, (_, r) in zip(y, rows.iterrows(), strict=True):
        if pd.isna(r["value"]):
            why = str(r["flag"]).replace("_", " ") or "undefined"
            where = (0.5, yi)  # the middle of the axes, on the group's row
            ax.annotate(
                f"no estimate: {why}",
                where,
                xycoords=("axes fraction", "data"),
                ha="center",
                va="center",
                fontsize=8,
                color="dimgrey",
            )
            continue
        has_ci = np.isfinite(r["ci_low"]) and np.isfinite(r["ci_high"])
        ax.errorbar(
            r["value"],
            yi,
            xerr=[[r["value"] - r["ci_low"]], [r["ci_high"] - r["value"]]] if has_ci else None,
            fmt="D" if r["attribute"] == "all" else "o",
            color=colours[r["attribute"]],
            capsize=3,
            ms=5,
        )
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.set_yticks(y)
    ax.set_yticklabels(rows["label"], fontsize=8)
    ax.set_xlabel(f"{rows['metric'].iloc[0]} (95% bootstrap interval)")
    ax.grid(axis="y", visible=False)
    if np.isfinite(ref):
        ax.legend(fontsize="small", loc="best")
    return ax
