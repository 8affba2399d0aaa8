"""An ipywidgets stay explorer: choose a stay, see its vitals, X-rays and labels.

Widgets need a live Jupyter frontend; executed headlessly (papermill, nbval)
they render as a placeholder without errors, so a notebook shows the static
figure of :func:`~medmod_lib.viz.plot_stay_timeline` next to the explorer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
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


def stay_explorer(
    ehr: ProcessedEHR,
    images: pd.DataFrame,
    cache: ImageSource | None = None,
    *,
    chexpert: pd.DataFrame | None = None,
    default: int | None = None,
    views: Sequence[str] | None = None,
    max_options: int = 500,
) -> Any:
    """A dropdown of stays with X-rays; choosing one draws its timeline and prints its labels.

    Args:
        ehr: the processed EHR folder.
        images: image metadata (all views).
        cache: image cache for the thumbnails (``None``: study-time lines only).
        chexpert: raw study labels for the CheXpert findings.
        default: the stay selected first (not drawn until the selection changes,
            because the notebook shows it as a static figure).
        views: views to show (``None``: all).
        max_options: at most this many stays in the dropdown (the first by ``stay_id``).

    Returns:
        An ``ipywidgets.VBox`` (dropdown + output area).

    Raises:
        ImportError: ipywidgets is not installed (``pip install ipywidgets``).
    """
    try:
        import ipywidgets as widgets
    except ImportError as err:  # pragma: no cover - ipywidgets is in requirements.txt
        raise ImportError("The stay explorer needs ipywidgets: pip install ipywidgets") from err
    from IPython.display import display

    counts = stays_with_images(ehr, images, views=views)
    options = [(f"{s} ({n} X-ray{'s' * (n > 1)})", int(s)) for s, n in counts.items()]
    options = options[:max_options]
    if default is not None and int(default) not in {v for _, v in options}:
        options.insert(0, (f"{default}", int(default)))
    phenotyping = ehr.samples(Task.PHENOTYPING) if Task.PHENOTYPING.value in ehr.tasks else None
    dropdown = widgets.Dropdown(
        options=options, value=default if default is not None else options[0][1], description="stay"
    )
    out = widgets.Output()

    def draw(change: dict) -> None:
        stay_id = int(change["new"])
        out.clear_output(wait=True)
        with out:
            fig = plot_stay_timeline(ehr, stay_id, images=images, cache=cache, views=views)
            display(fig)
            plt.close(fig)
            shots = stay_images(ehr, stay_id, images, views=views)
            labels = stay_labels(
                ehr, stay_id, stay_images=shots, chexpert=chexpert, phenotyping=phenotyping
            )
            print(format_labels(labels))

    dropdown.observe(draw, names="value")
    return widgets.VBox([dropdown, out])
