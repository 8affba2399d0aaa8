"""The test samples a binary model got most confidently wrong, for reading case by case.

A metric says how often a model errs; reading its worst errors says *how*. The
most confident errors of a mortality model are the survivors it scored highest
(false alarms at any threshold that catches anything) and the deaths it scored
lowest (missed at any threshold that spares anyone). :func:`most_confident_errors`
picks them; the notebook then shows their films and timelines.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..metrics.classification import to_numpy

FALSE_ALARM = "survivor scored high"
MISSED = "death scored low"
ERROR_COLUMNS = ("kind", "rank", "row", "stay_id", "y_true", "score", "percentile")


def _column(x: Any) -> np.ndarray:
    """(n,) from (n,) or (n, 1); anything else unchanged (the caller rejects it)."""
    a = to_numpy(x)
    return a[:, 0] if a.ndim == 2 and a.shape[1] == 1 else a


def most_confident_errors(
    y_true: Any, y_score: Any, *, k: int = 3, stay_id: Any = None
) -> pd.DataFrame:
    """The ``k`` highest-scored negatives and the ``k`` lowest-scored positives.

    Ties in score are broken by row order (the earlier row first), so the choice is
    deterministic. Fewer rows come back where a class has fewer than ``k`` samples
    (none where it is absent).

    Args:
        y_true: (n,) 0/1 labels (or (n, 1)).
        y_score: (n,) scores (probabilities or logits).
        k: errors of each kind.
        stay_id: (n,) stay ids to carry along (default: -1).

    Returns:
        Columns :data:`ERROR_COLUMNS`: ``kind`` (:data:`FALSE_ALARM` rows first, then
        :data:`MISSED`), ``rank`` (1 = most confident), ``row`` (position in the
        inputs), ``percentile`` (share of *all* samples scored strictly lower, in
        [0, 1]: a false alarm near 1 was ranked above almost every stay).

    Raises:
        ValueError: lengths differ, ``k < 1``, or labels are not 0/1.
    """
    y, s = _column(y_true), _column(y_score)
    if y.ndim != 1 or s.shape != y.shape:
        raise ValueError(f"need (n,) labels and scores, got {y.shape} and {s.shape}")
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError("most_confident_errors needs 0/1 labels")
    ids = np.full(len(y), -1, np.int64) if stay_id is None else np.asarray(stay_id, np.int64)
    if len(ids) != len(y):
        raise ValueError(f"stay_id ({len(ids)}) and y_true ({len(y)}) must align")
    ordered = np.sort(s)
    rows = []
    for kind, label, sign in ((FALSE_ALARM, 0.0, -1.0), (MISSED, 1.0, 1.0)):
        idx = np.flatnonzero(y == label)
        pick = idx[np.argsort(sign * s[idx], kind="stable")][:k]
        for rank, i in enumerate(pick, start=1):
            rows.append(
                {
                    "kind": kind,
                    "rank": rank,
                    "row": int(i),
                    "stay_id": int(ids[i]),
                    "y_true": int(y[i]),
                    "score": float(s[i]),
                    "percentile": float(np.searchsorted(ordered, s[i], side="left") / len(s)),
                }
            )
    return pd.DataFrame(rows, columns=list(ERROR_COLUMNS))
