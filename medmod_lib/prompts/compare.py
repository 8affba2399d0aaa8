"""Get-or-train the three image encoders that notebook 06 compares.

All three learn from the same paired stays (:func:`medmod_lib.pretrain.linked.linked_pairs`,
training split, ``simclr`` image augmentations) and pick their epoch the same
way (linear-probe validation AUROC on frozen X-ray features, or the validation
loss when the validation pairs hold one class). Checkpoints live in the shared
layout ``<output_dir>/pretrain/<method>/seed<seed>/``:

=============  ===================================================  ===========================
method         pairs                                                trained by
=============  ===================================================  ===========================
prompt-clip    X-ray <-> clinical prompt (CLIP loss)                :func:`ensure_prompt_clip`
align          X-ray <-> EHR time series (CLIP loss, MedMod ALIGN)  notebook 02 / ``ensure_pretrained``
simclr-xray    two augmented views of the X-ray (NT-Xent)           :func:`ensure_simclr_xray`
=============  ===================================================  ===========================
"""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import Dataset

from .. import artifacts
from ..pretrain import PretrainConfig, PretrainModel, make_probe_fn
from ..pretrain.linked import LinkedPairs
from ..pretrain.runs import SETTINGS_FILE, load_pretrained, pretrain_dir, pretrain_linked
from ..training.checkpoint import BEST, load_model_weights
from .model import METHOD, PromptCLIPConfig, PromptCLIPModel, build_prompt_model, pretrain_prompts
from .pipeline import PromptData

SIMCLR_XRAY = "simclr-xray"


def _probe_monitor(pairs: LinkedPairs) -> str:
    return "val_auroc" if pairs.probe_scorable else "val_loss"


def ensure_prompt_clip(
    output_dir: str | Path,
    pairs: LinkedPairs,
    prompts: PromptData,
    config: PromptCLIPConfig,
    *,
    name: str = METHOD,
    force: bool = False,
) -> PromptCLIPModel:
    """The ``prompt-clip`` model of ``config``: reused from its folder, or trained there.

    Args:
        output_dir: the run's shared folder.
        pairs: the paired stays (probe loaders: ``probe_train`` and ``val``).
        prompts: ``prompt_datasets(pairs, ...)`` (training and validation batches).
        config: the run; a stored run with other settings (or data) is replaced.
            ``monitor="auto"`` picks the epoch by the linear-probe validation AUROC
            (the validation loss when it is undefined); ``None`` keeps the last epoch.
        name: the run's folder under ``pretrain/`` (e.g. ``"prompt-clip-noaug"`` for an
            ablation trained on the canonical prompts only).
        force: retrain even if a finished run with the same settings exists.

    Returns:
        The model with its selected epoch's weights, in eval mode, on the CPU.
    """
    out = pretrain_dir(output_dir, name, config.seed)
    monitor = _probe_monitor(pairs) if config.monitor == "auto" else config.monitor
    config = replace(config, monitor=monitor)
    texts = prompts.train.table
    wanted = {
        "pretrain": _comparable(config.to_dict()),
        "data": _data(pairs),
        "n_variants": texts.n_variants,
        # the prompts themselves (wording, augmentations): a changed builder retrains
        "prompts": artifacts.text_digest(texts.texts()),
    }

    def build(tmp: Path) -> None:
        bs = config.batch_size
        probe = None
        if monitor == "val_auroc":
            probe = make_probe_fn(
                pairs.loader("probe_train", batch_size=bs),
                pairs.loader("val", batch_size=bs),
                features="cxr",
            )
        result = pretrain_prompts(
            config,
            prompts.loader("train", batch_size=bs, seed=config.seed),
            prompts.loader("val", batch_size=bs),
            out_dir=tmp,
            probe_fn=probe,
        )
        if not (tmp / BEST).is_file():  # no epoch improved: keep the last
            torch.save({"model": result.model.state_dict()}, tmp / BEST)
        info = {**wanted, "monitor": monitor, "best_epoch": result.best_epoch, "finished": True}
        (tmp / SETTINGS_FILE).write_text(json.dumps(info, indent=2, default=str) + "\n")

    def load(folder: Path) -> PromptCLIPModel:
        model = build_prompt_model(config)
        load_model_weights(model, folder / BEST)
        return model.eval()

    # Built in a temporary sibling, reused while settings and the pairs' sources match.
    return artifacts.get_or_build(
        out,
        kind="prompt-clip",
        settings=wanted,
        upstream=pairs.sources,
        build=build,
        load=load,
        force=force,
        markers=(SETTINGS_FILE, BEST, "last.pt"),
    )


def _comparable(config: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in config.items() if k not in ("device", "progress")}


class TwoViews(Dataset):
    """Items of ``base`` with a second, independently augmented X-ray under ``image_view2``.

    ``base`` must apply a random transform (e.g. the ``simclr`` preset): the
    item is read twice, so the two images are two draws of the augmentation.
    """

    def __init__(self, base: Dataset) -> None:
        self.base = base

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, i: int) -> dict[str, Any]:
        item = dict(self.base[i])
        item["image_view2"] = self.base[i]["image"]
        return item


class TwoViewCollate:
    """A collate function plus ``image_view2`` (B, C, H, W), zeros where no image."""

    def __init__(self, base: Any) -> None:
        self.base = base

    def __call__(self, items: list[dict[str, Any]]) -> dict[str, Any]:
        batch = self.base(items)
        view = torch.zeros_like(batch["image"])
        for k, it in enumerate(items):
            if it.get("image_view2") is not None:
                view[k] = it["image_view2"]
        batch["image_view2"] = view
        return batch


def two_view_pairs(pairs: LinkedPairs) -> LinkedPairs:
    """``pairs`` whose training and validation batches carry ``image_view2``."""
    return replace(
        pairs,
        train=TwoViews(pairs.train),
        val=TwoViews(pairs.val),
        collate=TwoViewCollate(pairs.collate),
    )


def ensure_simclr_xray(
    output_dir: str | Path, pairs: LinkedPairs, config: PretrainConfig, *, force: bool = False
) -> PretrainModel:
    """X-ray-only SimCLR (two augmented views, ``views="intra"``), reused or trained.

    Args:
        output_dir: the run's shared folder (``pretrain/simclr-xray/seed<seed>``).
        pairs: the paired stays (only their images are used).
        config: a SimCLR config; ``views`` is set to ``"intra"``.
        force: retrain even if a finished run with the same settings exists.

    Returns:
        The pretraining model (its ``cxr_encoder``), selected epoch, eval mode.
    """
    config = replace(config, method="simclr", views="intra")
    out = pretrain_dir(output_dir, SIMCLR_XRAY, config.seed)
    want = {k: v for k, v in config.to_dict().items() if k not in ("device", "progress", "monitor")}
    return artifacts.get_or_build(
        out,
        kind="simclr-xray",
        settings={"pretrain": want, "data": _data(pairs)},
        upstream=pairs.sources,
        build=lambda tmp: pretrain_linked(  # a comparison encoder: no per-epoch probe
            two_view_pairs(pairs), config, out_dir=tmp, features="cxr", log_probe=False
        ),
        load=load_pretrained,
        force=force,
        markers=(SETTINGS_FILE, BEST, "last.pt"),
    )


def _data(pairs: LinkedPairs) -> dict[str, Any]:
    """The pairs' settings as stored in JSON (tuples become lists), for comparisons."""
    return json.loads(json.dumps(asdict(pairs.settings), default=str))
