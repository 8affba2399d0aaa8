"""Widgets that teach: one slider per idea, each drawn at once and redrawn on every move.

===============================  ==============================================  ========
function                         what the slider moves                           notebook
===============================  ==============================================  ========
:func:`linking_window_explorer`  the window in which a film pairs with a sample  01
:func:`temperature_explorer`     the NT-Xent temperature on a toy batch          02
:func:`threshold_explorer`       the alert threshold of risk scores              03
:func:`removal_explorer`         the share of X-rays removed at test time        04
===============================  ==============================================  ========

Each ``*_explorer`` returns an ``ipywidgets.VBox`` whose output area already
holds the default state (a PNG and a table), so it shows something the moment it
is displayed; every move replaces that content. The numbers come from pure
functions (:func:`window_counts`, :func:`nt_xent_softmax`,
:func:`threshold_table`, :func:`removal_table`) that a notebook can also print
as a static copy: widgets need a live Jupyter frontend, and an executed report
(papermill, nbval) keeps only the static outputs of a cell.

Figures are drawn with :class:`matplotlib.figure.Figure` (no pyplot state) and
put into the output area as PNG, so the widgets work the same in a kernel, in
plain Python (tests) and with any matplotlib backend.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

#: Columns of :func:`threshold_table`, in order.
THRESHOLD_COLUMNS = (
    "model",
    "threshold",
    "alerts_per_100",
    "sensitivity",
    "specificity",
    "ppv",
    "tp",
    "fp",
    "fn",
    "tn",
)


# -- output-area helpers --------------------------------------------------------------


def require_widgets() -> Any:
    """The ``ipywidgets`` module.

    Raises:
        ImportError: ipywidgets is not installed (``pip install ipywidgets``).
    """
    try:
        import ipywidgets
    except ImportError as err:  # pragma: no cover - ipywidgets is in requirements.txt
        raise ImportError("These widgets need ipywidgets: pip install ipywidgets") from err
    return ipywidgets


def figure_output(fig: Figure, *, dpi: int = 80) -> dict:
    """A ``display_data`` output holding ``fig`` as a base64 PNG (for ``Output.outputs``)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    png = base64.b64encode(buf.getvalue()).decode("ascii")
    return {
        "output_type": "display_data",
        "data": {"image/png": png, "text/plain": f"<Figure {fig.get_figwidth():g}x"
                 f"{fig.get_figheight():g} in>"},
        "metadata": {},
    }  # fmt: skip


def text_output(text: str) -> dict:
    """A ``stream`` (stdout) output for ``Output.outputs``."""
    return {"output_type": "stream", "name": "stdout", "text": text.rstrip("\n") + "\n"}


def table_output(frame: pd.DataFrame, *, digits: int = 3) -> dict:
    """A ``display_data`` output of a table (HTML, with a plain-text copy)."""
    shown = frame.round(digits)
    return {
        "output_type": "display_data",
        "data": {"text/html": shown.to_html(index=False, na_rep="-"),
                 "text/plain": shown.to_string(index=False, na_rep="-")},
        "metadata": {},
    }  # fmt: skip


def show_in(out: Any, *outputs: dict) -> None:
    """Replace what the ``Output`` widget ``out`` shows (works without a kernel too)."""
    out.outputs = tuple(outputs)


def _box(widgets: Any, children: Sequence[Any], name: str) -> Any:
    box = widgets.VBox(list(children))
    box.add_class("medmod-widget")
    box.add_class(name)
    return box


# -- 01: the linking window -----------------------------------------------------------


