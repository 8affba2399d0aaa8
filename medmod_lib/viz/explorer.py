"""An ipywidgets stay explorer: choose a stay, see its vitals, X-rays and labels.

The explorer draws its first stay as soon as it is created and redraws on every
choice; an outcome filter (in-hospital death) changes which stays are listed.
Widgets need a live Jupyter frontend; executed headlessly (papermill, nbval)
they leave no picture in the cell, so a notebook shows the static figure of
:func:`~medmod_lib.viz.plot_stay_timeline` next to the explorer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..ehr.processed import ProcessedEHR
from ..reference import Task
from .stay import (
    ImageSource,
    format_labels,
    plot_stay_timeline,
    stay_images,
    stay_labels,
    stays_with_images,
)
from .widgets import figure_output, require_widgets, show_in, text_output

#: Outcome filter of the explorer: label -> in-hospital death (``None``: every stay).
OUTCOMES: dict[str, int | None] = {"all": None, "died in hospital": 1, "survived": 0}


def explorer_stays(
    ehr: ProcessedEHR,
    images: pd.DataFrame,
    *,
    views: Sequence[str] | None = None,
    max_options: int = 200,
    seed: int = 0,
) -> pd.DataFrame:
    """The stays the explorer lists: stays with X-rays, a seeded sample balanced by outcome.

    When more than ``max_options`` cohort stays have an X-ray during the stay,
    each outcome (in-hospital death yes / no) contributes up to half of them, drawn
    with ``seed`` (the other outcome fills what one lacks); otherwise all are listed.

    Returns:
        ``stay_id`` (index), ``images`` (X-rays during the stay) and
        ``mortality_inhospital``, sorted by outcome (deaths first), then ``stay_id``.
    """
    counts = stays_with_images(ehr, images, views=views)
    died = ehr.stays.set_index("stay_id")["mortality_inhospital"].astype(int)
    frame = counts.to_frame().join(died, how="inner").sort_index()
    if len(frame) > max_options:
        rng = np.random.default_rng(seed)
        deaths = frame.index[frame["mortality_inhospital"] == 1].to_numpy()
        alive = frame.index[frame["mortality_inhospital"] == 0].to_numpy()
        # half each; an outcome with fewer stays than that leaves its share to the other
        n_died = min(len(deaths), max(max_options // 2, max_options - len(alive)))
        pick = np.concatenate(
            [
                rng.choice(deaths, size=n_died, replace=False),
                rng.choice(alive, size=max_options - n_died, replace=False),
            ]
        )
        frame = frame.loc[np.sort(pick)]
    return frame.sort_values("mortality_inhospital", ascending=False, kind="stable")


def _option(stay_id: int, n_images: int, died: int) -> tuple[str, int]:
    n, outcome = int(n_images), "died" if int(died) else "survived"
    return f"{int(stay_id)} · {n} X-ray{'s' if n > 1 else ''} · {outcome}", int(stay_id)


def stay_explorer(
    ehr: ProcessedEHR,
    images: pd.DataFrame,
    cache: ImageSource | None = None,
    *,
    chexpert: pd.DataFrame | None = None,
    default: int | None = None,
    views: Sequence[str] | None = None,
    max_options: int = 200,
    seed: int = 0,
) -> Any:
    """Two dropdowns (outcome, stay) and an output area with the stay's timeline and labels.

    The stays listed are those with an X-ray during the stay, a seeded sample
    balanced by in-hospital death when there are more than ``max_options``
    (:func:`explorer_stays`); the outcome filter narrows them to deaths or
    survivors. The first stay (``default``) is drawn at once.

    Args:
        ehr: the processed EHR folder.
        images: image metadata (all views).
        cache: image cache for the thumbnails (``None``: study-time lines only).
        chexpert: raw study labels for the CheXpert findings.
        default: the stay shown first (``None``: the first listed); it is always listed.
        views: views to show (``None``: all).
        max_options: stays listed at most (the outcome filter shows a subset).
        seed: the sample's seed.

    Returns:
        An ``ipywidgets.VBox`` with the children ``(outcome dropdown, stay dropdown,
        output area)``; the output area holds a PNG of the timeline and the labels.

    Raises:
        ImportError: ipywidgets is not installed (``pip install ipywidgets``).
        ValueError: no cohort stay has an X-ray during the stay.
    """
    widgets = require_widgets()
    listed = explorer_stays(ehr, images, views=views, max_options=max_options, seed=seed)
    if default is not None and int(default) not in listed.index:
        counts = stays_with_images(ehr, images, views=views)
        died = ehr.stays.set_index("stay_id")["mortality_inhospital"].astype(int)
        extra = pd.DataFrame(
            {"images": [int(counts.get(int(default), 0))],
             "mortality_inhospital": [int(died.loc[int(default)])]},
            index=pd.Index([int(default)], name="stay_id"),
        )  # fmt: skip
        listed = pd.concat([extra, listed])
    if listed.empty:
        raise ValueError("No cohort stay has an X-ray taken during the stay (check the data root)")

    def options(outcome: str) -> list[tuple[str, int]]:
        want = OUTCOMES[outcome]
        part = listed if want is None else listed[listed["mortality_inhospital"] == want]
        return [_option(s, r.images, r.mortality_inhospital) for s, r in part.iterrows()]

    phenotyping = ehr.samples(Task.PHENOTYPING) if Task.PHENOTYPING.value in ehr.tasks else None
    filt = widgets.Dropdown(options=list(OUTCOMES), value="all", description="outcome")
    first = options("all")
    stay = widgets.Dropdown(
        options=first,
        value=int(default) if default is not None else first[0][1],
        description="stay",
        layout=widgets.Layout(width="360px"),
    )
    out = widgets.Output()
    quiet = {"now": False}  # no redraw while the filter swaps the options

    def draw(*_: Any) -> None:
        if quiet["now"]:
            return
        if stay.value is None:
            show_in(out, text_output("no stay with an X-ray for this outcome"))
            return
        stay_id = int(stay.value)
        fig = plot_stay_timeline(ehr, stay_id, images=images, cache=cache, views=views)
        picture = figure_output(fig)
        plt.close(fig)
        shots = stay_images(ehr, stay_id, images, views=views)
        labels = stay_labels(
            ehr, stay_id, stay_images=shots, chexpert=chexpert, phenotyping=phenotyping
        )
        show_in(out, picture, text_output(format_labels(labels)))

    def refilter(change: dict) -> None:
        new = options(change["new"])
        keep = stay.value if stay.value in {v for _, v in new} else None
        quiet["now"] = True
        try:
            stay.options = new  # selects the first option
            if keep is not None:
                stay.value = keep  # a stay still listed stays selected (no redraw needed)
        finally:
            quiet["now"] = False
        if keep is None:
            draw()

    stay.observe(draw, names="value")
    filt.observe(refilter, names="value")
    draw()
    box = widgets.VBox([filt, stay, out])
    box.add_class("medmod-widget")
    box.add_class("medmod-stay-explorer")
    return box
