"""Synthetic MIMIC-IV 3.1 + MIMIC-CXR-JPG 2.1.0 in the real on-disk layout.

The kit's embedded default dataset: patients, admissions, ICU stays, charted
vitals, labs, diagnoses and chest X-rays whose values are driven by a latent
clinical state per stay (see :mod:`.signal` and ``data_cards/synthetic_demo.md``).

Example:
    >>> from medmod_lib.synthetic import ensure_dataset, summarize
    >>> root = ensure_dataset("data/synthetic", patients=200)  # doctest: +SKIP
    >>> print(summarize(root))  # doctest: +SKIP
"""

from .generate import (
    DEFAULT_IMAGE_SIZE,
    DEFAULT_PATIENTS,
    ensure_dataset,
    generate,
    write_chartevents,
)
from .summary import summarize
from .writer import ForeignFolderError

__all__ = [
    "DEFAULT_IMAGE_SIZE",
    "DEFAULT_PATIENTS",
    "ForeignFolderError",
    "ensure_dataset",
    "generate",
    "summarize",
    "write_chartevents",
]
