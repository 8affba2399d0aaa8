"""The four fusion designs of medmod_lib.fusion side by side, and their rule for a missing X-ray.

:func:`fusion_designs` is a table (one row per design), :func:`plot_fusion_designs`
draws a block diagram per design with its missing-image rule underneath. Both
describe the code of :mod:`medmod_lib.fusion` (``concat.py``, ``late.py``,
``medfuse.py``, ``tokens.py``); ``tests/viz/test_fusion_designs.py`` checks the
table's ``encoders`` and ``missing_default`` columns against built models.

Examples:
    >>> fusion_designs(["late"])["without_xray"].iloc[0]
    'EHR head alone (its logits are the output)'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure


@dataclass(frozen=True)
class FusionDesign:
    """One fusion design as the kit builds it (``build_fusion_model(model, ...)``).

    Attributes:
        model: key of :data:`medmod_lib.fusion.FUSION_MODELS`.
        title: display name.
        encoders: ``"frozen"`` (only the layers on top train) or ``"trained"``.
        combined_by: how the two feature vectors become logits.
        without_xray: what the model computes for a sample without an image.
        missing_default: the ``missing`` option's default (``None``: the model
            takes no ``missing`` option).
        boxes: ``(key, x, y, label)`` of the diagram, axes coordinates in [0, 1].
        arrows: ``(from key, to key)`` of the diagram.
    """

    model: str
    title: str
    encoders: str
    combined_by: str
    without_xray: str
    missing_default: str | None
    boxes: tuple[tuple[str, float, float, str], ...]
    arrows: tuple[tuple[str, str], ...]


_ENCODERS = (("ehr", 0.25, 0.08, "EHR\nLSTM"), ("cxr", 0.75, 0.08, "X-ray\nResNet"))
_CONCAT_BOXES = (
    *_ENCODERS,
    ("proj", 0.75, 0.36, "Linear\n(to EHR size)"),
    ("fuse", 0.5, 0.62, "concat\n-> Linear"),
    ("out", 0.5, 0.88, "logits"),
)
_CONCAT_ARROWS = (("ehr", "fuse"), ("cxr", "proj"), ("proj", "fuse"), ("fuse", "out"))
_CONCAT_MISSING = "zeros (or a learned token) replace the projected X-ray vector"

#: The four designs, in the order they are usually taught.
DESIGNS: tuple[FusionDesign, ...] = (
    FusionDesign(
        model="early",
        title="Early fusion",
        encoders="frozen",
        combined_by="concat(EHR, Linear(X-ray)) -> Linear",
        without_xray=_CONCAT_MISSING,
        missing_default="zeros",
        boxes=_CONCAT_BOXES,
        arrows=_CONCAT_ARROWS,
    ),
    FusionDesign(
        model="joint",
        title="Joint fusion",
        encoders="trained",
        combined_by="concat(EHR, Linear(X-ray)) -> Linear",
        without_xray=_CONCAT_MISSING,
        missing_default="zeros",
        boxes=_CONCAT_BOXES,
        arrows=_CONCAT_ARROWS,
    ),
    FusionDesign(
        model="late",
        title="Late fusion",
        encoders="trained",
        combined_by="mean of the two heads' probabilities",
        without_xray="EHR head alone (its logits are the output)",
        missing_default=None,
        boxes=(
            *_ENCODERS,
            ("ehr_head", 0.25, 0.36, "Linear"),
            ("cxr_head", 0.75, 0.36, "Linear"),
            ("fuse", 0.5, 0.62, "mean of\nprobabilities"),
            ("out", 0.5, 0.88, "logits"),
        ),
        arrows=(
            ("ehr", "ehr_head"),
            ("cxr", "cxr_head"),
            ("ehr_head", "fuse"),
            ("cxr_head", "fuse"),
            ("fuse", "out"),
        ),
    ),
    FusionDesign(
        model="medfuse",
        title="MedFuse",
        encoders="trained",
        combined_by="LSTM over [EHR, Linear(X-ray)] -> Linear",
        without_xray="sequence of length 1: the LSTM reads the EHR only",
        missing_default="drop",
        boxes=(
            *_ENCODERS,
            ("proj", 0.75, 0.36, "Linear\n(to EHR size)"),
            ("fuse", 0.5, 0.62, "LSTM over\n[EHR, X-ray]"),
            ("out", 0.5, 0.88, "Linear\n-> logits"),
        ),
        arrows=(("ehr", "fuse"), ("cxr", "proj"), ("proj", "fuse"), ("fuse", "out")),
    ),
)

_BY_MODEL = {d.model: d for d in DESIGNS}


def _designs(names: Sequence[str] | None) -> list[FusionDesign]:
    if names is None:
        return list(DESIGNS)
    unknown = [n for n in names if n not in _BY_MODEL]
    if unknown:
        raise ValueError(f"no fusion design {unknown}; choose from {sorted(_BY_MODEL)}")
    return [_BY_MODEL[n] for n in names]


def fusion_designs(names: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per fusion design: how it combines the modalities, what it does without an X-ray.

    Args:
        names: model keys to keep (``early``, ``joint``, ``late``, ``medfuse``),
            in this order; ``None``: all four.

    Returns:
        Columns ``design``, ``model``, ``encoders``, ``combined_by``,
        ``without_xray``, ``missing_default``.

    Raises:
        ValueError: for a name that is not a fusion design (e.g. ``ehr_only``).
    """
    cols = ["title", "model", "encoders", "combined_by", "without_xray", "missing_default"]
    rows = [{c: getattr(d, c) for c in cols} for d in _designs(names)]
    return pd.DataFrame(rows, columns=cols).rename(columns={"title": "design"})


