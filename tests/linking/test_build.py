"""Linking end to end on the synthetic data: every cohort built, saved and consistent."""

from __future__ import annotations

import pandas as pd
import pytest

from medmod_lib.linking.build import LinkConfig, LinkedData, link_cohorts


@pytest.fixture(scope="module")
def linked(synthetic_root, tmp_path_factory):
    from medmod_lib.ehr import prepare_ehr

    out = tmp_path_factory.mktemp("linked")
    ehr = prepare_ehr(synthetic_root, out / "processed")
    return ehr, link_cohorts(ehr, synthetic_root, out=out / "linked")


def test_every_task_and_mode_is_built_and_reloads(linked):
    ehr, data = linked
    expected = {
        f"{t}/{m}"
        for t in ("in-hospital-mortality", "phenotyping", "decompensation", "length-of-stay")
        for m in ("paired", "partial", "ehr_only")
    }
    assert set(data.cohorts) == expected | {"radiology/paired", "radiology/radiology"}
    again = LinkedData.load(data.root)
    assert set(again.cohorts) == set(data.cohorts)
    for key, cohort in data.cohorts.items():
        assert len(again.cohorts[key].samples) == len(cohort.samples)
    assert (data.root / "flow.png").exists() and (data.root / "data_card.md").exists()


def test_linked_images_respect_each_window(linked):
    _, data = linked
    images = data.images.set_index("dicom_id")
    for key, cohort in data.cohorts.items():
        if key.endswith(("/radiology", "/ehr_only")):
            continue
        paired = cohort.samples[cohort.samples["paired"]]
        assert len(paired) > 0, key
        t = images.loc[paired["dicom_id"], "study_datetime"].to_numpy()
        start = paired["intime"].to_numpy()
        if key.startswith("in-hospital-mortality"):
            end = start + pd.Timedelta(hours=48).to_numpy()
        elif key.startswith(("phenotyping", "radiology")):
            end = paired["outtime"].to_numpy()
        else:
            end = start + pd.to_timedelta(paired["period_length"], unit="h").to_numpy()
        assert (t >= start).all() and (t <= end).all(), key
        assert (images.loc[paired["dicom_id"], "ViewPosition"] == "AP").all()


def test_images_follow_their_subjects_split(linked):
    ehr, data = linked
    split_of = ehr.splits.set_index("subject_id")["split"]
    in_ehr = data.images["subject_id"].isin(split_of.index)
    assert (
        data.images.loc[in_ehr, "split"].to_numpy()
        == split_of.loc[data.images.loc[in_ehr, "subject_id"]].to_numpy()
    ).all()


def test_partial_is_a_superset_of_paired(linked):
    _, data = linked
    for task in ("in-hospital-mortality", "phenotyping"):
        paired = set(data.cohort(task, "paired").samples["stay_id"])
        partial = data.cohort(task, "partial").samples
        assert paired == set(partial.loc[partial["paired"], "stay_id"])
        assert len(partial) > len(paired)


def test_config_validation():
    with pytest.raises(ValueError, match="Unknown task"):
        LinkConfig(tasks=["mortality"])
    with pytest.raises(ValueError, match="Unknown cohort mode"):
        LinkConfig(modes=["joint_ehr"])
