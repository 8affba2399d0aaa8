"""medmod_lib.viz widgets: drawn on creation, redrawn on every move, numbers from pure functions.

The widgets are driven in plain Python: setting ``.value`` fires the same
observers a browser does, and ``Output.outputs`` holds what the frontend shows.
"""

from __future__ import annotations

import json

import matplotlib
import numpy as np
import pandas as pd
import pytest
import torch

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from medmod_lib import viz  # noqa: E402
from medmod_lib.ehr.processed import ProcessedEHR  # noqa: E402
from medmod_lib.linking import LinkingRule  # noqa: E402
from medmod_lib.metrics import operating_points  # noqa: E402
from medmod_lib.reference import channels, phenotypes  # noqa: E402

pytest.importorskip("ipywidgets")

T0 = pd.Timestamp("2180-07-23 14:00:00")
H = pd.Timedelta(hours=1)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _png(out) -> str:
    """The base64 PNG an output area shows (exactly one)."""
    pngs = [o["data"]["image/png"] for o in out.outputs if "image/png" in o.get("data", {})]
    assert len(pngs) == 1, out.outputs
    return pngs[0]


def _text(out) -> str:
    parts = []
    for o in out.outputs:
        parts.append(o.get("text", "") or o.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


# -- 03: threshold -------------------------------------------------------------------


@pytest.fixture
def scores():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200).astype(float)
    good = np.clip(0.3 * y + rng.uniform(0, 0.7, 200), 0, 1)
    weak = rng.uniform(0, 1, 200)
    y_nan = y.copy()
    y_nan[:5] = np.nan  # unknown labels are left out, as operating_points does
    return {"good": (y, good), "weak": (y_nan, weak)}


@pytest.mark.parametrize("t", [0.0, 0.25, 0.5, 0.77, 1.0])
def test_threshold_table_equals_operating_points(scores, t):
    table = viz.threshold_table(scores, t)
    assert list(table.columns) == list(viz.widgets.THRESHOLD_COLUMNS)
    assert list(table["model"]) == ["good", "weak"]
    for name, (y, p) in scores.items():
        ref = operating_points(y, p, [t]).iloc[0]
        row = table[table["model"] == name].iloc[0]
        for col in ("alerts_per_100", "sensitivity", "specificity", "ppv", "tp", "fp", "fn", "tn"):
            assert row[col] == pytest.approx(ref[col], nan_ok=True), col


def test_threshold_explorer_draws_on_creation_and_on_each_move(scores):
    box = viz.threshold_explorer(scores, default=0.5, marks={"good": 0.4})
    slider, out = box.children
    assert "medmod-threshold" in box._dom_classes
    first = _png(out)
    html = next(o["data"]["text/html"] for o in out.outputs if "text/html" in o["data"])
    ref = operating_points(*scores["good"], [0.5]).iloc[0]
    assert f"{ref['sensitivity']:.3f}".rstrip("0") in html
    slider.value = 0.8
    assert _png(out) != first
    moved = next(o["data"]["text/plain"] for o in out.outputs if "text/html" in o["data"])
    assert "0.8" in moved and viz.threshold_table(scores, 0.8)["tp"].iloc[0] < ref["tp"]


# -- 02: temperature -----------------------------------------------------------------


@pytest.mark.parametrize("tau", [0.05, 0.1, 1.0, 10.0])
def test_nt_xent_softmax_gives_the_library_loss(tau):
    torch = pytest.importorskip("torch")
    from medmod_lib.losses import nt_xent_loss

    g = torch.Generator().manual_seed(0)
    z_a, z_b = torch.randn(6, 4, generator=g), torch.randn(6, 4, generator=g)
    p = viz.nt_xent_softmax(z_a, z_b, tau)
    assert p.shape == (12, 12)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert np.all(np.diag(p) == 0)
    partner = (np.arange(12) + 6) % 12
    loss = float(-np.log(p[np.arange(12), partner]).mean())  # NT-Xent from these probabilities
    assert loss == pytest.approx(float(nt_xent_loss(z_a, z_b, temperature=tau)), rel=1e-5)


def test_nt_xent_softmax_rejects_bad_input():
    with pytest.raises(ValueError, match="temperature"):
        viz.nt_xent_softmax(np.ones((2, 3)), np.ones((2, 3)), 0.0)
    with pytest.raises(ValueError, match="z_a and z_b"):
        viz.nt_xent_softmax(np.ones((2, 3)), np.ones((3, 3)), 0.1)


