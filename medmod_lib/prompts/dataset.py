"""X-ray + clinical prompt pairs built from a linked cohort.

Every sample of a linked cohort (one ICU stay, or one of its hourly samples)
gets a prompt written from its stay's demographics and the events charted
inside the sample's **prompt window**: from intime to the earlier of the
linking rule's window end and the sample's EHR window (``period_length``). So

* in-hospital mortality: the first 48 h;
* radiology linked to EHR: up to the X-ray's study time (the cohort sets
  ``period_length`` to it);
* phenotyping: the whole stay (outtime);
* decompensation / length of stay: the sample's prediction time.

Each sample has ``n_variants`` texts: the canonical prompt first, then seeded
augmentations (:class:`~medmod_lib.prompts.PromptAugmenter`). Frozen-encoder
embeddings of all of them are computed once through an
:class:`~medmod_lib.prompts.EmbeddingCache` and reused on the next build.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset
from tqdm.auto import tqdm

from ..linking import MultimodalCollate
from ..linking.rules import LinkingRule
from .augment import PromptAugmenter
from .builder import build_prompt_findings
from .text_encoder import EmbeddingCache, sentence_encoder_name, sentence_precision

#: Stay columns a prompt reads (demographics and admission type).
STAY_COLUMNS = ("stay_id", "hadm_id", "subject_id", "age", "anchor_age", "gender", "admission_type")


def prompt_window_hours(samples: pd.DataFrame, rule: LinkingRule) -> np.ndarray:
    """Hours after intime at which each sample's prompt window closes.

    The earlier of the rule's window end and the sample's ``period_length``
    (the EHR input window), so a prompt never states more than the model's
    time-series input may see.

    Args:
        samples: cohort rows with ``intime`` and what ``rule.window`` needs
            (``outtime``, ``period_length``).
        rule: the cohort's linking rule.

    Returns:
        float (N,) hours.
    """
    start, end = rule.window(samples)
    hours = ((end - start).dt.total_seconds() / 3600.0).to_numpy(float)
    if "period_length" in samples:
        period = samples["period_length"].astype(float).to_numpy()
        hours = np.where(np.isnan(period), hours, np.minimum(hours, period))
    return hours


def earlier_diagnoses(data_root: str | Path, hadm_ids: Sequence[int]) -> dict[int, list[str]]:
    """Benchmark phenotypes coded in a subject's admissions that ended before each admission.

    MIMIC codes an admission's diagnoses at discharge, so only *earlier*
    admissions (``dischtime <= admittime`` of the current one) are known at
    intime. Diagnoses of the current admission are never used.

    Args:
        data_root: raw data root (MIMIC-IV ``hosp/admissions`` and ``hosp/diagnoses_icd``).
        hadm_ids: the admissions to describe.

    Returns:
        ``{hadm_id: sorted phenotype names}`` (empty list when there is no history).
    """
    from ..ehr.reader import MimicIVReader
    from ..ehr.tasks import phenotype_labels

    reader = MimicIVReader(data_root)
    try:
        adm = reader.table("admissions", ["subject_id", "hadm_id", "admittime", "dischtime"])
        dx = reader.table("diagnoses_icd", ["hadm_id", "icd_code", "icd_version"])
    finally:
        reader.close()
    wanted = adm[adm["hadm_id"].isin(list(hadm_ids))]
    pairs = wanted.merge(adm, on="subject_id", suffixes=("", "_prev"))
    pairs = pairs[pairs["dischtime_prev"] <= pairs["admittime"]]
    phen = phenotype_labels(dx, adm["hadm_id"])
    out: dict[int, list[str]] = {int(h): [] for h in hadm_ids}
    for hadm, prev in pairs.groupby("hadm_id")["hadm_id_prev"]:
        known = phen.loc[phen.index.intersection(prev)].any(axis=0)
        out[int(hadm)] = sorted(known.index[known.to_numpy()])
    return out


@dataclass
class PromptTable:
    """Prompts of a cohort's samples, ``n_variants`` texts each (canonical first).

    Attributes:
        samples: one row per sample (same order as the cohort rows it was built
            from): ``stay_id``, ``window_hours``, ``prompt`` (canonical text).
        variants: (N, V) texts; ``variants[i][0] == samples.prompt[i]``.
    """

    samples: pd.DataFrame
    variants: list[list[str]]

    def __len__(self) -> int:
        return len(self.variants)

    @property
    def n_variants(self) -> int:
        return len(self.variants[0]) if self.variants else 0

    def texts(self) -> list[str]:
        """All N * V texts, sample-major (sample 0's variants first)."""
        return [t for row in self.variants for t in row]

    def __repr__(self) -> str:
        unique = self.samples["prompt"].nunique() if len(self) else 0
        return (
            f"PromptTable(samples={len(self)}, variants={self.n_variants}, unique_prompts={unique})"
        )


def build_prompt_table(
    samples: pd.DataFrame,
    stays: pd.DataFrame,
    timeseries: pd.DataFrame,
    rule: LinkingRule,
    *,
    n_variants: int = 4,
    augmenter: PromptAugmenter | None = None,
    seed: int = 0,
    history: Mapping[int, Sequence[str]] | None = None,
    progress: bool = True,
) -> PromptTable:
    """Write the prompts (and augmented variants) of a cohort's samples.

    Args:
        samples: cohort rows (``stay_id``, ``intime`` and the columns ``rule`` needs).
        stays: ``ProcessedEHR.stays`` (demographics, ``admission_type``).
        timeseries: ``ProcessedEHR.timeseries()`` (``stay_id, Hours`` + channels).
        rule: the cohort's linking rule (decides the prompt window).
        n_variants: texts per sample, the canonical prompt included (>= 1).
        augmenter: variant maker (default :class:`PromptAugmenter` ()).
        seed: augmentation seed; a sample's variants depend only on it, the
            stay and the window, not on the order of ``samples``.
        history: optional ``{hadm_id: diagnoses}`` known at intime (see
            :func:`earlier_diagnoses`); ``None`` writes no history.
        progress: tqdm bar.

    Returns:
        A :class:`PromptTable` aligned with ``samples``.

    Raises:
        ValueError: samples without a stay (the image-only radiology cohort), or
            stays missing from ``stays``.
    """
    if n_variants < 1:
        raise ValueError(f"n_variants must be >= 1, got {n_variants}")
    if "stay_id" not in samples or samples["stay_id"].isna().any():
        raise ValueError(
            "Prompts need an ICU stay per sample; the image-only 'radiology' cohort has none. "
            "Use a paired or partial cohort (e.g. radiology/paired)."
        )
    augmenter = augmenter or PromptAugmenter()
    stay_rows = stays.drop_duplicates("stay_id").set_index("stay_id")
    missing = sorted(set(samples["stay_id"].astype(int)) - set(stay_rows.index))
    if missing:
        raise ValueError(
            f"{len(missing)} sample stays (e.g. {missing[:3]}) are not in the processed stays "
            "table; link the cohort from the same processed EHR folder."
        )
    windows = prompt_window_hours(samples, rule)
    by_stay = dict(tuple(timeseries.groupby("stay_id", sort=False)))
    empty = timeseries.iloc[:0]
    rows, variants = [], []
    stay_ids = samples["stay_id"].astype(int).to_numpy()
    for stay_id, hours in tqdm(
        zip(stay_ids, windows, strict=True),
        total=len(samples),
        desc="prompts",
        disable=not progress,
    ):
        stay = stay_rows.loc[stay_id]
        dx = history.get(int(stay["hadm_id"]), ()) if history is not None else ()
        findings = build_prompt_findings(stay, by_stay.get(stay_id, empty), hours, history=dx)
        canonical = " ".join(f.render() for f in findings)
        rng = np.random.default_rng([seed, int(stay_id), int(round(hours * 1000))])
        variants.append([canonical] + [augmenter(findings, rng) for _ in range(n_variants - 1)])
        rows.append({"stay_id": int(stay_id), "window_hours": float(hours), "prompt": canonical})
    return PromptTable(pd.DataFrame(rows, columns=["stay_id", "window_hours", "prompt"]), variants)


class LazySentenceEncoder:
    """:class:`~medmod_lib.prompts.SentenceEncoder`, loaded on the first ``encode`` call.

    With an :class:`EmbeddingCache` that already holds every text, the model is
    never loaded (saves its ~7 s start-up on a CPU).
    """

    dim = 384

    def __init__(self, device: str = "cpu", batch_size: int = 64, precision: str = "auto") -> None:
        self.device, self.batch_size = device, batch_size
        self.precision = sentence_precision(device, precision)
        self.name = sentence_encoder_name(self.precision)
        self._model = None
        self.loads = 0

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if self._model is None:
            from .text_encoder import SentenceEncoder

            self._model = SentenceEncoder(
                device=self.device, batch_size=self.batch_size, precision=self.precision
            )
            self.loads += 1
        return self._model.encode(texts)


def embed_table(table: PromptTable, cache: EmbeddingCache) -> np.ndarray:
    """Embeddings of every variant, float32 (N, V, D), through the on-disk cache."""
    if len(table) == 0:
        return np.zeros((0, table.n_variants, 0), np.float32)
    flat = cache.encode(table.texts())
    return flat.reshape(len(table), table.n_variants, -1).astype(np.float32)


class PromptDataset(Dataset):
    """A multimodal dataset's samples with their prompts (and cached text embeddings).

    Items are the base dataset's dicts plus ``prompts`` (V texts, canonical
    first) and, when embeddings are given, ``text_embedding`` float32 (V, D).

    Args:
        base: e.g. ``TaskData.train`` (a ``linking.MultimodalDataset``).
        table: prompts aligned with ``base.samples``.
        embeddings: (N, V, D) frozen-encoder embeddings, or ``None`` for a text
            encoder trained end to end (:class:`~medmod_lib.prompts.HashingTextEncoder`).
    """

    def __init__(
        self, base: Dataset, table: PromptTable, embeddings: np.ndarray | None = None
    ) -> None:
        if len(base) != len(table):
            raise ValueError(f"{base!r} has {len(base)} samples but the prompts {len(table)}")
        if embeddings is not None and embeddings.shape[:2] != (len(table), table.n_variants):
            raise ValueError(
                f"embeddings of shape {embeddings.shape} do not match {len(table)} samples x "
                f"{table.n_variants} variants"
            )
        self.base, self.table = base, table
        self.embeddings = None if embeddings is None else torch.from_numpy(embeddings)

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, i: int) -> dict[str, Any]:
        item = dict(self.base[i])
        item["prompts"] = self.table.variants[i]
        if self.embeddings is not None:
            item["text_embedding"] = self.embeddings[i]
        return item

    def __repr__(self) -> str:
        dim = "none" if self.embeddings is None else int(self.embeddings.shape[-1])
        return f"PromptDataset(samples={len(self)}, variants={self.table.n_variants}, embedding_dim={dim}, base={self.base!r})"


class PromptCollate:
    """:class:`~medmod_lib.linking.MultimodalCollate` plus the text keys.

    Adds ``prompts`` (list of B lists of V texts), ``has_text`` bool (B,) and,
    when items carry embeddings, ``text_embedding`` float32 (B, V, D).
    """

    def __init__(self, base: MultimodalCollate) -> None:
        self.base = base

    def __call__(self, items: list[dict[str, Any]]) -> dict[str, Any]:
        batch = self.base(items)
        batch["prompts"] = [it["prompts"] for it in items]
        batch["has_text"] = torch.ones(len(items), dtype=torch.bool)
        if "text_embedding" in items[0]:
            batch["text_embedding"] = torch.stack([it["text_embedding"] for it in items])
        return batch
