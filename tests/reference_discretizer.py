"""A row-by-row re-statement of mimic3-benchmarks' ``Discretizer``: the tests' oracle.

``medmod_lib.ehr.discretizer.discretize_events`` (vectorised, what the pipeline runs)
must give the same arrays as this reading of the reference
(mimic3-benchmarks ``mimic3models/preprocessing.py``, ``Discretizer.transform``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from medmod_lib.ehr.discretizer import (
    EPS,
    _check_strategy,
    _expand,
    _impute,
    _layout,
    header,
    n_bins_for,
)


class Discretizer:
    """Turn one stay's events into an hourly array, exactly like mimic3-benchmarks.

    Args:
        timestep: bin width in hours.
        store_masks: append one observed/imputed mask column per channel.
        impute_strategy: ``"previous"`` (benchmark), ``"next"``,
            ``"normal_value"`` or ``"zero"``.
        start_time: ``"zero"`` (t = 0 is ICU intime; benchmark) or
            ``"relative"`` (t = 0 is the first event).

    Examples:
        >>> frame = pd.DataFrame({"Hours": [0.0, 1.5], "Heart Rate": [80, 90]})
        >>> data, names = Discretizer().transform(frame, end=3)
        >>> data.shape, names[-1]
        ((3, 76), 'mask->pH')
    """

    def __init__(
        self,
        timestep: float = 1.0,
        store_masks: bool = True,
        impute_strategy: str = "previous",
        start_time: str = "zero",
    ) -> None:
        _check_strategy(impute_strategy)
        if start_time not in ("zero", "relative"):
            raise ValueError(f"start_time must be 'zero' or 'relative', got {start_time!r}")
        if timestep <= 0:
            raise ValueError(f"timestep must be positive, got {timestep}")
        self.timestep = timestep
        self.store_masks = store_masks
        self.impute_strategy = impute_strategy
        self.start_time = start_time

    def __repr__(self) -> str:
        return (
            f"Discretizer(timestep={self.timestep}, store_masks={self.store_masks}, "
            f"impute_strategy={self.impute_strategy!r}, start_time={self.start_time!r})"
        )

    @property
    def header(self) -> list[str]:
        return header(self.store_masks)

    def transform(
        self, frame: pd.DataFrame, end: float | None = None
    ) -> tuple[np.ndarray, list[str]]:
        """Discretize one stay.

        Args:
            frame: rows sorted by ``Hours``; columns ``Hours`` and any of the 17
                channels. Empty strings or NaN mean "not measured".
            end: window end in hours (48 for in-hospital mortality); default
                the last event time.

        Returns:
            ``(data, header)``: float32 array (n_bins, 76) and its column names.
        """
        lay = _layout()
        if "Hours" not in frame.columns:
            raise ValueError(f"frame needs an 'Hours' column; got {list(frame.columns)}")
        unknown = [c for c in frame.columns if c != "Hours" and c not in lay.channel_id]
        if unknown:
            raise ValueError(
                f"Unknown channel columns {unknown}; expected names from {lay.channels}"
            )
        hours = frame["Hours"].to_numpy(dtype=np.float64)
        if np.any(np.diff(hours) < -EPS):
            raise ValueError("frame must be sorted by Hours")
        first = 0.0 if self.start_time == "zero" or len(hours) == 0 else hours[0]
        max_hours = (end if end is not None else (hours.max() if len(hours) else 0.0)) - first
        n = n_bins_for(max_hours, self.timestep)

        values = np.full((n, len(lay.channels)), np.nan)
        for row_hours, (_, row) in zip(hours, frame.iterrows(), strict=True):
            t = row_hours - first
            if t > max_hours + EPS:
                continue
            bin_id = int(t / self.timestep - EPS)
            if not 0 <= bin_id < n:
                raise ValueError(f"event at t={t} h falls outside the {n} bins (bin {bin_id})")
            for channel in frame.columns[1:]:
                value = row[channel]
                if value is None or (isinstance(value, float) and np.isnan(value)) or value == "":
                    continue
                values[bin_id, lay.channel_id[channel]] = lay.encode(channel, value)
        mask = (~np.isnan(values)).astype(np.float32)
        filled = _impute(values, np.array([0]), np.array([n]), self.impute_strategy)
        return _expand(values, mask, filled, self.store_masks), self.header
