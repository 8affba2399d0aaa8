"""A run's summary from its tidy tables: claims, headline tables and readable figures.

The runner's index page (:func:`medmod_lib.runner.report.write_index`) and
notebook ``05_report`` show the same summary, built here from
``results.csv`` and ``claims.csv``:

- :func:`claims_overview`: one row per claim, its verdict on each seed;
- :func:`headline_tables`: per task, one row per model and one column per test
  set, the task's monitored metric with its 95 % interval;
- :func:`forest_figure`: per task, one panel per test set (models as rows);
- :func:`sweep_figure`: the missing-modality curves (``<metric>@missing<percent>`` rows);
- :func:`pretraining_figure`: notebook 02's probe on pretrained vs random encoders.

Figures wrap their panels (at most :data:`MAX_PANELS_PER_ROW` per row) and stay
narrower than :data:`MAX_FIGURE_PX` pixels at :data:`FIGURE_DPI`, whatever the
number of methods, seeds or test sets.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

#: Panels per row of a summary figure, and the widest figure allowed (pixels).
MAX_PANELS_PER_ROW = 4
MAX_FIGURE_PX = 2400
FIGURE_DPI = 100
_PANEL_IN = 5.0
_SWEEP = re.compile(r"^(?P<metric>.+)@missing(?P<percent>\d+)$")


def headline_metric(task: str) -> str | None:
    """The task's monitored metric (``TaskSpec.monitor``); None if unknown."""
    from ..tasks import task_spec

    try:
        return task_spec(task).monitor
    except ValueError:  # a notebook's own task name: no headline metric to pick
        return None


def _model(frame: pd.DataFrame) -> pd.Series:
    return (
        frame["method"].astype(str)
        + "/"
        + frame["protocol"].astype(str)
        + "/"
        + frame["modality"].astype(str)
    )


def _fmt(v: float, lo: float, hi: float) -> str:
    if not np.isfinite(v):
        return ""
    if np.isfinite(lo) and np.isfinite(hi):
        return f"{v:.3f} [{lo:.3f}, {hi:.3f}]"
    return f"{v:.3f}"


def headline_rows(results: pd.DataFrame) -> pd.DataFrame:
    """Rows of each task's monitored metric with a test set (no sweep or probe-only rows)."""
    if results.empty:
        return results
    want = results["task"].map(headline_metric)
    rows = results[(results["metric"] == want) & results["ci_low"].notna()].copy()
    rows["model"] = _model(rows)
    if "test_set" not in rows or rows["test_set"].isna().all():
        rows["test_set"] = "test"
    rows["test_set"] = rows["test_set"].fillna("test").astype(str)
    return rows


