import math

import pandas as pd
import pytest
import torch

from medmod_lib.devices import amp_dtype
from medmod_lib.training import OptimConfig, TrainConfig, fit, load_checkpoint


def _cfg(**kw) -> TrainConfig:
    warmup = 1 if kw.get("epochs", 4) > 1 else 0
    base = dict(
        epochs=4, optim=OptimConfig(lr=0.05, warmup_epochs=warmup), device="cpu", progress=False
    )
    return TrainConfig(**(base | kw))


def _weights(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_resume_after_interruption_is_bitwise_identical(tmp_path, make_model, make_loader):
    full = fit(make_model(), make_loader(), config=_cfg(), out_dir=tmp_path / "full")
    # interrupted after epoch 2, then a fresh process (new model, new loader) resumes
    first = fit(
        make_model(), make_loader(), config=_cfg(), out_dir=tmp_path / "cut", stop_after_epoch=2
    )
    assert first.last_epoch == 2
    resumed = fit(make_model(seed=99), make_loader(), config=_cfg(), out_dir=tmp_path / "cut")
    assert resumed.last_epoch == 4
    for (k, a), b in zip(
        _weights(full.model).items(), _weights(resumed.model).values(), strict=True
    ):
        assert torch.equal(a, b), k
    pd.testing.assert_frame_equal(full.history, resumed.history)


def test_same_seed_same_history_other_seed_differs(make_model, make_loader):
    a = fit(make_model(), make_loader(), config=_cfg(epochs=2))
    b = fit(make_model(), make_loader(), config=_cfg(epochs=2))
    c = fit(make_model(), make_loader(), config=_cfg(epochs=2, seed=5))
    assert a.history["loss"].tolist() == b.history["loss"].tolist()
    assert a.history["loss"].tolist() != c.history["loss"].tolist()


def test_csv_log_columns_and_rows(tmp_path, make_model, make_loader):
    fit(
        make_model(),
        make_loader(),
        config=_cfg(epochs=2),
        out_dir=tmp_path,
        val_fn=lambda m, e: {"val_score": float(e)},
    )
    log = pd.read_csv(tmp_path / "log.csv")
    assert list(log.columns) == [
        "epoch",
        "step",
        "split",
        "lr",
        "loss",
        "l2",
        "n_skipped_steps",
        "val_score",
    ]
    assert log["split"].value_counts().to_dict() == {"train_step": 8, "train": 2, "val": 2}
    steps = log[log["split"] == "train_step"]
    assert steps["step"].tolist() == list(range(1, 9))
    # warm-up of 1 epoch = 4 steps: lr of step k is 0.05 * k / 5
    assert steps["lr"].iloc[:4].tolist() == pytest.approx([0.01, 0.02, 0.03, 0.04])
    assert steps["lr"].iloc[4] == pytest.approx(0.05)


def test_checkpoint_contents_load_weights_only(tmp_path, make_model, make_loader):
    fit(make_model(), make_loader(), config=_cfg(epochs=1), out_dir=tmp_path)
    ckpt = torch.load(tmp_path / "last.pt", weights_only=True)
    assert {"model", "optimizer", "scheduler", "scaler", "epoch", "step", "rng"} <= set(ckpt)
    assert ckpt["epoch"] == 1 and ckpt["step"] == 4
    assert {"python", "numpy", "torch", "cuda", "loader"} <= set(ckpt["rng"])


def test_best_epoch_and_early_stopping_on_validation_metric(tmp_path, make_model, make_loader):
    scores = {1: 0.5, 2: 0.7, 3: 0.6, 4: 0.65, 5: 0.9}
    res = fit(
        make_model(),
        make_loader(),
        config=_cfg(epochs=5, monitor="val_auroc", patience=2),
        out_dir=tmp_path,
        val_fn=lambda m, e: {"val_auroc": scores[e]},
    )
    assert res.stopped_early and res.last_epoch == 4
    assert res.best_epoch == 2 and res.best_score == 0.7
    best = load_checkpoint(tmp_path / "best.pt")
    assert best["epoch"] == 2
    assert all(torch.equal(best["model"][k], v) for k, v in res.best_state.items())
    # resuming a run that stopped early does not train further
    again = fit(
        make_model(),
        make_loader(),
        config=_cfg(epochs=5, monitor="val_auroc", patience=2),
        out_dir=tmp_path,
        val_fn=lambda m, e: {"val_auroc": scores[e]},
    )
    assert again.last_epoch == 4 and again.best_epoch == 2


def test_validation_loss_monitor_min(make_model, make_loader):
    res = fit(
        make_model(),
        make_loader(),
        config=_cfg(epochs=2, monitor="val_loss", mode="min"),
        val_loader=make_loader(16),
    )
    val = res.history[res.history["split"] == "val"]
    assert res.best_score == val["val_loss"].min()


def test_monitor_must_be_a_validation_metric(make_model, make_loader):
    with pytest.raises(ValueError, match="never on a training metric"):
        _cfg(monitor="train_loss")
    with pytest.raises(ValueError, match="not among the validation metrics"):
        fit(make_model(), make_loader(), config=_cfg(epochs=1, monitor="val_auroc"))


def test_amp_is_never_used_on_cpu(make_model, make_loader):
    for mode in ("auto", "bf16", "fp16"):
        assert amp_dtype(torch.device("cpu"), mode) is None
    seen = []

    def step(model, batch):
        seen.append(torch.is_autocast_enabled("cpu"))
        out = model(batch)
        assert out["loss"].dtype == torch.float32
        return out

    fit(make_model(), make_loader(), config=_cfg(epochs=1, amp="fp16"), step_fn=step)
    assert seen == [False] * 4


def test_resume_refuses_a_different_configuration(tmp_path, make_model, make_loader):
    fit(make_model(), make_loader(), config=_cfg(epochs=2), out_dir=tmp_path, stop_after_epoch=1)
    with pytest.raises(ValueError, match="different configuration"):
        fit(make_model(), make_loader(), config=_cfg(epochs=3), out_dir=tmp_path)


def test_skip_flag_leaves_weights_unchanged(make_model, make_loader):
    model = make_model()
    before = _weights(model)

    def skipping(model, batch):
        return {"loss": model(batch)["loss"], "skip": torch.tensor(True)}

    res = fit(model, make_loader(), config=_cfg(epochs=1), step_fn=skipping)
    assert all(torch.equal(before[k], v) for k, v in res.model.state_dict().items())
    assert res.history.query("split == 'train'")["n_skipped_steps"].item() == 4


def test_non_finite_loss_raises(make_model, make_loader):
    with pytest.raises(FloatingPointError, match="epoch 1, step 1"):
        fit(
            make_model(),
            make_loader(),
            config=_cfg(epochs=1),
            step_fn=lambda m, b: m(b)["loss"] * math.nan,
        )


def test_lars_and_grad_clip_train(make_model, make_loader):
    cfg = _cfg(epochs=2, optim=OptimConfig(name="lars", lr=0.5, grad_clip=1.0))
    res = fit(make_model(), make_loader(), config=cfg)
    train = res.history.query("split == 'train'")["loss"]
    assert train.iloc[-1] < train.iloc[0]


def test_skipped_validation_batches_do_not_lower_the_validation_loss(make_model, make_loader):
    """A batch the step skips (e.g. < 2 pairs) returns a placeholder 0 loss: not averaged."""
    calls = {"n": 0}

    def step(model, batch):
        out = model(batch)
        if not model.training:
            calls["n"] += 1
            if calls["n"] % 2 == 0:  # every other validation batch is skipped
                return {"loss": out["loss"] * 0.0, "skip": torch.tensor(True)}
        return out

    skipped = fit(
        make_model(), make_loader(), config=_cfg(epochs=1), val_loader=make_loader(16), step_fn=step
    )
    val = skipped.history.query("split == 'val'")["val_loss"].item()
    model = skipped.model.eval()
    with torch.no_grad():
        losses = [float(model(b)["loss"]) for b in make_loader(16)]
    assert len(losses) >= 2
    kept = losses[0::2]  # the 1st, 3rd, ... batches; the others were skipped
    assert val == pytest.approx(sum(kept) / len(kept), rel=1e-5)
