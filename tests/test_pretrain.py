import pandas as pd
import pytest
import torch
from torch import nn

from medmod_lib.encoders import LSTMEncoder
from medmod_lib.losses import CLIPLoss, MedModSimCLRLoss, NTXentLoss, VICRegLoss, clip_loss
from medmod_lib.pretrain import (
    PretrainConfig,
    PretrainModel,
    RandomPairs,
    build_pretrain_model,
    make_loader,
    make_probe_fn,
    medmod_benchmark,
    paired_subset,
    pretrain,
    probe_auroc,
    swap_pairs,
)


@pytest.fixture(autouse=True)
def one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


class TinyCNN(nn.Module):
    out_dim = 16

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, 4, 5, stride=4), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 7 * 7, 16)
        )

    def forward(self, image):
        return self.net(image)


def tiny(method: str, views: str = "cross", swap: float = 0.0, seed: int = 0) -> PretrainModel:
    torch.manual_seed(seed)
    criterion = {"simclr": NTXentLoss(0.1), "vicreg": VICRegLoss(), "align": CLIPLoss()}[method]
    return PretrainModel(
        ehr_encoder=LSTMEncoder(76, 16, 1, 0.0),
        cxr_encoder=TinyCNN(),
        ehr_head=nn.Linear(16, 8),
        cxr_head=nn.Linear(16, 8),
        criterion=criterion,
        method=method,
        views=views,
        swap_fraction=swap,
    )


def cfg(method="simclr", **kw) -> PretrainConfig:
    return PretrainConfig(
        **(
            dict(
                method=method,
                epochs=2,
                batch_size=8,
                lr=3e-3,
                device="cpu",
                progress=False,
                warmup_epochs=0,
            )
            | kw
        )
    )


def loader(n=32, paired_fraction=1.0, seed=0, shuffle=True):
    return make_loader(
        RandomPairs(n, paired_fraction=paired_fraction, seed=seed),
        batch_size=8,
        shuffle=shuffle,
        seed=seed,
    )


@pytest.mark.parametrize(
    "method,terms",
    [
        ("simclr", []),
        ("vicreg", ["invariance", "variance", "covariance"]),
        ("align", ["temperature"]),
    ],
)
def test_each_method_trains_and_logs_its_terms(tmp_path, method, terms):
    res = pretrain(cfg(method), loader(), out_dir=tmp_path, model=tiny(method))
    log = pd.read_csv(tmp_path / "log.csv")
    assert {"loss", "n_pairs", "n_unpaired", *terms} <= set(log.columns)
    assert log.query("split == 'train'")["n_pairs"].tolist() == [32.0, 32.0]
    assert (tmp_path / "last.pt").is_file() and res.best_epoch is None
    if method == "vicreg":
        row = log.query("split == 'train_step'").iloc[0]
        assert row["loss"] == pytest.approx(
            25 * row["invariance"] + 25 * row["variance"] + row["covariance"], rel=1e-5
        )


def test_unpaired_rows_are_counted_and_skipped():
    model = tiny("simclr")
    data = RandomPairs(16, paired_fraction=0.5, seed=1)
    batch = next(iter(make_loader(data, batch_size=16, shuffle=False)))
    out = model(batch)
    n_paired = int(data.paired.sum())
    assert out["n_pairs"].item() == n_paired and out["n_unpaired"].item() == 16 - n_paired
    # the loss equals the loss on the paired rows alone
    keep = {k: v[batch["paired"]] for k, v in batch.items()}
    assert torch.allclose(out["loss"], model(keep)["loss"])


def test_batch_with_fewer_than_two_pairs_is_skipped():
    model = tiny("vicreg")
    batch = next(iter(make_loader(RandomPairs(8, seed=2), batch_size=8, shuffle=False)))
    batch["paired"][:] = False
    batch["paired"][0] = True
    out = model(batch)
    assert bool(out["skip"]) and out["loss"].item() == 0.0 and out["n_pairs"].item() == 1
    out["loss"].backward()  # connected to every parameter (DDP needs a gradient everywhere)
    assert all(p.grad is not None for p in model.parameters())


def test_swap_pairs_exchanges_rows_between_the_two_slices():
    z = torch.arange(10.0).unsqueeze(1)
    out = swap_pairs(z, 0.2, torch.Generator().manual_seed(0)).squeeze(1).long().tolist()
    moved = [i for i, v in enumerate(out) if v != i]
    assert len(moved) == 4 and sorted(out) == list(range(10))
    assert {i for i in moved if i < 4} and all(i < 4 or 6 <= i < 8 for i in moved)
    assert swap_pairs(z, 0.0) is z


def test_intra_modal_views_use_image_view2():
    model = tiny("simclr", views="intra")
    batch = next(iter(make_loader(RandomPairs(8, seed=3), batch_size=8, shuffle=False)))
    with pytest.raises(KeyError, match="image_view2"):
        model(batch)
    batch["image_view2"] = batch["image"].flip(-1)
    assert torch.isfinite(model(batch)["loss"])
    same = dict(batch, image_view2=batch["image"])
    assert model(same)["loss"] < model(batch)["loss"]  # identical views are easy positives


