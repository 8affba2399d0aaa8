"""medmod_lib.viz: figures checked by their artists (lines, markers, images, titles)."""

from __future__ import annotations

import json

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from medmod_lib import viz  # noqa: E402
from medmod_lib.ehr.processed import ProcessedEHR  # noqa: E402
from medmod_lib.linking import LinkingRule  # noqa: E402
from medmod_lib.linking.cohort import Cohort  # noqa: E402
from medmod_lib.reference import CHEXPERT_LABELS, Task, channels, phenotypes  # noqa: E402

T0 = pd.Timestamp("2180-07-23 14:00:00")
H = pd.Timedelta(hours=1)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture
def ehr(tmp_path) -> ProcessedEHR:
    """Two stays: 101 (subject 1, 24 h, died) and 102 (subject 2, 48 h)."""
    root = tmp_path / "processed"
    (root / "tasks").mkdir(parents=True)
    (root / "manifest.json").write_text(json.dumps({}))
    stays = pd.DataFrame(
        {
            "subject_id": [1, 2],
            "stay_id": [101, 102],
            "intime": [T0, T0],
            "outtime": [T0 + 24 * H, T0 + 48 * H],
            "los": [1.0, 2.0],
            "mortality_inunit": [0, 0],
            "mortality_inhospital": [1, 0],
        }
    )
    stays.to_parquet(root / "stays.parquet")
    ts = pd.DataFrame({"stay_id": [102, 101, 101, 101], "Hours": [1.0, 2.0, 0.5, 5.0]})
    for c in channels():
        ts[c] = ""
    ts["Heart Rate"] = ["70", "90", "80", ""]
    ts["Oxygen saturation"] = ["", "", "97", "95"]
    ts.to_parquet(root / "timeseries.parquet")
    pheno = pd.DataFrame({"stay_id": [101], "subject_id": [1], "split": ["train"]})
    for i, p in enumerate(phenotypes()):
        pheno[p] = int(i in (0, 3))
    pheno.to_parquet(root / "tasks" / "phenotyping.parquet")
    return ProcessedEHR(root)


def _images(rows: list[tuple[str, int, int, str, float]]) -> pd.DataFrame:
    """(dicom_id, subject_id, study_id, view, hours after T0) -> a metadata-like frame."""
    frame = pd.DataFrame(rows, columns=["dicom_id", "subject_id", "study_id", "ViewPosition", "h"])
    frame["study_datetime"] = T0 + pd.to_timedelta(frame.pop("h"), unit="h")
    return frame


@pytest.fixture
def images() -> pd.DataFrame:
    return _images(
        [
            ("before", 1, 50, "AP", -0.5),  # before intime
            ("at_in", 1, 51, "AP", 0.0),  # exactly at intime
            ("mid_pa", 1, 52, "PA", 6.0),
            ("at_out", 1, 53, "AP", 24.0),  # exactly at outtime
            ("after", 1, 54, "AP", 24.5),  # after outtime
            ("other", 2, 60, "AP", 3.0),  # subject 2
        ]
    )


class FakeCache:
    """Pixels = a constant per image; ids in ``missing`` raise KeyError like ImageCache."""

    def __init__(self, missing=()):
        self.missing = set(missing)

    def get(self, dicom_id: str) -> np.ndarray:
        if dicom_id in self.missing:
            raise KeyError(f"{dicom_id}: missing")
        return np.full((8, 8), len(dicom_id), np.uint8)


def test_stay_timeseries_reads_one_stay_as_numbers(ehr):
    ts = viz.stay_timeseries(ehr, 101, ["Heart Rate", "Oxygen saturation"])
    assert ts["Hours"].tolist() == [0.5, 2.0, 5.0]
    assert ts["Heart Rate"].tolist()[:2] == [80.0, 90.0] and np.isnan(ts["Heart Rate"].iloc[2])
    assert np.isnan(ts["Oxygen saturation"].iloc[1]) and ts["Oxygen saturation"].iloc[2] == 95.0


def test_stay_timeseries_errors(ehr):
    with pytest.raises(ValueError, match="categorical"):
        viz.stay_timeseries(ehr, 101, ["Glascow coma scale total"])
    with pytest.raises(KeyError, match="999.*stays.parquet"):
        viz.stay_timeseries(ehr, 999)