def film_offsets(
    samples: pd.DataFrame,
    images: pd.DataFrame,
    *,
    views: Sequence[str] = ("AP",),
    bounds: tuple[float, float] = (-24.0, 72.0),
) -> pd.DataFrame:
    """Every film of each sample's subject, in hours from the sample's ICU admission.

    Computed once, so that any window inside ``bounds`` is a filter, not a new link.

    Args:
        samples: one row per sample with ``subject_id`` and ``intime`` (e.g.
            ``ehr.samples("in-hospital-mortality")``); its index identifies samples.
        images: image metadata with ``dicom_id``, ``subject_id``, ``ViewPosition``
            and ``study_datetime`` (e.g. ``linked.images``).
        views: ``ViewPosition`` values to keep (the rules' default: AP).
        bounds: hours from intime kept (both ends inclusive).

    Returns:
        ``sample, dicom_id, hours_from_intime``, one row per (sample, film).
    """
    films = images[images["ViewPosition"].isin(tuple(views))].dropna(subset=["study_datetime"])
    left = pd.DataFrame(
        {
            "sample": samples.index.to_numpy(),
            "subject_id": samples["subject_id"].to_numpy(np.int64),
            "intime": samples["intime"].to_numpy(),
        }
    )
    pairs = left.merge(films[["subject_id", "dicom_id", "study_datetime"]], on="subject_id")
    hours = (pairs["study_datetime"] - pairs["intime"]).dt.total_seconds() / 3600.0
    pairs = pairs.assign(hours_from_intime=hours)
    inside = pairs["hours_from_intime"].between(bounds[0], bounds[1])
    return pairs.loc[inside, ["sample", "dicom_id", "hours_from_intime"]].reset_index(drop=True)


def window_counts(
    offsets: pd.DataFrame, samples: pd.DataFrame, start: float, end: float
) -> pd.DataFrame:
    """Samples with at least one film in ``[intime + start, intime + end]`` h, per split.

    Args:
        offsets: from :func:`film_offsets` (its ``bounds`` must cover the window).
        samples: the same samples, with a ``split`` column.
        start: window start, hours from intime (negative: before admission).
        end: window end, hours from intime (both ends inclusive).

    Returns:
        Index ``train, val, test, all``; columns ``samples``, ``paired`` and
        ``paired_share``.
    """
    inside = offsets["hours_from_intime"].between(float(start), float(end))
    paired = samples.index.isin(offsets.loc[inside, "sample"].unique())
    split = samples["split"] if "split" in samples else pd.Series("all", index=samples.index)
    frame = pd.DataFrame({"split": split.to_numpy(), "paired": paired})
    counts = frame.groupby("split")["paired"].agg(samples="size", paired="sum")
    order = [s for s in ("train", "val", "test") if s in counts.index]
    counts = counts.reindex(order + sorted(set(counts.index) - set(order) - {"all"}))
    counts.loc["all"] = [len(frame), int(paired.sum())]
    counts = counts.astype(int)
    counts["paired_share"] = counts["paired"] / counts["samples"].clip(lower=1)
    counts.index.name = "split"
    return counts


