"""Nested, seeded image dropping and the missing-modality sweep."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from medmod_lib.evaluation import drop_images, drop_mask, drop_order, missing_modality_sweep
from medmod_lib.evaluation.missing import SWEEP_COLUMNS, sweep_predictions


def test_drop_sets_are_nested_exact_and_seeded() -> None:
    rng = np.random.default_rng(0)
    paired = rng.random(101) < 0.7
    n_paired = paired.sum()
    previous = paired
    for f in (0.0, 0.2, 0.4, 0.6, 0.8, 1.0):
        keep = drop_mask(paired, f, seed=3)
        assert not (keep & ~paired).any()  # never adds images
        assert not (keep & ~previous).any()  # nested: dropped stays dropped
        assert paired.sum() - keep.sum() == round(f * n_paired)
        previous = keep
    assert (drop_mask(paired, 0.5, 3) == drop_mask(paired, 0.5, 3)).all()
    assert (drop_mask(paired, 0.5, 3) != drop_mask(paired, 0.5, 4)).any()
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        drop_mask(paired, 1.5, 0)


def test_drop_images_on_a_batch_zeroes_images_and_keeps_input() -> None:
    batch = {
        "image": torch.ones(6, 1, 4, 4),
        "paired": torch.tensor([True, True, True, True, False, True]),
        "ehr": torch.zeros(6, 3, 76),
    }
    out = drop_images(batch, 0.6, seed=1)
    assert int(out["paired"].sum()) == 2
    assert (out["image"][~out["paired"]] == 0).all() and (out["image"][out["paired"]] == 1).all()
    assert batch["paired"].sum() == 5 and (batch["image"] == 1).all()
    assert out["ehr"] is batch["ehr"]


def test_drop_images_on_a_dataset_returns_a_copy() -> None:
    class Data:
        def __init__(self) -> None:
            self.samples = pd.DataFrame({"paired": [True] * 10})
            self._paired = np.ones(10, bool)

    data = Data()
    new = drop_images(data, 0.3, seed=0)
    assert new.samples["paired"].sum() == 7 and new._paired.sum() == 7
    assert data.samples["paired"].all() and data._paired.all()


def _loader(n: int = 240, batch_size: int = 50, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.4).astype(np.float32)
    image_signal = (y + 0.3 * rng.normal(size=n)).astype(np.float32)
    ehr_signal = (0.3 * y + rng.normal(size=n)).astype(np.float32)
    paired = rng.random(n) < 0.8
    batches = []
    for lo in range(0, n, batch_size):
        sl = slice(lo, lo + batch_size)
        img = torch.from_numpy(image_signal[sl]).view(-1, 1, 1, 1) * torch.from_numpy(
            paired[sl]
        ).view(-1, 1, 1, 1)
        batches.append(
            {
                "ehr": torch.from_numpy(ehr_signal[sl]).view(-1, 1, 1),
                "image": img,
                "paired": torch.from_numpy(paired[sl]),
                "labels": torch.from_numpy(y[sl]).view(-1, 1),
            }
        )
    return batches


def _predict(batch):
    ehr = batch["ehr"][:, 0, 0]
    img = batch["image"].flatten(1)[:, 0]
    return torch.sigmoid(ehr + torch.where(batch["paired"], 3 * img, torch.zeros_like(img)))


def test_sweep_shape_and_decline() -> None:
    sweep = missing_modality_sweep(
        _predict, _loader(), task="in-hospital-mortality", model="toy", n_boot=100
    )
    assert tuple(sweep.columns) == SWEEP_COLUMNS
    assert sweep["fraction"].tolist() == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    n_paired = sweep["n_paired"].iloc[0]
    assert sweep["n_dropped"].tolist() == [round(f * n_paired) for f in sweep["fraction"]]
    values = sweep["value"].to_numpy()
    assert values[0] > values[-1] + 0.1 and (np.diff(values) < 0.02).all()
    assert (sweep["ci_low"] <= sweep["value"]).all() and (sweep["value"] <= sweep["ci_high"]).all()


def test_sweep_matches_predicting_on_dropped_batches() -> None:
    """Assembling kept/dropped predictions equals running the model on the dropped data."""
    loader = _loader()
    sweep = missing_modality_sweep(
        _predict, loader, task="in-hospital-mortality", fractions=(0.5,), seed=2, n_boot=0
    )
    paired = torch.cat([b["paired"] for b in loader]).numpy()
    keep = drop_mask(paired, 0.5, seed=2)
    scores, offset = [], 0
    for b in loader:
        k = keep[offset : offset + len(b["paired"])]
        offset += len(k)
        b2 = dict(
            b, paired=torch.from_numpy(k), image=b["image"] * torch.from_numpy(k).view(-1, 1, 1, 1)
        )
        scores.append(_predict(b2))
    from medmod_lib.metrics import auroc

    y = torch.cat([b["labels"] for b in loader]).numpy()[:, 0]
    assert sweep["value"].iloc[0] == pytest.approx(
        auroc(y, torch.cat(scores).numpy(), n_boot=0).value
    )


def test_collect_predictions_checks_lengths_and_keeps_order() -> None:
    from medmod_lib.evaluation import collect_predictions, sweep_predictions

    loader = _loader(n=120, batch_size=50)
    preds = collect_predictions(_predict, loader)
    assert len(preds) == 120 and preds.scores_without_images is None
    assert np.isnan(preds.stay_id).sum() == 0 and (preds.stay_id == -1).all()
    with pytest.raises(ValueError, match="also_without_images"):
        sweep_predictions(preds, task="in-hospital-mortality")
    with pytest.raises(ValueError, match="rows for a batch"):
        collect_predictions(lambda b: torch.zeros(3), loader)
    with pytest.raises(ValueError, match="no batches"):
        collect_predictions(_predict, [])


def test_sweep_rejects_metric_of_another_task() -> None:
    with pytest.raises(ValueError, match="kappa"):
        missing_modality_sweep(
            _predict, _loader(), task="in-hospital-mortality", metric="kappa", n_boot=0
        )


def test_sweep_resamples_whole_stays_when_stays_repeat() -> None:
    from medmod_lib.evaluation.predict import Predictions, stay_clusters
    from medmod_lib.metrics import task_metrics

    rng = np.random.default_rng(0)
    stays, hours = 50, 10
    y = (rng.random(stays) < 0.4).astype(float).repeat(hours)[:, None]
    s = y + rng.normal(0, 1, (stays, 1)).repeat(hours, 0)
    ids = np.repeat(np.arange(stays), hours).astype(np.int64)
    preds = Predictions(y, s, np.ones(len(y), bool), ids, scores_without_images=s)
    row = sweep_predictions(preds, task="decompensation", fractions=[0.0], n_boot=100).iloc[0]
    want = task_metrics(
        "decompensation", y, s, probabilities=False, n_boot=100, seed=0, clusters=ids
    )["auroc"]
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((want.ci_low, want.ci_high))
    assert stay_clusters(np.array([3, -1])) is None  # a sample without a stay: no clusters
    assert np.array_equal(stay_clusters(ids), ids)


def test_order_by_drops_the_smallest_keys_first_nested_with_random_ties() -> None:
    paired = np.array([True, True, False, True, True, True, True])
    acuity = np.array([3, 0, 9, 1, 0, 2, np.nan])  # NaN on a paired sample: an error
    with pytest.raises(ValueError, match="NaN"):
        drop_mask(paired, 0.5, seed=0, order_by=acuity)
    acuity[6] = 5
    order = drop_order(paired, seed=0, order_by=acuity)
    assert 2 not in order and sorted(order) == [0, 1, 3, 4, 5, 6]
    assert set(order[:2]) == {1, 4} and list(order[2:]) == [3, 5, 0, 6]  # ties first, any order
    assert {tuple(drop_order(paired, s, acuity)[:2]) for s in range(20)} == {(1, 4), (4, 1)}
    previous = paired
    for f in (0.0, 1 / 3, 2 / 3, 1.0):
        keep = drop_mask(paired, f, seed=0, order_by=acuity)
        assert not (keep & ~previous).any()
        previous = keep
    kept = drop_mask(paired, 1 / 3, 0, acuity)
    assert np.flatnonzero(kept).tolist() == [0, 3, 5, 6]
    with pytest.raises(ValueError, match="shape"):
        drop_order(paired, 0, acuity[:-1])


def test_sweep_order_by_changes_which_samples_lose_their_image() -> None:
    from medmod_lib.evaluation.predict import Predictions

    rng = np.random.default_rng(1)
    n = 300
    y = (rng.random(n) < 0.3).astype(float)[:, None]
    with_film = y + rng.normal(0, 0.5, (n, 1))
    without = rng.normal(0, 1, (n, 1))
    preds = Predictions(y, with_film, np.ones(n, bool), np.arange(n), scores_without_images=without)
    # films removed first from the deaths: the deaths keep only the uninformative score
    deaths_first = sweep_predictions(
        preds, task="in-hospital-mortality", fractions=[0.3], n_boot=0, order_by=-y[:, 0]
    )
    at_random = sweep_predictions(preds, task="in-hospital-mortality", fractions=[0.3], n_boot=0)
    assert deaths_first["n_dropped"].iloc[0] == at_random["n_dropped"].iloc[0] == 90
    assert deaths_first["value"].iloc[0] < at_random["value"].iloc[0] - 0.1
    same = sweep_predictions(preds, task="in-hospital-mortality", fractions=[0.0, 1.0], n_boot=0)
    ordered = sweep_predictions(
        preds, task="in-hospital-mortality", fractions=[0.0, 1.0], n_boot=0, order_by=y[:, 0]
    )
    np.testing.assert_allclose(same["value"], ordered["value"])  # the ends do not depend on order
    with pytest.raises(ValueError, match="align"):
        sweep_predictions(preds, task="in-hospital-mortality", order_by=np.zeros(3))