def test_stay_images_window_is_inclusive_and_subject_specific(ehr, images):
    shots = viz.stay_images(ehr, 101, images)
    assert shots["dicom_id"].tolist() == ["at_in", "mid_pa", "at_out"]
    assert shots["hours_from_intime"].tolist() == [0.0, 6.0, 24.0]
    assert shots["ViewPosition"].tolist() == ["AP", "PA", "AP"]
    assert viz.stay_images(ehr, 101, images, views=["AP"])["dicom_id"].tolist() == [
        "at_in",
        "at_out",
    ]


def test_stays_with_images_and_pick_stay(ehr, images):
    assert viz.stays_with_images(ehr, images).to_dict() == {101: 3, 102: 1}
    assert viz.pick_stay(ehr, images) == 101
    # capped counts tie (1 each): the shorter stay wins
    assert viz.pick_stay(ehr, images, cap=1) == 101
    assert viz.pick_stay(ehr, images[images["subject_id"] == 2]) == 102
    # studies, not images, count: two images of one study rank below two studies
    extra = _images([("x1", 2, 61, "AP", 4.0), ("x2", 2, 62, "AP", 5.0)])
    one_study = images.assign(study_id=images["study_id"].where(images["subject_id"] != 1, 51))
    assert viz.pick_stay(ehr, pd.concat([one_study, extra], ignore_index=True)) == 102
    with pytest.raises(ValueError, match="No cohort stay has an X-ray"):
        viz.pick_stay(ehr, images[images["dicom_id"] == "after"])


def test_plot_stay_timeline_curves_markers_and_thumbnails(ehr, images):
    cache = FakeCache(missing={"mid_pa"})
    fig = viz.plot_stay_timeline(
        ehr, 101, images=images, cache=cache, channels=["Heart Rate", "Oxygen saturation"]
    )
    hr, spo2, *thumbs = fig.axes
    assert len(thumbs) == 3
    curve = hr.lines[0]
    assert list(curve.get_xdata()) == [0.5, 2.0] and list(curve.get_ydata()) == [80.0, 90.0]
    assert list(spo2.lines[0].get_xdata()) == [0.5, 5.0]
    study_lines = [ln.get_xdata()[0] for ln in spo2.lines[1:]]
    assert study_lines == [0.0, 6.0, 24.0]
    assert [t.get_text() for t in hr.texts] == ["1", "2", "3"]
    assert hr.get_xlim() == (0.0, 24.0)
    assert [a.get_title() for a in thumbs] == ["1: +0.0 h AP", "2: +6.0 h PA", "3: +24.0 h AP"]
    assert (thumbs[0].images[0].get_array() == len("at_in")).all()
    assert not thumbs[1].images and thumbs[1].texts[0].get_text() == "not cached"
    assert "stay 101 (subject 1): 1.0 d, died in hospital; 3 X-ray(s)" in fig._suptitle.get_text()


def test_plot_stay_timeline_subsamples_thumbnails_and_works_without_images(ehr, images):
    fig = viz.plot_stay_timeline(
        ehr, 101, images=images, cache=FakeCache(), channels=["Heart Rate"], max_images=2
    )
    assert [a.get_title()[:2] for a in fig.axes[1:]] == ["1:", "3:"]  # first and last
    assert len(fig.axes[0].lines) == 1 + 3  # every study time is still marked
    bare = viz.plot_stay_timeline(ehr, 102, channels=["Heart Rate"])
    assert len(bare.axes) == 1 and len(bare.axes[0].lines) == 1


def test_show_xrays_grid(images):
    fig = viz.show_xrays(FakeCache(missing={"at_out"}), ["at_in", "mid_pa", "at_out"], ncols=2)
    assert len(fig.axes) == 3  # the fourth panel of the 2x2 grid is removed
    assert [a.get_title() for a in fig.axes] == ["at_in", "mid_pa", "at_out"]
    assert fig.axes[2].texts[0].get_text() == "not cached"
    with pytest.raises(ValueError, match="2 titles for 3 images"):
        viz.show_xrays(FakeCache(), ["a", "b", "c"], titles=["x", "y"])
    with pytest.raises(ValueError, match="at least one"):
        viz.show_xrays(FakeCache(), [])


