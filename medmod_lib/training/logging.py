"""Plain local CSV metric logs, with no wandb or neptune dependency.

(MedMod's self-supervised trainers, e.g. nyuad-cai/MedMod
``src/models/selfsupervised/trainers/align_trainer.py``, import neptune and log to
a Neptune project; this logger writes local files only.)

One row per logged step and per epoch summary: ``epoch, step, split, lr`` and
then one column per loss term or metric, in order of first appearance. The file
is rewritten atomically at every :meth:`CSVLogger.flush`, so new columns (a
validation metric that appears after epoch 1) are handled and a crash never
leaves a half-written line. On resume, rows after the checkpoint's epoch are
dropped so the log matches the restored state.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

BASE_COLUMNS = ("epoch", "step", "split", "lr")


class CSVLogger:
    """Collect metric rows and write them to ``path``.

    Args:
        path: CSV file; ``None`` keeps the rows in memory only (non-zero ranks).
        resume_epoch: keep the rows of epochs ``<= resume_epoch`` from an
            existing file (``None`` starts a fresh log).

    Examples:
        >>> log = CSVLogger(None)
        >>> log.log(epoch=1, step=10, split="train", lr=0.1, loss=0.5)
        >>> list(log.frame().columns)
        ['epoch', 'step', 'split', 'lr', 'loss']
    """

    def __init__(self, path: str | Path | None, *, resume_epoch: int | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self.rows: list[dict] = []
        if self.path is not None and resume_epoch is not None and self.path.is_file():
            old = pd.read_csv(self.path)
            self.rows = old[old["epoch"] <= resume_epoch].to_dict("records")

    def log(self, *, epoch: int, step: int, split: str, lr: float | None, **values: float) -> None:
        """Append one row; ``values`` are loss terms or metrics (floats)."""
        row = {"epoch": int(epoch), "step": int(step), "split": split, "lr": lr}
        for key, value in values.items():
            if key in BASE_COLUMNS:
                raise ValueError(f"metric name {key!r} clashes with a base column {BASE_COLUMNS}")
            row[key] = float(value) if value is not None else math.nan
        self.rows.append(row)

    def log_many(
        self, *, epoch: int, step: int, split: str, lr: float | None, values: Mapping[str, float]
    ) -> None:
        """Same as :meth:`log` with the values in a mapping."""
        self.log(epoch=epoch, step=step, split=split, lr=lr, **dict(values))

    def frame(self) -> pd.DataFrame:
        """All rows as a DataFrame with the base columns first."""
        columns = list(BASE_COLUMNS)
        for row in self.rows:
            columns += [k for k in row if k not in columns]
        return pd.DataFrame(self.rows, columns=columns)

    def flush(self) -> None:
        """Rewrite the CSV atomically (no-op without a path)."""
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        self.frame().to_csv(tmp, index=False)
        os.replace(tmp, self.path)

    def __repr__(self) -> str:
        return f"CSVLogger(path={self.path}, rows={len(self.rows)})"
