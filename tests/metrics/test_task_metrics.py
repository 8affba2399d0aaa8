"""The metric set per task."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from medmod_lib.metrics import task_metrics
from medmod_lib.reference import CHEXPERT_LABELS, phenotype_definitions, phenotypes


def test_binary_task_keys_and_column_vector_input() -> None:
    rng = np.random.default_rng(0)
    y = (rng.random((200, 1)) < 0.2).astype(float)
    p = np.clip(0.4 * y + 0.6 * rng.random((200, 1)), 0, 1)
    res = task_metrics("in-hospital-mortality", y, p, n_boot=50)
    assert set(res) == {"auroc", "auprc", "brier"}
    assert res["auroc"].value == pytest.approx(roc_auc_score(y[:, 0], p[:, 0]))


def test_phenotyping_has_acute_and_chronic_macro() -> None:
    names = phenotypes()
    rng = np.random.default_rng(1)
    y = (rng.random((300, 25)) < 0.3).astype(float)
    p = np.clip(0.3 * y + 0.7 * rng.random((300, 25)), 0, 1)
    res = task_metrics("phenotyping", y, p, label_names=names, n_boot=20)
    defs = phenotype_definitions()
    acute = [j for j, n in enumerate(names) if defs[n]["type"] == "acute"]
    assert len(acute) == 15
    assert res["auroc_macro_acute"].value == pytest.approx(
        roc_auc_score(y[:, acute], p[:, acute], average="macro")
    )
    assert "auroc_macro_chronic" in res and f"auroc[{names[0]}]" in res


def test_radiology_without_per_label_and_logits() -> None:
    rng = np.random.default_rng(2)
    y = (rng.random((100, 14)) < 0.3).astype(float)
    logits = rng.normal(size=(100, 14))
    res = task_metrics(
        "radiology",
        y,
        logits,
        label_names=CHEXPERT_LABELS,
        per_label=False,
        probabilities=False,
        n_boot=0,
    )
    assert set(res) == {
        f"{k}_{a}" for k in ("auroc", "auprc") for a in ("micro", "macro", "weighted")
    }


def test_length_of_stay_dispatch() -> None:
    rng = np.random.default_rng(3)
    hours = rng.gamma(2.0, 40.0, 200)
    res = task_metrics("length-of-stay", hours, rng.random((200, 10)), n_boot=0)
    assert set(res) == {"kappa", "mad", "mse", "mape"}


def test_unknown_task() -> None:
    with pytest.raises(ValueError, match="Unknown task"):
        task_metrics("mortality", np.zeros(3), np.zeros(3))
