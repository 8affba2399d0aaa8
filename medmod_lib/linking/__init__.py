"""Linking EHR samples to chest X-rays: rules, cohorts, multimodal datasets."""

from .build import LinkConfig, LinkedData, link_cohorts
from .cohort import Cohort, CohortMode, LeakageError, build_cohort, check_no_leakage
from .dataset import MultimodalCollate, MultimodalDataset
from .rules import LinkingRule

__all__ = [
    "Cohort",
    "CohortMode",
    "LeakageError",
    "LinkConfig",
    "LinkedData",
    "LinkingRule",
    "MultimodalCollate",
    "MultimodalDataset",
    "build_cohort",
    "check_no_leakage",
    "link_cohorts",
]
