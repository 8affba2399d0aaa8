"""One ICU stay at a glance: vitals timeline with its X-rays, image grids, labels.

Every plotting function returns a :class:`matplotlib.figure.Figure` and never
calls ``plt.show()``; a notebook displays the returned figure. Inputs are the
kit's own tables, so the figures work the same on the synthetic and the real data::

    ehr = ensure_processed(ctx.data_root, ctx.output_dir)
    images = cxr.load_metadata(ctx.data_root, views=None)
    cache = ensure_image_cache(ctx.data_root, ctx.output_dir)
    fig = plot_stay_timeline(ehr, pick_stay(ehr, images), images=images, cache=cache)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..ehr.processed import ProcessedEHR
from ..linking.rules import LinkingRule
from ..reference import Task, is_categorical

#: Vitals drawn by default: charted often enough to show a curve in most stays.
DEFAULT_VITALS = ("Heart Rate", "Mean blood pressure", "Respiratory rate", "Oxygen saturation")


class ImageSource(Protocol):
    def get(self, dicom_id: str) -> np.ndarray:
        """A cached image as uint8 (H, W); ``KeyError`` when it is not cached."""


def use_style() -> None:
    """The kit's figure style: seaborn ``whitegrid``, notebook context, deep palette."""
    import seaborn as sns

    sns.set_theme(style="whitegrid", context="notebook", palette="deep")


def _stay(ehr: ProcessedEHR, stay_id: int) -> pd.Series:
    rows = ehr.stays[ehr.stays["stay_id"] == int(stay_id)]
    if rows.empty:
        raise KeyError(f"stay_id {stay_id} is not in {ehr.root}/stays.parquet (the cohort)")
    return rows.iloc[0]


def stay_timeseries(
    ehr: ProcessedEHR, stay_id: int, channels: Sequence[str] = DEFAULT_VITALS
) -> pd.DataFrame:
    """One stay's charted values as numbers: ``Hours`` plus one float column per channel.

    Reads only that stay's rows of ``timeseries.parquet``. Empty strings (not
    measured) become NaN.

    Raises:
        KeyError: the stay is not in the cohort.
        ValueError: a channel is categorical (GCS, capillary refill) or unknown.
    """
    _stay(ehr, stay_id)
    bad = [c for c in channels if is_categorical(c)]
    if bad:
        raise ValueError(f"channels {bad} are categorical; plot numeric channels only")
    frame = pd.read_parquet(
        ehr.root / "timeseries.parquet",
        columns=["stay_id", "Hours", *channels],
        filters=[("stay_id", "==", int(stay_id))],
    )
    out = frame[["Hours"]].astype(float)
    for c in channels:
        out[c] = pd.to_numeric(frame[c].replace("", np.nan), errors="coerce")
    return out.sort_values("Hours", kind="stable").reset_index(drop=True)


def stay_images(
    ehr: ProcessedEHR, stay_id: int, images: pd.DataFrame, *, views: Sequence[str] | None = None
) -> pd.DataFrame:
    """X-ray images of a stay's subject taken during the stay (intime <= study time <= outtime).

    Uses the phenotyping :class:`~medmod_lib.linking.LinkingRule` with ``choice="all"``,
    so the window is exactly the one linking uses.

    Args:
        ehr: the processed EHR folder.
        stay_id: the stay.
        images: image metadata (``cxr.load_metadata(root, views=None)`` or ``LinkedData.images``).
        views: ``ViewPosition`` values to keep; ``None`` keeps every view.

    Returns:
        ``dicom_id, study_id, ViewPosition, study_datetime, hours_from_intime``,
        sorted by time (ties by ``dicom_id``).
    """
    stay = _stay(ehr, stay_id)
    all_views = tuple(images["ViewPosition"].dropna().unique())
    rule = LinkingRule.for_task(Task.PHENOTYPING, views=views or all_views, choice="all")
    sample = pd.DataFrame([stay[["stay_id", "subject_id", "intime", "outtime"]]])
    pairs = rule.link(sample, images)
    view = images.drop_duplicates("dicom_id").set_index("dicom_id")["ViewPosition"]
    pairs.insert(2, "ViewPosition", pairs["dicom_id"].map(view))
    return pairs.drop(columns="sample")


def _in_stay_pairs(
    ehr: ProcessedEHR, images: pd.DataFrame, views: Sequence[str] | None
) -> pd.DataFrame:
    all_views = tuple(images["ViewPosition"].dropna().unique())
    rule = LinkingRule.for_task(Task.PHENOTYPING, views=views or all_views, choice="all")
    return rule.link(ehr.stays.set_index(ehr.stays["stay_id"].rename("sample")), images)


