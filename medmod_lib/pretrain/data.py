"""Data helpers for pretraining: paired-only subsets, loaders, tiny random pairs.

Pretraining needs pairs. :func:`paired_subset` keeps the paired rows of a
multimodal dataset and reports how many were left out; :class:`RandomPairs`
is a seeded stand-in dataset (EHR and image share a latent factor, so there is
something to learn) for tests, benchmarks and the command line's smoke runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, RandomSampler, Subset

from ..training import distributed as ddp


@dataclass(frozen=True)
class PairedCounts:
    """How many samples a paired-only subset kept and skipped."""

    paired: int
    unpaired_skipped: int

    def __str__(self) -> str:
        return f"{self.paired} paired samples used, {self.unpaired_skipped} unpaired skipped"


def paired_subset(dataset: Dataset) -> tuple[Subset, PairedCounts]:
    """The rows of ``dataset`` that have both an EHR window and an image.

    Args:
        dataset: a ``linking.MultimodalDataset`` (anything with a ``samples`` frame with a
            boolean ``paired`` column and ``images`` set).

    Returns:
        ``(subset, counts)``.

    Raises:
        ValueError: if the dataset carries no pairing information or has no pairs.
    """
    samples = getattr(dataset, "samples", None)
    if samples is None or "paired" not in samples or getattr(dataset, "images", 1) is None:
        raise ValueError(
            f"{dataset!r} has no image pairing ('samples.paired' with images); build it from a "
            "paired or partial cohort with an image source."
        )
    keep = samples["paired"].to_numpy(bool)
    if "stay_id" in samples:
        keep = keep & samples["stay_id"].notna().to_numpy()
    idx = np.flatnonzero(keep).tolist()
    if len(idx) < 2:
        raise ValueError(f"{dataset!r}: only {len(idx)} paired samples; pretraining needs pairs.")
    return Subset(dataset, idx), PairedCounts(len(idx), len(samples) - len(idx))


def make_loader(
    dataset: Dataset,
    *,
    batch_size: int,
    shuffle: bool,
    seed: int = 0,
    num_workers: int = 0,
    collate_fn: Any = None,
    drop_last: bool | None = None,
) -> DataLoader:
    """A seeded loader; a ``DistributedSampler`` is used automatically under torchrun.

    Training loaders drop the last short batch by default (contrastive losses need
    full batches; a batch of 1 is an error).

    Args:
        dataset: map-style dataset of sample dicts.
        batch_size: per-process batch size.
        shuffle: shuffle every epoch (the order is fixed by ``seed``).
        seed: seed of the shuffling generator (stored in checkpoints for resume).
        num_workers: loader worker processes.
        collate_fn: e.g. ``linking.MultimodalCollate``; default stacks tensors.
        drop_last: default ``shuffle`` (True for training).
    """
    drop_last = shuffle if drop_last is None else drop_last
    sampler = ddp.distributed_sampler(dataset, shuffle=shuffle, seed=seed, drop_last=drop_last)
    if sampler is None and shuffle:
        gen = torch.Generator().manual_seed(seed)
        sampler = RandomSampler(dataset, generator=gen)
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=sampler,
        shuffle=False if sampler else shuffle,
        num_workers=num_workers,
        collate_fn=collate_fn,
        drop_last=drop_last,
        persistent_workers=False,
    )


class RandomPairs(Dataset):
    """Seeded random EHR/image pairs in the model-batch layout (tests, benchmarks, smoke runs).

    Sample i has a latent vector u_i (``latent`` dims); its EHR inputs, (T, F), and its
    image, (C, H, W), are noisy linear functions of u_i, so the two modalities share
    information. ``labels`` is ``u_i[0] > 0`` as a (1,) float.

    Args:
        n: samples.
        seq_len: hours T (lengths drawn in [1, T]).
        n_features: F (76).
        image_shape: (C, H, W).
        paired_fraction: share of samples with an image (the rest get zeros and paired=False).
        latent: shared latent dimension.
        noise: noise standard deviation.
        seed: everything is fixed by it.
    """

    def __init__(
        self,
        n: int = 64,
        *,
        seq_len: int = 6,
        n_features: int = 76,
        image_shape: tuple[int, int, int] = (1, 32, 32),
        paired_fraction: float = 1.0,
        latent: int = 4,
        noise: float = 0.5,
        seed: int = 0,
    ) -> None:
        g = torch.Generator().manual_seed(seed)
        c, h, w = image_shape
        u = torch.randn(n, latent, generator=g)
        a = torch.randn(latent, n_features, generator=g)
        b = torch.randn(latent, c * h * w, generator=g) / latent**0.5
        self.ehr = (u @ a).unsqueeze(1) + noise * torch.randn(n, seq_len, n_features, generator=g)
        self.lengths = torch.randint(1, seq_len + 1, (n,), generator=g)
        for i, t in enumerate(self.lengths.tolist()):
            self.ehr[i, t:] = 0.0
        img = (u @ b) + noise * torch.randn(n, c * h * w, generator=g)
        self.paired = torch.rand(n, generator=g) < paired_fraction
        self.image = img.view(n, c, h, w) * self.paired.view(n, 1, 1, 1)
        self.labels = (u[:, :1] > 0).float()
        self.image_shape = tuple(image_shape)

    def __len__(self) -> int:
        return len(self.ehr)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {
            "ehr": self.ehr[i],
            "ehr_lengths": self.lengths[i],
            "image": self.image[i],
            "paired": self.paired[i],
            "labels": self.labels[i],
            "stay_id": torch.tensor(i),
        }

    def __repr__(self) -> str:
        return (
            f"RandomPairs(samples={len(self)}, paired={int(self.paired.sum())}, "
            f"T={self.ehr.shape[1]}, F={self.ehr.shape[2]}, image={self.image_shape})"
        )


def random_pair_datasets(
    n_train: int = 64, n_val: int = 32, seed: int = 0, **kwargs: Any
) -> dict[str, Dataset]:
    """Train/val :class:`RandomPairs` with the same latent map (data factory for the CLI).

    Both are slices of one draw, so they share the latent-to-input map.
    """
    full = RandomPairs(n_train + n_val, seed=seed, **kwargs)
    return {
        "train": Subset(full, range(n_train)),
        "val": Subset(full, range(n_train, n_train + n_val)),
    }
