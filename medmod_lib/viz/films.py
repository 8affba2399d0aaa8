"""X-ray thumbnails with their study's CheXpert findings written under each film.

The findings are the *study's* labels (one row per study in
``mimic-cxr-2.0.0-chexpert.csv.gz``), so every film of a study gets the same
caption. The figure says where the labels come from: on the synthetic data they
are drawn by the generator and describe no real patient, which the caption
states in capitals so that a screenshot cannot be mistaken for real findings.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from ..reference import CHEXPERT_LABELS
from .stay import ImageSource, _pixels, _show_pixels

SYNTHETIC_NOTE = (
    "CheXpert findings: SYNTHETIC labels drawn by the kit's generator "
    "(no real patient, no real report)"
)
REAL_NOTE = (
    "CheXpert findings: labeler output on the MIMIC-CXR reports "
    "(patient-level data under the PhysioNet data use agreement)"
)


def film_findings(films: pd.DataFrame, chexpert: pd.DataFrame) -> list[str]:
    """One caption per film: its study's positive (+) and uncertain (?) CheXpert findings.

    Args:
        films: one row per film with ``study_id`` (e.g. :func:`~medmod_lib.viz.stay_images`).
        chexpert: raw study labels (``cxr.read_study_labels``: 1 / 0 / -1 / NaN).

    Returns:
        ``"+ Edema, Support Devices; ? Atelectasis"``, ``"no positive finding"``
        when the study has a row but nothing is positive or uncertain, or
        ``"no CheXpert row"`` when the labeler produced nothing for the study.
    """
    table = chexpert.drop_duplicates("study_id").set_index("study_id")
    out = []
    for study in films["study_id"]:
        if study not in table.index:
            out.append("no CheXpert row")
            continue
        row = table.loc[study]
        pos = [n for n in CHEXPERT_LABELS if row.get(n) == 1]
        unc = [n for n in CHEXPERT_LABELS if row.get(n) == -1]
        parts = ([f"+ {', '.join(pos)}"] if pos else []) + ([f"? {', '.join(unc)}"] if unc else [])
        out.append("; ".join(parts) or "no positive finding")
    return out


def show_films_with_findings(
    cache: ImageSource,
    films: pd.DataFrame,
    chexpert: pd.DataFrame,
    *,
    synthetic: bool,
    titles: Sequence[str] | None = None,
    ncols: int = 4,
    panel_size: float = 2.4,
) -> Figure:
    """A grid of cached films, each with its study's findings printed under it.

    Args:
        cache: e.g. :class:`medmod_lib.cxr.ImageCache`.
        films: rows with ``dicom_id`` and ``study_id``, in display order.
        chexpert: raw study labels (1 / 0 / -1 / NaN per study).
        synthetic: the data root is the kit's synthetic data; the figure then
            marks the findings as synthetic (else as real, patient-level labels).
        titles: one per film (default: the first 8 characters of the ``dicom_id``).
        ncols: panels per row.
        panel_size: inches per panel (the caption adds about 40%).

    Returns:
        The figure; its suptitle names the source of the findings.

    Raises:
        ValueError: no films, or a ``titles`` length that differs from the films.
    """
    if films.empty:
        raise ValueError("show_films_with_findings needs at least one film")
    titles = list(titles) if titles is not None else [d[:8] for d in films["dicom_id"]]
    if len(titles) != len(films):
        raise ValueError(f"{len(titles)} titles for {len(films)} films")
    captions = film_findings(films, chexpert)
    ncols = min(ncols, len(films))
    nrows = -(-len(films) // ncols)
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(panel_size * ncols, panel_size * 1.45 * nrows + 0.4),
        squeeze=False,
        layout="constrained",
    )
    for ax in axes.flat[len(films) :]:
        ax.remove()
    width = max(int(panel_size * 14), 16)  # characters per caption line at fontsize 8
    for ax, dicom_id, title, caption in zip(
        axes.flat, films["dicom_id"], titles, captions, strict=False
    ):
        _show_pixels(ax, _pixels(cache, dicom_id), title)
        lines = [textwrap.fill(part, width, subsequent_indent="  ") for part in caption.split("; ")]
        ax.set_xlabel("\n".join(lines), fontsize=8, loc="left")
    key = "+ positive (1), ? uncertain (-1); negative (0) and unmentioned findings are not listed"
    fig.suptitle(
        f"{SYNTHETIC_NOTE if synthetic else REAL_NOTE}\n{key}", fontsize=9, color="crimson"
    )
    return fig