def stays_with_images(
    ehr: ProcessedEHR, images: pd.DataFrame, *, views: Sequence[str] | None = None
) -> pd.Series:
    """Number of X-ray images taken during each cohort stay (stays with at least one).

    Returns:
        Counts indexed by ``stay_id``, sorted by ``stay_id``.
    """
    pairs = _in_stay_pairs(ehr, images, views)
    return pairs.groupby("sample").size().rename_axis("stay_id").rename("images").sort_index()


def pick_stay(
    ehr: ProcessedEHR, images: pd.DataFrame, *, views: Sequence[str] | None = None, cap: int = 4
) -> int:
    """A stay worth showing, chosen deterministically: one with X-rays taken during the stay.

    Ranks stays by the number of X-ray studies during the stay (counted up to
    ``cap``), then the shorter stay (a readable timeline), then the smaller ``stay_id``.

    Raises:
        ValueError: no cohort stay has an image during the stay.
    """
    pairs = _in_stay_pairs(ehr, images, views)
    if pairs.empty:
        raise ValueError("No cohort stay has an X-ray taken during the stay (check the data root)")
    studies = pairs.groupby("sample")["study_id"].nunique().clip(upper=cap).rename("n")
    ranked = ehr.stays.join(studies, on="stay_id", how="inner")
    ranked = ranked.sort_values(["n", "los", "stay_id"], ascending=[False, True, True])
    return int(ranked["stay_id"].iloc[0])


def _show_pixels(ax, pixels: np.ndarray | None, title: str) -> None:
    if pixels is None:
        ax.text(0.5, 0.5, "not cached", ha="center", va="center", transform=ax.transAxes)
    else:
        ax.imshow(pixels, cmap="gray", vmin=0, vmax=255)
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)


def _pixels(cache: ImageSource, dicom_id: str) -> np.ndarray | None:
    try:
        return cache.get(dicom_id)
    except KeyError:
        return None


def show_xrays(
    cache: ImageSource,
    dicom_ids: Sequence[str],
    *,
    titles: Sequence[str] | None = None,
    ncols: int = 4,
    panel_size: float = 2.2,
) -> Figure:
    """A grid of cached X-rays (grey, 0-255); images missing from the cache say so.

    Args:
        cache: e.g. :class:`medmod_lib.cxr.ImageCache`.
        dicom_ids: images to show, in order.
        titles: one per image (default: the first 8 characters of the ``dicom_id``).
        ncols: panels per row.
        panel_size: inches per panel.
    """
    if not len(dicom_ids):
        raise ValueError("show_xrays needs at least one dicom_id")
    titles = list(titles) if titles is not None else [d[:8] for d in dicom_ids]
    if len(titles) != len(dicom_ids):
        raise ValueError(f"{len(titles)} titles for {len(dicom_ids)} images")
    ncols = min(ncols, len(dicom_ids))
    nrows = -(-len(dicom_ids) // ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(panel_size * ncols, panel_size * nrows + 0.3), squeeze=False
    )
    for ax in axes.flat[len(dicom_ids) :]:
        ax.remove()
    for ax, d, t in zip(axes.flat, dicom_ids, titles, strict=False):
        _show_pixels(ax, _pixels(cache, d), t)
    fig.tight_layout()
    return fig


