"""Cohort modes, deterministic partial sampling and the leakage check."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from medmod_lib.linking.cohort import Cohort, LeakageError, build_cohort, check_no_leakage
from medmod_lib.reference import CHEXPERT_LABELS

T0 = pd.Timestamp("2150-01-01")


def make_samples(n: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    subjects = 10000000 + np.arange(n)
    split = np.array(["train"] * n, dtype=object)
    split[n // 2 : n // 2 + n // 6] = "val"
    split[n // 2 + n // 6 :] = "test"
    return pd.DataFrame(
        {
            "stay_id": 30000000 + np.arange(n),
            "subject_id": subjects,
            "split": split,
            "intime": T0 + pd.to_timedelta(np.arange(n), unit="D"),
            "outtime": T0 + pd.to_timedelta(np.arange(n) + 3, unit="D"),
            "period_length": 48.0,
            "y_true": rng.integers(0, 2, n),
        }
    )


def make_images(samples: pd.DataFrame, every: int = 3) -> pd.DataFrame:
    rows = samples.iloc[::every]
    return pd.DataFrame(
        {
            "dicom_id": [f"d{i}" for i in range(len(rows))],
            "subject_id": rows["subject_id"].to_numpy(),
            "study_id": 50000000 + np.arange(len(rows)),
            "ViewPosition": "AP",
            "study_datetime": rows["intime"].to_numpy() + pd.Timedelta(hours=5),
            "split": rows["split"].to_numpy(),
        }
    )


def test_modes_sizes():
    samples = make_samples()
    images = make_images(samples)
    paired = build_cohort("in-hospital-mortality", "paired", samples=samples, images=images)
    partial = build_cohort("in-hospital-mortality", "partial", samples=samples, images=images)
    ehr = build_cohort("in-hospital-mortality", "ehr_only", samples=samples, images=images)
    assert len(paired.samples) == 20 and paired.samples["paired"].all()
    assert len(partial.samples) == 60 and partial.samples["paired"].sum() == 20
    assert len(ehr.samples) == 60 and not ehr.samples["paired"].any()
    assert paired.label_columns == ["y_true"]
    assert "intime <= study time <= intime + 48 h" in repr(paired)
    flow = paired.flow.set_index("step")
    assert flow.loc["in-hospital-mortality samples", "all"] == 60
    assert flow["all"].iloc[-1] == 20


def test_partial_data_ratio_is_deterministic_and_train_only():
    samples = make_samples(300)
    images = make_images(samples)
    a = build_cohort(
        "in-hospital-mortality", "partial", samples=samples, images=images, data_ratio=0.5, seed=1
    )
    b = build_cohort(
        "in-hospital-mortality",
        "partial",
        samples=samples.sample(frac=1, random_state=3),
        images=images,
        data_ratio=0.5,
        seed=1,
    )
    c = build_cohort(
        "in-hospital-mortality", "partial", samples=samples, images=images, data_ratio=0.5, seed=2
    )
    kept = lambda co: set(co.samples["stay_id"])  # noqa: E731
    assert kept(a) == kept(b)  # row order does not matter
    assert kept(a) != kept(c)  # the seed does
    unpaired_train = a.split("train").query("~paired")
    all_unpaired_train = ~samples["subject_id"].isin(images["subject_id"]) & (
        samples["split"] == "train"
    )
    assert 0.35 < len(unpaired_train) / all_unpaired_train.sum() < 0.65
    for split in ("val", "test"):  # every val/test sample is kept
        assert len(a.split(split)) == (samples["split"] == split).sum()
    zero = build_cohort(
        "in-hospital-mortality", "partial", samples=samples, images=images, data_ratio=0.0
    )
    assert zero.split("train")["paired"].all()


def test_leakage_check_fails_on_planted_overlap():
    samples = make_samples()
    check_no_leakage(samples)
    leaky = samples.copy()
    leaky.loc[leaky.index[-1], "subject_id"] = leaky["subject_id"].iloc[
        0
    ]  # train subject also in test
    with pytest.raises(LeakageError, match="more than one split of EHR samples"):
        check_no_leakage(leaky)
    images = make_images(samples)
    images.loc[0, "split"] = "test"
    with pytest.raises(LeakageError, match="EHR and X-ray together"):
        build_cohort("phenotyping", "paired", samples=samples, images=images)


def test_radiology_task_uses_image_labels_and_ends_ehr_at_the_image(tmp_path):
    samples = make_samples()
    images = make_images(samples)
    labels = pd.DataFrame({"study_id": images["study_id"], **{n: 0.0 for n in CHEXPERT_LABELS}})
    labels.loc[0, "Edema"] = 1.0
    cohort = build_cohort(
        "radiology",
        "paired",
        samples=samples.drop(columns="y_true"),
        images=images,
        image_labels=labels,
    )
    assert cohort.label_columns == list(CHEXPERT_LABELS)
    assert np.allclose(cohort.samples["period_length"], 5.0)
    assert cohort.samples["Edema"].sum() == 1
    images_only = build_cohort(
        "radiology", "radiology", samples=samples, images=images, image_labels=labels
    )
    assert len(images_only.samples) == len(images)
    back = Cohort.load(cohort.save(tmp_path / "c"))
    assert back.rule == cohort.rule and len(back.samples) == len(cohort.samples)


def test_radiology_drops_and_counts_unlabelled_studies_and_stays_without_events():
    samples = make_samples().drop(columns="y_true")
    images = make_images(samples)  # one film per third stay: 20 stays
    labels = pd.DataFrame(
        {"study_id": images["study_id"].iloc[2:], **{n: 0.0 for n in CHEXPERT_LABELS}}
    )  # the first two studies have no labeller row
    samples["n_events"] = 5
    no_events = images["subject_id"].iloc[[5, 6, 7]]
    samples.loc[samples["subject_id"].isin(no_events), "n_events"] = 0
    cohort = build_cohort(
        "radiology", "paired", samples=samples, images=images, image_labels=labels
    )
    assert len(cohort.samples) == len(images) - 2 - 3
    assert cohort.samples[list(CHEXPERT_LABELS)].notna().all().all()
    assert (cohort.samples["n_events"] > 0).all()
    flow = cohort.flow.set_index("step")["all"]
    assert flow["study has labels"] == len(images) - 2
    assert flow["stay has events"] == len(images) - 5
    assert (flow.diff().dropna() <= 0).all()
    # Without the events column (an older processed folder) only the labels filter applies.
    old = build_cohort(
        "radiology",
        "paired",
        samples=samples.drop(columns="n_events"),
        images=images,
        image_labels=labels,
    )
    assert len(old.samples) == len(images) - 2 and "stay has events" not in set(old.flow["step"])


def test_bad_parameters():
    samples = make_samples()
    with pytest.raises(ValueError, match="Unknown cohort mode"):
        build_cohort("phenotyping", "pairs", samples=samples, images=make_images(samples))
    with pytest.raises(ValueError, match="data_ratio"):
        build_cohort(
            "phenotyping", "partial", samples=samples, images=make_images(samples), data_ratio=2
        )
    with pytest.raises(ValueError, match="image_labels"):
        build_cohort("radiology", "paired", samples=samples, images=make_images(samples))


def test_flow_report_and_card(tmp_path):
    from medmod_lib.linking.report import flow_table, plot_flow, write_cohort_card

    samples = make_samples()
    images = make_images(samples)
    cohorts = {
        "ihm/paired": build_cohort(
            "in-hospital-mortality", "paired", samples=samples, images=images
        ),
        "ihm/partial": build_cohort(
            "in-hospital-mortality", "partial", samples=samples, images=images
        ),
    }
    ehr_flow = pd.DataFrame(
        {
            "step": ["all stays", "adults"],
            "subjects": [70, 60],
            "admissions": [80, 60],
            "stays": [90, 60],
        }
    )
    table = flow_table(ehr_flow, cohorts)
    assert set(table.columns) == {"stage", "task", "step", "split", "count"}
    ihm = table[(table["task"] == "ihm/paired") & (table["split"] == "all")]
    assert ihm["count"].tolist()[0] == 60 and ihm["count"].tolist()[-1] == 20
    assert table.loc[table["stage"] == "EHR cohort", "count"].tolist() == [90, 60]
    grid = plot_flow(table)
    assert len(grid.axes) == 2
    card = write_cohort_card(
        tmp_path / "card.md", title="toy", source="test", ehr_flow=ehr_flow, cohorts=cohorts
    )
    text = card.read_text()
    assert "intime <= study time <= intime + 48 h" in text
    assert "| train |" in text and "Label prevalence" in text
