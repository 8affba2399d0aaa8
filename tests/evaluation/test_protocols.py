"""Protocols on tiny random data: frozen vs trained encoders, epoch selection, rows, determinism."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from medmod_lib.encoders.ehr import LSTMEncoder
from medmod_lib.evaluation import (
    RESULT_COLUMNS,
    EncoderSpec,
    FeatureSet,
    ProtocolConfig,
    compare_results,
    fine_tune,
    label_subset,
    linear_eval,
    linear_eval_fractions,
    supervised,
    task_loss,
)
from medmod_lib.linking.dataset import MultimodalCollate, MultimodalDataset
from medmod_lib.metrics import task_metrics
from medmod_lib.reference import Task
from medmod_lib.workflow import TaskData

T, SIDE = 6, 16


class TinyCNN(nn.Module):
    """Small image encoder with BatchNorm (frozen encoders must keep their running stats)."""

    out_dim = 4

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten()
        )

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.net(image)


class FakeEHR:
    """Hourly inputs shifted by the label (learnable from random encoder features)."""

    def __init__(self, signal: dict[int, float]) -> None:
        self.signal = signal

    def inputs(self, stay_id: int, n_bins: int) -> np.ndarray:
        rng = np.random.default_rng(stay_id)
        x = rng.normal(size=(n_bins, 76)).astype(np.float32)
        x += 1.5 * self.signal[stay_id]
        return x


class FakeImages:
    def __init__(self, signal: dict[str, float]) -> None:
        self.signal = signal

    def get(self, dicom_id: str) -> np.ndarray:
        rng = np.random.default_rng(abs(hash(dicom_id)) % 2**32)
        img = rng.integers(0, 120, size=(SIDE, SIDE)).astype(np.uint8)
        img[4:12, 4:12] += np.uint8(100 * self.signal[dicom_id])
        return img


def _float_image(image: torch.Tensor) -> torch.Tensor:
    return image.float() / 255.0


def _task_data(
    task: Task = Task.IN_HOSPITAL_MORTALITY, seed: int = 0, samples_per_stay: int = 1
) -> TaskData:
    rng = np.random.default_rng(seed)
    frames = {}
    stay = 100
    signal: dict[int, float] = {}
    dicom: dict[str, float] = {}
    for split, n in (("train", 48), ("val", 24), ("test", 24)):
        ids = stay + np.arange(n) // samples_per_stay  # hourly tasks: several samples a stay
        stay += n
        y = (np.arange(n) // samples_per_stay % 2).astype(float)
        if samples_per_stay == 1:
            rng.shuffle(y)
        paired = rng.random(n) < 0.7
        frame = pd.DataFrame(
            {
                "stay_id": ids,
                "subject_id": ids + 10_000,
                "period_length": float(T),
                "paired": paired,
                "dicom_id": [
                    f"d{i}" if samples_per_stay == 1 else f"d{i}_{k}" for k, i in enumerate(ids)
                ],
            }
        )
        if task == Task.LENGTH_OF_STAY:
            frame["los_bucket"] = (y * 3).astype(int)
            frame["y_true"] = np.where(y > 0, 100.0, 10.0)
            columns = ["los_bucket"]
        else:
            frame["y_true"] = y
            columns = ["y_true"]
        signal.update(dict(zip(ids.tolist(), y, strict=True)))
        dicom.update(dict(zip(frame["dicom_id"], y, strict=True)))
        frames[split] = frame
    sets = {
        split: MultimodalDataset(
            frame,
            task=task,
            label_columns=columns,
            ehr=FakeEHR(signal),
            images=FakeImages(dicom),
            transform=_float_image,
        )
        for split, frame in frames.items()
    }
    collate = MultimodalCollate((1, SIDE, SIDE), class_labels=task == Task.LENGTH_OF_STAY)
    return TaskData(task=task, mode="partial", label_columns=columns, collate=collate, **sets)


def _encoders() -> tuple[nn.Module, nn.Module]:
    torch.manual_seed(0)
    return LSTMEncoder(76, 8, 1, 0.0), TinyCNN()


def _config(**kw) -> ProtocolConfig:
    base = dict(epochs=3, batch_size=16, lr=1e-2, device="cpu", n_boot=20, progress=False)
    return ProtocolConfig(**(base | kw))


def _state(module: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_linear_eval_leaves_encoders_unchanged_and_trains_the_head():
    data = _task_data()
    ehr, cxr = _encoders()
    before_e, before_c = _state(ehr), _state(cxr)
    cfg = _config(epochs=10, lr=0.1)
    res = linear_eval(data, ehr_encoder=ehr, cxr_encoder=cxr, modality="ehr+cxr", config=cfg)
    assert _same(_state(ehr), before_e) and _same(_state(cxr), before_c)
    assert all(p.requires_grad for p in ehr.parameters())  # the caller's modules untouched
    assert _same(_state(res.model.ehr_encoder), before_e)  # BatchNorm stats included
    assert _same(_state(res.model.cxr_encoder), before_c)
    assert res.model.head.in_features == 8 + 4 + 1  # EHR, X-ray, paired flag
    auroc = res.rows.set_index("metric").loc["auroc", "value"]
    assert auroc > 0.8  # the label shifts every EHR channel


def test_fine_tune_changes_copies_of_the_encoders():
    data = _task_data()
    ehr, cxr = _encoders()
    before_e, before_c = _state(ehr), _state(cxr)
    res = fine_tune(data, ehr_encoder=ehr, cxr_encoder=cxr, modality="ehr+cxr", config=_config())
    assert _same(_state(ehr), before_e) and _same(_state(cxr), before_c)
    assert not _same(_state(res.model.ehr_encoder), before_e)
    assert not _same(_state(res.model.cxr_encoder), before_c)
    assert res.protocol == "finetune" and res.modality == "ehr+cxr"


def test_best_validation_epoch_is_selected_and_restored():
    data = _task_data()
    ehr, cxr = _encoders()
    res = linear_eval(
        data, ehr_encoder=ehr, cxr_encoder=cxr, modality="ehr", config=_config(epochs=6, lr=0.5)
    )
    val = res.history[res.history["split"] == "val"].set_index("epoch")["val_auroc"]
    assert res.best_epoch == int(val.idxmax())  # first epoch reaching the maximum
    assert res.best_score == pytest.approx(val.max())
    # the returned model is the best epoch's: its validation AUROC equals the logged best
    from medmod_lib.metrics import auroc

    loader = data.loader("val", batch_size=8)
    with torch.no_grad():
        scores = torch.cat([res.predict(b) for b in loader]).numpy()[:, 0]
    assert auroc(data.val.samples["y_true"], scores, n_boot=0).value == pytest.approx(
        res.best_score
    )


def test_early_stopping_ends_the_run_after_patience():
    data = _task_data()
    ehr, cxr = _encoders()
    res = linear_eval(
        data,
        ehr_encoder=ehr,
        cxr_encoder=cxr,
        modality="ehr",
        config=_config(epochs=30, patience=2, lr=1e-4),
    )
    val = res.history[res.history["split"] == "val"]
    assert val["epoch"].max() < 30
    assert val["epoch"].max() - res.best_epoch == 2


def test_rows_have_the_schema_and_cxr_only_scores_paired_rows():
    data = _task_data()
    ehr, cxr = _encoders()
    res = linear_eval(data, ehr_encoder=ehr, cxr_encoder=cxr, modality="cxr", config=_config())
    assert list(res.rows.columns) == list(RESULT_COLUMNS)
    n_paired = int(data.test.samples["paired"].sum())
    assert set(res.rows["metric"]) == {"auroc", "auprc", "brier"}
    assert (res.rows["n"] == n_paired).all() and len(res.predictions) == n_paired
    row = res.rows.iloc[0]
    assert (row["task"], row["protocol"], row["modality"], row["test_set"]) == (
        "in-hospital-mortality",
        "linear",
        "cxr",
        "paired",
    )
    assert row["n_boot"] == 20 and row["bootstrap_seed"] == 0 and row["seed"] == 0
    ehr_rows = linear_eval(
        data, ehr_encoder=ehr, cxr_encoder=None, modality="ehr", config=_config()
    )
    assert (ehr_rows.rows["n"] == len(data.test)).all()
    assert (ehr_rows.rows["test_set"] == "partial").all()


def test_same_seed_same_rows_other_seed_other_rows():
    data = _task_data()
    ehr, cxr = _encoders()

    def cfg(seed: int) -> ProtocolConfig:
        return _config(seed=seed, epochs=1)

    runs = [
        supervised(data, "joint", ehr_encoder=ehr, cxr_encoder=cxr, config=cfg(seed=s)).rows
        for s in (0, 0, 1)
    ]
    pd.testing.assert_frame_equal(runs[0], runs[1])
    assert not np.allclose(runs[0]["value"], runs[2]["value"])


def test_supervised_baselines_build_every_model_and_mask_unpaired_rows():
    data = _task_data()
    ehr, cxr = _encoders()
    cfg = _config(epochs=1)
    res = supervised(data, "cxr_only", ehr_encoder=ehr, cxr_encoder=cxr, config=cfg)
    assert res.modality == "cxr" and res.test_set == "paired"
    assert res.predictions.paired.all()
    ehr_only = supervised(data, "ehr_only", encoders=EncoderSpec(ehr_hidden_dim=4), config=cfg)
    assert ehr_only.model.ehr_encoder.out_dim == 4 and ehr_only.modality == "ehr"
    with pytest.raises(ValueError, match="unknown model"):
        supervised(data, "mmtm", config=cfg)


def test_length_of_stay_reports_kappa_and_hour_errors():
    data = _task_data(Task.LENGTH_OF_STAY)
    ehr, cxr = _encoders()
    res = linear_eval(data, ehr_encoder=ehr, cxr_encoder=None, modality="ehr", config=_config())
    assert {"kappa", "mad", "mse", "mape"} <= set(res.rows["metric"])
    assert res.predictions.scores.shape == (len(data.test), 10)
    assert res.model.head.out_features == 10


def test_late_fusion_baseline_for_length_of_stay_averages_softmax():
    """protocols.supervised (and so evaluate_task) builds LOS late fusion with softmax."""
    data = _task_data(Task.LENGTH_OF_STAY)
    ehr, cxr = _encoders()
    res = supervised(data, "late", ehr_encoder=ehr, cxr_encoder=cxr, config=_config(epochs=1))
    model = res.model.eval()
    batch = next(iter(data.loader("test", batch_size=24)))
    args = (batch["ehr"], batch["ehr_lengths"], batch["image"], batch["paired"])
    with torch.no_grad():
        e, c = model.unimodal_logits(*args)
        probs = model(*args).softmax(1)
    paired = batch["paired"]
    assert paired.any() and (~paired).any()
    torch.testing.assert_close(probs[paired], (e[paired].softmax(1) + c[paired].softmax(1)) / 2)
    np.testing.assert_allclose(res.predictions.scores.sum(1), 1.0, rtol=1e-5)


def test_intervals_resample_whole_stays_when_a_stay_has_several_samples():
    """Decompensation-like data (4 samples a stay): the rows' CIs come from a stay bootstrap."""
    data = _task_data(Task.DECOMPENSATION, samples_per_stay=4)
    ehr, cxr = _encoders()
    cfg = _config(epochs=1, n_boot=100)
    res = linear_eval(data, ehr_encoder=ehr, cxr_encoder=None, modality="ehr", config=cfg)
    p = res.predictions
    assert len(np.unique(p.stay_id)) == len(p) // 4
    y, s = p.y_true[:, 0], p.scores[:, 0]
    kw = dict(n_boot=100, seed=cfg.bootstrap_seed)
    clustered = task_metrics(Task.DECOMPENSATION, y, s, clusters=p.stay_id, **kw)["auroc"]
    flat = task_metrics(Task.DECOMPENSATION, y, s, **kw)["auroc"]
    row = res.rows.set_index("metric").loc["auroc"]
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((clustered.ci_low, clustered.ci_high))
    assert (flat.ci_low, flat.ci_high) != pytest.approx((clustered.ci_low, clustered.ci_high))


