"""Tidy result rows and the results CSV round trip."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from medmod_lib.evaluation import (
    RESULT_COLUMNS,
    append_results,
    evaluate_predictions,
    read_results,
    result_rows,
)
from medmod_lib.metrics import MetricResult


def _rows(**kw) -> pd.DataFrame:
    res = {
        "auroc": MetricResult("auroc", 0.8, 0.75, 0.85, 100, 1000, 0, n_boot_valid=990, n_skipped=2)
    }
    args = {
        "task": "in-hospital-mortality",
        "method": "simclr",
        "protocol": "linear",
        "modality": "ehr+cxr",
        "seed": 1,
    }
    return result_rows(res, **{**args, **kw})


def test_rows_have_the_fixed_column_order() -> None:
    rows = _rows(test_set="paired")
    assert tuple(rows.columns) == RESULT_COLUMNS
    row = rows.iloc[0]
    assert (row["task"], row["metric"], row["value"], row["n"]) == (
        "in-hospital-mortality",
        "auroc",
        0.8,
        100,
    )
    assert (row["test_set"], row["n_boot"], row["bootstrap_seed"]) == ("paired", 1000, 0)
    assert (row["n_boot_valid"], row["n_skipped"]) == (990, 2)


def test_append_then_read_round_trip(tmp_path) -> None:
    path = tmp_path / "out" / "results.csv"
    append_results(path, _rows(seed=1))
    append_results(path, _rows(seed=2).to_dict("records"))
    back = read_results(path)
    assert tuple(back.columns) == RESULT_COLUMNS
    assert back["seed"].tolist() == [1, 2]
    pd.testing.assert_frame_equal(back.iloc[:1], _rows(seed=1))


def test_append_rejects_wrong_columns_and_foreign_files(tmp_path) -> None:
    path = tmp_path / "results.csv"
    with pytest.raises(ValueError, match="missing"):
        append_results(path, _rows().drop(columns="n"))
    pd.DataFrame({"a": [1]}).to_csv(path, index=False)
    with pytest.raises(ValueError, match="new results file"):
        append_results(path, _rows())
    with pytest.raises(FileNotFoundError, match="append_results"):
        read_results(tmp_path / "absent.csv")


def test_evaluate_predictions_rows() -> None:
    rng = np.random.default_rng(0)
    y = (rng.random(200) < 0.3).astype(float)
    p = np.clip(0.3 * y + 0.7 * rng.random(200), 0, 1)
    rows = evaluate_predictions(
        "decompensation",
        y,
        p,
        method="lstm",
        protocol="supervised",
        modality="ehr",
        seed=3,
        n_boot=50,
        bootstrap_seed=5,
    )
    assert rows["metric"].tolist() == ["auroc", "auprc", "brier"]
    assert (rows["bootstrap_seed"] == 5).all() and (rows["n"] == 200).all()
