"""Missing-modality analysis: drop the X-ray of a growing fraction of test samples.

Which samples lose their image is decided by one seeded random order of the
paired samples: at fraction ``f`` the first ``round(f * n_paired)`` samples in
that order are marked unpaired (``paired=False``, image zeroed). The sets are
nested: with the same seed, every sample dropped at 20% is also dropped at 40%,
so a curve over fractions compares like with like. ``fraction`` is relative to
the samples that *have* an image; samples that never had one stay unpaired.

``order_by`` replaces the random order by a ranking: paired samples with the
smallest key lose their image first (ties in the seeded random order), e.g. an
acuity score so that films go first from the least sick stays, as in ICUs where
sicker patients get more films. The sets stay nested.

The sweep runs the model twice per batch, once as is and once with every image
dropped, then assembles each fraction per sample. This assumes that a sample's
prediction depends only on its own inputs (true for the kit's models in
``eval()`` mode), and loads every batch only once.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch

from ..metrics import N_BOOT, task_metrics
from ..metrics.classification import to_numpy
from ..reference import Task
from .predict import Predictions, collect_predictions, stay_clusters, without_images

DEFAULT_FRACTIONS: tuple[float, ...] = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
SWEEP_COLUMNS = (
    "model",
    "test_set",
    "fraction",
    "n",
    "n_paired",
    "n_dropped",
    "metric",
    "value",
    "ci_low",
    "ci_high",
)


def drop_order(paired: np.ndarray, seed: int, order_by: Any = None) -> np.ndarray:
    """Indices of the paired samples in the order their images are dropped.

    Args:
        paired: (n,) bool, True where a sample has an image.
        seed: seed of the random order.
        order_by: (n,) numeric keys; the smallest key is dropped first, ties in
            the random order. ``None``: the random order alone.

    Raises:
        ValueError: ``order_by`` has another length or NaN keys on paired samples.
    """
    paired = np.asarray(paired, dtype=bool)
    keys = np.random.default_rng(seed).random(len(paired))
    idx = np.flatnonzero(paired)
    if order_by is None:
        return idx[np.argsort(keys[idx], kind="stable")]
    rank = np.asarray(order_by, dtype=float)
    if rank.shape != paired.shape:
        raise ValueError(f"order_by has shape {rank.shape}, paired {paired.shape}")
    if np.isnan(rank[idx]).any():
        raise ValueError("order_by has NaN keys on paired samples")
    return idx[np.lexsort((keys[idx], rank[idx]))]


def drop_mask(paired: Any, fraction: float, seed: int, order_by: Any = None) -> np.ndarray:
    """The ``paired`` mask after dropping the images of ``fraction`` of the paired samples.

    Args:
        paired: (n,) bool mask (array or tensor).
        fraction: in [0, 1], share of paired samples to mark unpaired.
        seed: seed of the drop order; same seed -> nested drop sets.
        order_by: (n,) keys, smallest dropped first (see :func:`drop_order`).

    Returns:
        (n,) bool, a subset of ``paired``.
    """
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction must lie in [0, 1], got {fraction}")
    mask = to_numpy(paired, dtype=bool).copy()
    order = drop_order(mask, seed, order_by)
    mask[order[: int(round(fraction * len(order)))]] = False
    return mask


def drop_images(data: Any, fraction: float, seed: int) -> Any:
    """Mark the images of ``fraction`` of the paired samples as missing, deterministically.

    Args:
        data: a ``paired`` mask (n,), a batch dict (CONTRIBUTING.md "Model batches";
            ``paired`` updated, dropped images zeroed, other keys shared), or a
            dataset with a ``samples`` frame that has a ``paired`` column (e.g.
            ``MultimodalDataset``; a shallow copy is returned).
        fraction: in [0, 1].
        seed: seed of the drop order.

    Returns:
        The same kind of object, with fewer paired samples. The input is not modified.
    """
    if isinstance(data, Mapping):
        return without_images(data, drop_mask(data["paired"], fraction, seed))
    samples = getattr(data, "samples", None)
    if isinstance(samples, pd.DataFrame):
        if "paired" not in samples:
            raise ValueError(f"{type(data).__name__}.samples has no 'paired' column")
        keep = drop_mask(samples["paired"].to_numpy(bool), fraction, seed)
        new = copy.copy(data)
        new.samples = samples.assign(paired=keep)
        if hasattr(data, "_paired"):  # MultimodalDataset reads its cached mask
            new._paired = keep & np.asarray(data._paired, dtype=bool)
        return new
    if isinstance(data, np.ndarray | torch.Tensor | Sequence):
        return drop_mask(data, fraction, seed)
    raise TypeError(
        f"drop_images takes a mask, a batch dict or a dataset, got {type(data).__name__}"
    )


def missing_modality_sweep(
    predict_fn: Callable[[dict[str, Any]], Any],
    loader: Iterable[Mapping[str, Any]],
    *,
    task: str | Task,
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
    seed: int = 0,
    metric: str = "auroc",
    model: str = "model",
    test_set: str = "test",
    label_names: Sequence[str] | None = None,
    n_boot: int = N_BOOT,
    bootstrap_seed: int = 0,
    order_by: Any = None,
) -> pd.DataFrame:
    """Metric of a model as the X-ray is removed from a growing fraction of test samples.

    Args:
        predict_fn: batch -> scores (B,) or (B, K) (probabilities or logits), e.g.
            ``lambda b: model(b["ehr"], b["ehr_lengths"], b["image"], b["paired"])``.
            Called without gradients; put the model in ``eval()`` mode first.
        loader: batches in a fixed order (no shuffling).
        task: the task (decides the metric set).
        fractions: fractions of paired samples to drop, each in [0, 1].
        seed: seed of the drop order (nested sets across fractions).
        metric: a key of :func:`medmod_lib.metrics.task_metrics` (e.g. ``auroc``,
            ``auroc_macro``, ``kappa``).
        model: name stored in the ``model`` column (to concatenate several sweeps).
        test_set: name stored in the ``test_set`` column (e.g. ``paired``/``partial``).
        label_names: for multi-label tasks.
        n_boot, bootstrap_seed: bootstrap settings; the same resamples for every fraction.
        order_by: (n,) keys in loader order, the smallest loses its image first
            (e.g. an acuity score); ``None``: the seeded random order.

    Returns:
        One row per fraction, columns :data:`SWEEP_COLUMNS`.
    """
    preds = collect_predictions(predict_fn, loader, also_without_images=True, desc=f"sweep {model}")
    return sweep_predictions(
        preds,
        task=task,
        fractions=fractions,
        seed=seed,
        metric=metric,
        model=model,
        test_set=test_set,
        label_names=label_names,
        n_boot=n_boot,
        bootstrap_seed=bootstrap_seed,
        order_by=order_by,
    )


def sweep_predictions(
    preds: Predictions,
    *,
    task: str | Task,
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
    seed: int = 0,
    metric: str = "auroc",
    model: str = "model",
    test_set: str = "test",
    label_names: Sequence[str] | None = None,
    n_boot: int = N_BOOT,
    bootstrap_seed: int = 0,
    order_by: Any = None,
) -> pd.DataFrame:
    """The sweep of :func:`missing_modality_sweep` from already collected predictions.

    Args:
        preds: from :func:`~medmod_lib.evaluation.predict.collect_predictions` with
            ``also_without_images=True``.
        Others: as in :func:`missing_modality_sweep`.
    """
    task = Task.parse(task)
    if preds.scores_without_images is None:
        raise ValueError("collect the predictions with also_without_images=True")
    if order_by is not None and len(order_by) != len(preds):
        raise ValueError(
            f"order_by ({len(order_by)}) and the predictions ({len(preds)}) must align"
        )
    s_kept, s_drop, y, mask = preds.scores, preds.scores_without_images, preds.y_true, preds.paired
    rows = []
    for f in fractions:
        keep = drop_mask(mask, f, seed, order_by)
        sel = keep.reshape(-1, *([1] * (s_kept.ndim - 1)))
        res = task_metrics(
            task,
            y,
            np.where(sel, s_kept, s_drop),
            label_names=label_names,
            per_label=False,
            probabilities=False,
            n_boot=n_boot,
            seed=bootstrap_seed,
            clusters=stay_clusters(preds.stay_id),
        )
        if metric not in res:
            raise ValueError(
                f"metric {metric!r} is not computed for {task.value}; have {sorted(res)}"
            )
        r = res[metric]
        rows.append(
            {
                "model": model,
                "test_set": test_set,
                "fraction": float(f),
                "n": len(y),
                "n_paired": int(mask.sum()),
                "n_dropped": int(mask.sum() - keep.sum()),
                "metric": metric,
                "value": r.value,
                "ci_low": r.ci_low,
                "ci_high": r.ci_high,
            }
        )
    return pd.DataFrame(rows, columns=list(SWEEP_COLUMNS))
