"""Feature caching for linear probes: run the frozen encoders once per split.

A probe trains only a linear layer, so the encoders' outputs never change:
:func:`extract_features` computes them once (images through the eval
transform, no augmentation) and :meth:`FeatureSet.loader` serves seeded
mini-batches of tensors to the training loop, which makes a 100-epoch probe
cost seconds on a CPU.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch.utils.data import BatchSampler, DataLoader, Dataset, RandomSampler, SequentialSampler
from tqdm.auto import tqdm

from .heads import EncoderClassifier

_KEYS = ("features", "labels", "label_mask", "paired", "stay_id")


def label_subset(n: int, fraction: float, *, seed: int = 0) -> torch.Tensor:
    """Sorted positions of a seeded random ``fraction`` of ``n`` rows (at least 2).

    The rows a probe sees when it gets only part of the training labels: one seeded
    permutation cut at ``round(fraction * n)``, so the same seed gives the same rows and
    a smaller fraction's rows are inside a larger one's (nested label budgets).
    """
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    k = min(n, max(2, int(round(fraction * n))))
    if k == n:
        return torch.arange(n)
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return order[:k].sort().values


@dataclass
class FeatureSet:
    """Cached classifier inputs of one split, in loader order.

    Attributes:
        features: (n, F) float32.
        labels: (n, K) float, or (n,) long for length of stay.
        label_mask: (n, K) float or ``None`` (LOS).
        paired: (n,) bool.
        stay_id: (n,) long.
    """

    features: torch.Tensor
    labels: torch.Tensor
    label_mask: torch.Tensor | None
    paired: torch.Tensor
    stay_id: torch.Tensor

    def __len__(self) -> int:
        return len(self.features)

    def batch(self, index: Any) -> dict[str, torch.Tensor]:
        """Rows ``index`` as a batch dict (``features`` instead of ``ehr``/``image``)."""
        out = {k: getattr(self, k)[index] for k in _KEYS if getattr(self, k) is not None}
        return out

    def subset(self, fraction: float, *, seed: int = 0) -> FeatureSet:
        """A seeded random ``fraction`` of the rows (at least 2), in their original order.

        Used to fit probes on part of the training labels (label efficiency); the
        same seed gives the same rows, and a smaller fraction's rows are a subset of
        a larger one's (one permutation, cut at different lengths).
        """
        keep = label_subset(len(self), fraction, seed=seed)
        if len(keep) == len(self):
            return self
        return FeatureSet(**{key: _take(getattr(self, key), keep) for key in _KEYS})

    def loader(self, *, batch_size: int, shuffle: bool, seed: int = 0) -> DataLoader:
        """Mini-batches of rows (seeded shuffling), for :func:`medmod_lib.training.fit`."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        data = _Rows(self)
        sampler = (
            RandomSampler(data, generator=torch.Generator().manual_seed(seed))
            if shuffle
            else SequentialSampler(data)
        )
        return DataLoader(
            data, sampler=BatchSampler(sampler, batch_size, drop_last=False), batch_size=None
        )


def _take(x: torch.Tensor | None, index: torch.Tensor) -> torch.Tensor | None:
    return None if x is None else x[index]


class _Rows(Dataset):
    """Map-style view whose items are whole batches (index lists from a BatchSampler)."""

    def __init__(self, features: FeatureSet) -> None:
        self.features = features

    def __len__(self) -> int:
        return len(self.features)

    def __getitem__(self, index: list[int]) -> dict[str, torch.Tensor]:
        return self.features.batch(torch.as_tensor(index, dtype=torch.long))


@torch.no_grad()
def extract_features(
    model: EncoderClassifier,
    loader: Iterable[Mapping[str, Any]],
    *,
    device: str | torch.device = "cpu",
    desc: str = "features",
    progress: bool = True,
) -> FeatureSet:
    """Run ``model.features`` over every batch of ``loader`` (eval mode, no gradients).

    Args:
        model: an :class:`EncoderClassifier` (its head is not used).
        loader: batch dicts in a fixed order (no shuffling, eval transforms).
        device: where the encoders run; features come back on the CPU.
        desc: progress bar label.
        progress: show the bar.

    Raises:
        ValueError: if the loader yields no batches.
    """
    was_training = model.training
    model.eval().to(device)
    parts: dict[str, list[torch.Tensor]] = {k: [] for k in _KEYS}
    for batch in tqdm(loader, desc=desc, leave=False, disable=not progress):
        moved = {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}
        parts["features"].append(model.features(moved).float().cpu())
        parts["labels"].append(batch["labels"])
        if batch.get("label_mask") is not None:
            parts["label_mask"].append(batch["label_mask"])
        parts["paired"].append(batch["paired"].bool())
        b = len(batch["paired"])
        parts["stay_id"].append(batch.get("stay_id", torch.full((b,), -1, dtype=torch.long)))
    model.train(was_training)
    if not parts["features"]:
        raise ValueError("extract_features: the loader yielded no batches")
    return FeatureSet(
        features=torch.cat(parts["features"]),
        labels=torch.cat(parts["labels"]),
        label_mask=torch.cat(parts["label_mask"]) if parts["label_mask"] else None,
        paired=torch.cat(parts["paired"]),
        stay_id=torch.cat(parts["stay_id"]),
    )
