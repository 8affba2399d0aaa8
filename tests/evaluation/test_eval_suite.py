"""Summaries of the evaluation notebooks: the CI table, sweep degradation, sweep rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from medmod_lib.evaluation import (
    RESULT_COLUMNS,
    append_results,
    degradation,
    evaluate_predictions,
    read_results,
    results_table,
    sweep_rows,
)


def _rows() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 80)
    good = 1 / (1 + np.exp(-(2 * y - 1 + rng.normal(0, 0.8, 80))))
    bad = rng.random(80)
    kw = dict(protocol="supervised", seed=0, test_set="paired", n_boot=50)
    return pd.concat(
        [
            evaluate_predictions(
                "in-hospital-mortality", y, good, method="medfuse", modality="ehr+cxr", **kw
            ),
            evaluate_predictions(
                "in-hospital-mortality", y, bad, method="cxr_only", modality="cxr", **kw
            ),
        ]
    )


def test_results_table_one_row_per_model_with_intervals():
    rows = _rows()
    table = results_table(rows)
    assert list(table.columns) == ["auroc", "auprc"]
    assert len(table) == 2
    cell = table.xs("medfuse", level="method")["auroc"].iloc[0]
    r = rows[(rows["method"] == "medfuse") & (rows["metric"] == "auroc")].iloc[0]
    assert cell == f"{r['value']:.3f} [{r['ci_low']:.3f}, {r['ci_high']:.3f}]"
    assert table.index.get_level_values("n").tolist() == [80, 80]


def _sweep(model: str, values: list[float], test_set: str = "paired") -> pd.DataFrame:
    f = np.linspace(0, 1, len(values))
    return pd.DataFrame(
        {
            "model": model,
            "test_set": test_set,
            "fraction": f,
            "n": 50,
            "n_paired": 40,
            "n_dropped": np.round(f * 40).astype(int),
            "metric": "auroc",
            "value": values,
            "ci_low": np.array(values) - 0.05,
            "ci_high": np.array(values) + 0.05,
        }
    )


def test_degradation_drop_slope_and_graceful_against_ehr_only():
    sweep = pd.concat(
        [
            _sweep("ehr_only", [0.80, 0.80, 0.80]),
            _sweep("medfuse", [0.86, 0.83, 0.79]),  # ends 0.01 below EHR-only: graceful
            _sweep("joint", [0.86, 0.75, 0.60]),  # collapses below EHR-only
        ]
    )
    out = degradation(sweep, tolerance=0.02).set_index("model")
    assert out.loc["medfuse", "drop"] == pytest.approx(0.07)
    assert out.loc["medfuse", "slope"] == pytest.approx(-0.07)
    assert out.loc["medfuse", "vs_reference"] == pytest.approx(-0.01)
    assert bool(out.loc["medfuse", "graceful"]) and not bool(out.loc["joint", "graceful"])
    assert out.loc["ehr_only", "drop"] == 0.0


def test_degradation_without_reference_is_na_and_groups_by_training_cohort():
    sweep = pd.concat(
        [
            _sweep("ehr_only", [0.7, 0.7]).assign(trained_on="paired"),
            _sweep("late", [0.8, 0.69]).assign(trained_on="paired"),
            _sweep("late", [0.8, 0.6]).assign(trained_on="partial"),  # no EHR-only here
        ]
    )
    out = degradation(sweep).set_index(["model", "trained_on"])
    assert bool(out.loc[("late", "paired"), "graceful"])
    assert pd.isna(out.loc[("late", "partial"), "graceful"])


def test_sweep_rows_are_tidy_results(tmp_path):
    rows = sweep_rows(
        _sweep("medfuse", [0.9, 0.8, 0.7]), task="in-hospital-mortality", protocol="supervised"
    )
    assert list(rows.columns) == list(RESULT_COLUMNS)
    assert rows["metric"].tolist() == ["auroc@missing0", "auroc@missing50", "auroc@missing100"]
    path = append_results(tmp_path / "r.csv", rows)
    pd.testing.assert_frame_equal(read_results(path), rows)


def test_stage2_init_follows_medfuse_two_stages():
    from types import SimpleNamespace

    from torch import nn

    from medmod_lib.evaluation import stage2_init

    cxr, ehr = nn.Linear(2, 2), nn.Linear(3, 3)
    ehr_only = SimpleNamespace(model=SimpleNamespace(ehr_encoder=ehr))
    assert stage2_init("medfuse", None, ehr_only) == {}  # no stage 1: random weights
    assert stage2_init("ehr_only", cxr, ehr_only) == {}
    assert stage2_init("cxr_only", cxr, ehr_only) == {"cxr_encoder": cxr}
    assert stage2_init("medfuse", cxr, ehr_only) == {"cxr_encoder": cxr, "ehr_encoder": ehr}
    assert stage2_init("joint", cxr, None) == {"cxr_encoder": cxr}


def test_ehr_first_only_reorders():
    from medmod_lib.evaluation import ehr_first

    assert ehr_first(["medfuse", "cxr_only", "ehr_only", "joint"]) == [
        "ehr_only",
        "medfuse",
        "cxr_only",
        "joint",
    ]
    assert ehr_first(["medfuse", "joint"]) == ["medfuse", "joint"]  # never added


def test_supervised_baselines_refuse_early_fusion_without_pretrained_encoders():
    from medmod_lib.evaluation import ProtocolConfig, supervised_baselines

    with pytest.raises(ValueError, match="early"):  # before any data is touched
        supervised_baselines(None, ["ehr_only", "early"], config=ProtocolConfig())
