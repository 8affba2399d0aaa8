"""plot_flow: each task's panel is scaled to its own counts."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from medmod_lib.linking.report import plot_flow  # noqa: E402


def test_small_and_large_cohorts_get_their_own_x_scale():
    rows = [
        ("linking", task, step, "all", n)
        for task, counts in {"ihm/paired": [60, 20], "dec/paired": [9000, 6000]}.items()
        for step, n in zip(["samples", "linked"], counts, strict=True)
    ]
    table = pd.DataFrame(rows, columns=["stage", "task", "step", "split", "count"])
    grid = plot_flow(table)
    small, large = (ax.get_xlim()[1] for ax in grid.axes.flat)
    assert 60 <= small < 100 and large >= 9000
    plt.close(grid.figure)