def plot_stay_timeline(
    ehr: ProcessedEHR,
    stay_id: int,
    *,
    images: pd.DataFrame | None = None,
    cache: ImageSource | None = None,
    channels: Sequence[str] = DEFAULT_VITALS,
    views: Sequence[str] | None = None,
    max_images: int = 4,
) -> Figure:
    """Vitals over one ICU stay, X-ray study times as numbered vertical lines, and the images.

    Args:
        ehr: the processed EHR folder.
        stay_id: the stay.
        images: image metadata; ``None`` draws the vitals only.
        cache: image cache; ``None`` draws the study-time lines without thumbnails.
        channels: numeric channels, one panel each (x: hours since ICU admission).
        views: views to mark (``None``: all).
        max_images: thumbnails at most (evenly spaced over the stay's images);
            every study time is still marked.

    Returns:
        The figure: ``len(channels)`` vitals axes, then one axis per thumbnail.
    """
    stay = _stay(ehr, stay_id)
    series = stay_timeseries(ehr, stay_id, channels)
    shots = stay_images(ehr, stay_id, images, views=views) if images is not None else None
    n_shots = 0 if shots is None else len(shots)
    pick = np.unique(np.linspace(0, n_shots - 1, min(max_images, n_shots)).round().astype(int))
    thumbs = cache is not None and len(pick) > 0
    fig = plt.figure(
        figsize=(10, 1.3 * len(channels) + (2.4 if thumbs else 0) + 0.6), layout="constrained"
    )
    outer = fig.add_gridspec(
        2 if thumbs else 1, 1, height_ratios=[len(channels), 1.8][: 1 + thumbs]
    )
    grid = outer[0].subgridspec(len(channels), 1)
    hours = float(stay["los"]) * 24.0
    first = None
    for i, channel in enumerate(channels):
        ax = fig.add_subplot(grid[i], sharex=first)
        first = first or ax
        values = series[["Hours", channel]].dropna()
        ax.plot(values["Hours"], values[channel], marker=".", ms=3, lw=1, label=channel)
        ax.set_ylabel(channel.replace(" blood pressure", " BP"), fontsize=8)
        for k, h in enumerate([] if shots is None else shots["hours_from_intime"], start=1):
            ax.axvline(h, color="crimson", ls="--", lw=1, alpha=0.8)
            if i == 0:
                ax.annotate(str(k), (h, 1.0), xycoords=("data", "axes fraction"), color="crimson",
                            ha="center", va="bottom", fontsize=8)  # fmt: skip
        if i < len(channels) - 1:
            ax.tick_params(labelbottom=False)
    first.set_xlim(0, hours)
    fig.axes[len(channels) - 1].set_xlabel("hours since ICU admission")
    outcome = "died in hospital" if int(stay["mortality_inhospital"]) else "survived"
    fig.suptitle(
        f"stay {int(stay['stay_id'])} (subject {int(stay['subject_id'])}): "
        f"{stay['los']:.1f} d, {outcome}; {n_shots} X-ray(s) during the stay",
        fontsize=10,
    )
    if thumbs:
        row = outer[1].subgridspec(1, max_images)
        for j, k in enumerate(pick):
            shot = shots.iloc[k]
            title = f"{k + 1}: +{shot['hours_from_intime']:.1f} h {shot['ViewPosition']}"
            _show_pixels(fig.add_subplot(row[j]), _pixels(cache, shot["dicom_id"]), title)
    return fig


def stay_labels(
    ehr: ProcessedEHR,
    stay_id: int,
    *,
    stay_images: pd.DataFrame | None = None,
    chexpert: pd.DataFrame | None = None,
    phenotyping: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """A stay's labels: mortality, positive phenotypes and CheXpert findings of its studies.

    Args:
        ehr: the processed EHR folder.
        stay_id: the stay.
        stay_images: :func:`stay_images` of the stay (for the CheXpert findings).
        chexpert: raw study labels (``cxr.read_study_labels``: 1 / 0 / -1 / NaN).
        phenotyping: ``ehr.samples("phenotyping")`` (read here when ``None``).

    Returns:
        ``mortality_inhospital``, ``mortality_inunit`` (0/1), ``phenotypes``
        (positive names; ``None`` when the stay is not a phenotyping sample) and
        ``findings``: ``{study_id: {"positive": [...], "uncertain": [...]}}``.
    """
    stay = _stay(ehr, stay_id)
    if phenotyping is None and Task.PHENOTYPING.value in ehr.tasks:
        phenotyping = ehr.samples(Task.PHENOTYPING)
    from ..reference import phenotypes as phenotype_names

    pheno = None
    if phenotyping is not None:
        rows = phenotyping[phenotyping["stay_id"] == int(stay_id)]
        if len(rows):
            pheno = [p for p in phenotype_names() if rows.iloc[0][p] == 1]
    findings: dict[int, dict[str, list[str]]] = {}
    if stay_images is not None and chexpert is not None:
        from ..reference import CHEXPERT_LABELS

        table = chexpert.set_index("study_id")
        for study in pd.unique(stay_images["study_id"]):
            if study not in table.index:
                continue
            row = table.loc[study, list(CHEXPERT_LABELS)]
            findings[int(study)] = {
                "positive": [n for n in CHEXPERT_LABELS if row[n] == 1],
                "uncertain": [n for n in CHEXPERT_LABELS if row[n] == -1],
            }
    return {
        "mortality_inhospital": int(stay["mortality_inhospital"]),
        "mortality_inunit": int(stay["mortality_inunit"]),
        "phenotypes": pheno,
        "findings": findings,
    }


def format_labels(labels: Mapping[str, Any]) -> str:
    """:func:`stay_labels` as a few readable lines."""
    pheno = labels["phenotypes"]
    lines = [
        f"in-hospital mortality: {labels['mortality_inhospital']}   "
        f"in-unit mortality: {labels['mortality_inunit']}",
        "phenotypes: "
        + ("(not a phenotyping sample)" if pheno is None else ", ".join(pheno) or "none"),
    ]
    for study, f in labels["findings"].items():
        pos = ", ".join(f["positive"]) or "none"
        unc = f"; uncertain: {', '.join(f['uncertain'])}" if f["uncertain"] else ""
        lines.append(f"study {study}: {pos}{unc}")
    if not labels["findings"]:
        lines.append("CheXpert: no labelled study during the stay")
    return "\n".join(lines)
