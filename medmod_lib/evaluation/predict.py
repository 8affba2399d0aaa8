"""Run a model over a loader and collect labels and scores for the metrics.

``predict_fn`` is any ``batch -> scores`` callable, e.g. for a fusion model::

    def predict_fn(batch):
        return torch.sigmoid(model(batch["ehr"], batch["ehr_lengths"], batch["image"], batch["paired"]))
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from ..metrics.classification import to_numpy


@dataclass(frozen=True)
class Predictions:
    """Labels and scores of a test set, in loader order.

    Attributes:
        y_true: (n,) class indices (LOS) or (n, K) labels with NaN where ``label_mask`` is 0.
        scores: (n,) or (n, K) model outputs.
        paired: (n,) bool, the sample had an image.
        stay_id: (n,) int64, -1 where absent.
        scores_without_images: (n,) or (n, K) outputs with every image dropped, if requested.
    """

    y_true: np.ndarray
    scores: np.ndarray
    paired: np.ndarray
    stay_id: np.ndarray
    scores_without_images: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.y_true)


def stay_clusters(stay_id: Any) -> np.ndarray | None:
    """The stay ids as bootstrap clusters, or ``None`` where a sample has no stay (-1).

    With these, :func:`~medmod_lib.metrics.task_metrics` resamples whole stays
    when a stay contributes several samples (hourly decompensation and length
    of stay, several films of one stay) and falls back to the sample bootstrap
    when every stay has one sample.
    """
    ids = np.asarray(stay_id)
    if ids.ndim != 1 or len(ids) == 0 or (ids < 0).any():
        return None
    return ids


def without_images(batch: Mapping[str, Any], keep: np.ndarray | None = None) -> dict[str, Any]:
    """A shallow copy of ``batch`` whose ``paired`` is ``keep`` (default all False), images zeroed.

    Args:
        batch: a batch dict (CONTRIBUTING.md "Model batches").
        keep: (B,) bool, rows that keep their image; must be a subset of ``paired``.
    """
    b = len(batch["paired"])
    keep_t = torch.as_tensor(np.zeros(b, bool) if keep is None else keep, dtype=torch.bool)
    keep_t = keep_t.to(batch["paired"].device) & batch["paired"].bool()
    out = dict(batch)
    out["paired"] = keep_t
    image = batch["image"].clone()
    image[~keep_t] = 0
    out["image"] = image
    return out


def _labels(batch: Mapping[str, Any]) -> np.ndarray:
    y = to_numpy(batch["labels"], dtype=None)
    if "label_mask" in batch:
        y = y.astype(float)
        y[to_numpy(batch["label_mask"]) == 0] = np.nan
    return y


def collect_predictions(
    predict_fn: Callable[[dict[str, Any]], Any],
    loader: Iterable[Mapping[str, Any]],
    *,
    also_without_images: bool = False,
    desc: str = "predict",
    progress: bool = True,
) -> Predictions:
    """Apply ``predict_fn`` to every batch (no gradients) and concatenate.

    Args:
        predict_fn: batch -> scores (B,) or (B, K), tensor or array.
        loader: batches in a fixed order.
        also_without_images: also predict each batch with every image dropped.
        desc: progress bar label.
        progress: show the bar.

    Raises:
        ValueError: if the loader yields nothing or ``predict_fn`` returns the wrong length.
    """
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("y", "s", "p", "id", "s0")}
    with torch.no_grad():
        for batch in tqdm(loader, desc=desc, leave=False, disable=not progress):
            b = len(batch["paired"])
            scores = to_numpy(predict_fn(dict(batch)))
            if len(scores) != b:
                raise ValueError(f"predict_fn returned {len(scores)} rows for a batch of {b}")
            parts["s"].append(scores)
            if also_without_images:
                parts["s0"].append(to_numpy(predict_fn(without_images(batch))))
            parts["y"].append(_labels(batch))
            parts["p"].append(to_numpy(batch["paired"], dtype=bool))
            ids = batch.get("stay_id")
            parts["id"].append(to_numpy(ids, dtype=np.int64) if ids is not None else np.full(b, -1))
    if not parts["y"]:
        raise ValueError("the loader yielded no batches")
    return Predictions(
        y_true=np.concatenate(parts["y"]),
        scores=np.concatenate(parts["s"]),
        paired=np.concatenate(parts["p"]),
        stay_id=np.concatenate(parts["id"]),
        scores_without_images=np.concatenate(parts["s0"]) if also_without_images else None,
    )
