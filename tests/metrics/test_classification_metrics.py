"""AUROC/AUPRC against scikit-learn, single-class handling, unknown labels."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import average_precision_score, roc_auc_score

from medmod_lib.metrics import auprc, auroc, ranking_metrics


def _multilabel(n: int, k: int, seed: int, decimals: int | None = None):
    rng = np.random.default_rng(seed)
    y = (rng.random((n, k)) < rng.uniform(0.05, 0.5, size=k)).astype(float)
    s = y * rng.uniform(0.2, 1.0, size=k) + rng.random((n, k))
    return y, (np.round(s, decimals) if decimals is not None else s)


@pytest.mark.parametrize("decimals", [None, 1])  # without and with many ties
@pytest.mark.parametrize("average", ["micro", "macro", "weighted"])
def test_multilabel_matches_sklearn(average: str, decimals: int | None) -> None:
    y, s = _multilabel(400, 7, seed=3, decimals=decimals)
    assert auroc(y, s, average=average, n_boot=0).value == pytest.approx(
        roc_auc_score(y, s, average=average), abs=1e-12
    )
    assert auprc(y, s, average=average, n_boot=0).value == pytest.approx(
        average_precision_score(y, s, average=average), abs=1e-12
    )


@pytest.mark.parametrize("decimals", [None, 1])
def test_binary_matches_sklearn(decimals: int | None) -> None:
    y, s = _multilabel(300, 1, seed=5, decimals=decimals)
    y, s = y[:, 0], s[:, 0]
    assert auroc(y, s, n_boot=0).value == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    assert auprc(y, s, n_boot=0).value == pytest.approx(average_precision_score(y, s), abs=1e-12)


def test_hand_computed_values_and_torch_input() -> None:
    y = torch.tensor([0, 0, 1, 1])
    s = torch.tensor([0.1, 0.4, 0.35, 0.8])
    assert auroc(y, s, n_boot=0).value == 0.75
    # thresholds 0.8 (P=1, R=.5), 0.4 (P=.5), 0.35 (P=2/3, R=1) -> .5*1 + .5*2/3
    assert auprc(y, s, n_boot=0).value == pytest.approx(0.5 + 1 / 3)


def test_single_class_label_is_skipped_and_counted() -> None:
    y, s = _multilabel(200, 4, seed=1)
    y[:, 2] = 0.0  # no positive
    res = auroc(y, s, average="macro", n_boot=50)
    keep = [0, 1, 3]
    assert res.value == pytest.approx(roc_auc_score(y[:, keep], s[:, keep], average="macro"))
    assert res.n_skipped == 1
    table = ranking_metrics(y, s, n_boot=20)
    assert np.isnan(table["auroc[2]"].value)
    assert table["auroc_weighted"].n_skipped == 1
    assert table["auroc_micro"].n_skipped == 0


def test_unknown_labels_are_left_out_of_that_label() -> None:
    y, s = _multilabel(300, 3, seed=2)
    y_nan = y.copy()
    y_nan[:50, 1] = np.nan
    table = ranking_metrics(y_nan, s, label_names=["a", "b", "c"], n_boot=0)
    assert table["auroc[b]"].value == pytest.approx(roc_auc_score(y[50:, 1], s[50:, 1]))
    assert table["auroc[b]"].n == 250
    assert table["auroc[a]"].value == pytest.approx(roc_auc_score(y[:, 0], s[:, 0]))
    pooled_y = np.concatenate([y[:, 0], y[50:, 1], y[:, 2]])
    pooled_s = np.concatenate([s[:, 0], s[50:, 1], s[:, 2]])
    assert table["auroc_micro"].value == pytest.approx(roc_auc_score(pooled_y, pooled_s))


def test_ranking_metrics_keys_and_shared_interval_order() -> None:
    y, s = _multilabel(300, 3, seed=4)
    table = ranking_metrics(y, s, label_names=["a", "b", "c"], n_boot=100, seed=1)
    expected = {f"{k}_{a}" for k in ("auroc", "auprc") for a in ("micro", "macro", "weighted")}
    expected |= {f"{k}[{n}]" for k in ("auroc", "auprc") for n in "abc"}
    assert set(table) == expected
    for res in table.values():
        assert res.ci_low <= res.value <= res.ci_high
        assert res.n_boot == 100 and res.seed == 1


@pytest.mark.parametrize(
    ("y", "s", "match"),
    [
        (np.zeros(3), np.zeros(4), "same shape"),
        (np.array([0, 2, 1]), np.zeros(3), "only 0, 1"),
        (np.array([0, 1, 1]), np.array([0.1, np.nan, 0.3]), "NaN or inf"),
        (np.zeros(0), np.zeros(0), "empty"),
    ],
)
def test_bad_input_raises(y, s, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        auroc(y, s)


def test_auroc_half_width_matches_hanley_mcneil_and_shrinks_with_the_test_set():
    from medmod_lib.metrics import auroc_half_width

    # Hanley & McNeil (1982), Table 1 region: A = 0.8, 50 positives, 50 negatives -> SE 0.0442
    assert auroc_half_width(0.8, 50, 50) / 1.96 == pytest.approx(0.0442, abs=5e-4)
    small, large = auroc_half_width(0.75, 8, 50), auroc_half_width(0.75, 95, 585)
    assert small > 0.15 > 0.06 > large
    # the half-width roughly halves with four times the samples
    assert auroc_half_width(0.75, 400, 1600) == pytest.approx(
        auroc_half_width(0.75, 100, 400) / 2, rel=0.05
    )
    with pytest.raises(ValueError, match="positives"):
        auroc_half_width(0.75, 0, 10)
