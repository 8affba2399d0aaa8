"""Reliability diagram with each model's alert threshold: calibration meets operating points.

:func:`plot_calibration` draws, per model, the observed fraction of positives
against the mean predicted probability (:func:`medmod_lib.metrics.reliability_curve`,
95% Wilson intervals) and, optionally, a vertical line at the threshold the model
alerts at: every stay right of its line gets an alert, so the plot shows both how
honest the probabilities are and where the ward acts on them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes

from ..metrics import reliability_curve


def plot_calibration(
    models: Mapping[str, tuple[Any, Any]],
    *,
    thresholds: Mapping[str, float] | None = None,
    n_bins: int = 10,
    strategy: str = "uniform",
    ax: Axes | None = None,
) -> Axes:
    """Reliability diagram of several models, with an optional alert threshold per model.

    Args:
        models: name -> (y_true (n,), y_prob (n,)) with probabilities in [0, 1].
        thresholds: name -> threshold, drawn as a dotted vertical line in the
            model's colour (NaN or absent: no line).
        n_bins, strategy: as in :func:`medmod_lib.metrics.reliability_curve`
            (``"quantile"``: bins of equal size, better for rare events).
        ax: where to draw (a new 5 x 5 figure if ``None``).

    Returns:
        The Axes.

    Raises:
        ValueError: if ``models`` is empty (and as ``reliability_curve`` does for
            probabilities outside [0, 1]).
    """
    if not models:
        raise ValueError("plot_calibration needs at least one model")
    if ax is None:
        _, ax = plt.subplots(figsize=(5.0, 5.0))
    thresholds = thresholds or {}
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1, label="perfect calibration")
    for name, (y_true, y_prob) in models.items():
        c = reliability_curve(y_true, y_prob, n_bins=n_bins, strategy=strategy)
        # the Wilson bounds of an empty or full bin equal the point up to rounding
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
