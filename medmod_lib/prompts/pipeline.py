"""Task datasets with prompts: ``TaskData`` splits -> ``PromptDataset`` splits, cached.

::

    data = workflow.task_datasets(linked, ehr, cache, task="radiology", mode="paired")
    pdata = prompt_datasets(data, ehr, rule=linked.cohort("radiology", "paired").rule,
                            cache_dir=ctx.output_dir / "prompt_cache")
    loader = pdata.loader("train", batch_size=32, seed=0)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch
from torch.utils.data import DataLoader, Dataset, Subset

from ..linking.rules import LinkingRule
from .augment import PromptAugmenter
from .dataset import (
    LazySentenceEncoder,
    PromptCollate,
    PromptDataset,
    PromptTable,
    build_prompt_table,
    earlier_diagnoses,
    embed_table,
)
from .text_encoder import EmbeddingCache

SPLITS = ("train", "val", "test")


def samples_of(dataset: Dataset) -> pd.DataFrame:
    """The cohort rows of a ``MultimodalDataset`` or of a ``Subset`` of one, in item order."""
    if isinstance(dataset, Subset):
        return samples_of(dataset.dataset).iloc[list(dataset.indices)].reset_index(drop=True)
    samples = getattr(dataset, "samples", None)
    if samples is None:
        raise TypeError(f"{dataset!r} has no cohort rows ('samples'); pass a MultimodalDataset.")
    return samples


@dataclass
class PromptData:
    """Prompt datasets of one task and cohort mode, one per split.

    Attributes:
        train, val, test: :class:`PromptDataset` splits.
        collate: batch builder (:class:`PromptCollate`).
        cache: the embedding cache used (``None`` for end-to-end text encoders);
            ``cache.hits`` / ``cache.misses`` count reused and new texts.
    """

    train: PromptDataset
    val: PromptDataset
    test: PromptDataset
    collate: PromptCollate
    cache: EmbeddingCache | None

    def loader(
        self, split: str, *, batch_size: int = 32, shuffle: bool | None = None, seed: int = 0
    ) -> DataLoader:
        """A seeded DataLoader over one split (shuffled and dropping the last short batch
        for train, where contrastive losses need full batches)."""
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        shuffle = (split == "train") if shuffle is None else shuffle
        return DataLoader(
            getattr(self, split),
            batch_size=batch_size,
            shuffle=shuffle,
            drop_last=shuffle and len(getattr(self, split)) > batch_size,
            collate_fn=self.collate,
            generator=torch.Generator().manual_seed(seed),
        )

    def __repr__(self) -> str:
        sizes = ", ".join(f"{s}={len(getattr(self, s))}" for s in SPLITS)
        return f"PromptData({sizes}, variants={self.train.table.n_variants})"


def prompt_datasets(
    data,
    ehr,
    *,
    rule: LinkingRule | None = None,
    cache_dir: str | Path | None = None,
    encoder=None,
    n_variants: int = 4,
    augmenter: PromptAugmenter | None = None,
    seed: int = 0,
    history_root: str | Path | None = None,
    device: str = "cpu",
    progress: bool = True,
) -> PromptData:
    """Attach prompts (and frozen-encoder embeddings) to every split of a ``TaskData``.

    Args:
        data: :class:`medmod_lib.workflow.TaskData` of a paired or partial cohort, or
            :class:`medmod_lib.pretrain.linked.LinkedPairs` (its ``train``/``val``/``test``).
        ehr: its :class:`~medmod_lib.ehr.processed.ProcessedEHR` (stays, timeseries).
        rule: the cohort's linking rule (default: the task's default rule).
        cache_dir: embedding cache folder (under the output root); ``None`` with
            no ``encoder`` means no embeddings (end-to-end text encoder).
        encoder: frozen text encoder with ``name`` and ``encode`` (default with a
            ``cache_dir``: all-MiniLM-L6-v2, loaded only if some text is not cached).
        n_variants: texts per training sample (canonical + augmentations); validation
            and test samples get the canonical prompt only, the one an evaluation reads
            (:meth:`PromptCLIPModel.embed_text` in eval mode), so nothing is encoded
            that no step uses.
        augmenter: variant maker.
        seed: augmentation seed.
        history_root: raw data root; if given, prompts state the diagnoses of the
            subject's *earlier* admissions (off by default).
        device: where the default sentence encoder runs (e.g. ``"cuda"``).
        progress: tqdm bars.

    Returns:
        A :class:`PromptData`.
    """
    task = data.task if hasattr(data, "task") else data.settings.task
    rule = rule or LinkingRule.for_task(task)
    timeseries = ehr.timeseries()
    splits = {s: getattr(data, s) for s in SPLITS}
    samples = {s: samples_of(d) for s, d in splits.items()}
    history = None
    if history_root is not None:
        hadm = ehr.stays.set_index("stay_id")["hadm_id"]
        stays = {int(x) for f in samples.values() for x in f["stay_id"].dropna()}
        history = earlier_diagnoses(history_root, [int(hadm[s]) for s in sorted(stays)])
    if encoder is None and cache_dir is not None:
        encoder = LazySentenceEncoder(device=device)
    cache = None
    if encoder is not None:
        folder = Path(cache_dir) if cache_dir is not None else None
        if folder is None:
            raise ValueError("prompt_datasets: an encoder needs a cache_dir for its embeddings.")
        cache = EmbeddingCache(folder, encoder)
    out = {}
    for split, base in splits.items():
        table: PromptTable = build_prompt_table(
            samples[split],
            ehr.stays,
            timeseries,
            rule,
            n_variants=n_variants if split == "train" else 1,
            augmenter=augmenter,
            seed=seed,
            history=history,
            progress=progress,
        )
        emb = embed_table(table, cache) if cache is not None else None
        out[split] = PromptDataset(base, table, emb)
    return PromptData(**out, collate=PromptCollate(data.collate), cache=cache)