def test_deterministic_loss_history():
    a = pretrain(cfg("align"), loader(), model=tiny("align"))
    b = pretrain(cfg("align"), loader(), model=tiny("align"))
    assert a.history["loss"].tolist() == b.history["loss"].tolist()


def test_pretraining_lowers_loss_and_beats_random_encoder_on_probe():
    train, val = RandomPairs(96, seed=4), RandomPairs(96, seed=4)
    tl = make_loader(train, batch_size=16, shuffle=True)
    probe_train = make_loader(
        torch.utils.data.Subset(train, range(64)), batch_size=32, shuffle=False
    )
    probe_val = make_loader(
        torch.utils.data.Subset(val, range(64, 96)), batch_size=32, shuffle=False
    )
    random_auc = probe_auroc(tiny("simclr", seed=1), probe_train, probe_val, features="ehr")
    res = pretrain(
        cfg(epochs=6, batch_size=16, lr=5e-3),
        tl,
        model=tiny("simclr", seed=1),
        probe_fn=make_probe_fn(probe_train, probe_val, features="ehr"),
    )
    epochs = res.epochs()
    assert epochs["loss"].iloc[-1] < epochs["loss"].iloc[0]
    assert res.best_score > random_auc
    assert res.best_epoch == int(epochs["val_auroc"].idxmax()) + 1


def test_paired_subset_reports_counts():
    class Fake(torch.utils.data.Dataset):
        samples = pd.DataFrame({"paired": [True, False, True, True], "stay_id": [1, 2, 3, None]})
        images = object()

        def __len__(self):
            return 4

    subset, counts = paired_subset(Fake())
    assert list(subset.indices) == [0, 2] and (counts.paired, counts.unpaired_skipped) == (2, 2)
    with pytest.raises(ValueError, match="pairing"):
        paired_subset(RandomPairs(4))


def test_config_validation_and_benchmark_settings():
    with pytest.raises(ValueError, match="method"):
        PretrainConfig(method="byol")
    with pytest.raises(ValueError, match="ALIGN"):
        PretrainConfig(method="simclr", swap_fraction=0.1)
    with pytest.raises(ValueError, match="Unknown PretrainConfig keys"):
        PretrainConfig.from_dict({"methd": "simclr"})
    bench = medmod_benchmark("simclr")
    assert (bench.optimizer, bench.lr, bench.temperature, bench.batch_size, bench.epochs) == (
        "lars",
        0.6044,
        0.01,
        256,
        300,
    )
    assert medmod_benchmark("align").resolved_temperature == 0.07
    align = medmod_benchmark("align", cxr_arch="resnet18")
    assert align.swap_fraction == 0.18  # MedMod's _swap: 16-20 % of the batch
    assert build_pretrain_model(align).swap_fraction == 0.18
    assert medmod_benchmark("simclr").swap_fraction == 0.0


def test_medmod_benchmark_simclr_uses_medmods_loss():
    """MedMod's SimCLR is 2 * decoupled cross-modal CLIP, not NT-Xent with decoupled=True."""
    bench = medmod_benchmark("simclr", cxr_arch="resnet18")
    assert bench.simclr_loss == "medmod"
    criterion = build_pretrain_model(bench).criterion
    assert isinstance(criterion, MedModSimCLRLoss) and criterion.temperature == 0.01
    g = torch.Generator().manual_seed(0)
    z_ehr, z_img = torch.randn(6, 8, generator=g), torch.randn(6, 8, generator=g)
    want = 2 * clip_loss(z_img, z_ehr, 1 / 0.01, decoupled=True)
    torch.testing.assert_close(criterion(z_ehr, z_img), want)
    assert isinstance(build_pretrain_model(cfg("simclr")).criterion, NTXentLoss)
    with pytest.raises(ValueError, match="simclr_loss"):
        PretrainConfig(method="vicreg", simclr_loss="medmod")
    with pytest.raises(ValueError, match="simclr_loss"):
        PretrainConfig(simclr_loss="dcl")


@pytest.mark.parametrize("method", ["simclr", "vicreg", "align"])
def test_built_model_matches_medmod_architecture(method):
    model = build_pretrain_model(cfg(method, ehr_hidden_dim=256 if method == "align" else 128))
    if method == "align":
        assert (model.ehr_head.in_features, model.ehr_head.out_features) == (256, 512)
        assert (model.cxr_head.in_features, model.cxr_head.out_features) == (512, 512)
        assert model.criterion.temperature == pytest.approx(0.07)
    else:
        assert [m.out_features for m in model.cxr_head if isinstance(m, nn.Linear)] == [
            128,
            128,
            128,
        ]
    batch = next(iter(make_loader(RandomPairs(4, seed=5), batch_size=4, shuffle=False)))
    assert torch.isfinite(model(batch)["loss"])