def _wrap(text: str, width: int = 26) -> str:
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return "\n".join([*lines, line])


def plot_fusion_designs(
    names: Sequence[str] | None = None, *, highlight: Sequence[str] = ()
) -> Figure:
    """Block diagrams of the fusion designs, each with its missing-image rule underneath.

    Encoders drawn hatched are frozen (early fusion trains only the layers on top).

    Args:
        names: as in :func:`fusion_designs`.
        highlight: model keys whose titles are marked "(in this run)".

    Returns:
        The figure, one panel per design.
    """
    designs = _designs(names)
    fig, axes = plt.subplots(1, len(designs), figsize=(3.3 * len(designs), 4.4), squeeze=False)
    for ax, d in zip(axes[0], designs, strict=True):
        ax.set_axis_off()
        ax.set_xlim(0, 1)
        ax.set_ylim(-0.3, 1.0)
        at = {}
        for key, x, y, label in d.boxes:
            frozen = key in ("ehr", "cxr") and d.encoders == "frozen"
            style = dict(
                boxstyle="round,pad=0.3",
                facecolor="#dde8f3" if key in ("ehr", "cxr") else "#f6f6f6",
                edgecolor="#4a6f96" if key in ("ehr", "cxr") else "#777777",
                hatch="///" if frozen else None,
            )
            ax.text(x, y, label, ha="center", va="center", fontsize=8.5, bbox=style, zorder=3)
            at[key] = (x, y)
        for a, b in d.arrows:
            ax.annotate(
                "",
                xy=at[b],
                xytext=at[a],
                arrowprops=dict(arrowstyle="->", color="#555555", shrinkA=17, shrinkB=17),
                zorder=2,
            )
        title = f"{d.title} ({d.model})" + ("\n(in this run)" if d.model in highlight else "")
        ax.set_title(title, fontsize=10)
        note = ("encoders frozen; " if d.encoders == "frozen" else "") + "no X-ray: "
        ax.text(
            0.5,
            -0.1,
            _wrap(note + d.without_xray),
            ha="center",
            va="top",
            fontsize=8,
            color="#a3282b",
        )
    fig.tight_layout()
    return fig