def test_compare_results_is_zero_against_itself_and_matches_cxr_subset():
    data = _task_data()
    ehr, cxr = _encoders()
    fused = linear_eval(data, ehr_encoder=ehr, cxr_encoder=cxr, config=_config())
    image = linear_eval(data, ehr_encoder=ehr, cxr_encoder=cxr, modality="cxr", config=_config())
    same = compare_results(fused, fused, n_boot=20)
    assert same.diff == 0.0 and same.ci_low == 0.0 and same.ci_high == 0.0
    diff = compare_results(fused, image, n_boot=20)
    assert diff.n == int(data.test.samples["paired"].sum())


def test_paired_comparison_resamples_whole_stays_on_hourly_tasks():
    data = _task_data(Task.DECOMPENSATION, samples_per_stay=4)
    ehr, cxr = _encoders()
    cfg = _config(epochs=1)
    a = linear_eval(data, ehr_encoder=ehr, cxr_encoder=None, modality="ehr", config=cfg)
    b = linear_eval(data, ehr_encoder=ehr, cxr_encoder=cxr, config=cfg)
    d = compare_results(a, b, n_boot=50)
    assert d.n_clusters == len(np.unique(a.predictions.stay_id)) == len(a.predictions) // 4


def test_bad_arguments_raise():
    data = _task_data()
    ehr, _ = _encoders()
    with pytest.raises(ValueError, match="unknown modality"):
        linear_eval(data, ehr_encoder=ehr, cxr_encoder=None, modality="text", config=_config())
    with pytest.raises(ValueError, match="needs a cxr_encoder"):
        linear_eval(data, ehr_encoder=ehr, cxr_encoder=None, modality="cxr", config=_config())