def linking_window_explorer(
    samples: pd.DataFrame,
    images: pd.DataFrame,
    *,
    views: Sequence[str] = ("AP",),
    default: tuple[int, int] = (0, 48),
    bounds: tuple[int, int] = (-24, 72),
    prediction_hour: float | None = 48.0,
) -> Any:
    """A range slider over the linking window; shows the films' times and the paired counts.

    The films of every sample's subject are placed on the time axis once
    (:func:`film_offsets`); each move of the slider only recounts them
    (:func:`window_counts`), so it is instant on any data size.

    Args:
        samples: samples of one task with ``subject_id``, ``intime`` and ``split``.
        images: image metadata (``linked.images``).
        views: views that count.
        default: the window first shown, hours from intime (the mortality rule: 0-48).
        bounds: the slider's range, hours from intime.
        prediction_hour: when the prediction is made (dashed line); a window ending
            after it is flagged as leakage. ``None``: no such check.

    Returns:
        An ``ipywidgets.VBox`` (slider, output area).
    """
    widgets = require_widgets()
    offsets = film_offsets(samples, images, views=views, bounds=bounds)
    slider = widgets.IntRangeSlider(
        value=tuple(default), min=bounds[0], max=bounds[1], step=1,
        description="window (h)", continuous_update=False,
        layout=widgets.Layout(width="520px"), style={"description_width": "80px"},
    )  # fmt: skip
    out = widgets.Output()
    hours = offsets["hours_from_intime"]

    def draw(*_: Any) -> None:
        start, end = slider.value
        counts = window_counts(offsets, samples, start, end)
        fig = Figure(figsize=(7.5, 2.8), layout="constrained")
        ax = fig.add_subplot()
        ax.hist(hours, bins=np.arange(bounds[0], bounds[1] + 3, 3), color="#4c72b0",
                alpha=0.8, label="films of each sample's subject")  # fmt: skip
        ax.axvspan(start, end, color="tab:green", alpha=0.15, lw=0, label="window")
        ax.axvline(0, color="0.3", lw=1)
        if prediction_hour is not None:
            ax.axvline(prediction_hour, color="crimson", ls="--", lw=1, label="prediction time")
        ax.set_xlim(bounds)
        ax.set_xlabel("hours since ICU admission")
        ax.set_ylabel("films")
        ax.legend(fontsize=8, loc="upper right")
        total = counts.loc["all"]
        ax.set_title(
            f"window {start:+d} h .. {end:+d} h: {total['paired']} of {total['samples']} "
            f"samples paired ({total['paired_share']:.0%})",
            fontsize=10,
        )
        lines = []
        if prediction_hour is not None and end > prediction_hour:
            lines.append(
                f"LEAKAGE: the window ends {end - prediction_hour:g} h after the prediction "
                "time, so some samples get a film from their future."
            )
        if start < 0:
            early = offsets.loc[(hours >= start) & (hours < 0), "sample"].nunique()
            lines.append(
                f"The window opens {-start} h before ICU admission: films from the ward, the "
                f"emergency department or an earlier stay count ({early} samples have one)."
            )
        table = counts.reset_index()
        show_in(out, figure_output(fig), table_output(table), *map(text_output, lines))

    slider.observe(draw, names="value")
    draw()
    return _box(widgets, [slider, out], "medmod-linking-window")


# -- 02: the NT-Xent temperature ------------------------------------------------------


def nt_xent_softmax(z_a: Any, z_b: Any, temperature: float) -> np.ndarray:
    """Each anchor's softmax over its 2N - 1 candidates, as NT-Xent computes it.

    Args:
        z_a: (N, D) first view / modality (array or tensor).
        z_b: (N, D) second view; row i pairs with ``z_a`` row i.
        temperature: softmax temperature > 0.

    Returns:
        (2N, 2N) probabilities: row i is anchor i of ``[z_a; z_b]``, column j the
        candidate j (0 on the diagonal: an anchor is not its own candidate). The
        NT-Xent loss is the mean over rows of ``-log p[i, partner(i)]``, with
        ``partner(i) = (i + N) mod 2N``.

    Raises:
        ValueError: mismatched shapes or ``temperature <= 0``.
    """
    a = np.asarray(z_a, dtype=np.float64)
    b = np.asarray(z_b, dtype=np.float64)
    if a.ndim != 2 or a.shape != b.shape:
        raise ValueError(f"z_a and z_b must both be (N, D): got {a.shape} and {b.shape}")
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    z = np.concatenate([a, b])
    z = z / np.linalg.norm(z, axis=1, keepdims=True).clip(min=1e-12)
    logits = z @ z.T / temperature
    np.fill_diagonal(logits, -np.inf)
    logits -= logits.max(axis=1, keepdims=True)
    p = np.exp(logits)
    return p / p.sum(axis=1, keepdims=True)


