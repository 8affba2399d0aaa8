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
from typing import Any

import numpy as np
import pandas as pd

from ..reference import Task
from .discretizer import Normalizer, n_bins_for
from .windows import ends_inside_bin, last_bin_indices, last_bins, long_events, needs_rebuild

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
    def _spans(self) -> dict[int, tuple[int, int]]:
        """``stay_id -> (offset, n_bins)``: the index as a dict, looked up once per sample
        (a pandas ``.loc`` per item cost about a millisecond, a third of a pretraining
        epoch's data loading)."""
        idx = self.index
        return {
            int(s): (int(o), int(n))
            for s, o, n in zip(idx.index, idx["offset"], idx["n_bins"], strict=True)
        }

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
        span = self._spans.get(int(stay_id))
        if span is None:
            raise KeyError(f"stay_id {stay_id} is not in {self.root}/hourly/index.parquet")
        offset, have = span
        if have < 1:
            raise ValueError(f"stay_id {stay_id} has no hourly rows (LOS under one bin)")
        rows = np.array(self._inputs[offset : offset + min(have, n_bins)], dtype=np.float32)
        if n_bins > have:
            last = rows[-1].copy()
            last[[h.startswith(MASK_PREFIX) for h in self.header]] = 0.0
            rows = np.vstack([rows, np.repeat(last[None], n_bins - have, axis=0)])
        return rows

    @cached_property
    def _array_end(self) -> pd.Series:
        """The end (hours) each stay's hourly array was discretized up to: its LOS."""
        return pd.Series(
            self.stays["los"].to_numpy(np.float64) * 24.0,
            index=self.stays["stay_id"].to_numpy(np.int64),
        )

    @cached_property
    def _last_bins(self) -> dict[tuple[int, float], np.ndarray | None]:
        """Rebuilt last bins by (stay, end); ``None``: the window needs no rebuild."""
        return {}

    def prepare_windows(self, stay_ids: Any, ends: Any) -> int:
        """Rebuild, once, the last bin of every window that ends inside an hour.

        Reads the events of the windows' stays from ``timeseries.parquet`` in one
        pass (:mod:`medmod_lib.ehr.windows`); :meth:`window` then uses the cache.

        Args:
            stay_ids: one stay per window.
            ends: window ends in hours after intime (e.g. an image's study time).

        Returns:
            The number of windows rebuilt now (not cached before).
        """
        ends = np.asarray(ends, np.float64)
        inside = ends_inside_bin(ends)  # whole-bin windows (most samples) need nothing
        frame = pd.DataFrame(
            {"stay_id": np.asarray(stay_ids, np.int64)[inside], "end": ends[inside]}
        ).drop_duplicates()
        known = [(int(a), float(b)) in self._last_bins for a, b in frame.to_numpy()]
        frame = frame[~np.array(known, bool)] if len(frame) else frame
        if frame.empty:
            return 0
        array_end = self._array_end.reindex(frame["stay_id"]).to_numpy()
        rebuild = needs_rebuild(frame["end"], array_end)
        for s, e in frame[~rebuild].itertuples(index=False):
            self._last_bins[(int(s), float(e))] = None
        frame = frame[rebuild]
        if frame.empty:
            return 0
        ids = sorted(set(frame["stay_id"].tolist()))
        ts = pd.read_parquet(self.root / "timeseries.parquet", filters=[("stay_id", "in", ids)])
        previous = np.stack(
            [
                self.inputs(s, k)[-1] if k > 0 else np.zeros(len(self.header), np.float32)
                for s, k in zip(frame["stay_id"], last_bin_indices(frame["end"]), strict=True)
            ]
        )
        rows = last_bins(long_events(ts), frame["stay_id"], frame["end"], previous)
        for (s, e), row in zip(frame.itertuples(index=False), rows, strict=True):
            self._last_bins[(int(s), float(e))] = row
        return len(frame)

    def window(self, stay_id: int, end: float) -> np.ndarray:
        """The hourly rows of a window ending at ``end`` hours, with no event charted after it.

        Equals the benchmark discretizer run on the stay's events in
        ``(-eps, end + eps)``: whole bins from ``hourly/inputs.npy``, and where the
        window ends inside an hour (an image at 5.3 h) a last bin rebuilt from the
        events up to ``end`` (:mod:`medmod_lib.ehr.windows`).

        Returns:
            float32 (max(n_bins_for(end), 1), 76), unnormalised.
        """
        x = self.inputs(stay_id, max(n_bins_for(float(end)), 1))
        key = (int(stay_id), float(end))
        if key not in self._last_bins:
            self.prepare_windows([stay_id], [end])
        row = self._last_bins.get(key)
        if row is not None:
            x[-1] = row
        return x

    def normalizer(self, task: Task | str) -> Normalizer:
        """The normalizer fitted on the task's training split."""
        return Normalizer.load(self.root / "normalizers" / f"{Task.parse(task).value}.json")
