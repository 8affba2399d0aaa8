"""MIMIC-IV EHR pipeline: reader, cohort, the 17 variables, tasks, splits, processed folder."""

from .cohort import CohortConfig, EmptyCohortError, build_cohort, mortality_between
from .pipeline import EHRConfig, prepare_ehr
from .processed import ProcessedEHR
from .reader import DuckDBSettings, MimicIVReader, MimicLayoutError, MimicSchemaError, SkipLog
from .splits import assign_splits
from .tasks import EventSummary, build_task, los_bucket
from .variables import VariableConfig, extract_events, fetch_events

__all__ = [
    "CohortConfig",
    "DuckDBSettings",
    "EHRConfig",
    "EmptyCohortError",
    "EventSummary",
    "MimicIVReader",
    "MimicLayoutError",
    "MimicSchemaError",
    "ProcessedEHR",
    "SkipLog",
    "VariableConfig",
    "assign_splits",
    "build_cohort",
    "build_task",
    "extract_events",
    "fetch_events",
    "los_bucket",
    "mortality_between",
    "prepare_ehr",
]