def temperature_explorer(
    pairs: Mapping[str, tuple[Any, Any]],
    *,
    default: float = 0.1,
    bounds: tuple[float, float] = (0.01, 10.0),
    anchor: int = 0,
) -> Any:
    """A log slider over the NT-Xent temperature: the loss and one anchor's softmax.

    Args:
        pairs: name -> ``(z_a, z_b)`` toy batches, e.g. random pairs and nearly
            equal pairs, each (N, D).
        default: the temperature first shown.
        bounds: the slider's range (log scale).
        anchor: the anchor (row of ``z_a``) whose softmax is drawn.

    Returns:
        An ``ipywidgets.VBox`` (slider, output area).
    """
    widgets = require_widgets()
    import torch

    from ..losses import nt_xent_loss  # the loss the notebook trains with

    if not pairs:
        raise ValueError("pass at least one (z_a, z_b) pair")
    slider = widgets.FloatLogSlider(
        value=default, base=10, min=math.log10(bounds[0]), max=math.log10(bounds[1]), step=0.05,
        description="τ", readout_format=".3g", continuous_update=False,
        layout=widgets.Layout(width="520px"),
    )  # fmt: skip
    out = widgets.Output()

    def draw(*_: Any) -> None:
        tau = float(slider.value)
        fig = Figure(figsize=(4.2 * len(pairs), 3.0), layout="constrained")
        axes = fig.subplots(1, len(pairs), squeeze=False)[0]
        lines = []
        for ax, (name, (z_a, z_b)) in zip(axes, pairs.items(), strict=True):
            p = nt_xent_softmax(z_a, z_b, tau)
            n = len(p) // 2
            loss = float(nt_xent_loss(torch.as_tensor(z_a), torch.as_tensor(z_b), temperature=tau))
            row = np.delete(p[anchor], anchor)  # the 2N - 1 candidates
            partner = anchor + n - 1  # its column once the anchor is deleted
            colours = ["0.7"] * len(row)
            colours[partner] = "crimson"
            ax.bar(np.arange(len(row)), row, color=colours)
            ax.axhline(1 / len(row), color="0.3", ls=":", lw=1)
            ax.set_ylim(0, 1)
            ax.set_xlabel("candidate (red: the partner)")
            ax.set_title(f"{name}: loss {loss:.3f}", fontsize=10)
            lines.append(
                f"{name}: loss {loss:.3f}, the partner gets {row[partner]:.1%} of anchor "
                f"{anchor}'s softmax"
            )
        axes[0].set_ylabel(f"softmax of anchor {anchor}")
        chance = math.log(len(row))
        fig.suptitle(f"τ = {tau:.3g}; dotted: uniform (loss log(2N - 1) = {chance:.3f})",
                     fontsize=10)  # fmt: skip
        show_in(out, figure_output(fig), text_output("\n".join(lines)))

    slider.observe(draw, names="value")
    draw()
    return _box(widgets, [slider, out], "medmod-temperature")


# -- 03: the decision threshold -------------------------------------------------------


def threshold_table(scores: Mapping[str, tuple[Any, Any]], threshold: float) -> pd.DataFrame:
    """Sensitivity, specificity, PPV and alerts per 100 of each model at one threshold.

    A thin wrapper of :func:`medmod_lib.metrics.operating_points` (flag
    ``score >= threshold``), one row per model.

    Args:
        scores: model name -> ``(y_true, y_score)``, each (n,) (NaN labels left out).
        threshold: the alert threshold.

    Returns:
        One row per model with :data:`THRESHOLD_COLUMNS`.
    """
    from ..metrics import operating_points

    rows = [
        operating_points(y, p, {"slider": float(threshold)}).assign(model=name)
        for name, (y, p) in scores.items()
    ]
    frame = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=THRESHOLD_COLUMNS)
    return frame[list(THRESHOLD_COLUMNS)]


