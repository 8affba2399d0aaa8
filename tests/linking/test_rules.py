"""Each linking window pinned at its boundaries (issue: linking)."""

from __future__ import annotations

import pandas as pd
import pytest

from medmod_lib.linking.rules import LinkingRule

T0 = pd.Timestamp("2150-01-01 10:00:00")
OUT = T0 + pd.Timedelta(hours=100)


def stay(**extra) -> pd.DataFrame:
    row = {
        "stay_id": 30000001,
        "subject_id": 10000001,
        "intime": T0,
        "outtime": OUT,
        "period_length": 100.0,
    }
    row.update(extra)
    return pd.DataFrame([row])


def image(dicom: str, hours: float, view: str = "AP", subject: int = 10000001) -> dict:
    return {
        "dicom_id": dicom,
        "subject_id": subject,
        "study_id": 50000000 + len(dicom),
        "ViewPosition": view,
        "study_datetime": T0 + pd.Timedelta(hours=hours),
    }


def linked(rule: LinkingRule, samples: pd.DataFrame, images: list[dict]) -> list[str]:
    return rule.link(samples, pd.DataFrame(images))["dicom_id"].tolist()


@pytest.mark.parametrize(
    ("hours", "kept"),
    [(-0.001, False), (0.0, True), (48.0, True), (48.001, False)],
)
def test_mortality_window_is_intime_to_48h_inclusive(hours, kept):
    rule = LinkingRule.for_task("in-hospital-mortality", choice="all")
    assert linked(rule, stay(), [image("a", hours)]) == (["a"] if kept else [])


@pytest.mark.parametrize("task", ["phenotyping", "radiology"])
@pytest.mark.parametrize(("hours", "kept"), [(-1, False), (0, True), (100, True), (100.01, False)])
def test_stay_window_is_intime_to_outtime(task, hours, kept):
    rule = LinkingRule.for_task(task, choice="all")
    assert linked(rule, stay(), [image("a", hours)]) == (["a"] if kept else [])


@pytest.mark.parametrize("task", ["decompensation", "length-of-stay"])
def test_hourly_tasks_never_see_images_after_the_prediction_time(task):
    samples = pd.concat([stay(period_length=float(t)) for t in (5, 10, 20)], ignore_index=True)
    images = [image("early", 4.0), image("at10", 10.0), image("late", 15.0)]
    rule = LinkingRule.for_task(task)
    pairs = rule.link(samples, pd.DataFrame(images))
    chosen = dict(zip(pairs["sample"], pairs["dicom_id"], strict=True))
    assert chosen == {0: "early", 1: "at10", 2: "late"}
    for row in pairs.itertuples():
        assert row.hours_from_intime <= samples.loc[row.sample, "period_length"]


def test_latest_first_and_all_choices():
    images = [image("b", 30), image("a", 10), image("c", 20)]
    pick = {
        c: linked(LinkingRule.for_task("phenotyping", choice=c), stay(), images)
        for c in ("latest", "first", "all")
    }
    assert pick == {"latest": ["b"], "first": ["a"], "all": ["a", "c", "b"]}


def test_view_filter_and_other_subjects():
    images = [
        image("pa", 5, view="PA"),
        image("lat", 6, view="LATERAL"),
        image("other", 7, subject=10000002),
    ]
    assert linked(LinkingRule.for_task("phenotyping"), stay(), images) == []
    assert linked(LinkingRule.for_task("phenotyping", views=("PA", "AP")), stay(), images) == ["pa"]


def test_rule_is_visible_and_validated():
    rule = LinkingRule.for_task("in-hospital-mortality")
    assert rule.to_dict() == {
        "task": "in-hospital-mortality",
        "window_end": "intime+48h",
        "views": ["AP"],
        "choice": "latest",
    }
    assert "intime + 48 h" in rule.describe()
    with pytest.raises(ValueError, match="Unknown task"):
        LinkingRule.for_task("in-hospital mortality")
    with pytest.raises(ValueError, match="choice"):
        LinkingRule.for_task("phenotyping", choice="middle")
    with pytest.raises(TypeError, match="Unknown LinkingRule parameters"):
        LinkingRule.for_task("phenotyping", view="AP")
