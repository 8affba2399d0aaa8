"""Image-text model: variants, skips, end-to-end text encoder, the one loop, retrieval."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from medmod_lib.pretrain import extract_features
from medmod_lib.prompts.model import (
    PromptCLIPConfig,
    PromptCLIPModel,
    build_prompt_model,
    pretrain_prompts,
)
from medmod_lib.prompts.retrieval import (
    PairEmbeddings,
    embed_pairs,
    nearest_prompts,
    recall_at_k,
    retrieval_ranks,
)

SMALL = dict(cxr_arch="resnet18", device="cpu", progress=False, batch_size=8)


class TinyPairs(Dataset):
    """Images whose brightness matches a 'fever' word and embedding (learnable pairing)."""

    def __init__(self, n: int = 16, variants: int = 3, seed: int = 0) -> None:
        g = torch.Generator().manual_seed(seed)
        self.level = torch.rand(n, generator=g)
        self.image = self.level.view(n, 1, 1, 1) + 0.1 * torch.randn(n, 1, 16, 16, generator=g)
        self.emb = self.level.view(n, 1, 1) * torch.ones(n, variants, 4)
        self.emb += 0.05 * torch.randn(n, variants, 4, generator=g)
        self.variants = variants

    def __len__(self) -> int:
        return len(self.level)

    def __getitem__(self, i: int) -> dict:
        words = "febrile" if self.level[i] > 0.5 else "afebrile"
        return {
            "image": self.image[i],
            "paired": torch.tensor(i % 8 != 7),  # one unpaired row per batch of 8
            "has_text": torch.tensor(True),
            "text_embedding": self.emb[i],
            "prompts": [f"patient {words} {i} v{v}" for v in range(self.variants)],
            "labels": (self.level[i : i + 1] > 0.5).float(),
            "stay_id": torch.tensor(i),
        }


def collate(items: list[dict]) -> dict:
    out = {k: torch.stack([it[k] for it in items]) for k in items[0] if k != "prompts"}
    out["prompts"] = [it["prompts"] for it in items]
    return out


def loader(ds: Dataset, shuffle: bool = False) -> DataLoader:
    return DataLoader(
        ds,
        batch_size=8,
        shuffle=shuffle,
        collate_fn=collate,
        generator=torch.Generator().manual_seed(0),
    )


class TinyCNN(nn.Sequential):
    """A fast stand-in for the ResNet (same interface: out_dim, (B, C, H, W) -> (B, d))."""

    out_dim = 8

    def __init__(self) -> None:
        super().__init__(nn.Conv2d(1, 8, 3, stride=2), nn.AdaptiveAvgPool2d(1), nn.Flatten())


def model(tiny: bool = False, **kw) -> PromptCLIPModel:
    torch.manual_seed(0)
    m = build_prompt_model(PromptCLIPConfig(text_dim=4, **(SMALL | kw)))
    if tiny:
        m.cxr_encoder, m.cxr_head = TinyCNN(), nn.Linear(8, m.cxr_head.out_features)
    return m


def test_eval_uses_the_canonical_prompt_and_training_varies_it():
    m = model()
    batch = collate([TinyPairs()[i] for i in range(8)])
    m.eval()
    z = m.embed_text(batch)
    torch.testing.assert_close(z, m.text_head(batch["text_embedding"][:, 0]))
    m.train()
    torch.manual_seed(1)
    pick = torch.randint(3, (8,))
    assert pick.ne(0).any()
    torch.manual_seed(1)
    z_train = m.embed_text(batch)  # one variant per row from the (seeded) global RNG
    torch.testing.assert_close(z_train, m.text_head(batch["text_embedding"][torch.arange(8), pick]))


def test_forward_counts_unpaired_rows_and_skips_small_batches():
    m = model()
    batch = collate([TinyPairs()[i] for i in range(8)])
    out = m(batch)
    assert out["n_pairs"].item() == 7 and out["n_unpaired"].item() == 1
    assert torch.isfinite(out["loss"]) and abs(out["temperature"].item() - 0.07) < 1e-4
    batch["paired"][:] = False
    batch["paired"][0] = True
    out = m(batch)
    assert out["skip"].item() and out["loss"].item() == 0.0
    with pytest.raises(KeyError, match="text_embedding"):
        m(
            {
                k: v
                for k, v in collate([TinyPairs()[i] for i in range(8)]).items()
                if k != "text_embedding"
            }
        )


def test_hashing_text_encoder_trains_end_to_end():
    m = model(text_encoder="hashing", hashing_dim=16)
    batch = collate([TinyPairs()[i] for i in range(8)])
    batch.pop("text_embedding")
    m(batch)["loss"].backward()
    assert m.text_encoder.bag.weight.grad.abs().sum() > 0


def test_pretraining_runs_through_fit_and_is_deterministic(tmp_path):
    cfg = PromptCLIPConfig(text_dim=4, epochs=3, lr=3e-3, **SMALL)
    runs = [
        pretrain_prompts(
            cfg,
            loader(TinyPairs(32), shuffle=True),
            loader(TinyPairs(16, seed=1)),
            model=model(tiny=True),
        )
        for _ in range(2)
    ]
    h = [r.epochs() for r in runs]
    np.testing.assert_allclose(h[0]["loss"], h[1]["loss"])
    assert list(h[0]["epoch"]) == [1, 2, 3] and runs[0].best_epoch is not None
    assert set(h[0]) >= {"loss", "temperature", "n_pairs", "n_unpaired", "val_loss"}
    assert h[0]["n_unpaired"].iloc[0] == 4.0  # counts are summed over the epoch
    # Checkpoints and the CSV log of the one loop; the image encoder is probe-ready.
    out = pretrain_prompts(
        cfg, loader(TinyPairs(32), shuffle=True), out_dir=tmp_path / "p", model=model(tiny=True)
    )
    assert (tmp_path / "p" / "last.pt").exists() and (tmp_path / "p" / "log.csv").exists()
    x, y = extract_features(out.model, loader(TinyPairs(16)), features="cxr")
    assert x.shape == (14, 8) and set(y) <= {0, 1}


def pairs(image: np.ndarray, text: np.ndarray, prompts: list[str]) -> PairEmbeddings:
    return PairEmbeddings(image, text, prompts, np.arange(len(prompts)))


def test_recall_is_perfect_for_aligned_embeddings_and_duplicates_count_once():
    eye = np.eye(4, dtype=np.float32)
    p = pairs(eye, eye, ["a", "b", "c", "d"])
    np.testing.assert_array_equal(retrieval_ranks(p), [0, 0, 0, 0])
    table = recall_at_k(p, ks=(1, 2, 10))
    assert table["recall"].tolist() == [1.0, 1.0, 1.0]
    assert table["chance"].tolist() == [0.25, 0.5, 1.0]
    # Two X-rays share one prompt: 3 candidates, both find it first.
    img = np.array([[1, 0], [1, 0.1], [0, 1]], np.float32)
    txt = np.array([[1, 0], [1, 0], [0, 1]], np.float32)
    p = pairs(img, txt, ["same", "same", "other"])
    assert recall_at_k(p, ks=(1,))["candidates"].item() == 2
    np.testing.assert_array_equal(retrieval_ranks(p), [0, 0, 0])


def test_recall_interval_is_wilson_and_says_whether_it_clears_chance():
    from medmod_lib.metrics import wilson_interval

    lo, hi = wilson_interval(0.1, 100)
    assert abs(lo - 0.0552) < 1e-3 and abs(hi - 0.1744) < 1e-3  # textbook values
    assert abs(wilson_interval(0.0, 50)[0]) < 1e-12 and 0 < wilson_interval(0.0, 50)[1] < 0.08
    eye = np.eye(40, dtype=np.float32)
    perfect = recall_at_k(pairs(eye, eye, [str(i) for i in range(40)]), ks=(1,))
    assert perfect["above_chance"].item() and perfect["ci_low"].item() > 0.9
    rng = np.random.default_rng(0)
    noise = pairs(
        rng.normal(size=(40, 8)).astype(np.float32),
        rng.normal(size=(40, 8)).astype(np.float32),
        [str(i) for i in range(40)],
    )
    row = recall_at_k(noise, ks=(5,)).iloc[0]
    assert row["ci_low"] <= row["recall"] <= row["ci_high"] and not row["above_chance"]


def test_reversed_embeddings_rank_last_and_nearest_prompts_lists_them():
    img = np.eye(3, dtype=np.float32)
    txt = -np.eye(3, dtype=np.float32)
    p = pairs(img, txt, ["a", "b", "c"])
    np.testing.assert_array_equal(retrieval_ranks(p), [2, 2, 2])
    near = nearest_prompts(p, 0, k=3)
    assert near["prompt"].tolist()[-1] == "a" and near["own"].tolist() == [False, False, True]


def test_embed_pairs_keeps_only_rows_with_both_modalities():
    m = model(tiny=True)
    emb = embed_pairs(m, loader(TinyPairs(16)))
    assert len(emb) == 14 and emb.image.shape == emb.text.shape == (14, 128)
    np.testing.assert_allclose(np.linalg.norm(emb.image, axis=1), 1.0, rtol=1e-5)
    assert all(p.endswith("v0") for p in emb.prompts)


def test_text_to_image_pools_set_chance_and_skip_same_text_competitors():
    from medmod_lib.prompts.retrieval import retrieval_pools

    pools = retrieval_pools(23, 5, seed=1)
    assert sorted(np.concatenate(pools).tolist()) == list(range(23))
    assert [len(p) for p in pools] == [5, 5, 5, 8]  # the short tail joins the last pool
    assert len(retrieval_pools(23, None)) == 1 and len(retrieval_pools(23, 50)) == 1
    eye = np.eye(20, dtype=np.float32)
    aligned = pairs(eye, eye, [str(i) for i in range(20)])
    table = recall_at_k(aligned, ks=(1, 5), direction="text->image", pool_size=10)
    assert table["recall"].tolist() == [1.0, 1.0]
    assert table["chance"].tolist() == pytest.approx([0.1, 0.5])
    assert table["candidates"].tolist() == [10, 10]
    # the query's own X-ray scores lowest; a twin with the same text is no competitor
    img = np.array([[0, 1], [1, 0], [1, 0]], np.float32)
    txt = np.array([[1, 0], [1, 0], [1, 0]], np.float32)
    twins = pairs(img, txt, ["q", "q", "other"])
    ranks = recall_at_k(twins, ks=(1,), direction="text->image")
    assert ranks["recall"].item() == pytest.approx(2 / 3)  # rows 1 and 2 find their X-ray first
    with pytest.raises(ValueError, match="direction"):
        recall_at_k(aligned, direction="sideways")
    with pytest.raises(ValueError, match="pool_size"):
        recall_at_k(aligned, pool_size=5)


def test_retrieval_rows_fit_the_results_table():
    from medmod_lib.prompts.retrieval import retrieval_results
    from medmod_lib.runner.results import RESULT_COLUMNS

    eye = np.eye(20, dtype=np.float32)
    table = recall_at_k(pairs(eye, eye, [str(i) for i in range(20)]), ks=(1, 5),
                        direction="text->image", pool_size=10)  # fmt: skip
    rows = retrieval_results(table, task="in-hospital-mortality", seed=3)
    assert list(rows.columns) == list(RESULT_COLUMNS)
    got = rows.set_index("metric")
    assert got.loc["recall@5", "value"] == 1.0 and got.loc["chance@5", "value"] == pytest.approx(
        0.5
    )
    assert got.loc["recall@1", "ci_low"] > 0.8 and np.isnan(got.loc["chance@1", "ci_low"])
    assert set(rows["protocol"]) == {"retrieval@10"} and set(rows["seed"]) == {3}