def threshold_explorer(
    scores: Mapping[str, tuple[Any, Any]],
    *,
    default: float = 0.5,
    marks: Mapping[str, float] | None = None,
) -> Any:
    """A slider over the alert threshold: ROC points, score histograms and the rates.

    The slider spans 0-1 (wider if a model's scores leave it); a sample is
    alerted when its score is at or above the threshold.

    Args:
        scores: model name -> ``(y_true, y_score)`` of the same test samples.
        default: the threshold first shown.
        marks: model name -> a threshold drawn dotted in its histogram (e.g. the
            80%-sensitivity threshold set on validation).

    Returns:
        An ``ipywidgets.VBox`` (slider, output area).
    """
    widgets = require_widgets()
    from sklearn.metrics import roc_curve  # as evaluation.plots draws ROC curves

    from ..metrics.operating import _binary

    clean = {name: _binary(y, p) for name, (y, p) in scores.items()}
    if not clean:
        raise ValueError("pass at least one model's (y_true, y_score)")
    # probabilities span [0, 1]; other scores (logits) widen the range to theirs
    lo = min(0.0, *(float(np.min(p)) for _, p in clean.values() if len(p)))
    hi = max(1.0, *(float(np.max(p)) for _, p in clean.values() if len(p)))
    slider = widgets.FloatSlider(
        value=default, min=lo, max=hi, step=0.01, description="threshold",
        readout_format=".2f", continuous_update=False, layout=widgets.Layout(width="520px"),
    )  # fmt: skip
    out = widgets.Output()
    bins = np.linspace(lo, hi, 26)

    def draw(*_: Any) -> None:
        t = float(slider.value)
        table = threshold_table(clean, t)
        fig = Figure(figsize=(3.3 * (len(clean) + 1), 3.0), layout="constrained")
        axes = fig.subplots(1, len(clean) + 1, squeeze=False)[0]
        roc_ax = axes[0]
        roc_ax.plot([0, 1], [0, 1], color="0.6", ls=":", lw=1)
        for k, ((name, (y, p)), ax) in enumerate(zip(clean.items(), axes[1:], strict=True)):
            colour = f"C{k}"
            if 0 < y.sum() < len(y):  # a ROC curve needs both outcomes
                fpr, tpr, _ = roc_curve(y, p)
                roc_ax.plot(fpr, tpr, color=colour, lw=1.2, label=name)
            row = table.iloc[k]
            roc_ax.plot(1 - row["specificity"], row["sensitivity"], "o", color=colour, ms=7)
            ax.hist(p[y == 0], bins=bins, density=True, alpha=0.55, color="0.55", label="survived")
            ax.hist(p[y == 1], bins=bins, density=True, alpha=0.55, color="crimson", label="died")
            ax.axvspan(t, hi, color=colour, alpha=0.08, lw=0)
            ax.axvline(t, color=colour, lw=1.5)
            if marks and name in marks and np.isfinite(marks[name]):
                ax.axvline(marks[name], color="0.2", ls=":", lw=1)
            ppv = "-" if np.isnan(row["ppv"]) else f"{row['ppv']:.0%}"
            ax.set_title(f"{name}\nsens {row['sensitivity']:.0%}, spec {row['specificity']:.0%}, "
                         f"PPV {ppv}", fontsize=8)  # fmt: skip
            ax.set_xlim(lo, hi)
            ax.set_xlabel("score (shaded: alert)")
            ax.set_yticks([])
        axes[1].legend(fontsize=7, loc="upper center")
        roc_ax.set_xlabel("1 - specificity")
        roc_ax.set_ylabel("sensitivity")
        roc_ax.set_title(f"ROC; dots: threshold {t:.2f}", fontsize=9)
        roc_ax.legend(fontsize=6, loc="lower right")
        show_in(out, figure_output(fig), table_output(table))

    slider.observe(draw, names="value")
    draw()
    return _box(widgets, [slider, out], "medmod-threshold")


# -- 04: removing X-rays at test time -------------------------------------------------


#: Result columns of a sweep; every other column identifies a curve (model, test set, ...).
_SWEEP_NUMBERS = ("fraction", "n", "n_paired", "n_dropped", "value", "ci_low", "ci_high")


