"""Pretraining on the linked synthetic cohort: pairs, checkpoints, reuse, embeddings."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from medmod_lib.pretrain import PretrainConfig, build_pretrain_model
from medmod_lib.pretrain.embed import Embeddings, embed, pair_similarity
from medmod_lib.pretrain.linked import PairData, linked_datasets, linked_pairs
from medmod_lib.pretrain.plots import epoch_table, plot_loss_terms, plot_pair_similarity
from medmod_lib.pretrain.runs import (
    ensure_pretrained,
    history_frame,
    load_pretrained,
    pretrain_dir,
    pretrain_linked,
    read_settings,
)

SMALL = PairData(image_size=32, max_bins=12)


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def prepared(linked_run):
    return linked_run


@pytest.fixture(scope="module")
def pairs(prepared):
    _, ehr, linked, cache = prepared
    return linked_pairs(linked, ehr, cache, SMALL)


def tiny_config(method: str = "simclr", **kw) -> PretrainConfig:
    base = dict(
        method=method,
        epochs=2,
        batch_size=8,
        ehr_hidden_dim=8,
        proj_hidden_dim=16,
        proj_dim=8,
        align_dim=16,
        device="cpu",
        progress=False,
        max_steps_per_epoch=2,
    )
    return PretrainConfig(**(base | kw))


def test_linked_pairs_counts_match_the_paired_cohort(prepared, pairs):
    _, _, linked, _ = prepared
    cohort = linked.cohort("in-hospital-mortality", "partial").samples
    for split in ("train", "val", "test"):
        rows = cohort[cohort["split"] == split]
        c = pairs.counts[split]
        # partial-mode rows map to pairs (paired rows) of the paired cohort; all counted
        assert c.paired == int(rows["paired"].sum())
        assert pairs.positives[split] == int(rows.loc[rows["paired"], "y_true"].sum())
    assert len(pairs.train) == len(pairs.probe_train) == pairs.counts["train"].paired
    batch = next(iter(pairs.loader("val", batch_size=4)))
    assert batch["paired"].all()
    assert batch["ehr"].shape[1:] == (12, 76)
    assert batch["image"].shape[1:] == (1, 32, 32)
    assert "LinkedPairs(task='in-hospital-mortality'" in repr(pairs)


def test_stay_image_pairs_are_more_and_only_from_training_subjects(prepared, pairs):
    _, ehr, linked, cache = prepared
    more = linked_pairs(linked, ehr, cache, replace(SMALL, train_pairs="stay_images"))
    n = more.counts["pretrain"].paired
    assert n == len(more.train) > pairs.counts["train"].paired
    # probe and held-out pairs are the task's, unchanged
    for split in ("train", "val", "test"):
        assert more.counts[split] == pairs.counts[split]
    assert more.probe_train.indices == pairs.probe_train.indices
    samples = more.train.dataset.samples.iloc[more.train.indices]
    held_out = set(ehr.stays.loc[ehr.stays["split"] != "train", "subject_id"])
    assert not set(samples["subject_id"]) & held_out
    assert (samples["period_length"] == samples["hours_from_intime"]).all()
    batch = next(iter(more.loader("train", batch_size=4)))
    assert batch["paired"].all() and batch["ehr"].shape[1] <= 12
    assert f"pretrain={n} (stay_images)" in repr(more)
    with pytest.raises(ValueError, match="train_pairs"):
        PairData(train_pairs="everything")


def test_pair_settings_of_older_checkpoints_still_match():
    from medmod_lib.pretrain.runs import _plain, _same_data

    old = {
        k: v for k, v in _plain(SMALL).items() if k not in ("train_pairs", "train_preset", "views")
    }
    assert _same_data(old, SMALL)
    assert not _same_data(old, replace(SMALL, train_pairs="stay_images"))
    assert not _same_data({"unknown": 1}, SMALL)


def test_pretraining_images_are_augmented_and_probe_images_are_not(pairs):
    """The probe encodes its training pairs through the eval transform (no random flips)."""
    assert pairs.train.indices == pairs.probe_train.indices  # same stays, other transforms
    torch.manual_seed(0)
    augmented = [pairs.train[0]["image"] for _ in range(3)]
    assert not all(torch.equal(augmented[0], a) for a in augmented[1:])
    probe = [pairs.probe_train[0]["image"] for _ in range(3)]
    assert all(torch.equal(probe[0], a) for a in probe[1:])
    assert probe[0].shape == augmented[0].shape
    assert pairs.probe_train.dataset.transform is pairs.test.dataset.transform


def test_linked_pairs_rejects_a_task_without_a_binary_probe(prepared):
    _, ehr, linked, cache = prepared
    with pytest.raises(ValueError, match="binary-label"):
        linked_pairs(linked, ehr, cache, PairData(task="length-of-stay"))


def test_pretrain_linked_writes_the_standard_layout_and_resumes(pairs, tmp_path):
    out = pretrain_dir(tmp_path, "vicreg", 0)
    assert out == tmp_path / "pretrain" / "vicreg" / "seed0"
    result = pretrain_linked(pairs, tiny_config("vicreg"), out_dir=out)
    assert {p.name for p in out.iterdir()} >= {"best.pt", "last.pt", "log.csv", "settings.json"}
    settings = read_settings(out / "best.pt")
    assert settings["finished"] and settings["last_epoch"] == 2
    assert settings["pairs"]["train"] == pairs.counts["train"].paired
    # the fixture's validation pairs hold no death: the AUROC is undefined -> val loss
    assert settings["monitor"] == ("val_auroc" if pairs.probe_scorable else "val_loss")
    table = epoch_table(history_frame(out))
    assert list(table["epoch"]) == [1, 2]
    assert {"invariance", "variance", "covariance", "val_loss"} <= set(table.columns)
    # same settings again: resumed at the end, nothing retrained, same weights
    mtime = (out / "last.pt").stat().st_mtime_ns
    again = pretrain_linked(pairs, tiny_config("vicreg"), out_dir=out)
    assert (out / "last.pt").stat().st_mtime_ns == mtime
    for k, v in result.model.state_dict().items():
        torch.testing.assert_close(again.model.state_dict()[k], v)
    fig = plot_loss_terms(history_frame(out), "vicreg")
    assert [ax.get_title() for ax in fig.axes] == ["invariance", "variance", "covariance"]


def test_other_settings_replace_the_run(pairs, tmp_path):
    out = pretrain_dir(tmp_path, "simclr", 0)
    pretrain_linked(pairs, tiny_config(epochs=1), out_dir=out)
    pretrain_linked(pairs, tiny_config(epochs=2), out_dir=out)
    assert read_settings(out)["pretrain"]["epochs"] == 2
    assert list(epoch_table(history_frame(out))["epoch"]) == [1, 2]


def test_load_pretrained_rebuilds_the_best_weights(pairs, tmp_path):
    out = pretrain_dir(tmp_path, "align", 3)
    result = pretrain_linked(pairs, tiny_config("align", seed=3), out_dir=out)
    model = load_pretrained(out)
    assert not model.training
    for k, v in result.model.state_dict().items():
        torch.testing.assert_close(model.state_dict()[k], v)
    with pytest.raises(FileNotFoundError, match="settings.json"):
        load_pretrained(tmp_path / "nowhere" / "best.pt")


def test_random_like_is_the_same_architecture_untrained_and_seeded(pairs, tmp_path):
    from medmod_lib.pretrain.runs import random_like

    out = pretrain_dir(tmp_path, "vicreg", 1)
    result = pretrain_linked(pairs, tiny_config("vicreg", seed=1), out_dir=out)
    trained = load_pretrained(out).state_dict()
    untrained = random_like(out, seed=1).state_dict()
    assert untrained.keys() == trained.keys()
    assert all(untrained[k].shape == v.shape for k, v in trained.items())
    moved = [
        k for k, v in trained.items() if v.is_floating_point() and not torch.equal(untrained[k], v)
    ]
    assert moved  # pretraining changed weights; random_like does not carry them
    again = random_like(out / "best.pt", seed=1).state_dict()
    for k, v in untrained.items():
        torch.testing.assert_close(again[k], v)  # same seed, same initial weights
    assert result.best_epoch is not None


def test_ensure_pretrained_reuses_a_finished_run(synthetic_root, prepared, tmp_path, monkeypatch):
    out_root, *_ = prepared
    # the processed data/links/cache of the module fixture are reused from out_root
    config = tiny_config(epochs=1)
    path = ensure_pretrained(
        out_root, "simclr", config, data_root=synthetic_root, seed=0, pairs=SMALL
    )
    assert path == pretrain_dir(out_root, "simclr", 0) / "best.pt"
    stamp = path.stat().st_mtime_ns

    def fail(*a, **k):
        raise AssertionError("should have reused the checkpoint")

    monkeypatch.setattr("medmod_lib.pretrain.runs.pretrain_linked", fail)
    assert ensure_pretrained(out_root, "simclr", data_root=synthetic_root) == path  # any run
    assert ensure_pretrained(out_root, "simclr", config, data_root=synthetic_root, pairs=SMALL)
    assert path.stat().st_mtime_ns == stamp
    with pytest.raises(ValueError, match="method"):
        ensure_pretrained(out_root, "vicreg", config)


def test_embed_and_pair_similarity(pairs):
    torch.manual_seed(0)
    model = build_pretrain_model(tiny_config())
    loader = pairs.loader("test", batch_size=8)
    h = embed(model, loader)
    z = embed(model, loader, projected=True)
    n = pairs.counts["test"].paired
    assert h.ehr.shape == (n, 8) and h.cxr.shape == (n, 512) and h.labels.shape == (n, 1)
    assert z.ehr.shape == z.cxr.shape == (n, 8)
    assert h.features("both").shape == (n, 520)
    assert np.array_equal(h.stay_id, z.stay_id)
    with pytest.raises(ValueError, match="projected"):
        pair_similarity(h)
    paired, unpaired = pair_similarity(z, seed=1)
    assert paired.shape == unpaired.shape == (n,)
    assert np.all(np.abs(paired) <= 1 + 1e-6)
    fig = plot_pair_similarity({"random": (paired, unpaired)})
    assert "mean gap" in fig.axes[0].get_title()


def test_pair_similarity_pairs_are_never_the_stay_itself():
    eye = np.eye(5, dtype=np.float32)
    emb = Embeddings(eye, eye, np.zeros((5, 1)), np.arange(5), projected=True, n_unpaired=0)
    paired, unpaired = pair_similarity(emb, seed=0)
    np.testing.assert_allclose(paired, 1.0)
    np.testing.assert_allclose(unpaired, 0.0)  # orthogonal: every partner is another stay


def test_linked_datasets_factory_for_the_cli(synthetic_root, prepared):
    out_root, *_ = prepared
    data = linked_datasets(out_root, synthetic_root, image_size=32, max_bins=12)
    assert set(data) == {"train", "val", "collate_fn"}
    assert len(data["train"]) > len(data["val"]) > 0
    json.dumps({k: v for k, v in vars(SMALL).items()})  # settings are plain JSON


@pytest.mark.slow
def test_pretraining_lowers_the_loss_on_linked_pairs(pairs):
    """Done-when (1), first half: the epoch loss falls on the linked synthetic pairs."""
    config = tiny_config("simclr", epochs=4, max_steps_per_epoch=None, lr=3e-3)
    result = pretrain_linked(pairs, config, out_dir=None)
    loss = epoch_table(result.history)["loss"].to_numpy()
    assert loss[-1] < loss[0]


def test_pretrain_linked_monitor_can_be_chosen(pairs, tmp_path):
    out = tmp_path / "run"
    pretrain_linked(pairs, tiny_config("simclr", monitor="val_loss"), out_dir=out)
    settings = read_settings(out)
    assert settings["monitor"] == "val_loss" and "requested" in settings["monitor_reason"]
    assert settings["pretrain"]["monitor"] == "val_loss"  # the request, compared on reuse
    table = epoch_table(history_frame(out))
    assert settings["best_epoch"] == int(table.loc[table["val_loss"].idxmin(), "epoch"])
    # no monitor: the last epoch is kept; a changed monitor replaces the stored run
    last = pretrain_linked(pairs, tiny_config("simclr", monitor=None), out_dir=out)
    assert read_settings(out)["monitor"] is None and last.best_epoch is None
    with pytest.raises(ValueError, match="monitor must be one of"):
        pretrain_linked(pairs, tiny_config("simclr", monitor="train_loss"), out_dir=None)


def test_the_per_epoch_probe_can_be_skipped_unless_it_is_the_monitor(pairs):
    def logs_probe(**kw) -> bool:
        result = pretrain_linked(pairs, tiny_config("simclr", **kw.pop("cfg")), out_dir=None, **kw)
        val = result.history[result.history["split"] == "val"]
        return "val_auroc" in val and val["val_auroc"].notna().any()

    assert logs_probe(cfg={"monitor": None})  # logged by default
    assert not logs_probe(cfg={"monitor": None}, log_probe=False)
    assert logs_probe(cfg={"monitor": "auto"}, log_probe=False)  # the monitor needs it


def test_ensure_pretrained_never_reuses_a_killed_run(
    synthetic_root, prepared, pairs, tmp_path, monkeypatch
):
    from medmod_lib.pretrain import runs as module

    out_root, *_ = prepared
    config = tiny_config(epochs=2, seed=5)
    real = module.pretrain

    def killed_after_training(*args, **kwargs):
        real(*args, **kwargs)  # best.pt, last.pt and log.csv written, settings.json not yet
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(module, "pretrain", killed_after_training)
        with pytest.raises(KeyboardInterrupt):
            ensure_pretrained(
                out_root, "simclr", config, data_root=synthetic_root, seed=5, pairs=SMALL
            )
    folder = pretrain_dir(out_root, "simclr", 5)
    assert not folder.exists() and not list(folder.parent.glob(".seed5*"))
    path = ensure_pretrained(
        out_root, "simclr", config, data_root=synthetic_root, seed=5, pairs=SMALL
    )
    assert read_settings(path)["finished"]
    reference = pretrain_linked(pairs, config, out_dir=tmp_path / "reference")
    loaded = load_pretrained(path).state_dict()
    for k, v in reference.model.state_dict().items():
        torch.testing.assert_close(loaded[k], v, msg=k)
