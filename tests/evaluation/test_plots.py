"""The figures draw what they are given and return their Axes."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from medmod_lib.evaluation import (
    plot_label_draws,
    plot_pr_curves,
    plot_reliability,
    plot_roc_curves,
    plot_sweep,
)


def _models():
    rng = np.random.default_rng(0)
    y = (rng.random(200) < 0.3).astype(float)
    return {
        "good": (y, np.clip(0.5 * y + 0.5 * rng.random(200), 0, 1)),
        "random": (y, rng.random(200)),
    }


def test_curves_and_reliability() -> None:
    models = _models()
    ax = plot_roc_curves(models, n_boot=20)
    assert (
        len(ax.get_legend().get_texts()) == 2
        and "good: " in ax.get_legend().get_texts()[0].get_text()
    )
    ax = plot_pr_curves(models, n_boot=20)
    assert ax.get_xlabel() == "recall"
    ax = plot_reliability(models, n_bins=5)
    assert len(ax.get_legend().get_texts()) == 3
    plt.close("all")


def test_sweep_plot_has_a_line_and_band_per_model() -> None:
    rows = []
    for model, drop in (("fusion", 0.2), ("ehr", 0.0)):
        for f in (0.0, 0.5, 1.0):
            v = 0.8 - drop * f
            rows.append(
                {
                    "model": model,
                    "fraction": f,
                    "metric": "auroc",
                    "value": v,
                    "ci_low": v - 0.03,
                    "ci_high": v + 0.03,
                }
            )
    ax = plot_sweep(pd.DataFrame(rows))
    assert len(ax.collections) >= 2  # the two CI bands
    assert {t.get_text() for t in ax.get_legend().get_texts()} >= {"fusion", "ehr"}
    plt.close("all")


def test_sweep_plot_styles_test_sets() -> None:
    rows = [
        {
            "model": "fusion",
            "test_set": ts,
            "fraction": f,
            "metric": "auroc",
            "value": 0.8 - f * d,
            "ci_low": 0.7,
            "ci_high": 0.9,
        }
        for ts, d in (("paired", 0.2), ("partial", 0.1))
        for f in (0.0, 1.0)
    ]
    ax = plot_sweep(pd.DataFrame(rows))
    labels = {t.get_text() for t in ax.get_legend().get_texts()}
    assert {"paired", "partial"} <= labels
    plt.close("all")


def test_sweep_plot_styles_a_named_column_and_rejects_an_unknown_one() -> None:
    rows = [
        {
            "model": "fusion",
            "test_set": "paired",
            "order": order,
            "fraction": f,
            "metric": "auroc",
            "value": 0.8 - f * d,
            "ci_low": 0.7,
            "ci_high": 0.9,
        }
        for order, d in (("random", 0.2), ("least sick first", 0.1))
        for f in (0.0, 1.0)
    ]
    ax = plot_sweep(pd.DataFrame(rows), style="order")
    labels = {t.get_text() for t in ax.get_legend().get_texts()}
    assert {"random", "least sick first"} <= labels
    bands = [c for c in ax.collections if c.get_hatch() is not None or c.get_alpha() == 0.2]
    assert len(bands) >= 2  # one band per (model, order)
    assert [c.get_hatch() for c in bands] == [None, "///"]  # the second order's band is hatched
    import pytest

    with pytest.raises(ValueError, match="style column"):
        plot_sweep(pd.DataFrame(rows), style="nope")
    plt.close("all")


def test_label_efficiency_plot_draws_mean_band_and_reference() -> None:
    rows = [
        {"encoder": enc, "fraction": f, "draw": d, "value": base + 0.1 * f + 0.01 * d}
        for enc, base in (("vicreg", 0.7), ("random", 0.6))
        for f in (0.1, 0.5, 1.0)
        for d in range(3)
    ]
    ax = plot_label_draws(pd.DataFrame(rows), reference={"joint (all labels)": 0.8})
    curves = [line for line in ax.get_lines() if len(line.get_xdata()) == 3]  # hue order
    assert len(curves) == 2
    # the mean over draws at 10 %: 0.7 + 0.01 + 0.01 (draws 0, 1, 2 add 0, .01, .02)
    y = dict(zip(curves[0].get_xdata(), curves[0].get_ydata(), strict=True))
    assert np.isclose(y[0.1], 0.72)
    ref = [line for line in ax.get_lines() if line.get_label() == "joint (all labels)"]
    assert len(ref) == 1 and np.allclose(ref[0].get_ydata(), 0.8)
    assert {t.get_text() for t in ax.get_legend().get_texts()} >= {"vicreg", "random"}
    assert ax.get_xscale() == "log" and [t.get_text() for t in ax.get_xticklabels()] == [
        "10%",
        "50%",
        "100%",
    ]
    assert len(ax.collections) >= 2  # a band (range over draws) per encoder
    plt.close("all")
    with pytest.raises(ValueError, match="columns"):
        plot_label_draws(pd.DataFrame({"encoder": ["a"], "value": [0.5]}))
