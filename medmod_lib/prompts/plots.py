"""Figures of notebook 06: training curves, retrieval against chance, label efficiency."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd


def _error_bars(value: pd.Series, low: pd.Series, high: pd.Series) -> list[pd.Series]:
    """``yerr``/``xerr`` of an interval around ``value`` (lengths below and above, >= 0)."""
    return [(value - low).clip(lower=0), (high - value).clip(lower=0)]


def plot_retrieval(table: pd.DataFrame, *, ax: plt.Axes | None = None) -> plt.Figure:
    """Recall@k (from :func:`recall_at_k`) with its 95 % interval, next to chance."""
    if ax is None:
        fig, ax = plt.subplots(figsize=(4.5, 3.2))
    else:
        fig = ax.figure
    rec = table["recall"]
    err = None
    if {"ci_low", "ci_high"} <= set(table):
        err = _error_bars(rec, table["ci_low"], table["ci_high"])
    ax.errorbar(table["k"], rec, yerr=err, marker="o", capsize=3, label="prompt-clip")
    ax.plot(table["k"], table["chance"], ls="--", color="grey", label="chance")
    n, m = int(table["n"].iloc[0]), float(table["candidates"].iloc[0])
    direction = table["direction"].iloc[0] if "direction" in table else "image->text"
    query, target = direction.split("->")
    ax.set(
        xlabel="k",
        ylabel="recall@k",
        ylim=(0, min(1.02, max(0.2, float(table["ci_high"].max()) * 1.3 if err else 1.02))),
        title=f"{query} -> {target} retrieval\n{n} queries, {m:.0f} candidates each",
    )
    ax.legend(frameon=False)
    fig.tight_layout()
    return fig


def plot_training_curves(log: pd.DataFrame, *, batch_size: int) -> plt.Figure:
    """Per-step CLIP loss against its chance level, and the learnable temperature.

    Args:
        log: a pretraining ``log.csv`` (rows with ``split == "train_step"``: ``step``,
            ``loss``, ``temperature``; ``split == "val"``: ``val_loss``).
        batch_size: pairs per step; with B pairs, an encoder that learned nothing scores
            the symmetric InfoNCE at its chance level log(B).
    """
    steps = log[log["split"] == "train_step"]
    if steps.empty:
        raise ValueError("the log has no per-step rows (split == 'train_step')")
    fig, (ax_loss, ax_temp) = plt.subplots(1, 2, figsize=(9, 3.2))
    smooth = steps["loss"].rolling(max(1, len(steps) // 20), min_periods=1).mean()
    ax_loss.plot(steps["step"], steps["loss"], color="C0", alpha=0.25, lw=0.8, label="step")
    ax_loss.plot(steps["step"], smooth, color="C0", label="running mean")
    val = log[(log["split"] == "val") & log.get("val_loss", pd.Series(dtype=float)).notna()]
    if len(val):
        ax_loss.plot(val["step"], val["val_loss"], "o-", color="C1", label="validation")
    ax_loss.axhline(np.log(batch_size), color="grey", ls="--", label=f"chance log({batch_size})")
    ax_loss.set(xlabel="optimizer step", ylabel="CLIP loss", title="loss")
    ax_loss.legend(frameon=False, fontsize=8)
    ax_temp.plot(steps["step"], steps["temperature"], color="C2")
    ax_temp.set(xlabel="optimizer step", ylabel="temperature", title="learnable temperature")
    fig.tight_layout()
    return fig


def plot_label_efficiency(
    rows: pd.DataFrame,
    metrics: Mapping[str, str],
    *,
    order: Sequence[str] | None = None,
) -> plt.Figure:
    """One panel per task: test metric (95 % CI) of each method against the share of labels.

    Args:
        rows: tidy rows with ``label_fraction`` (0-1], ``task, method, metric, value,
            ci_low, ci_high``.
        metrics: ``{task: metric}`` to show.
        order: methods in the legend (default: as they appear).
    """
    tasks = [t for t in metrics if ((rows["task"] == t) & (rows["metric"] == metrics[t])).any()]
    if not tasks:
        raise ValueError(f"no rows for {dict(metrics)}")
    fig, axes = plt.subplots(1, len(tasks), figsize=(4.6 * len(tasks), 3.6), squeeze=False)
    for ax, task in zip(axes[0], tasks, strict=True):
        sub = rows[(rows["task"] == task) & (rows["metric"] == metrics[task])]
        methods = [m for m in (order or sub["method"].unique()) if m in set(sub["method"])]
        for k, method in enumerate(methods):
            line = sub[sub["method"] == method].sort_values("label_fraction")
            x = line["label_fraction"] * 100 * (1 + 0.03 * (k - len(methods) / 2))  # dodge
            err = _error_bars(line["value"], line["ci_low"], line["ci_high"])
            ax.errorbar(x, line["value"], yerr=err, marker="o", capsize=2, label=method)
        ax.set_xscale("log")
        fractions = sorted(sub["label_fraction"].unique())
        ax.set_xticks([f * 100 for f in fractions], [f"{f * 100:g}%" for f in fractions])
        ax.set(xlabel="training labels used", ylabel=f"test {metrics[task]} (95% CI)", title=task)
    axes[0][-1].legend(frameon=False, fontsize=8, loc="center left", bbox_to_anchor=(1, 0.5))
    fig.tight_layout()
    return fig
