"""Figures of notebook 06: retrieval against chance, methods side by side with intervals."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import pandas as pd


def plot_retrieval(table: pd.DataFrame, *, ax: plt.Axes | None = None) -> plt.Figure:
    """Recall@k of X-ray -> prompt retrieval (from :func:`recall_at_k`) next to chance."""
    if ax is None:
        fig, ax = plt.subplots(figsize=(4.5, 3.2))
    else:
        fig = ax.figure
    ax.plot(table["k"], table["recall"], marker="o", label="prompt-clip")
    ax.plot(table["k"], table["chance"], ls="--", color="grey", label="chance")
    n, m = int(table["n"].iloc[0]), int(table["candidates"].iloc[0])
    ax.set(
        xlabel="k",
        ylabel="recall@k",
        ylim=(0, 1.02),
        title=f"X-ray -> prompt retrieval ({n} X-rays, {m} prompts)",
    )
    ax.legend(frameon=False)
    fig.tight_layout()
    return fig


def plot_method_comparison(
    rows: pd.DataFrame,
    metrics: Mapping[str, str],
    *,
    order: Sequence[str] | None = None,
) -> plt.Figure:
    """One panel per task: each method's test metric with its bootstrap interval.

    Args:
        rows: tidy result rows (``task, method, metric, value, ci_low, ci_high, n``).
        metrics: ``{task: metric}`` to show, e.g. ``{"radiology": "auroc_macro"}``.
        order: methods top to bottom (default: as they appear).
    """
    tasks = [t for t in metrics if ((rows["task"] == t) & (rows["metric"] == metrics[t])).any()]
    if not tasks:
        raise ValueError(
            f"no rows for {dict(metrics)}; tasks in the table: {sorted(set(rows['task']))}"
        )
    fig, axes = plt.subplots(
        1,
        len(tasks),
        figsize=(4.2 * len(tasks), 0.5 + 0.55 * rows["method"].nunique()),
        squeeze=False,
    )
    for ax, task in zip(axes[0], tasks, strict=True):
        sub = rows[(rows["task"] == task) & (rows["metric"] == metrics[task])]
        methods = [m for m in (order or sub["method"].unique()) if m in set(sub["method"])]
        sub = sub.set_index("method").loc[methods]
        y = range(len(methods))[::-1]
        lo = (sub["value"] - sub["ci_low"]).clip(lower=0)
        hi = (sub["ci_high"] - sub["value"]).clip(lower=0)
        ax.errorbar(sub["value"], list(y), xerr=[lo, hi], fmt="o", capsize=3)
        ax.axvline(0.5, color="grey", ls=":", lw=1)
        ax.set_yticks(list(y), methods)
        n = int(sub["n"].iloc[0]) if len(sub) else 0
        ax.set(xlabel=f"test {metrics[task]} (95% CI)", title=f"{task} (n={n})")
    fig.tight_layout()
    return fig
