"""Linear-probe validation for choosing the pretraining epoch (MedMod model selection).

After each epoch, frozen encoder features of a labelled train/val pair of loaders
are extracted, a logistic regression is fitted on the train features and its
validation AUROC is returned. sklearn's L-BFGS solver is deterministic, so the
selection is reproducible on CPU.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np
import torch
from torch.utils.data import DataLoader

from .model import PretrainModel

Features = Literal["ehr", "cxr", "both"]


@torch.no_grad()
def extract_features(
    model: PretrainModel, loader: DataLoader, *, features: Features = "both", label_index: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Encoder features and one binary label of the paired rows of ``loader``.

    Args:
        model: the pretraining model (its encoders are used, not the heads).
        loader: batches with ``labels`` (B, K) and optionally ``label_mask``.
        features: ``"ehr"``, ``"cxr"`` or ``"both"`` (concatenated, EHR first).
        label_index: which label column.

    Returns:
        ``(X, y)``: X (N, d) float32, y (N,) int, for paired rows with a known label.
    """
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    xs, ys = [], []
    for batch in loader:
        m = model.pair_mask(batch)
        if "label_mask" in batch:
            m = m & batch["label_mask"][:, label_index].bool()
        if not bool(m.any()):
            continue
        parts = []
        if features in ("ehr", "both"):
            parts.append(
                model.encode_ehr(batch["ehr"][m].to(device), batch["ehr_lengths"][m].to(device))
            )
        if features in ("cxr", "both"):
            parts.append(model.encode_image(batch["image"][m].to(device)))
        xs.append(torch.cat(parts, dim=1).float().cpu())
        ys.append(batch["labels"][m][:, label_index].cpu())
    model.train(was_training)
    if not xs:
        raise ValueError("extract_features: the loader has no paired rows with a known label.")
    return torch.cat(xs).numpy(), torch.cat(ys).numpy().astype(int)


def probe_auroc(
    model: PretrainModel,
    train_loader: DataLoader,
    val_loader: DataLoader,
    *,
    features: Features = "both",
    label_index: int = 0,
    c: float = 1.0,
) -> float:
    """Validation AUROC of a logistic regression on frozen encoder features.

    Args:
        model: the pretraining model.
        train_loader: labelled batches to fit the probe (not shuffled needed).
        val_loader: labelled batches to score it.
        features: which encoder features.
        label_index: which label column (in-hospital mortality: 0).
        c: inverse L2 strength of the logistic regression.

    Returns:
        AUROC in [0, 1] (NaN if the validation labels have one class).
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x_tr, y_tr = extract_features(model, train_loader, features=features, label_index=label_index)
    x_va, y_va = extract_features(model, val_loader, features=features, label_index=label_index)
    if len(np.unique(y_tr)) < 2:
        raise ValueError("probe_auroc: the probe's training labels have a single class.")
    if len(np.unique(y_va)) < 2:
        return float("nan")
    clf = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=2000))
    clf.fit(x_tr, y_tr)
    return float(roc_auc_score(y_va, clf.predict_proba(x_va)[:, 1]))


def make_probe_fn(
    train_loader: DataLoader,
    val_loader: DataLoader,
    *,
    features: Features = "both",
    label_index: int = 0,
    c: float = 1.0,
) -> Callable[[PretrainModel, int], dict[str, float]]:
    """A per-epoch validation callback for :func:`~medmod_lib.pretrain.pretrain`.

    Returns:
        ``fn(model, epoch) -> {"val_auroc": ...}``.
    """

    def probe(model: PretrainModel, epoch: int) -> dict[str, float]:
        return {
            "val_auroc": probe_auroc(
                model, train_loader, val_loader, features=features, label_index=label_index, c=c
            )
        }

    return probe
