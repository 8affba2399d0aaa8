"""Reproducible batch runs: experiment files, papermill execution, reports, hygiene.

Entry point: ``python -m medmod_lib.run`` (see :mod:`medmod_lib.run`).
"""

from .execute import RunPlan, declared_parameters, discover_notebooks, run_experiment
from .experiment import (
    COMMON_PARAMETERS,
    STANDARD_KNOBS,
    Experiment,
    ExperimentError,
    Job,
    UnknownParameterError,
    expand_jobs,
    load_experiment,
)
from .results import RESULT_COLUMNS, combine_results, save_results

__all__ = [
    "COMMON_PARAMETERS",
    "RESULT_COLUMNS",
    "STANDARD_KNOBS",
    "Experiment",
    "ExperimentError",
    "Job",
    "RunPlan",
    "UnknownParameterError",
    "combine_results",
    "declared_parameters",
    "discover_notebooks",
    "expand_jobs",
    "load_experiment",
    "run_experiment",
    "save_results",
]
