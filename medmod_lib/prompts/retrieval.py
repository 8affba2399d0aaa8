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

from ..metrics import wilson_interval
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


#: Retrieval directions of :func:`recall_at_k`.
DIRECTIONS = ("text->image", "image->text")


def retrieval_pools(n: int, pool_size: int | None, seed: int = 0) -> list[np.ndarray]:
    """Disjoint candidate pools: a seeded shuffle of ``range(n)`` cut into ``pool_size`` chunks.

    ``None`` (or ``pool_size >= n``) gives one pool of everything; a last chunk smaller
    than ``pool_size`` joins the one before it, so every pool has at least ``pool_size``
    candidates and chance is about ``k / pool_size`` for every query.
    """
    if pool_size is None or pool_size >= n:
        return [np.arange(n)]
    if pool_size < 2:
        raise ValueError(f"pool_size must be >= 2, got {pool_size}")
    order = np.random.default_rng(seed).permutation(n)
    cuts = list(range(pool_size, n - pool_size + 1, pool_size))
    return [np.sort(p) for p in np.split(order, cuts)]


def _text_to_image(pairs: PairEmbeddings, pool: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rank of each query prompt's own X-ray in ``pool`` and the number of candidates.

    X-rays whose prompt equals the query's are not counted as competitors (two stays
    with the same text cannot be told apart by it).
    """
    prompts = np.asarray(pairs.prompts, dtype=object)[pool]
    scores = pairs.text[pool] @ pairs.image[pool].T  # (P, P): query prompt x candidate X-ray
    own = np.diag(scores)
    same = prompts[:, None] == prompts[None, :]
    above = (scores > own[:, None] + 1e-7) & ~same
    return above.sum(axis=1), (~same).sum(axis=1) + 1


def recall_at_k(
    pairs: PairEmbeddings,
    ks: Sequence[int] = (1, 5, 10),
    *,
    direction: str = "image->text",
    pool_size: int | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Recall@k of retrieval between X-rays and their prompts, next to its chance level.

    Args:
        pairs: embedded test pairs (:func:`embed_pairs`).
        ks: cut-offs.
        direction: ``"image->text"``: each X-ray ranks the distinct prompts (identical
            prompts count once); ``"text->image"``: each prompt ranks the X-rays (those
            sharing its text are not competitors).
        pool_size: ``"text->image"`` only: rank within disjoint random pools of this many
            pairs (:func:`retrieval_pools`) instead of the whole split, so chance is about
            ``k / pool_size`` whatever the test set's size; ``None``: the whole split.
        seed: seed of the pools.

    Returns:
        One row per k: ``k, recall`` with its 95 % Wilson interval ``ci_low, ci_high``,
        ``chance`` (the mean over queries of min(k, M) / M for M candidates),
        ``above_chance`` (the interval's lower end is above chance), ``n`` (queries),
        ``candidates`` (mean number of candidates per query), ``direction``.
    """
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
    if direction == "image->text":
        if pool_size is not None:
            raise ValueError("pool_size applies to direction='text->image' only")
        ranks = retrieval_ranks(pairs)
        m = np.full(len(ranks), len(set(pairs.prompts)))
    else:
        parts = [_text_to_image(pairs, p) for p in retrieval_pools(len(pairs), pool_size, seed)]
        ranks = np.concatenate([r for r, _ in parts])
        m = np.concatenate([c for _, c in parts])
    rows = []
    for k in ks:
        hits = int((ranks < k).sum())
        lo, hi = (
            float(np.clip(b, 0.0, 1.0)) for b in wilson_interval(hits / len(ranks), len(ranks))
        )
        chance = float(np.mean(np.minimum(k, m) / m))
        rows.append(
            {
                "k": int(k),
                "recall": hits / len(ranks),
                "ci_low": lo,
                "ci_high": hi,
                "chance": chance,
                "above_chance": bool(lo > chance),
                "n": len(ranks),
                "candidates": float(m.mean()),
                "direction": direction,
            }
        )
    return pd.DataFrame(rows)


def retrieval_results(table: pd.DataFrame, *, task: str, seed: int) -> pd.DataFrame:
    """:func:`recall_at_k` as rows of the kit's tidy results table.

    Two rows per k, protocol ``"retrieval"`` (``"retrieval@<pool>"`` for pooled candidates),
    modality the direction: ``recall@k`` with its Wilson interval, and ``chance@k`` (no
    interval), so a report or a test can compare them from ``results.csv`` alone.
    """
    from ..runner.results import RESULT_COLUMNS

    rows = []
    pooled = bool(table.get("direction", pd.Series(["image->text"])).eq("text->image").all())
    for _, r in table.iterrows():
        base = {
            "task": task,
            "method": "prompt-clip",
            "protocol": "retrieval" + (f"@{r['candidates']:.0f}" if pooled else ""),
            "modality": r.get("direction", "image->text"),
            "seed": seed,
            "n": int(r["n"]),
            "test_set": "paired",
        }
        rows.append(
            {**base, "metric": f"recall@{int(r['k'])}", "value": r["recall"],
             "ci_low": r["ci_low"], "ci_high": r["ci_high"]}
        )  # fmt: skip
        rows.append({**base, "metric": f"chance@{int(r['k'])}", "value": r["chance"]})
    return pd.DataFrame(rows).reindex(columns=list(RESULT_COLUMNS))


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
