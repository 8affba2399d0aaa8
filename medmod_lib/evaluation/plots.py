"""Figures for the evaluation notebooks: sweep curves, ROC/PR curves, reliability diagram.

Each function draws on ``ax`` (a new figure if ``None``) and returns the Axes;
none calls ``plt.show()``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from sklearn.metrics import precision_recall_curve, roc_curve

from ..metrics import auprc, auroc, reliability_curve
from ..metrics.classification import to_numpy


def _axes(ax: Axes | None, size: tuple[float, float] = (5.0, 4.0)) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=size)
    return ax


def plot_sweep(sweep: pd.DataFrame, *, ax: Axes | None = None, style: str | None = None) -> Axes:
    """Metric against the fraction of dropped X-rays, one line and CI band per model.

    Colour is the model; when ``sweep`` holds several ``test_set`` values
    (paired vs partial), the line style tells them apart.

    Args:
        sweep: rows of :func:`~medmod_lib.evaluation.missing.missing_modality_sweep`,
            several models (and test sets) concatenated.
        ax: where to draw.
        style: column whose values get one line style each (e.g. the drop order
            of two sweeps); default ``test_set`` when it has several values.

    Raises:
        ValueError: the table is empty, or ``style`` is not one of its columns.
    """
    ax = _axes(ax)
    if sweep.empty:
        raise ValueError("the sweep table is empty")
    if style is not None and style not in sweep:
        raise ValueError(f"style column {style!r} is not in the sweep {list(sweep.columns)}")
    models = list(dict.fromkeys(sweep["model"]))
    palette = dict(zip(models, sns.color_palette(n_colors=len(models)), strict=True))
    if style is None:
        style = "test_set" if "test_set" in sweep and sweep["test_set"].nunique() > 1 else None
    sns.lineplot(
        data=sweep,
        x="fraction",
        y="value",
        hue="model",
        style=style,
        palette=palette,
        marker="o",
        ax=ax,
        errorbar=None,
    )
    keys = ["model", style] if style else ["model"]
    styles = list(dict.fromkeys(sweep[style])) if style else []
    for key, part in sweep.groupby(keys, sort=False):
        name = key[0] if isinstance(key, tuple) else key
        part = part.sort_values("fraction")
        # bands of the second and later styles are hatched, so overlapping bands stay apart
        later = bool(style) and styles.index(key[1]) > 0
        ax.fill_between(
            part["fraction"],
            part["ci_low"],
            part["ci_high"],
            facecolor=palette[name] if not later else "none",
            edgecolor=palette[name],
            hatch="///" if later else None,
            alpha=0.2 if not later else 0.35,
            lw=0,
        )
    ax.set_xlabel("fraction of X-rays removed at test time")
    ax.set_ylabel(str(sweep["metric"].iloc[0]))
    ax.set_xlim(0, 1)
    return ax


def plot_label_draws(
    table: pd.DataFrame,
    *,
    reference: Mapping[str, float] | None = None,
    ylabel: str = "test AUROC",
    ax: Axes | None = None,
) -> Axes:
    """Test metric against the share of training labels, one line per encoder, over draws.

    (``medmod_lib.prompts.plots.plot_label_efficiency`` draws one result per share with
    its bootstrap interval instead.)

    Args:
        table: one row per fit: ``encoder``, ``fraction`` (share of the training
            labels), ``draw`` (which seeded subset) and ``value``; the line is the mean
            over draws and the band their range (min to max).
        reference: horizontal dashed lines, label -> value (e.g. a supervised model
            trained on all the labels); at most five.
        ylabel: the metric's name on the y axis.
        ax: where to draw.

    Raises:
        ValueError: the table is empty or lacks one of the columns, or more than five
            reference lines.
    """
    need = {"encoder", "fraction", "draw", "value"}
    if table.empty or need - set(table.columns):
        raise ValueError(f"need a non-empty table with columns {sorted(need)}")
    colours = sns.color_palette("dark", n_colors=8)[3:]
    if len(reference or {}) > len(colours):
        raise ValueError(f"at most {len(colours)} reference lines, got {len(reference)}")
    ax = _axes(ax)
    sns.lineplot(
        data=table,
        x="fraction",
        y="value",
        hue="encoder",
        marker="o",
        errorbar=("pi", 100),
        ax=ax,
    )
    for (label, value), colour in zip((reference or {}).items(), colours, strict=False):
        ax.axhline(value, ls="--", lw=1, color=colour, label=label)
    ax.set_xscale("log")
    shares = sorted(table["fraction"].unique())
    ax.set_xticks(shares, [f"{f:.0%}" for f in shares])
    ax.minorticks_off()
    ax.set_xlabel("share of the training labels (log scale)")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    return ax


def _curves(
    kind: str, models: Mapping[str, tuple[Any, Any]], ax: Axes | None, n_boot: int, seed: int
) -> Axes:
    ax = _axes(ax, (4.5, 4.5))
    for name, (y_true, y_score) in models.items():
        y, s = to_numpy(y_true).ravel(), to_numpy(y_score).ravel()
        if kind == "roc":
            fpr, tpr, _ = roc_curve(y, s)
            r = auroc(y, s, n_boot=n_boot, seed=seed)
            ax.plot(fpr, tpr, label=f"{name}: {r.value:.3f} [{r.ci_low:.3f}, {r.ci_high:.3f}]")
        else:
            prec, rec, _ = precision_recall_curve(y, s)
            r = auprc(y, s, n_boot=n_boot, seed=seed)
            ax.step(
                rec,
                prec,
                where="post",
                label=f"{name}: {r.value:.3f} [{r.ci_low:.3f}, {r.ci_high:.3f}]",
            )
    if kind == "roc":
        ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1)
        ax.set(
            xlabel="false positive rate", ylabel="true positive rate", title="ROC (AUROC, 95% CI)"
        )
    else:
        prevalence = float(np.mean(to_numpy(next(iter(models.values()))[0])))
        ax.axhline(prevalence, ls="--", color="grey", lw=1)
        ax.set(xlabel="recall", ylabel="precision", title="Precision-recall (AUPRC, 95% CI)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize="small", loc="lower right" if kind == "roc" else "upper right")
    return ax


def plot_roc_curves(
    models: Mapping[str, tuple[Any, Any]],
    *,
    ax: Axes | None = None,
    n_boot: int = 200,
    seed: int = 0,
) -> Axes:
    """ROC curves of several models of a binary task, AUROC with CI in the legend.

    Args:
        models: name -> (y_true (n,), y_score (n,)).
        ax: where to draw.
        n_boot, seed: bootstrap settings of the legend's intervals.
    """
    return _curves("roc", models, ax, n_boot, seed)


def plot_pr_curves(
    models: Mapping[str, tuple[Any, Any]],
    *,
    ax: Axes | None = None,
    n_boot: int = 200,
    seed: int = 0,
) -> Axes:
    """Precision-recall curves of several models; the dashed line is the prevalence.

    Args: as in :func:`plot_roc_curves`.
    """
    return _curves("pr", models, ax, n_boot, seed)


def plot_reliability(
    models: Mapping[str, tuple[Any, Any]],
    *,
    thresholds: Mapping[str, float] | None = None,
    n_bins: int = 10,
    strategy: str = "uniform",
    ax: Axes | None = None,
) -> Axes:
    """Reliability diagram: observed fraction against mean predicted probability.

    Each model's points carry 95 % Wilson intervals; an optional alert threshold per
    model is a dotted vertical line in its colour (every stay right of it gets an alert),
    so one figure shows how honest the probabilities are and where the ward acts on them.

    Args:
        models: name -> (y_true (n,), y_prob (n,)) with probabilities in [0, 1].
        thresholds: name -> threshold (NaN or absent: no line).
        n_bins, strategy: as in :func:`medmod_lib.metrics.reliability_curve`
            (``"quantile"``: bins of equal size, better for rare events).
        ax: where to draw.

    Raises:
        ValueError: ``models`` is empty (and as ``reliability_curve`` does for
            probabilities outside [0, 1]).
    """
    if not models:
        raise ValueError("plot_reliability needs at least one model")
    ax = _axes(ax, (4.5, 4.5))
    thresholds = thresholds or {}
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1, label="perfect calibration")
    for name, (y_true, y_prob) in models.items():
        c = reliability_curve(y_true, y_prob, n_bins=n_bins, strategy=strategy)
        # the Wilson bounds of a bin with no (or only) events equal the point up to rounding
        below = np.clip(c["observed"] - c["observed_low"], 0.0, None)
        above = np.clip(c["observed_high"] - c["observed"], 0.0, None)
        line = ax.errorbar(
            c["mean_predicted"],
            c["observed"],
            yerr=np.vstack([below, above]),
            marker="o",
            capsize=2,
            label=name,
        )
        t = thresholds.get(name)
        if t is not None and np.isfinite(t):
            ax.axvline(t, ls=":", lw=1.2, color=line.lines[0].get_color())
    ax.set(
        xlabel="mean predicted probability",
        ylabel="observed fraction of positives",
        xlim=(0, 1),
        ylim=(0, 1),
    )
    if thresholds:
        ax.plot([], [], ls=":", color="black", lw=1.2, label="alert threshold")
    ax.legend(fontsize="small", loc="upper left")
    return ax