def removal_table(sweep: pd.DataFrame, fraction: float) -> pd.DataFrame:
    """Each model's metric at one removal fraction and its change from the first fraction.

    Args:
        sweep: rows of :func:`medmod_lib.evaluation.sweep_predictions` (columns
            ``model, test_set, fraction, metric, value, ci_low, ci_high``; every
            column but the numbers, e.g. ``task`` and ``trained_on``, is a key).
        fraction: one of the sweep's fractions (the nearest is taken).

    Returns:
        One row per model (and test set, task, ...): the keys, ``fraction``,
        ``value``, ``ci_low``, ``ci_high``, ``n_dropped`` and ``change`` (value
        minus the value at the smallest fraction).
    """
    if sweep.empty:
        raise ValueError("the sweep table is empty")
    fractions = np.sort(sweep["fraction"].unique())
    at = float(fractions[np.abs(fractions - float(fraction)).argmin()])
    keys = [c for c in sweep.columns if c not in _SWEEP_NUMBERS]  # model, test_set, task, ...
    first = sweep[sweep["fraction"] == fractions[0]].set_index(keys)["value"]
    now = sweep[sweep["fraction"] == at].set_index(keys)
    cols = [c for c in ("fraction", "value", "ci_low", "ci_high", "n_dropped") if c in now]
    table = now[cols].copy()
    table["change"] = table["value"] - first.reindex(table.index)
    return table.reset_index()


def removal_explorer(
    sweep: pd.DataFrame, *, default: float | None = None, style: str | None = None
) -> Any:
    """A slider over the removal fractions of a missing-modality sweep, with a panel picker.

    Nothing is recomputed: the slider walks along the sweep's own fractions and
    shows each model's metric there (line and table), so it is instant.

    Args:
        sweep: rows of :func:`medmod_lib.evaluation.sweep_predictions`, several
            models concatenated; optional ``task`` and ``trained_on`` columns make
            one panel each (chosen with a dropdown).
        default: the fraction first shown (``None``: the largest).
        style: a column drawn as line styles (e.g. two drop orders), passed to
            :func:`~medmod_lib.evaluation.plot_sweep`; ``None``: its default.

    Returns:
        An ``ipywidgets.VBox`` (dropdown if several panels, slider, output area).
    """
    widgets = require_widgets()
    from ..evaluation import plot_sweep

    if sweep.empty:
        raise ValueError("the sweep table is empty")
    panel_keys = [c for c in ("task", "trained_on") if c in sweep]
    panels = (
        {" / ".join(map(str, k if isinstance(k, tuple) else (k,))): part
         for k, part in sweep.groupby(panel_keys, sort=False)}
        if panel_keys else {"sweep": sweep}
    )  # fmt: skip
    fractions = [float(f) for f in np.sort(sweep["fraction"].unique())]
    start = fractions[-1] if default is None else min(fractions, key=lambda f: abs(f - default))
    slider = widgets.SelectionSlider(
        options=[(f"{f:.0%}", f) for f in fractions], value=start,
        description="removed", continuous_update=False, layout=widgets.Layout(width="520px"),
    )  # fmt: skip
    picker = widgets.Dropdown(
        options=list(panels), description="panel", layout=widgets.Layout(width="520px")
    )
    out = widgets.Output()

    def draw(*_: Any) -> None:
        part = panels[picker.value]
        f = float(slider.value)
        fig = Figure(figsize=(6.5, 3.4), layout="constrained")
        ax = fig.add_subplot()
        plot_sweep(part, ax=ax, **({"style": style} if style else {}))
        ax.axvline(f, color="0.2", ls="--", lw=1)
        ax.set_title(f"{picker.value}: {f:.0%} of the films removed", fontsize=10)
        ax.legend(fontsize=7)
        table = removal_table(part, f).drop(columns=panel_keys + ["metric"], errors="ignore")
        show_in(out, figure_output(fig), table_output(table))

    slider.observe(draw, names="value")
    picker.observe(draw, names="value")
    draw()
    children = [picker, slider, out] if len(panels) > 1 else [slider, out]
    return _box(widgets, children, "medmod-removal")
