"""Tidy result rows and the results CSV.

One row per (task, method, protocol, modality, seed, metric), so every table
and figure of the notebooks is a ``groupby``/``pivot`` of one file. The column
order is fixed by :data:`RESULT_COLUMNS`; appending to a file whose header
differs raises instead of writing misaligned rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from ..metrics import MetricResult, task_metrics
from ..reference import Task
from ..runner.results import RESULT_COLUMNS

# RESULT_COLUMNS, the one results schema (defined with the runner that combines the
# tables): the required columns, then the provenance columns. ``seed`` is the training
# seed; the bootstrap seed and resample count are stored separately so every interval
# can be redone. ``n_boot_valid``: resamples where the metric was defined (the interval
# is taken over those); ``n_skipped``: labels left out of an average (one class only).

_DTYPES: dict[str, str] = {
    "task": "string",
    "method": "string",
    "protocol": "string",
    "modality": "string",
    "seed": "Int64",
    "metric": "string",
    "value": "float64",
    "ci_low": "float64",
    "ci_high": "float64",
    "n": "Int64",
    "test_set": "string",
    "n_boot": "Int64",
    "bootstrap_seed": "Int64",
    "n_boot_valid": "Int64",
    "n_skipped": "Int64",
}


def result_rows(
    results: Mapping[str, MetricResult],
    *,
    task: str | Task,
    method: str,
    protocol: str,
    modality: str,
    seed: int | None,
    test_set: str = "test",
) -> pd.DataFrame:
    """Turn a dict of :class:`MetricResult` into tidy rows in :data:`RESULT_COLUMNS` order.

    Args:
        results: e.g. the output of :func:`medmod_lib.metrics.task_metrics`.
        task: the task.
        method: model or pretraining method, e.g. ``"simclr"``, ``"medfuse"``.
        protocol: e.g. ``"linear"``, ``"finetune"``, ``"supervised"``.
        modality: e.g. ``"ehr"``, ``"cxr"``, ``"ehr+cxr"``.
        seed: training seed of the model.
        test_set: which test cohort, e.g. ``"paired"`` or ``"partial"``.
    """
    task = Task.parse(task)
    rows = [
        {
            "task": task.value,
            "method": method,
            "protocol": protocol,
            "modality": modality,
            "seed": seed,
            "metric": r.metric,
            "value": r.value,
            "ci_low": r.ci_low,
            "ci_high": r.ci_high,
            "n": r.n,
            "test_set": test_set,
            "n_boot": r.n_boot,
            "bootstrap_seed": r.seed,
            "n_boot_valid": r.n_boot_valid,
            "n_skipped": r.n_skipped,
        }
        for r in results.values()
    ]
    return _typed(pd.DataFrame(rows, columns=list(RESULT_COLUMNS)))


def evaluate_predictions(
    task: str | Task,
    y_true: Any,
    y_score: Any,
    *,
    method: str,
    protocol: str,
    modality: str,
    seed: int | None,
    test_set: str = "test",
    **metric_kwargs: Any,
) -> pd.DataFrame:
    """Metrics of one model's test predictions as tidy rows.

    Args:
        task, y_true, y_score: as in :func:`medmod_lib.metrics.task_metrics`.
        method, protocol, modality, seed, test_set: as in :func:`result_rows`.
        **metric_kwargs: passed to ``task_metrics`` (``label_names``, ``n_boot``,
            ``seed`` is named ``bootstrap_seed`` here, ...).
    """
    boot_seed = metric_kwargs.pop("bootstrap_seed", 0)
    res = task_metrics(task, y_true, y_score, seed=boot_seed, **metric_kwargs)
    return result_rows(
        res,
        task=task,
        method=method,
        protocol=protocol,
        modality=modality,
        seed=seed,
        test_set=test_set,
    )


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype(_DTYPES)


def append_results(path: str | Path, rows: pd.DataFrame | Iterable[Mapping[str, Any]]) -> Path:
    """Append rows to the results CSV, writing the header if the file is new.

    Args:
        path: CSV file; parent folders are created.
        rows: a frame or dicts with exactly the columns of :data:`RESULT_COLUMNS`.

    Raises:
        ValueError: if ``rows`` lack or add columns, or the existing file has a
            different header (write to a new file or migrate the old one).
    """
    path = Path(path)
    frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
    missing = [c for c in RESULT_COLUMNS if c not in frame.columns]
    extra = [c for c in frame.columns if c not in RESULT_COLUMNS]
    if missing or extra:
        raise ValueError(
            f"result rows for {path} must have the columns {list(RESULT_COLUMNS)}; "
            f"missing {missing}, unexpected {extra}. Build them with result_rows()."
        )
    frame = _typed(frame[list(RESULT_COLUMNS)])
    exists = path.exists() and path.stat().st_size > 0
    if exists:
        header = pd.read_csv(path, nrows=0).columns.tolist()
        if header != list(RESULT_COLUMNS):
            raise ValueError(
                f"{path} has columns {header}, expected {list(RESULT_COLUMNS)}; "
                "write to a new results file or convert the old one with read_results()"
            )
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, mode="a" if exists else "w", header=not exists, index=False)
    return path


def read_results(path: str | Path) -> pd.DataFrame:
    """Read a results CSV with the column order and dtypes of :data:`RESULT_COLUMNS`."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist; write it with append_results()")
    frame = pd.read_csv(
        path,
        dtype={
            c: "string" for c in ("task", "method", "protocol", "modality", "metric", "test_set")
        },
    )
    if frame.columns.tolist() != list(RESULT_COLUMNS):
        raise ValueError(
            f"{path} has columns {frame.columns.tolist()}, expected {list(RESULT_COLUMNS)}"
        )
    return _typed(frame)
