"""Get-or-train helpers of notebook 06 on the linked synthetic pairs."""

from __future__ import annotations

import json

import pytest
import torch

from medmod_lib import workflow
from medmod_lib.pretrain import PretrainConfig
from medmod_lib.pretrain.linked import PairData, linked_pairs
from medmod_lib.pretrain.runs import pretrain_dir
from medmod_lib.prompts import PromptCLIPConfig, prompt_datasets
from medmod_lib.prompts.compare import (
    SIMCLR_XRAY,
    TwoViews,
    ensure_prompt_clip,
    ensure_simclr_xray,
    two_view_pairs,
)

FAST = dict(epochs=1, batch_size=8, cxr_arch="resnet18", device="cpu", progress=False)


@pytest.fixture(scope="module")
def pairs(linked, synthetic_root):
    ehr, data, out = linked
    cache = workflow.ensure_image_cache(synthetic_root, out, size=64, progress=False)
    return linked_pairs(data, ehr, cache, PairData(image_size=32, max_samples=16))


def test_two_views_are_two_draws_of_the_augmentation(pairs):
    torch.manual_seed(0)
    item = TwoViews(pairs.train)[0]
    assert item["image"].shape == item["image_view2"].shape == (1, 32, 32)
    assert not torch.equal(item["image"], item["image_view2"])
    batch = next(iter(two_view_pairs(pairs).loader("train", batch_size=4)))
    assert batch["image_view2"].shape == batch["image"].shape == (4, 1, 32, 32)


def test_prompt_clip_is_trained_once_then_reused(linked, pairs, counting_encoder, tmp_path):
    ehr, _, out = linked
    prompts = prompt_datasets(
        pairs, ehr, cache_dir=out / "emb-compare", encoder=counting_encoder, progress=False
    )
    assert len(prompts.train) == len(pairs.train)
    config = PromptCLIPConfig(text_dim=3, **FAST)
    first = ensure_prompt_clip(tmp_path, pairs, prompts, config)
    folder = pretrain_dir(tmp_path, "prompt-clip", 0)
    settings = json.loads((folder / "settings.json").read_text())
    assert settings["finished"] and settings["monitor"] in ("val_auroc", "val_loss")
    stamp = (folder / "log.csv").stat().st_mtime_ns
    again = ensure_prompt_clip(tmp_path, pairs, prompts, config)
    assert (folder / "log.csv").stat().st_mtime_ns == stamp  # reused, not retrained
    for a, b in zip(first.state_dict().values(), again.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b)
    ensure_prompt_clip(tmp_path, pairs, prompts, PromptCLIPConfig(text_dim=3, lr=5e-4, **FAST))
    assert (folder / "log.csv").stat().st_mtime_ns != stamp  # other settings: retrained


def test_simclr_xray_trains_on_two_image_views(pairs, tmp_path):
    model = ensure_simclr_xray(tmp_path, pairs, PretrainConfig(**FAST))
    assert model.views == "intra" and model.ehr_encoder is None
    folder = pretrain_dir(tmp_path, SIMCLR_XRAY, 0)
    assert (folder / "best.pt").exists()
    stamp = (folder / "log.csv").stat().st_mtime_ns
    ensure_simclr_xray(tmp_path, pairs, PretrainConfig(**FAST))
    assert (folder / "log.csv").stat().st_mtime_ns == stamp


def test_a_killed_prompt_run_is_never_reused_and_new_links_retrain(
    linked, pairs, counting_encoder, tmp_path, monkeypatch
):
    """Regression: prompt runs follow the one get-or-build rule (medmod_lib.artifacts)."""
    import dataclasses

    from medmod_lib.prompts import compare

    ehr, _, out = linked
    prompts = prompt_datasets(
        pairs, ehr, cache_dir=out / "emb-compare", encoder=counting_encoder, progress=False
    )
    config = PromptCLIPConfig(text_dim=3, **FAST)
    real = compare.pretrain_prompts

    def killed(*args, **kwargs):
        real(*args, **kwargs)  # checkpoints written, settings.json not yet
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(compare, "pretrain_prompts", killed)
        with pytest.raises(KeyboardInterrupt):
            ensure_prompt_clip(tmp_path, pairs, prompts, config)
    folder = pretrain_dir(tmp_path, "prompt-clip", 0)
    assert not folder.exists() and not list(folder.parent.iterdir())
    ensure_prompt_clip(tmp_path, pairs, prompts, config)
    stamp = (folder / "log.csv").stat().st_mtime_ns
    assert pairs.sources["linked"]  # the pairs know the links they come from
    relinked = dataclasses.replace(pairs, sources={**pairs.sources, "linked": "rebuilt"})
    ensure_prompt_clip(tmp_path, relinked, prompts, config)
    assert (folder / "log.csv").stat().st_mtime_ns != stamp  # other links: retrained
