"""The reliability diagram: empty bins draw, alert thresholds in the model colour."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from medmod_lib.evaluation import plot_reliability  # noqa: E402
from medmod_lib.metrics import reliability_curve  # noqa: E402


def _rare_events(n: int = 60, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    p = rng.random(n) * 0.6
    y = (rng.random(n) < p).astype(float)
    y[np.argsort(p)[: n // 3]] = 0  # the lowest-risk third: no event (observed 0 in its bins)
    return y, p


def test_points_are_the_reliability_curve_and_bins_without_events_draw():
    y, p = _rare_events()
    ax = plot_reliability({"model": (y, p)}, n_bins=5, strategy="quantile")
    curve = reliability_curve(y, p, n_bins=5, strategy="quantile")
    assert (curve["observed"] == 0).any()  # the case whose interval rounds below the point
    points = ax.lines[1]  # after the diagonal
    np.testing.assert_allclose(np.asarray(points.get_xdata(), float), curve["mean_predicted"])
    np.testing.assert_allclose(np.asarray(points.get_ydata(), float), curve["observed"])
    plt.close(ax.figure)


def test_thresholds_are_vertical_lines_in_the_model_colour():
    y, p = _rare_events()
    ax = plot_reliability(
        {"a": (y, p), "b": (y, p**2)},
        thresholds={"a": 0.3, "b": float("nan")},
        n_bins=4,
    )
    vertical = [ln for ln in ax.lines if len(set(ln.get_xdata())) == 1 and ln.get_xdata()[0] == 0.3]
    assert len(vertical) == 1
    assert vertical[0].get_color() == ax.lines[1].get_color()  # model a's colour
    labels = ax.get_legend_handles_labels()[1]
    assert {"alert threshold", "a", "b", "perfect calibration"} == set(labels)
    plt.close(ax.figure)


def test_no_model_raises():
    with pytest.raises(ValueError, match="at least one model"):
        plot_reliability({})
