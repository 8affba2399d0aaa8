"""Embeddings of paired stays from a pretrained model, and their pair similarity.

:func:`embed` runs both encoders (optionally the projection heads) over a loader
and keeps the paired rows; :func:`pair_similarity` compares each stay's EHR and
X-ray embedding with that of a shuffled (unpaired) stay, the check that
cross-modal pretraining did align the two modalities.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import DataLoader

from .model import PretrainModel


@dataclass
class Embeddings:
    """EHR and X-ray embeddings of N paired stays, row-aligned.

    Attributes:
        ehr: (N, d_ehr) float32.
        cxr: (N, d_cxr) float32.
        labels: (N, K) float32 targets of the batches (NaN where masked).
        stay_id: (N,) int64.
        projected: True if these are projection-head outputs (then d_ehr == d_cxr).
        n_unpaired: rows of the loader without an image (skipped, counted).
    """

    ehr: np.ndarray
    cxr: np.ndarray
    labels: np.ndarray
    stay_id: np.ndarray
    projected: bool
    n_unpaired: int

    def __len__(self) -> int:
        return len(self.ehr)

    def features(self, which: str = "both") -> np.ndarray:
        """``"ehr"``, ``"cxr"`` or ``"both"`` (concatenated, EHR first): (N, d)."""
        if which == "ehr":
            return self.ehr
        if which == "cxr":
            return self.cxr
        if which == "both":
            return np.concatenate([self.ehr, self.cxr], axis=1)
        raise ValueError(f"features must be 'ehr', 'cxr' or 'both', got {which!r}")

    def __repr__(self) -> str:
        kind = "projections" if self.projected else "encoder features"
        return (
            f"Embeddings({kind}, pairs={len(self)}, ehr_dim={self.ehr.shape[1]}, "
            f"cxr_dim={self.cxr.shape[1]}, unpaired_skipped={self.n_unpaired})"
        )


@torch.no_grad()
def embed(model: PretrainModel, loader: DataLoader, *, projected: bool = False) -> Embeddings:
    """Encode the paired rows of ``loader`` with both encoders.

    Args:
        model: a (pretrained or random) :class:`PretrainModel`; cross-modal views.
        loader: batches in the model-batch layout (unshuffled for a stable row order).
        projected: return projection-head outputs z instead of encoder features h.

    Returns:
        :class:`Embeddings` of the paired rows, in loader order.

    Raises:
        ValueError: the loader has no paired rows.
    """
    if model.ehr_encoder is None:
        raise ValueError("embed needs a cross-modal model (views='cross') with an EHR encoder.")
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    ehr, cxr, labels, ids, unpaired = [], [], [], [], 0
    for batch in loader:
        m = model.pair_mask(batch)
        unpaired += int((~m).sum())
        if not bool(m.any()):
            continue
        h_e = model.encode_ehr(batch["ehr"][m].to(device), batch["ehr_lengths"][m].to(device))
        h_c = model.encode_image(batch["image"][m].to(device))
        if projected:
            h_e, h_c = model.ehr_head(h_e), model.cxr_head(h_c)
        y = batch["labels"][m].float()
        if y.ndim == 1:
            y = y[:, None]
        if "label_mask" in batch:
            y = torch.where(batch["label_mask"][m].bool(), y, torch.nan)
        ehr.append(h_e.float().cpu())
        cxr.append(h_c.float().cpu())
        labels.append(y.cpu())
        ids.append(batch["stay_id"][m].cpu())
    model.train(was_training)
    if not ehr:
        raise ValueError("embed: the loader has no paired rows (every row lacks an image).")
    return Embeddings(
        ehr=torch.cat(ehr).numpy(),
        cxr=torch.cat(cxr).numpy(),
        labels=torch.cat(labels).numpy(),
        stay_id=torch.cat(ids).numpy().astype(np.int64),
        projected=projected,
        n_unpaired=unpaired,
    )


def pair_similarity(emb: Embeddings, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Cosine similarity of each stay's EHR and X-ray embedding, paired vs shuffled.

    Needs projected embeddings (one shared space). The unpaired partner of row i is
    row ``perm[i]`` of a seeded derangement (never the stay itself).

    Args:
        emb: :func:`embed` output with ``projected=True`` and at least 2 rows.
        seed: seed of the shuffle.

    Returns:
        ``(paired, unpaired)``: two (N,) float arrays in [-1, 1].
    """
    if not emb.projected:
        raise ValueError("pair_similarity needs embed(..., projected=True): one shared space.")
    n = len(emb)
    if n < 2:
        raise ValueError(f"pair_similarity needs at least 2 pairs, got {n}.")
    a = emb.ehr / np.linalg.norm(emb.ehr, axis=1, keepdims=True).clip(1e-12)
    b = emb.cxr / np.linalg.norm(emb.cxr, axis=1, keepdims=True).clip(1e-12)
    order = np.random.default_rng(seed).permutation(n)
    perm = np.empty(n, dtype=np.int64)
    perm[order] = np.roll(order, -1)  # a cyclic derangement: never the stay itself
    return (a * b).sum(1), (a * b[perm]).sum(1)