def test_task_loss_masks_labels_and_rows():
    logits = torch.tensor([[0.0, 2.0], [1.0, -1.0], [3.0, 3.0]])
    batch = {
        "labels": torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]),
        "label_mask": torch.tensor([[1.0, 0.0], [1.0, 1.0], [1.0, 1.0]]),
    }
    per = nn.functional.binary_cross_entropy_with_logits(logits, batch["labels"], reduction="none")
    expected = (per[0, 0] + per[1, 0] + per[1, 1]) / 3
    rows = torch.tensor([True, True, False])
    assert task_loss(Task.PHENOTYPING, logits, batch, row_mask=rows) == pytest.approx(
        float(expected)
    )
    none = task_loss(Task.PHENOTYPING, logits, batch, row_mask=torch.zeros(3, dtype=torch.bool))
    assert float(none) == 0.0
    los_logits = torch.randn(3, 10)
    los = {"labels": torch.tensor([0, 4, 9])}
    ce = nn.functional.cross_entropy(los_logits[:2], los["labels"][:2])
    assert task_loss(Task.LENGTH_OF_STAY, los_logits, los, row_mask=rows) == pytest.approx(
        float(ce)
    )


def test_feature_loader_is_seeded_and_covers_every_row():
    fs = FeatureSet(
        features=torch.arange(10.0)[:, None],
        labels=torch.zeros(10, 1),
        label_mask=None,
        paired=torch.ones(10, dtype=torch.bool),
        stay_id=torch.arange(10),
    )
    order = [torch.cat([b["stay_id"] for b in fs.loader(batch_size=3, shuffle=True, seed=4)])]
    order.append(torch.cat([b["stay_id"] for b in fs.loader(batch_size=3, shuffle=True, seed=4)]))
    assert torch.equal(order[0], order[1]) and sorted(order[0].tolist()) == list(range(10))
    plain = torch.cat([b["stay_id"] for b in fs.loader(batch_size=4, shuffle=False)])
    assert plain.tolist() == list(range(10))


