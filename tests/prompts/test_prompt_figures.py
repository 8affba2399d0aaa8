"""Notebook 06's figures draw what their data says (chance line, one line per method)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest

from medmod_lib.prompts.plots import plot_label_efficiency, plot_retrieval, plot_training_curves


def test_training_curves_show_the_chance_level_and_the_temperature():
    steps = pd.DataFrame(
        {"epoch": 1, "step": np.arange(1, 11), "split": "train_step",
         "loss": np.linspace(3.6, 3.0, 10), "temperature": np.linspace(0.07, 0.08, 10)}
    )  # fmt: skip
    val = pd.DataFrame({"epoch": [1], "step": [10], "split": ["val"], "val_loss": [3.2]})
    fig = plot_training_curves(pd.concat([steps, val], ignore_index=True), batch_size=32)
    loss_ax, temp_ax = fig.axes
    chance = [ln for ln in loss_ax.lines if ln.get_linestyle() == "--"]
    assert len(chance) == 1 and chance[0].get_ydata()[0] == pytest.approx(np.log(32))
    assert temp_ax.lines[0].get_ydata()[-1] == pytest.approx(0.08)
    with pytest.raises(ValueError, match="per-step"):
        plot_training_curves(val, batch_size=32)


def test_label_efficiency_draws_one_line_per_method_and_task_panel():
    rows = pd.DataFrame(
        [
            {"task": t, "method": m, "metric": "auroc", "label_fraction": f,
             "value": 0.6 + 0.1 * f, "ci_low": 0.5, "ci_high": 0.8}
            for t in ("in-hospital-mortality", "radiology")
            for m in ("prompt-clip", "random-init")
            for f in (0.1, 0.25, 1.0)
        ]
    )  # fmt: skip
    fig = plot_label_efficiency(rows, {"in-hospital-mortality": "auroc", "radiology": "auroc"})
    assert len(fig.axes) == 2
    assert all(len(ax.containers) == 2 for ax in fig.axes)  # one errorbar series per method
    with pytest.raises(ValueError):
        plot_label_efficiency(rows, {"phenotyping": "auroc_macro"})


def test_retrieval_figure_names_the_direction_and_pool():
    table = pd.DataFrame(
        {"k": [1, 5], "recall": [0.05, 0.2], "ci_low": [0.03, 0.17], "ci_high": [0.07, 0.23],
         "chance": [0.02, 0.1], "n": [400, 400], "candidates": [50.0, 50.0],
         "direction": ["text->image"] * 2}
    )  # fmt: skip
    ax = plot_retrieval(table).axes[0]
    assert "text -> image" in ax.get_title() and "50 candidates" in ax.get_title()
    assert list(ax.lines[-1].get_ydata()) == [0.02, 0.1]  # the chance line