def headline_tables(results: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Per task: models x test sets, ``value [ci_low, ci_high]`` of the monitored metric.

    With several seeds, the cell shows the mean over seeds, the range of the
    values and the number of seeds instead of one interval.
    """
    rows = headline_rows(results)
    out: dict[str, pd.DataFrame] = {}
    if rows.empty:
        return out
    for task, part in rows.groupby("task", sort=False):
        cells = []
        for (model, test_set), g in part.groupby(["model", "test_set"], sort=False):
            if len(g) == 1:
                r = g.iloc[0]
                text = _fmt(r["value"], r["ci_low"], r["ci_high"])
            else:
                v = g["value"].to_numpy(float)
                text = f"{v.mean():.3f} (seeds {v.min():.3f}-{v.max():.3f}, {len(v)} seeds)"
            cells.append(
                {"model": model, "test_set": test_set, "cell": text, "v": g["value"].mean()}
            )
        frame = pd.DataFrame(cells)
        order = frame.groupby("model")["v"].max().sort_values(ascending=False).index
        table = frame.pivot(index="model", columns="test_set", values="cell").reindex(order)
        table.columns.name = f"{headline_metric(task)} (test set)"
        out[task] = table.fillna("")
    return out


def claims_overview(claims: pd.DataFrame) -> pd.DataFrame:
    """One row per claim: statement, test set and, per seed, ``diff [ci] verdict``; then a tally."""
    if claims.empty:
        return pd.DataFrame(columns=["task", "claim", "test set", "held"])
    rows = []
    for (task, statement, test_set), g in claims.groupby(
        ["task", "statement", "test_set"], sort=False
    ):
        row = {"task": task, "claim": statement, "test set": test_set}
        for r in g.sort_values("seed").itertuples():
            row[f"seed {r.seed}"] = f"{r.diff:+.3f} [{r.ci_low:+.3f}, {r.ci_high:+.3f}] {r.verdict}"
        row["held"] = f"{int((g['verdict'] == 'held').sum())} of {len(g)} seeds"
        rows.append(row)
    return pd.DataFrame(rows)


def _grid(n_panels: int, height: float):
    import matplotlib.pyplot as plt

    ncols = max(1, min(MAX_PANELS_PER_ROW, n_panels))
    nrows = max(1, math.ceil(n_panels / ncols))
    width = min(_PANEL_IN * ncols, MAX_FIGURE_PX / FIGURE_DPI)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(width, height * nrows), squeeze=False, dpi=FIGURE_DPI
    )
    for ax in axes.flat[n_panels:]:
        ax.set_visible(False)
    return fig, list(axes.flat[:n_panels])


def forest_figure(results: pd.DataFrame, task: str):
    """A forest plot of one task: one panel per test set, models as rows, 95 % intervals.

    Returns:
        The matplotlib figure, or None when the task has no headline rows.
    """
    rows = headline_rows(results)
    rows = rows[rows["task"] == task]
    if rows.empty:
        return None
    test_sets = list(dict.fromkeys(rows["test_set"]))
    n_models = rows["model"].nunique()
    fig, axes = _grid(len(test_sets), height=1.2 + 0.32 * n_models)
    for ax, test_set in zip(axes, test_sets, strict=True):
        part = rows[rows["test_set"] == test_set]
        means = part.groupby("model")["value"].mean().sort_values()
        y = {m: i for i, m in enumerate(means.index)}
        seeds = sorted(part["seed"].unique())
        offsets = np.linspace(-0.25, 0.25, len(seeds)) if len(seeds) > 1 else [0.0]
        for off, seed in zip(offsets, seeds, strict=True):
            s = part[part["seed"] == seed]
            ys = s["model"].map(y).to_numpy(float) + off
            err = [
                (s["value"] - s["ci_low"]).clip(lower=0).to_numpy(float),
                (s["ci_high"] - s["value"]).clip(lower=0).to_numpy(float),
            ]
            ax.errorbar(s["value"], ys, xerr=err, fmt="o", capsize=3, ms=4, label=f"seed {seed}")
        ax.set_yticks(range(len(y)), list(y))
        n = int(part["n"].max())
        ax.set_title(f"{test_set} test set (n={n})", fontsize=10)
        ax.set_xlabel(headline_metric(task))
        if len(seeds) > 1:
            ax.legend(fontsize=7, loc="lower right")
    fig.suptitle(f"{task}: {headline_metric(task)} with 95% bootstrap intervals")
    fig.tight_layout()
    return fig


def sweep_rows(results: pd.DataFrame) -> pd.DataFrame:
    """The ``<metric>@missing<percent>`` rows with ``fraction`` (0-1) and ``trained_on``."""
    if results.empty:
        return results
    match = results["metric"].astype(str).str.extract(_SWEEP)
    rows = results[match["metric"].notna()].copy()
    rows["fraction"] = match.loc[rows.index, "percent"].astype(float) / 100
    rows["trained_on"] = rows["protocol"].astype(str).str.replace("supervised_", "", regex=False)
    rows["test_set"] = rows["test_set"].fillna("test").astype(str)
    return rows


def sweep_figure(results: pd.DataFrame):
    """Missing-modality curves: one panel per (task, trained on, test set), one line per model.

    Returns:
        The figure, or None when the run has no sweep rows.
    """
    rows = sweep_rows(results)
    if rows.empty:
        return None
    keys = list(dict.fromkeys(zip(rows["task"], rows["trained_on"], rows["test_set"], strict=True)))
    fig, axes = _grid(len(keys), height=3.6)
    for ax, (task, trained_on, test_set) in zip(axes, keys, strict=True):
        part = rows[
            (rows["task"] == task)
            & (rows["trained_on"] == trained_on)
            & (rows["test_set"] == test_set)
        ]
        for model, g in part.groupby("method", sort=False):
            g = g.groupby("fraction")[["value", "ci_low", "ci_high"]].mean().sort_index()
            x = 100 * g.index.to_numpy(float)
            ax.plot(x, g["value"], marker="o", ms=3, label=model)
            ax.fill_between(x, g["ci_low"], g["ci_high"], alpha=0.15)
        ax.set_title(f"{task}\ntrained {trained_on}, {test_set} test set", fontsize=9)
        ax.set_xlabel("% of X-rays removed at test time")
        ax.set_ylabel(headline_metric(task))
        ax.legend(fontsize=7)
    fig.suptitle("Missing X-rays at test time (band: 95% CI)")
    fig.tight_layout()
    return fig


def pretraining_figure(results: pd.DataFrame):
    """Notebook 02's probe AUROC on held-out pairs: pretrained vs random encoders, per seed.

    Returns:
        The figure, or None when the run has no pretraining rows.
    """
    if results.empty:
        return None
    rows = results[results["protocol"] == "pretrain-probe"]
    wanted = {"held_out_auroc": "pretrained", "random_init_held_out_auroc": "random init"}
    rows = rows[rows["metric"].isin(wanted)]
    if rows.empty:
        return None
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 1.2 + 0.5 * rows["method"].nunique()), dpi=FIGURE_DPI)
    methods = list(dict.fromkeys(rows["method"]))
    for i, method in enumerate(methods):
        part = rows[rows["method"] == method]
        for metric, label in wanted.items():
            v = part[part["metric"] == metric]
            ax.scatter(
                v["value"],
                np.full(len(v), i),
                marker="o" if label == "pretrained" else "x",
                color="C0" if label == "pretrained" else "C3",
                label=label if i == 0 else None,
            )
    ax.set_yticks(range(len(methods)), methods)
    ax.set_xlabel("linear-probe AUROC, in-hospital mortality (held-out pairs; one mark per seed)")
    ax.legend(fontsize=8)
    ax.set_title("Pretrained vs random encoders (notebook 02)")
    fig.tight_layout()
    return fig


def save_figures(results: pd.DataFrame, folder: str | Path) -> list[Path]:
    """Write every summary figure of a run as PNG into ``folder``; returns the paths."""
    import matplotlib.pyplot as plt

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    figures: list[tuple[str, object]] = []
    tasks = list(dict.fromkeys(headline_rows(results)["task"])) if not results.empty else []
    figures += [(f"forest_{t}", forest_figure(results, t)) for t in tasks]
    figures += [("missing_modality", sweep_figure(results))]
    figures += [("pretraining", pretraining_figure(results))]
    written = []
    for name, fig in figures:
        if fig is None:
            continue
        path = folder / f"{name}.png"
        fig.savefig(path, dpi=FIGURE_DPI)
        plt.close(fig)
        written.append(path)
    return written


def figure_names(paths: Sequence[Path]) -> list[str]:
    """Captions for :func:`save_figures`' files, in order."""
    names = []
    for p in paths:
        stem = Path(p).stem
        if stem.startswith("forest_"):
            names.append(f"{stem[7:]}: every model on every test set")
        elif stem == "missing_modality":
            names.append("Missing-modality curves")
        else:
            names.append("Does pretraining help the probe?")
    return names
