"""Subgroup labels, counts, the minimum-size rule and per-group metrics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from medmod_lib.evaluation import age_group, race_group, sex_group, subgroup_frame, subgroup_metrics


def test_age_groups_and_custom_bins() -> None:
    assert age_group([18, 39.9, 40, 79, 80, 101, np.nan, 17]).tolist() == [
        "18-39",
        "18-39",
        "40-59",
        "60-79",
        "80+",
        "80+",
        "Unknown",
        "<18",
    ]
    assert age_group([30, 70], bins=(18, 65)).tolist() == ["18-64", "65+"]
    with pytest.raises(ValueError, match="increasing"):
        age_group([30], bins=(60, 40))


def test_race_and_sex_groups_keep_unknowns() -> None:
    races = [
        "WHITE - RUSSIAN",
        "BLACK/AFRICAN AMERICAN",
        "HISPANIC/LATINO - CUBAN",
        "ASIAN - KOREAN",
        "UNABLE TO OBTAIN",
        "PATIENT DECLINED TO ANSWER",
        None,
        "MULTIPLE RACE/ETHNICITY",
    ]
    assert race_group(races).tolist() == [
        "White",
        "Black",
        "Hispanic/Latino",
        "Asian",
        "Unknown/other",
        "Unknown/other",
        "Unknown/other",
        "Unknown/other",
    ]
    assert sex_group(["M", "F", None]).tolist() == ["Male", "Female", "Unknown"]


def test_subgroup_frame_needs_gender_and_age() -> None:
    frame = subgroup_frame(pd.DataFrame({"gender": ["F"], "anchor_age": [50], "race": ["ASIAN"]}))
    assert frame.iloc[0].tolist() == ["Female", "40-59", "Asian"]
    assert "race_group" not in subgroup_frame(pd.DataFrame({"gender": ["M"], "age": [20]}))
    with pytest.raises(KeyError, match="stays.parquet"):
        subgroup_frame(pd.DataFrame({"age": [20]}))


def _data(n: int = 400, seed: int = 0):
    rng = np.random.default_rng(seed)
    groups = pd.DataFrame(
        {
            "sex": sex_group(rng.choice(["F", "M"], n)),
            "age_group": age_group(np.r_[rng.uniform(18, 80, n - 10), np.full(10, 90.0)]),
        }
    )
    y = (rng.random(n) < 0.3).astype(float)
    s = y + rng.normal(size=n)
    return y, s, groups


def test_counts_values_and_small_groups_flagged() -> None:
    y, s, groups = _data()
    out = subgroup_metrics("in-hospital-mortality", y, s, groups, min_size=50, n_boot=50)
    auc = out[out["metric"] == "auroc"].set_index(["attribute", "group"])
    assert auc.loc[("all", "all"), "n"] == 400
    female = (groups["sex"] == "Female").to_numpy()
    row = auc.loc[("sex", "Female")]
    assert row["n"] == female.sum() and row["n_positive"] == y[female].sum()
    assert row["value"] == pytest.approx(roc_auc_score(y[female], s[female]))
    old = auc.loc[("age_group", "80+")]
    assert old["n"] == 10 and old["flag"] == "too_small" and np.isnan(old["value"])
    # every category is listed once per metric; empty categories are absent
    assert set(auc.loc["age_group"].index) == {"18-39", "40-59", "60-79", "80+"}


def test_one_class_group_is_flagged_not_dropped() -> None:
    y, s, groups = _data()
    y[(groups["sex"] == "Male").to_numpy()] = 0.0
    out = subgroup_metrics("in-hospital-mortality", y, s, groups, attributes=["sex"], n_boot=0)
    male = out[(out["group"] == "Male")]
    assert (male["flag"] == "one_class").all() and male["value"].isna().all()
    assert (male["n_positive"] == 0).all()


def test_misaligned_input_raises() -> None:
    y, s, groups = _data()
    with pytest.raises(ValueError, match="align"):
        subgroup_metrics("in-hospital-mortality", y[:-1], s[:-1], groups)
    with pytest.raises(KeyError, match="race_group"):
        subgroup_metrics("in-hospital-mortality", y, s, groups, attributes=["race_group"])


def test_length_of_stay_subgroups_use_hours() -> None:
    rng = np.random.default_rng(5)
    n = 300
    hours = rng.gamma(2.0, 40.0, n)
    probs = rng.random((n, 10))
    groups = pd.DataFrame({"sex": sex_group(rng.choice(["F", "M"], n))})
    out = subgroup_metrics("length-of-stay", hours, probs, groups, n_boot=20)
    assert set(out["metric"]) == {"kappa", "mad"}
    assert out["n_positive"].isna().all()
    mad_all = out[(out["group"] == "all") & (out["metric"] == "mad")]["value"].iloc[0]
    from medmod_lib.metrics import los_metrics

    assert mad_all == pytest.approx(los_metrics(hours, probs, n_boot=0)["mad"].value)


def test_stay_id_column_clusters_the_bootstrap_and_is_no_attribute() -> None:
    """Hourly samples of one stay are resampled together within each group."""
    rng = np.random.default_rng(3)
    stays, hours = 80, 12
    samples = pd.DataFrame(
        {
            "stay_id": np.repeat(np.arange(stays), hours),
            "gender": np.repeat(rng.choice(["F", "M"], stays), hours),
            "age": np.repeat(rng.uniform(20, 79, stays), hours),
        }
    )
    groups = subgroup_frame(samples)
    assert list(groups.columns) == ["sex", "age_group", "stay_id"]
    y_stay = (rng.random(stays) < 0.4).astype(float)
    y = y_stay.repeat(hours)
    s = (y_stay + rng.normal(size=stays)).repeat(hours) + rng.normal(0, 0.01, len(y))
    kw = dict(min_size=10, n_boot=200)
    out = subgroup_metrics("decompensation", y, s, groups, **kw)
    assert "stay_id" not in set(out["attribute"])
    flat = subgroup_metrics("decompensation", y, s, groups.drop(columns="stay_id"), **kw)
    key = ["attribute", "group", "metric"]
    width = (out["ci_high"] - out["ci_low"]).to_numpy()
    flat_width = (
        flat.set_index(key).loc[out.set_index(key).index, "ci_high"]
        - flat.set_index(key).loc[out.set_index(key).index, "ci_low"]
    ).to_numpy()
    assert (width > 1.5 * flat_width).all()
    np.testing.assert_allclose(
        out["value"], flat.set_index(key).loc[out.set_index(key).index, "value"]
    )


def test_forest_frame_labels_widths_and_coverage_of_the_overall_value() -> None:
    from medmod_lib.evaluation import forest_frame

    y, s, groups = _data()
    out = subgroup_metrics("in-hospital-mortality", y, s, groups, min_size=50, n_boot=100)
    rows = forest_frame(out, metric="auroc", positive_name="deaths")
    assert (rows["metric"] == "auroc").all() and rows["attribute"].iloc[0] == "all"
    assert len(rows) == len(out) // 2
    female = rows[rows["group"] == "Female"].iloc[0]
    n_f, d_f = int(female["n"]), int(female["n_positive"])
    assert female["label"] == f"sex: Female (n={n_f}, {d_f} deaths)"
    assert female["width"] == pytest.approx(female["ci_high"] - female["ci_low"])
    ref = rows["value"].iloc[0]
    assert female["covers_overall"] == (female["ci_low"] <= ref <= female["ci_high"])
    assert pd.isna(rows["covers_overall"].iloc[0])  # the overall row itself
    old = rows[rows["group"] == "80+"].iloc[0]
    assert old["flag"] == "too_small" and pd.isna(old["covers_overall"])
    # a group whose interval lies away from the overall value is marked
    shifted = out.copy()
    hit = (shifted["group"] == "Male") & (shifted["metric"] == "auroc")
    shifted.loc[hit, ["ci_low", "ci_high"]] = [ref + 0.01, ref + 0.05]
    male = forest_frame(shifted).set_index("group").loc["Male", "covers_overall"]
    assert pd.notna(male) and not male
    with pytest.raises(ValueError, match="not in the frame"):
        forest_frame(out, metric="kappa")
    with pytest.raises(ValueError, match="'all' row"):
        forest_frame(out[out["attribute"] != "all"])


def test_forest_plot_draws_every_group_and_names_the_missing_ones() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from medmod_lib.evaluation import plot_subgroup_forest

    y, s, groups = _data()
    out = subgroup_metrics("in-hospital-mortality", y, s, groups, min_size=50, n_boot=50)
    ax = plot_subgroup_forest(out, metric="auroc", positive_name="deaths")
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert len(labels) == len(out) // 2 and labels[0].startswith("all test samples")
    notes = [t.get_text() for t in ax.texts]
    assert notes == ["no estimate: too small"]  # the 10-patient 80+ group
    assert ax.get_legend().get_texts()[0].get_text().startswith("overall ")
    plt.close("all")
    # every group flagged (one class): still a figure, no crash
    flat = subgroup_metrics("in-hospital-mortality", y * 0, s, groups, n_boot=0)
    ax = plot_subgroup_forest(flat)
    assert all(t.get_text().startswith("no estimate") for t in ax.texts)
    plt.close("all")
