"""Read a processed EHR folder (CONTRIBUTING "Processed EHR folder").

Examples:
    >>> ehr = ProcessedEHR("outputs/processed")  # doctest: +SKIP
    >>> ihm = ehr.samples("in-hospital-mortality")  # doctest: +SKIP
    >>> x = ehr.normalizer("in-hospital-mortality").transform(ehr.inputs(ihm.stay_id[0], 48))
"""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from ..reference import Task
from .discretizer import Normalizer

MASK_PREFIX = "mask->"


class ProcessedEHR:
    """The outputs of :func:`medmod_lib.prepare.prepare_ehr` in ``out_dir``.

    Args:
        out_dir: the processed folder (holds ``manifest.json``).

    Raises:
        FileNotFoundError: the folder has no ``manifest.json``.
    """

    def __init__(self, out_dir: str | Path) -> None:
        self.root = Path(out_dir)
        if not (self.root / "manifest.json").is_file():
            raise FileNotFoundError(
                f"{self.root} is not a processed EHR folder (no manifest.json). Run "
                "`python -m medmod_lib.prepare --mimic-iv ROOT --out DIR` first."
            )

    def __repr__(self) -> str:
        tasks = ", ".join(self.tasks) or "none"
        return f"ProcessedEHR(root={str(self.root)!r}, stays={len(self.stays)}, tasks=[{tasks}])"

    @cached_property
    def manifest(self) -> dict:
        """Sources, parameters, row counts and skips of the run."""
        return json.loads((self.root / "manifest.json").read_text())

    @property
    def tasks(self) -> list[str]:
        return sorted(p.stem for p in (self.root / "tasks").glob("*.parquet"))

    @cached_property
    def stays(self) -> pd.DataFrame:
        """One row per cohort stay (see CONTRIBUTING for the columns)."""
        return pd.read_parquet(self.root / "stays.parquet")

    @cached_property
    def splits(self) -> pd.DataFrame:
        return pd.read_csv(self.root / "splits.csv")

    @cached_property
    def cohort_flow(self) -> pd.DataFrame:
        return pd.read_csv(self.root / "cohort_flow.csv")

    def timeseries(self) -> pd.DataFrame:
        """Per-stay events in the benchmark's wide format (``stay_id, Hours, 17 channels``)."""
        return pd.read_parquet(self.root / "timeseries.parquet")

    def samples(self, task: Task | str) -> pd.DataFrame:
        """Samples of ``task`` with ``intime``/``outtime`` of their stay joined in."""
        task = Task.parse(task)
        path = self.root / "tasks" / f"{task.value}.parquet"
        if not path.is_file():
            raise FileNotFoundError(
                f"{path} does not exist; the folder has tasks {self.tasks}. Re-run "
                f"`python -m medmod_lib.prepare` with --tasks {task.value}."
            )
        samples = pd.read_parquet(path)
        times = self.stays.set_index("stay_id")[["intime", "outtime"]]
        return samples.join(times, on="stay_id")

    @cached_property
    def index(self) -> pd.DataFrame:
        """``stay_id, offset, n_bins`` of each stay in ``hourly/inputs.npy``."""
        return pd.read_parquet(self.root / "hourly" / "index.parquet").set_index("stay_id")

    @cached_property
    def header(self) -> list[str]:
        return list(self.manifest["hourly"]["header"])

    @cached_property
    def _inputs(self) -> np.ndarray:
        return np.load(self.root / "hourly" / "inputs.npy", mmap_mode="r")

    def inputs(self, stay_id: int, n_bins: int) -> np.ndarray:
        """The first ``n_bins`` hourly rows of a stay: float32 (n_bins, 76), unnormalised.

        Rows past the stay's own hourly array (a window that ends after the
        stay's LOS) repeat the last row with all masks 0, which is what the
        discretizer gives with ``impute_strategy="previous"`` when no events
        follow.

        Raises:
            KeyError: the stay is not in the cohort.
            ValueError: ``n_bins < 1``.
        """
        if n_bins < 1:
            raise ValueError(f"n_bins must be >= 1, got {n_bins}")
        try:
            offset, have = self.index.loc[int(stay_id), ["offset", "n_bins"]]
        except KeyError:
            raise KeyError(
                f"stay_id {stay_id} is not in {self.root}/hourly/index.parquet"
            ) from None
        if have < 1:
            raise ValueError(f"stay_id {stay_id} has no hourly rows (LOS under one bin)")
        rows = np.array(self._inputs[offset : offset + min(have, n_bins)], dtype=np.float32)
        if n_bins > have:
            last = rows[-1].copy()
            last[[h.startswith(MASK_PREFIX) for h in self.header]] = 0.0
            rows = np.vstack([rows, np.repeat(last[None], n_bins - have, axis=0)])
        return rows

    def normalizer(self, task: Task | str) -> Normalizer:
        """The normalizer fitted on the task's training split."""
        return Normalizer.load(self.root / "normalizers" / f"{Task.parse(task).value}.json")
