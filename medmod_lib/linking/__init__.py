"""Linking EHR samples to chest X-rays: rules, cohorts, multimodal datasets."""

from .cohort import Cohort, CohortMode, LeakageError, build_cohort, check_no_leakage
from .dataset import MultimodalCollate, MultimodalDataset
from .rules import LinkingRule

__all__ = [
    "Cohort",
    "CohortMode",
    "LeakageError",
    "LinkingRule",
    "MultimodalCollate",
    "MultimodalDataset",
    "build_cohort",
    "check_no_leakage",
]
