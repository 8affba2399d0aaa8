"""Plotting helpers for the notebooks; every function returns a Figure (no ``plt.show()``).

=========================  ===================================================
:func:`plot_stay_timeline` vitals of one stay, X-ray study times, thumbnails
:func:`show_xrays`         a grid of cached X-rays
:func:`stay_labels`        mortality, phenotypes, CheXpert findings of a stay
:func:`plot_linking_windows`  which toy images each linking rule keeps
:func:`plot_hours_from_intime` when X-rays are taken, per linked cohort
:func:`stay_explorer`      ipywidgets: choose a stay, see all of the above
=========================  ===================================================
"""

from .explorer import stay_explorer
from .linking import plot_hours_from_intime, plot_linking_windows
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

__all__ = [
    "DEFAULT_VITALS",
    "format_labels",
    "pick_stay",
    "plot_hours_from_intime",
    "plot_linking_windows",
    "plot_stay_timeline",
    "show_xrays",
    "stay_explorer",
    "stay_images",
    "stay_labels",
    "stay_timeseries",
    "stays_with_images",
    "use_style",
]
