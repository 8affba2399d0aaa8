"""MIMIC-CXR-JPG: metadata and labels, the image cache, transforms and the radiology dataset.

Typical use::

    from medmod_lib import cxr

    report = cxr.build_cache(root)                  # once: decode every JPEG, resumable
    table = cxr.radiology_table(root, subject_split="outputs/processed/splits.csv")
    train = cxr.RadiologyDataset(
        table, cxr.ImageCache(report.cache_dir), split="train", policy="zeros",
        transform=cxr.get_transforms("benchmark", train=True),
    )

Names are imported lazily, so the cache's worker processes (which import
:mod:`medmod_lib.cxr.decode` only) start without loading torch or pandas.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    "CacheReport": "cache",
    "ImageCache": "cache",
    "build_cache": "cache",
    "default_cache_dir": "cache",
    "decode_resized": "decode",
    "RadiologyDataset": "dataset",
    "assign_split": "dataset",
    "radiology_table": "dataset",
    "read_subject_split": "dataset",
    "POLICIES": "labels",
    "apply_policy": "labels",
    "policy_table": "labels",
    "read_study_labels": "labels",
    "DEFAULT_VIEWS": "metadata",
    "KNOWN_VIEWS": "metadata",
    "filter_views": "metadata",
    "load_metadata": "metadata",
    "parse_study_datetime": "metadata",
    "read_cxr_table": "metadata",
    "PRESETS": "transforms",
    "get_transforms": "transforms",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'medmod_lib.cxr' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
