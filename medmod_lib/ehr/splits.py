"""Subject-level train/val/test split, seeded and stable when patients are added.

Each subject gets a uniform number from ``blake2b(f"{seed}:{subject_id}")``;
the number alone decides its split, so adding or removing other subjects
never moves a subject (unlike a permutation of the current subject list).
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

SPLITS = ("train", "val", "test")
DEFAULT_FRACTIONS = (0.7, 0.1, 0.2)


def subject_uniform(subject_ids: pd.Series | np.ndarray, seed: int) -> np.ndarray:
    """A number in [0, 1) per subject id, a pure function of ``(seed, subject_id)``."""
    out = np.empty(len(subject_ids), dtype=np.float64)
    for k, sid in enumerate(np.asarray(subject_ids, dtype=np.int64)):
        digest = hashlib.blake2b(f"{int(seed)}:{int(sid)}".encode(), digest_size=8).digest()
        out[k] = (int.from_bytes(digest, "big") >> 11) / 2.0**53
    return out


def assign_splits(
    subject_ids: pd.Series | np.ndarray,
    seed: int = 0,
    fractions: tuple[float, float, float] = DEFAULT_FRACTIONS,
) -> pd.DataFrame:
    """Assign each distinct subject to ``train``, ``val`` or ``test``.

    Args:
        subject_ids: subject ids (duplicates allowed).
        seed: hash seed; the same seed gives the same split on any machine.
        fractions: expected train/val/test shares (must sum to 1).

    Returns:
        Frame ``subject_id, split`` sorted by ``subject_id``.

    Examples:
        >>> assign_splits([10000032, 10000033], seed=0)["split"].isin(SPLITS).all()
        True
    """
    fr = np.asarray(fractions, dtype=np.float64)
    if fr.shape != (3,) or (fr < 0).any() or not np.isclose(fr.sum(), 1.0):
        raise ValueError(
            f"fractions must be three non-negative shares summing to 1, got {fractions}"
        )
    ids = np.unique(np.asarray(subject_ids, dtype=np.int64))
    u = subject_uniform(ids, seed)
    cut = np.cumsum(fr)[:2]
    split = np.array(SPLITS, dtype=object)[np.searchsorted(cut, u, side="right")]
    return pd.DataFrame({"subject_id": ids, "split": split})
