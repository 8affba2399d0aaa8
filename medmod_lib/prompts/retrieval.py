"""X-ray -> prompt retrieval: a sanity check of an image-text model.

Each X-ray is scored against every *distinct* canonical prompt of a split
(identical prompts count once, so duplicates neither help nor hurt). Its
rank is the number of distinct prompts scored strictly higher than its own;
recall@k is the share of X-rays whose own prompt is in the top k. A model
that learned nothing gets about ``k / M`` (M distinct prompts): the chance
level reported next to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch.nn import functional as F
from torch.utils.data import DataLoader

from .model import PromptCLIPModel


@dataclass
class PairEmbeddings:
    """Unit-norm embeddings of the paired rows of a loader.

    Attributes:
        image: float32 (N, D) X-ray embeddings.
        text: float32 (N, D) canonical-prompt embeddings, row-aligned with ``image``.
        prompts: the N canonical prompts.
        stay_id: int (N,) stays.
    """

    image: np.ndarray
    text: np.ndarray
    prompts: list[str]
    stay_id: np.ndarray

    def __len__(self) -> int:
        return len(self.prompts)


@torch.no_grad()
def embed_pairs(model: PromptCLIPModel, loader: DataLoader) -> PairEmbeddings:
    """Embed every paired row of ``loader`` (model in eval mode: canonical prompts).

    Raises:
        ValueError: the loader has no paired rows.
    """
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    imgs, txts, prompts, stays = [], [], [], []
    for batch in loader:
        m = model.pair_mask(batch)
        if not bool(m.any()):
            continue
        imgs.append(F.normalize(model.embed_image(batch["image"][m].to(device)).float(), dim=1))
        txts.append(F.normalize(model.embed_text(batch, m).float(), dim=1))
        prompts += [p[0] for p, keep in zip(batch["prompts"], m.tolist(), strict=True) if keep]
        stays.append(batch["stay_id"][m])
    model.train(was_training)
    if not imgs:
        raise ValueError("embed_pairs: the loader has no rows with both an image and a prompt.")
    return PairEmbeddings(
        image=torch.cat(imgs).cpu().numpy(),
        text=torch.cat(txts).cpu().numpy(),
        prompts=prompts,
        stay_id=torch.cat(stays).numpy(),
    )


def _distinct(prompts: Sequence[str], text: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct prompts' embeddings (M, D) and each row's index among them (N,)."""
    codes, uniques = pd.factorize(pd.Series(list(prompts)), sort=False)
    first = np.array([np.flatnonzero(codes == j)[0] for j in range(len(uniques))])
    return text[first], codes


def retrieval_ranks(pairs: PairEmbeddings) -> np.ndarray:
    """0-based rank (N,) of each X-ray's own prompt among the distinct prompts.

    Ties count in the X-ray's favour (only strictly higher scores rank above).
    """
    cand, own = _distinct(pairs.prompts, pairs.text)
    scores = pairs.image @ cand.T  # (N, M)
    own_score = scores[np.arange(len(own)), own]
    return (scores > own_score[:, None] + 1e-7).sum(axis=1)


def recall_at_k(pairs: PairEmbeddings, ks: Sequence[int] = (1, 5, 10)) -> pd.DataFrame:
    """Recall@k of X-ray -> prompt retrieval next to its chance level.

    Returns:
        One row per k: ``k, recall, chance`` (= min(k, M) / M), ``n`` (X-rays),
        ``candidates`` (M distinct prompts).
    """
    ranks = retrieval_ranks(pairs)
    m = len(set(pairs.prompts))
    rows = [
        {
            "k": int(k),
            "recall": float((ranks < k).mean()),
            "chance": min(k, m) / m,
            "n": len(ranks),
            "candidates": m,
        }
        for k in ks
    ]
    return pd.DataFrame(rows)


def nearest_prompts(pairs: PairEmbeddings, index: int, k: int = 3) -> pd.DataFrame:
    """The ``k`` distinct prompts closest to X-ray ``index``.

    Returns:
        ``rank, score`` (cosine similarity), ``own`` (True for its own prompt), ``prompt``.
    """
    cand, own = _distinct(pairs.prompts, pairs.text)
    texts = pd.unique(pd.Series(list(pairs.prompts)))
    scores = cand @ pairs.image[index]
    order = np.argsort(-scores, kind="stable")[:k]
    return pd.DataFrame(
        {
            "rank": np.arange(1, len(order) + 1),
            "score": scores[order].round(3),
            "own": order == own[index],
            "prompt": [texts[j] for j in order],
        }
    )