def test_temperature_explorer_redraws_with_the_loss():
    rng = np.random.default_rng(1)
    z_a, z_b = rng.normal(size=(8, 4)), rng.normal(size=(8, 4))
    pairs = {"random pairs": (z_a, z_b), "nearly equal": (z_a, z_a + 0.05 * z_b)}
    box = viz.temperature_explorer(pairs, default=0.1)
    slider, out = box.children
    first, text = _png(out), _text(out)
    from medmod_lib.losses import nt_xent_loss

    def loss_at(tau: float) -> float:
        return float(nt_xent_loss(torch.as_tensor(z_a), torch.as_tensor(z_b), temperature=tau))

    assert f"random pairs: loss {loss_at(0.1):.3f}" in text
    slider.value = 5.0
    assert _png(out) != first
    assert f"random pairs: loss {loss_at(5.0):.3f}" in _text(out)


# -- 01: linking window --------------------------------------------------------------


@pytest.fixture
def mortality_samples():
    """Four stays of four subjects, as ``ehr.samples("in-hospital-mortality")`` gives them."""
    return pd.DataFrame(
        {
            "stay_id": [11, 12, 13, 14],
            "subject_id": [1, 2, 3, 4],
            "intime": [T0] * 4,
            "outtime": [T0 + 100 * H] * 4,
            "split": ["train", "train", "val", "test"],
        }
    )


@pytest.fixture
def films():
    rows = [  # (dicom_id, subject, view, hours after intime)
        ("a_before", 1, "AP", -5.0),
        ("a_early", 1, "AP", 2.0),
        ("b_48", 2, "AP", 48.0),  # exactly at the window end: linked
        ("c_pa", 3, "PA", 10.0),  # wrong view
        ("c_late", 3, "AP", 60.0),  # after the prediction time
        ("d_before", 4, "AP", -3.0),  # only before intime
    ]
    frame = pd.DataFrame(rows, columns=["dicom_id", "subject_id", "ViewPosition", "h"])
    frame["study_id"] = np.arange(len(frame))
    frame["study_datetime"] = T0 + pd.to_timedelta(frame.pop("h"), unit="h")
    return frame


def test_window_counts_equal_the_linking_rule(mortality_samples, films):
    offsets = viz.film_offsets(mortality_samples, films)
    counts = viz.window_counts(offsets, mortality_samples, 0, 48)
    rule = LinkingRule.for_task("in-hospital-mortality")
    linked = rule.link(mortality_samples, films)["sample"]
    assert counts.loc["all", "paired"] == linked.nunique() == 2
    assert list(counts.index) == ["train", "val", "test", "all"]
    assert counts.loc["train"].tolist()[:2] == [2, 2] and counts.loc["test", "paired"] == 0
    assert viz.window_counts(offsets, mortality_samples, 0, 24).loc["all", "paired"] == 1
    assert viz.window_counts(offsets, mortality_samples, -6, 48).loc["all", "paired"] == 3
    assert viz.window_counts(offsets, mortality_samples, 0, 72).loc["all", "paired"] == 3
    assert counts.loc["all", "paired_share"] == pytest.approx(0.5)


def test_linking_window_explorer_flags_a_window_past_the_prediction(mortality_samples, films):
    box = viz.linking_window_explorer(mortality_samples, films)
    slider, out = box.children
    assert slider.value == (0, 48)
    first = _png(out)
    assert "LEAKAGE" not in _text(out)
    assert "2" in next(o["data"]["text/html"] for o in out.outputs if "text/html" in o["data"])
    slider.value = (0, 60)
    assert _png(out) != first and "LEAKAGE" in _text(out)
    slider.value = (-6, 48)
    assert "before ICU admission" in _text(out) and "LEAKAGE" not in _text(out)


# -- 04: removal fraction ------------------------------------------------------------


@pytest.fixture
def sweep():
    rows = []
    for task in ("in-hospital-mortality", "phenotyping"):
        for model, top in (("late", 0.80), ("ehr_only", 0.70)):
            for f in (0.0, 0.5, 1.0):
                value = top - (0.1 * f if model == "late" else 0.0)
                rows.append(
                    {"model": model, "test_set": "paired", "fraction": f, "n": 100,
                     "n_paired": 100, "n_dropped": int(100 * f), "metric": "auroc",
                     "value": value, "ci_low": value - 0.05, "ci_high": value + 0.05,
                     "task": task, "trained_on": "paired"}
                )  # fmt: skip
    return pd.DataFrame(rows)


def test_removal_table_reads_the_sweep(sweep):
    part = sweep[sweep["task"] == "phenotyping"]
    table = viz.removal_table(part, 0.5).set_index("model")
    assert table.loc["late", "value"] == pytest.approx(0.75)
    assert table.loc["late", "change"] == pytest.approx(-0.05)
    assert table.loc["ehr_only", "change"] == pytest.approx(0.0)
    assert table.loc["late", "n_dropped"] == 50
    assert viz.removal_table(part, 0.9)["fraction"].unique().tolist() == [1.0]  # nearest