def test_feature_subset_is_seeded_nested_and_keeps_row_order():
    fs = FeatureSet(
        features=torch.arange(20.0)[:, None],
        labels=torch.arange(20.0)[:, None],
        label_mask=None,
        paired=torch.ones(20, dtype=torch.bool),
        stay_id=torch.arange(20),
    )
    small, large = fs.subset(0.25, seed=3), fs.subset(0.5, seed=3)
    assert len(small) == 5 and len(large) == 10 and fs.subset(1.0) is fs
    assert set(small.stay_id.tolist()) <= set(large.stay_id.tolist())  # nested fractions
    assert small.stay_id.tolist() == sorted(small.stay_id.tolist())
    assert torch.equal(small.labels[:, 0], small.features[:, 0])  # rows stay aligned
    assert torch.equal(fs.subset(0.25, seed=3).stay_id, small.stay_id)
    assert not torch.equal(fs.subset(0.25, seed=4).stay_id, small.stay_id)
    with pytest.raises(ValueError, match="fraction"):
        fs.subset(0.0)
    # the rule itself, as notebook 03 uses it on plain arrays
    assert torch.equal(label_subset(20, 0.25, seed=3), small.stay_id)
    assert len(label_subset(20, 0.01)) == 2  # never fewer than 2 rows


def test_label_fractions_share_features_and_fewer_labels_fit_a_different_probe():
    data = _task_data()
    ehr, cxr = _encoders()
    cfg = _config(epochs=10, lr=0.1)
    runs = linear_eval_fractions(
        data, ehr_encoder=ehr, cxr_encoder=cxr, modality="ehr+cxr", fractions=(0.1, 1.0), config=cfg
    )
    assert list(runs) == [0.1, 1.0]
    assert set(runs[0.1].rows["protocol"]) == {"linear@10%"}
    assert set(runs[1.0].rows["protocol"]) == {"linear"}
    # the whole-label probe equals plain linear evaluation with the same seed
    plain = linear_eval(data, ehr_encoder=ehr, cxr_encoder=cxr, modality="ehr+cxr", config=cfg)
    pd.testing.assert_frame_equal(runs[1.0].rows, plain.rows)
    assert not torch.equal(runs[0.1].model.head.weight, runs[1.0].model.head.weight)
    # each probe is scored on the whole test split
    assert (runs[0.1].rows["n"] == runs[1.0].rows["n"]).all()
    with pytest.raises(ValueError, match="fractions"):
        linear_eval_fractions(data, ehr_encoder=ehr, cxr_encoder=cxr, fractions=(1.5,))