def test_stay_labels_and_format(ehr, images):
    chex = pd.DataFrame({"subject_id": [1, 1], "study_id": [51, 53]})
    for n in CHEXPERT_LABELS:
        chex[n] = np.nan
    chex.loc[0, "Edema"] = 1.0
    chex.loc[0, "Pneumonia"] = -1.0
    chex.loc[1, "No Finding"] = 1.0
    shots = viz.stay_images(ehr, 101, images)
    labels = viz.stay_labels(ehr, 101, stay_images=shots, chexpert=chex)
    assert labels == {
        "mortality_inhospital": 1,
        "mortality_inunit": 0,
        "phenotypes": [phenotypes()[0], phenotypes()[3]],
        "findings": {
            51: {"positive": ["Edema"], "uncertain": ["Pneumonia"]},
            53: {"positive": ["No Finding"], "uncertain": []},
        },  # study 52 has no label row: left out
    }
    text = viz.format_labels(labels)
    assert "in-hospital mortality: 1" in text
    assert "study 51: Edema; uncertain: Pneumonia" in text
    other = viz.stay_labels(ehr, 102)
    assert other["phenotypes"] is None and other["findings"] == {}
    assert "(not a phenotyping sample)" in viz.format_labels(other)
    assert "no labelled study" in viz.format_labels(other)


def _markers(ax) -> dict[float, str]:
    return {
        float(ln.get_xdata()[0]): ln.get_marker() for ln in ax.lines if ln.get_marker() != "None"
    }


def test_plot_linking_windows_follows_the_rules():
    rules = [LinkingRule.for_task(t) for t in (Task.IN_HOSPITAL_MORTALITY, Task.DECOMPENSATION)]
    rules.append(LinkingRule.for_task(Task.PHENOTYPING, choice="first"))
    fig = viz.plot_linking_windows(
        rules,
        study_hours=[-1, 0, 30, 48, 49, 60],
        study_views=["AP", "AP", "PA", "AP", "AP", "AP"],
        los_hours=72,
        prediction_hour=40,
    )
    ihm, dec, pheno = fig.axes
    assert _markers(ihm) == {-1: "x", 0: "o", 30: "x", 48: "*", 49: "x", 60: "x"}
    assert _markers(dec) == {-1: "x", 0: "*", 30: "x", 48: "x", 49: "x", 60: "x"}
    assert _markers(pheno) == {-1: "x", 0: "*", 30: "x", 48: "o", 49: "o", 60: "o"}
    span = ihm.patches[0]  # the shaded window
    assert (span.get_x(), span.get_x() + span.get_width()) == (0, 48)
    assert dec.patches[0].get_x() + dec.patches[0].get_width() == 40
    with pytest.raises(ValueError, match="2 views for 1 study times"):
        viz.plot_linking_windows(rules, study_hours=[1], study_views=["AP", "PA"], los_hours=5)


def test_plot_hours_from_intime_counts_stay_image_pairs():
    def cohort(task, hours, stays, dicoms):
        samples = pd.DataFrame({"stay_id": stays, "dicom_id": dicoms, "hours_from_intime": hours})
        return Cohort(
            task=task,
            mode="paired",
            rule=LinkingRule.for_task(task),
            samples=samples,
            label_columns=[],
            flow=pd.DataFrame(),
        )

    cohorts = {
        "ihm": cohort(Task.IN_HOSPITAL_MORTALITY, [1.0, 47.0, np.nan], [1, 2, 3], ["a", "b", None]),
        # hourly task: one image serves three samples of stay 1 -> counted once
        "dec": cohort(
            Task.DECOMPENSATION, [5.0, 5.0, 5.0, 9.0], [1, 1, 1, 2], ["a", "a", "a", "c"]
        ),
    }
    fig = viz.plot_hours_from_intime(cohorts, bins=4)
    ihm, dec = fig.axes
    assert sum(p.get_height() for p in ihm.patches) == 2
    assert sum(p.get_height() for p in dec.patches) == 2
    assert ihm.get_title() == "ihm\n2 stay-image pairs"
    assert [ln.get_xdata()[0] for ln in ihm.lines] == [48]  # the 48 h window end
    assert len(dec.lines) == 0
    stacked = viz.plot_hours_from_intime(cohorts, ncols=1).axes
    assert stacked[0].get_position().y0 > stacked[1].get_position().y0  # one per row


def test_stay_explorer_lists_stays_with_images(ehr, images):
    pytest.importorskip("ipywidgets")
    box = viz.stay_explorer(ehr, images, FakeCache(), default=101)
    _, dropdown, out = box.children
    assert list(dropdown.options) == [
        ("101 · 3 X-rays · died", 101),
        ("102 · 1 X-ray · survived", 102),
    ]
    assert dropdown.value == 101
    dropdown.value = 102  # draws without error outside a kernel
    assert dropdown.value == 102