def test_removal_explorer_moves_along_the_fractions(sweep):
    box = viz.removal_explorer(sweep)
    picker, slider, out = box.children
    assert slider.value == 1.0 and len(picker.options) == 2
    first = _png(out)
    slider.value = 0.5
    second = _png(out)
    assert second != first and "0.75" in _text(out)
    picker.value = picker.options[1]
    assert _png(out) != second
    single = viz.removal_explorer(sweep.drop(columns=["task", "trained_on"]).head(3), default=0)
    assert len(single.children) == 2 and single.children[0].value == 0.0


# -- 00: stay explorer ---------------------------------------------------------------


class FakeCache:
    def get(self, dicom_id: str) -> np.ndarray:
        return np.full((8, 8), len(dicom_id), np.uint8)


@pytest.fixture
def ehr(tmp_path) -> ProcessedEHR:
    """Six stays of six subjects, 24 h each; stays 101, 103 and 105 died."""
    root = tmp_path / "processed"
    (root / "tasks").mkdir(parents=True)
    (root / "manifest.json").write_text(json.dumps({}))
    ids = [101, 102, 103, 104, 105, 106]
    stays = pd.DataFrame(
        {
            "subject_id": [1, 2, 3, 4, 5, 6],
            "stay_id": ids,
            "intime": [T0] * 6,
            "outtime": [T0 + 24 * H] * 6,
            "los": [1.0] * 6,
            "mortality_inunit": [0] * 6,
            "mortality_inhospital": [1, 0, 1, 0, 1, 0],
        }
    )
    stays.to_parquet(root / "stays.parquet")
    ts = pd.DataFrame({"stay_id": ids, "Hours": [1.0] * 6})
    for c in channels():
        ts[c] = ""
    ts["Heart Rate"] = ["70", "80", "90", "100", "110", "120"]
    ts.to_parquet(root / "timeseries.parquet")
    pheno = pd.DataFrame({"stay_id": ids, "subject_id": stays["subject_id"], "split": "train"})
    for i, p in enumerate(phenotypes()):
        pheno[p] = int(i == 0)
    pheno.to_parquet(root / "tasks" / "phenotyping.parquet")
    return ProcessedEHR(root)


@pytest.fixture
def images() -> pd.DataFrame:
    """One AP film per subject 1-5 during the stay (stay 106 has none), two for subject 1."""
    rows = [(f"d{s}", s, 50 + s, "AP", 2.0 + s) for s in (1, 2, 3, 4, 5)]
    rows.append(("d1b", 1, 60, "AP", 20.0))
    frame = pd.DataFrame(rows, columns=["dicom_id", "subject_id", "study_id", "ViewPosition", "h"])
    frame["study_datetime"] = T0 + pd.to_timedelta(frame.pop("h"), unit="h")
    return frame


def test_explorer_stays_lists_stays_with_films_balanced_by_outcome(ehr, images):
    listed = viz.explorer_stays(ehr, images)
    assert list(listed.index) == [101, 103, 105, 102, 104]  # deaths first, then by id
    assert listed.loc[101, "images"] == 2
    few = viz.explorer_stays(ehr, images, max_options=2, seed=3)
    assert sorted(few["mortality_inhospital"]) == [0, 1]  # one of each outcome
    assert few.equals(viz.explorer_stays(ehr, images, max_options=2, seed=3))  # seeded
    three = viz.explorer_stays(ehr, images, max_options=4)
    assert three["mortality_inhospital"].sum() == 2 and len(three) == 4


def test_stay_explorer_draws_on_creation_filters_and_redraws(ehr, images):
    box = viz.stay_explorer(ehr, images, FakeCache(), default=102)
    outcome, stay, out = box.children
    assert "medmod-stay-explorer" in box._dom_classes
    assert stay.value == 102
    first = _png(out)  # drawn at once, before any change
    assert "in-hospital mortality: 0" in _text(out)
    assert [v for _, v in stay.options] == [101, 103, 105, 102, 104]
    assert stay.options[0][0] == "101 · 2 X-rays · died"

    outcome.value = "died in hospital"
    assert [v for _, v in stay.options] == [101, 103, 105]
    assert stay.value == 101  # 102 is not listed: the first death is selected and drawn
    died = _png(out)
    assert died != first and "in-hospital mortality: 1" in _text(out)

    stay.value = 105
    assert _png(out) != died

    outcome.value = "all"
    assert stay.value == 105 and len(stay.options) == 5  # a listed stay stays selected
    outcome.value = "survived"
    assert [v for _, v in stay.options] == [102, 104]
