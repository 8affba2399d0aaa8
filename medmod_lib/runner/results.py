"""Tidy results and claims tables: what notebooks write and the runner concatenates.

Every notebook that measures something writes one CSV per executed copy to
``<output_dir>/results/<name>.csv`` with :func:`save_results`, one row per
metric, columns :data:`RESULT_COLUMNS` (:data:`REQUIRED_COLUMNS`, then the
provenance columns, which a notebook of one's own may leave out). The runner
concatenates them into ``reports/<run>/results.csv`` (:func:`combine_results`) and ``05_report`` reads
that file.

Notebooks that check a headline claim (:mod:`medmod_lib.evaluation.claims`)
also write ``<output_dir>/claims/<name>.csv`` (:func:`save_claims`, columns
:data:`CLAIM_COLUMNS`); the runner combines them into ``reports/<run>/claims.csv``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

#: The columns every tidy results table has, in order.
REQUIRED_COLUMNS = (
    "task",
    "method",
    "protocol",
    "modality",
    "seed",
    "metric",
    "value",
    "ci_low",
    "ci_high",
    "n",
)
#: Provenance columns that :mod:`medmod_lib.evaluation.results` adds after the
#: required ones (test set, bootstrap resamples and seed, valid resamples,
#: labels left out of an average); optional here, kept when present.
OPTIONAL_COLUMNS = ("test_set", "n_boot", "bootstrap_seed", "n_boot_valid", "n_skipped")
#: The results schema (the one the library writes): required, then provenance columns.
RESULT_COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
_KEY = ["task", "method", "protocol", "modality", "metric", "seed"]
#: Columns of a claims table (one row per checked claim and seed), in order.
CLAIM_COLUMNS = (
    "claim",
    "task",
    "notebook",
    "statement",
    "a",
    "b",
    "test_set",
    "metric",
    "value_a",
    "value_b",
    "diff",
    "ci_low",
    "ci_high",
    "n",
    "n_boot",
    "seed",
    "verdict",
)
_CLAIM_KEY = ["notebook", "claim", "seed"]
_CLAIM_NUMERIC = ("value_a", "value_b", "diff", "ci_low", "ci_high")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")


def results_dir(output_dir: str | Path) -> Path:
    """``<output_dir>/results``: where notebooks put their tidy CSVs."""
    return Path(output_dir) / "results"


def claims_dir(output_dir: str | Path) -> Path:
    """``<output_dir>/claims``: where notebooks put their claim verdicts."""
    return Path(output_dir) / "claims"


def empty_results() -> pd.DataFrame:
    """An empty table with :data:`RESULT_COLUMNS`."""
    return pd.DataFrame({c: pd.Series(dtype=object) for c in RESULT_COLUMNS})


def empty_claims() -> pd.DataFrame:
    """An empty table with :data:`CLAIM_COLUMNS`."""
    return pd.DataFrame({c: pd.Series(dtype=object) for c in CLAIM_COLUMNS})


def _checked(
    frame: pd.DataFrame,
    where: str,
    *,
    required: tuple[str, ...],
    allowed: tuple[str, ...],
    numeric: tuple[str, ...],
    hint: str,
) -> pd.DataFrame:
    """``frame`` with exactly the ``allowed`` columns, ``numeric`` ones parsed as numbers.

    Raises:
        ValueError: a required column is missing or an unknown one is present (``hint``
            says how to build the table), or a numeric cell is not a number.
    """
    missing = [c for c in required if c not in frame.columns]
    extra = [c for c in frame.columns if c not in allowed]
    if missing or extra:
        raise ValueError(f"{where}: {hint}; missing {missing}, unexpected {extra}.")
    out = frame.reindex(columns=list(allowed)).copy()
    for col in numeric:
        out[col] = pd.to_numeric(out[col], errors="raise")
    return out


def _validate_claims(frame: pd.DataFrame, where: str) -> pd.DataFrame:
    return _checked(
        frame,
        where,
        required=CLAIM_COLUMNS,
        allowed=CLAIM_COLUMNS,
        numeric=_CLAIM_NUMERIC,
        hint=f"claims columns must be {list(CLAIM_COLUMNS)} (build the rows with "
        "medmod_lib.evaluation.claims.check_claim)",
    )


def _validate(frame: pd.DataFrame, where: str) -> pd.DataFrame:
    return _checked(
        frame,
        where,
        required=REQUIRED_COLUMNS,
        allowed=RESULT_COLUMNS,
        numeric=("value", "ci_low", "ci_high"),
        hint=f"results columns must be {list(REQUIRED_COLUMNS)} (optionally followed by "
        f"{list(OPTIONAL_COLUMNS)}; NaN where a value does not apply, e.g. ci_low without "
        "a bootstrap)",
    )


def save_results(frame: pd.DataFrame, output_dir: str | Path, name: str) -> Path:
    """Write one notebook copy's tidy results.

    Args:
        frame: One row per (task, method, protocol, modality, seed, metric)
            with columns :data:`RESULT_COLUMNS`.
        output_dir: The notebook's ``output_dir`` parameter.
        name: File stem unique to this copy, e.g. ``03_linear_eval_simclr_s0``.

    Returns:
        The path written (``<output_dir>/results/<name>.csv``).

    Raises:
        ValueError: Wrong columns, non-numeric values, or a bad file name.
    """
    return _save(_validate(frame, f"save_results({name!r})"), results_dir(output_dir), name)


def _save(table: pd.DataFrame, folder: Path, name: str) -> Path:
    if not _NAME_RE.match(name):
        raise ValueError(f"File name {name!r}: use letters, digits, `_.+-` only.")
    path = folder / f"{name}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(path, index=False, float_format="%.6g")
    return path


def save_claims(frame: pd.DataFrame, output_dir: str | Path, name: str) -> Path:
    """Write one notebook copy's claim verdicts to ``<output_dir>/claims/<name>.csv``.

    Raises:
        ValueError: wrong columns, non-numeric differences, or a bad file name.
    """
    return _save(_validate_claims(frame, f"save_claims({name!r})"), claims_dir(output_dir), name)


@dataclass
class Combined:
    """The concatenated table and the files that could not be used.

    Attributes:
        table: Rows of every valid file, sorted by task/method/protocol/modality/metric/seed.
        files: The files used, in name order.
        skipped: ``(file, reason)`` for each file left out.
    """

    table: pd.DataFrame
    files: list[Path] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)


def _combine(files: list[Path], validate, empty: pd.DataFrame, key: list[str]) -> Combined:
    frames, used, skipped = [], [], []
    for path in sorted(Path(f) for f in files):
        try:
            frame = pd.read_csv(path)
            frames.append(validate(frame, str(path)))
            used.append(path)
        except (ValueError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
            skipped.append((path, str(err)))
    frames = [f for f in frames if not f.empty]
    if not frames:
        return Combined(empty, used, skipped)
    table = pd.concat(frames, ignore_index=True)
    table = table.sort_values(key, kind="stable", na_position="last").reset_index(drop=True)
    return Combined(table, used, skipped)


def combine_results(files: list[Path]) -> Combined:
    """Concatenate tidy CSVs into one table, sorted so that reruns compare equal.

    A file with the wrong columns is skipped and reported, not dropped silently.

    Args:
        files: CSV paths (e.g. ``results_dir(output_dir).glob("*.csv")``).

    Returns:
        A :class:`Combined`; its ``table`` is empty (with the columns) when
        there is nothing to combine.
    """
    return _combine(files, _validate, empty_results(), _KEY)


def combine_claims(files: list[Path]) -> Combined:
    """Concatenate claims CSVs (``claims_dir(output_dir).glob("*.csv")``), as :func:`combine_results`."""
    return _combine(files, _validate_claims, empty_claims(), _CLAIM_KEY)


def write_combined(combined: Combined, path: str | Path) -> Path:
    """Write the combined table with a fixed float format (byte-stable reruns)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    combined.table.to_csv(path, index=False, float_format="%.6g")
    return path
