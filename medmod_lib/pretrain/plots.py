"""Figures of a pretraining run: loss terms, probe AUROC, embedding space, pair similarity."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .embed import Embeddings

#: Loss terms plotted per method (VICReg's three separately, as the paper weights them).
TERMS = {
    "simclr": ["loss"],
    "vicreg": ["invariance", "variance", "covariance"],
    "align": ["loss", "temperature"],
}


def epoch_table(history: pd.DataFrame) -> pd.DataFrame:
    """One row per epoch: training means (``split == "train"``) and validation metrics.

    Args:
        history: ``log.csv`` rows (columns ``epoch, step, split, lr, loss, ...``).
    """
    train = history[history["split"] == "train"].dropna(axis=1, how="all")
    val = history[history["split"] == "val"].dropna(axis=1, how="all")
    val = val.drop(columns=["split", "step", "lr"], errors="ignore")
    out = train.drop(columns=["split"]).merge(val, on="epoch", how="left")
    return out.reset_index(drop=True)


def plot_loss_terms(history: pd.DataFrame, method: str) -> Figure:
    """Training (and validation) loss terms per epoch, one panel per term.

    Args:
        history: ``log.csv`` rows of one run.
        method: ``"simclr"``, ``"vicreg"`` or ``"align"`` (selects the terms).
    """
    table = epoch_table(history)
    terms = [t for t in TERMS.get(method, ["loss"]) if t in table]
    fig, axes = plt.subplots(1, len(terms), figsize=(3.6 * len(terms), 3), squeeze=False)
    for ax, term in zip(axes[0], terms, strict=True):
        ax.plot(table["epoch"], table[term], marker="o", label="train")
        if f"val_{term}" in table:
            ax.plot(table["epoch"], table[f"val_{term}"], marker="s", ls="--", label="val")
        ax.set(title=term, xlabel="epoch")
        ax.legend(frameon=False, fontsize=8)
    fig.suptitle(f"{method}: loss terms per epoch")
    fig.tight_layout()
    return fig


def plot_embedding_space(
    embeddings: Mapping[str, Embeddings], *, label_index: int = 0, label_name: str = "label"
) -> Figure:
    """2-D PCA of EHR and X-ray embeddings per model, coloured by a binary label.

    Each model gets one panel; the projection is fitted on its EHR and X-ray rows
    together, so the two modalities share the axes (circles EHR, crosses X-ray).

    Args:
        embeddings: model name -> :class:`Embeddings` (projected, for one shared space).
        label_index: label column used for the colour.
        label_name: legend title.
    """
    from sklearn.decomposition import PCA

    fig, axes = plt.subplots(1, len(embeddings), figsize=(4.2 * len(embeddings), 3.8))
    axes = np.atleast_1d(axes)
    for ax, (name, emb) in zip(axes, embeddings.items(), strict=True):
        both = np.concatenate([emb.ehr, emb.cxr])
        xy = PCA(n_components=2, random_state=0).fit_transform(both - both.mean(0))
        y = emb.labels[:, label_index]
        n = len(emb)
        for part, marker, rows in (("EHR", "o", slice(0, n)), ("X-ray", "x", slice(n, 2 * n))):
            for value, colour in ((0, "tab:blue"), (1, "tab:red")):
                keep = y == value
                ax.scatter(*xy[rows][keep].T, marker=marker, c=colour, s=18, alpha=0.7,
                           label=f"{part}, {label_name}={value}")  # fmt: skip
        ax.set(title=name, xlabel="PC 1", ylabel="PC 2")
    axes[0].legend(frameon=False, fontsize=7)
    fig.tight_layout()
    return fig


def plot_pair_similarity(similarities: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> Figure:
    """Histograms of the EHR-X-ray cosine similarity of paired vs shuffled stays, per model.

    Args:
        similarities: model name -> ``(paired, unpaired)`` from
            :func:`~medmod_lib.pretrain.embed.pair_similarity`.
    """
    fig, axes = plt.subplots(1, len(similarities), figsize=(4.2 * len(similarities), 3))
    axes = np.atleast_1d(axes)
    for ax, (name, (paired, unpaired)) in zip(axes, similarities.items(), strict=True):
        bins = np.linspace(-1, 1, 41)
        ax.hist(unpaired, bins=bins, alpha=0.6, label="shuffled (unpaired)", color="tab:gray")
        ax.hist(paired, bins=bins, alpha=0.6, label="same stay (paired)", color="tab:green")
        gap = float(np.mean(paired) - np.mean(unpaired))
        ax.set(title=f"{name}: mean gap {gap:+.3f}", xlabel="cosine similarity", ylabel="stays")
    axes[0].legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig
