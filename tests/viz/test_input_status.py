"""medmod_lib.viz.inputs: which cells of the hourly input were measured, carried or defaulted."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from reference_discretizer import Discretizer  # noqa: E402

from medmod_lib.ehr.discretizer import header  # noqa: E402
from medmod_lib.reference import channels  # noqa: E402
from medmod_lib.viz.inputs import (  # noqa: E402
    CARRIED,
    MEASURED,
    NORMAL,
    OFF,
    input_status,
    measured_share,
    plot_input_status,
    status_summary,
)

HR, GCS_EYE = "Heart Rate", "Glascow coma scale eye opening"


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture
def stay() -> np.ndarray:
    """6 hourly bins: heart rate at hours 2 and 4 (bins 1, 3), GCS eye at hour 3 (bin 2)."""
    frame = pd.DataFrame({"Hours": [2.0, 3.0, 4.0]})
    for c in channels():
        frame[c] = ""
    frame[HR] = ["80", "", "95"]
    frame[GCS_EYE] = ["", "To Speech", ""]
    data, _ = Discretizer(impute_strategy="previous", store_masks=True).transform(frame, end=6)
    return data


def test_status_follows_the_masks_and_previous_imputation(stay):
    cols = header()
    status = input_status(stay, cols)
    assert status.shape == (6, 76)
    hr = status[:, cols.index(HR)]
    assert hr.tolist() == [NORMAL, MEASURED, CARRIED, MEASURED, CARRIED, CARRIED]
    assert status[:, cols.index(f"mask->{HR}")].tolist() == [OFF, 3, OFF, 3, OFF, OFF]
    # one-hot: only the hot column carries the status; the normal value is "4 Spontaneously"
    speech = status[:, cols.index(f"{GCS_EYE}->To Speech")]
    normal = status[:, cols.index(f"{GCS_EYE}->4 Spontaneously")]
    assert speech.tolist() == [OFF, OFF, MEASURED, CARRIED, CARRIED, CARRIED]
    assert normal.tolist() == [NORMAL, NORMAL, OFF, OFF, OFF, OFF]
    # a channel never measured is at its normal value in every bin
    assert set(status[:, cols.index("pH")]) == {NORMAL}


def test_status_summary_counts_hours_per_channel(stay):
    summary = status_summary(stay, header())
    assert summary.loc[HR].tolist() == [2, 3, 1]
    assert summary.loc[GCS_EYE].tolist() == [1, 3, 2]
    assert (summary.sum(axis=1) == 6).all() and list(summary.index) == channels()


def test_status_rejects_a_header_of_another_width(stay):
    with pytest.raises(ValueError, match=r"\(T, 75\)"):
        input_status(stay, header()[:-1])
    with pytest.raises(ValueError, match="store_masks"):
        input_status(stay[:, :59], header(store_masks=False))


def test_measured_share_pools_hours(stay):
    share = measured_share([stay, stay[:2]])
    assert share[HR] == pytest.approx(3 / 8) and share["pH"] == 0.0
    with pytest.raises(ValueError):
        measured_share([])


def test_heatmap_draws_every_cell_and_labels_both_blocks(stay):
    fig = plot_input_status(stay, header(), title="toy stay")
    ax = fig.axes[0]
    mesh = ax.collections[0]
    assert np.asarray(mesh.get_array()).size == 6 * 76
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert len(labels) == 2 * 17 and "Heart Rate" in labels and "GCS eye opening" in labels
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("carried forward" in t for t in legend) and len(legend) == 4
