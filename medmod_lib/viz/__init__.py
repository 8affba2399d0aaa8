"""Plotting helpers for the notebooks; every function returns a Figure (no ``plt.show()``).

=========================  ===================================================
:func:`plot_stay_timeline` vitals of one stay, X-ray study times, thumbnails
:func:`show_xrays`         a grid of cached X-rays
:func:`stay_labels`        mortality, phenotypes, CheXpert findings of a stay
:func:`plot_linking_windows`  which toy images each linking rule keeps
:func:`plot_hours_from_intime` when X-rays are taken, per linked cohort
:func:`stay_explorer`      ipywidgets: filter by outcome, choose a stay, see all of the above
:func:`linking_window_explorer`  ipywidgets: slide the linking window, count paired samples
:func:`temperature_explorer`  ipywidgets: slide the NT-Xent temperature on a toy batch
:func:`threshold_explorer`  ipywidgets: slide an alert threshold: sensitivity, specificity, PPV
:func:`removal_explorer`   ipywidgets: slide along a missing-modality sweep's removal fractions
:func:`plot_fusion_designs` the four fusion designs and their missing-image rule
:func:`fusion_designs`     the same as a table
:func:`task_table`         the five tasks: prediction time, window, labels, users
:func:`variable_table`     the 17 variables: type, unit, normal value, columns
:func:`plot_input_status`  one stay's 48 x 76 input: measured, carried, normal
:func:`show_films_with_findings`  thumbnails with their CheXpert findings
=========================  ===================================================
"""

from .explorer import explorer_stays, stay_explorer
from .films import film_findings, show_films_with_findings
from .fusion import fusion_designs, plot_fusion_designs
from .inputs import input_status, measured_share, plot_input_status, status_summary
from .linking import plot_hours_from_intime, plot_linking_windows
from .reference_tables import task_table, variable_table
from .stay import (
    DEFAULT_VITALS,
    format_labels,
    pick_stay,
    plot_stay_timeline,
    show_xrays,
    stay_images,
    stay_labels,
    stay_timeseries,
    stays_with_images,
    use_style,
)
from .widgets import (
    film_offsets,
    linking_window_explorer,
    nt_xent_softmax,
    removal_explorer,
    removal_table,
    temperature_explorer,
    threshold_explorer,
    threshold_table,
    window_counts,
)

__all__ = [
    "DEFAULT_VITALS",
    "explorer_stays",
    "film_findings",
    "film_offsets",
    "format_labels",
    "fusion_designs",
    "input_status",
    "linking_window_explorer",
    "measured_share",
    "nt_xent_softmax",
    "pick_stay",
    "plot_fusion_designs",
    "plot_hours_from_intime",
    "plot_input_status",
    "plot_linking_windows",
    "plot_stay_timeline",
    "removal_explorer",
    "removal_table",
    "show_films_with_findings",
    "show_xrays",
    "status_summary",
    "stay_explorer",
    "stay_images",
    "stay_labels",
    "stay_timeseries",
    "stays_with_images",
    "task_table",
    "temperature_explorer",
    "threshold_explorer",
    "threshold_table",
    "use_style",
    "variable_table",
    "window_counts",
]
