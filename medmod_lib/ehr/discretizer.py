"""Hourly discretization and normalization of the 17 benchmark variables.

The rules of mimic3-benchmarks ``mimic3models/preprocessing.py`` (``Discretizer``,
used unchanged by MedFuse and MedMod), applied by :func:`discretize_events` to many
stays at once with vectorised numpy. The tests hold a row-by-row re-statement of the
reference (``tests/reference_discretizer.py``) and check that both agree.

Rules (``timestep`` = 1 h, ``start_time="zero"``: t = 0 is ICU ``intime``):

* ``n_bins = int(end / timestep + 1 - 1e-6)``: 48 h -> 48 bins, 10.5 h -> 11.
* An event at time t goes to bin ``int(t / timestep - 1e-6)``: bins are
  right-closed, (k, k+1] -> k, and t = 0 lands in bin 0. Events after
  ``end + 1e-6`` are ignored.
* Several values of a channel in one bin: the last one (in row order) wins.
* Continuous channels are one column; categorical channels are one-hot over
  the config's values, in config order (not sorted).
* Imputation ``previous`` carries the last observed value forward and uses the
  channel's normal value before the first observation; ``next`` carries the
  next value backwards; ``normal_value`` always uses the normal value;
  ``zero`` leaves zeros.
* With ``store_masks`` 17 columns follow, 1 where the bin had an observation.

That makes 59 value columns + 17 masks = 76, named as in the benchmark
(``Glascow coma scale total->15``, ``mask->pH``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from .. import reference

EPS = 1e-6
IMPUTE_STRATEGIES = ("previous", "next", "normal_value", "zero")


def _check_strategy(impute_strategy: str) -> None:
    if impute_strategy not in IMPUTE_STRATEGIES:
        raise ValueError(
            f"Unknown impute_strategy {impute_strategy!r}; expected one of {IMPUTE_STRATEGIES}"
        )


def n_bins_for(end: float, timestep: float = 1.0) -> int:
    """Number of bins the benchmark uses for a window that ends at ``end`` hours."""
    return max(int(end / timestep + 1.0 - EPS), 0)


def header(store_masks: bool = True) -> list[str]:
    """Column names of a discretized array in benchmark order (76 with masks)."""
    names: list[str] = []
    for channel in reference.channels():
        if reference.is_categorical(channel):
            names += [f"{channel}->{v}" for v in reference.possible_values(channel)]
        else:
            names.append(channel)
    if store_masks:
        names += [f"mask->{c}" for c in reference.channels()]
    return names


#: Columns of the hourly inputs (59 values + 17 masks): the EHR encoders' input width.
INPUT_WIDTH = len(header())


class _Layout:
    """Column positions of each channel, built once from the config."""

    def __init__(self) -> None:
        self.channels = reference.channels()
        self.categorical = np.array([reference.is_categorical(c) for c in self.channels])
        self.values = {c: reference.possible_values(c) for c in self.channels}
        self.begin = np.zeros(len(self.channels), dtype=np.int64)
        self.width = np.array(
            [len(self.values[c]) if reference.is_categorical(c) else 1 for c in self.channels]
        )
        self.begin[1:] = np.cumsum(self.width)[:-1]
        self.n_values = int(self.width.sum())
        self.channel_id = {c: i for i, c in enumerate(self.channels)}
        self.category_id = {
            c: {v: k for k, v in enumerate(vals)} for c, vals in self.values.items() if vals
        }
        # The normal value of each channel as a number (category index for
        # categorical channels), used before a channel's first observation.
        self.normal = np.array(
            [
                self.category_id[c][reference.normal_value(c)]
                if reference.is_categorical(c)
                else float(reference.normal_value(c))
                for c in self.channels
            ],
            dtype=np.float64,
        )

    def encode(self, channel: str, value: object) -> float:
        """A raw value as a number: float for continuous, category index otherwise."""
        if reference.is_categorical(channel):
            try:
                return float(self.category_id[channel][str(value)])
            except KeyError:
                raise ValueError(
                    f"{value!r} is not a known value of {channel!r}; "
                    f"expected one of {self.values[channel]}"
                ) from None
        return float(value)


_LAYOUT: _Layout | None = None


def _layout() -> _Layout:
    global _LAYOUT
    if _LAYOUT is None:
        _LAYOUT = _Layout()
    return _LAYOUT


def _expand(
    codes: np.ndarray, mask: np.ndarray, filled: np.ndarray, store_masks: bool
) -> np.ndarray:
    """Turn per-channel numbers (bins, 17) into the benchmark columns (bins, 59 or 76).

    ``filled`` holds NaN where a cell stays empty ('zero' imputation).
    """
    lay = _layout()
    n = codes.shape[0]
    out = np.zeros((n, lay.n_values + (len(lay.channels) if store_masks else 0)), np.float32)
    rows = np.arange(n)
    for j, _channel in enumerate(lay.channels):
        col = filled[:, j]
        present = ~np.isnan(col)
        if lay.categorical[j]:
            idx = lay.begin[j] + col[present].astype(np.int64)
            out[rows[present], idx] = 1.0
        else:
            out[present, lay.begin[j]] = col[present]
    if store_masks:
        out[:, lay.n_values :] = mask
    return out


def _impute(
    values: np.ndarray, starts: np.ndarray, lengths: np.ndarray, strategy: str
) -> np.ndarray:
    """Fill NaN cells of ``values`` (bins, channels) within each stay's segment."""
    _check_strategy(strategy)
    lay = _layout()
    n = values.shape[0]
    observed = ~np.isnan(values)
    if strategy == "zero":
        return values.copy()
    normal = np.broadcast_to(lay.normal, values.shape)
    if strategy == "normal_value":
        return np.where(observed, values, normal)
    seg_start = np.repeat(starts, lengths)
    seg_end = seg_start + np.repeat(lengths, lengths)  # exclusive
    pos = np.arange(n)[:, None]
    if strategy == "previous":
        src = np.where(observed, pos, -1)
        src = np.maximum.accumulate(src, axis=0)
        valid = src >= seg_start[:, None]
    else:  # next
        src = np.where(observed, pos, n)
        src = np.minimum.accumulate(src[::-1], axis=0)[::-1]
        valid = src < seg_end[:, None]
    src = np.clip(src, 0, max(n - 1, 0))
    gathered = np.take_along_axis(values, src, axis=0) if n else values
    return np.where(valid, gathered, normal)


def _codes(values: pd.Series, lookup: dict[str, int], what: str) -> np.ndarray:
    """Map strings to integer codes through ``lookup`` (fast: maps the uniques only)."""
    codes, uniques = pd.factorize(values)
    table = np.array([lookup.get(str(u), -1) for u in uniques], dtype=np.int64)
    if (table < 0).any():
        bad = sorted(str(u) for u, t in zip(uniques, table, strict=True) if t < 0)[:10]
        raise ValueError(f"Unknown {what}: {bad}")
    return table[codes] if len(codes) else np.zeros(0, np.int64)


def discretize_events(
    events: pd.DataFrame,
    ends: pd.Series,
    *,
    timestep: float = 1.0,
    impute_strategy: str = "previous",
    store_masks: bool = True,
) -> tuple[np.ndarray, pd.DataFrame]:
    """Discretize many stays at once (vectorised; the rules of the module docstring).

    Args:
        events: long frame with columns ``stay_id`` (int), ``hours`` (float,
            relative to intime), ``channel`` (a benchmark channel name) and
            ``value`` (category string for categorical channels, a number
            otherwise). Within a (stay, bin, channel) the last row wins, so
            sort by ``(stay_id, hours)`` with a stable sort first.
        ends: window end in hours, indexed by ``stay_id``. Every stay in
            ``ends`` gets ``n_bins_for(end)`` rows, even without events; events
            of stays not in ``ends`` are ignored.
        timestep: bin width in hours.
        impute_strategy: ``"previous"`` (benchmark), ``"next"``, ``"normal_value"`` or
            ``"zero"`` (module docstring).
        store_masks: append the 17 mask columns.

    Returns:
        ``(inputs, index)``: float32 array (total_bins, 76) with the stays one
        after another in ascending ``stay_id`` order, and a frame
        ``stay_id, offset, n_bins`` locating each stay's rows. Only events
        with ``-1e-6 < hours < end + 1e-6`` are used.

    Raises:
        ValueError: unknown channel names or category values, non-numeric
            values of continuous channels.
    """
    _check_strategy(impute_strategy)
    lay = _layout()
    ends = ends.sort_index()
    n_bins = np.array([n_bins_for(e, timestep) for e in ends.to_numpy(dtype=np.float64)], np.int64)
    offsets = np.zeros(len(n_bins), dtype=np.int64)
    offsets[1:] = np.cumsum(n_bins)[:-1]
    index = pd.DataFrame(
        {"stay_id": ends.index.to_numpy(np.int64), "offset": offsets, "n_bins": n_bins}
    )
    total = int(n_bins.sum())

    ev = events[events["stay_id"].isin(ends.index)]
    channel = _codes(ev["channel"], lay.channel_id, "channel names in events")
    numeric = np.full(len(ev), np.nan)
    raw = ev["value"]
    for j, name in enumerate(lay.channels):
        rows = channel == j
        if not rows.any():
            continue
        if lay.categorical[j]:
            numeric[rows] = _codes(
                raw[rows].astype(str), lay.category_id[name], f"values of {name!r}"
            )
        else:
            nums = pd.to_numeric(raw[rows], errors="coerce")
            if nums.isna().any():
                bad = sorted(set(raw[rows][nums.isna()].astype(str)))[:10]
                raise ValueError(f"Non-numeric values of {name!r}: {bad}")
            numeric[rows] = nums.to_numpy(np.float64)

    stay_pos = np.searchsorted(index["stay_id"].to_numpy(), ev["stay_id"].to_numpy(np.int64))
    hours = ev["hours"].to_numpy(np.float64)
    end_of = ends.to_numpy(np.float64)[stay_pos]
    keep = (hours > -EPS) & (hours < end_of + EPS)
    bin_id = np.trunc(hours / timestep - EPS).astype(np.int64)
    keep &= bin_id < n_bins[stay_pos]
    row = offsets[stay_pos] + np.maximum(bin_id, 0)

    values = np.full((total, len(lay.channels)), np.nan)
    # Last value wins: assigning in row order with fancy indexing keeps the last write.
    values[row[keep], channel[keep]] = numeric[keep]
    mask = (~np.isnan(values)).astype(np.float32)
    filled = _impute(values, offsets, n_bins, impute_strategy)
    return _expand(values, mask, filled, store_masks), index


class Normalizer:
    """Z-score the continuous columns; one-hot and mask columns stay 0/1.

    Statistics follow the benchmark: columns whose header contains ``"->"``
    are left alone, stds use N - 1 and are clipped below at 1e-7. Fit on the
    training split only, then :meth:`save` next to the outputs.

    Examples:
        >>> x = np.random.default_rng(0).normal(size=(100, 76)).astype("float32")
        >>> norm = Normalizer().fit(x, header())
        >>> norm.transform(x).shape
        (100, 76)
    """

    def __init__(self) -> None:
        self.header: list[str] | None = None
        self._n = 0
        self._sum: np.ndarray | None = None
        self._sum_sq: np.ndarray | None = None
        self.means: np.ndarray | None = None
        self.stds: np.ndarray | None = None

    def __repr__(self) -> str:
        state = "unfitted" if self.means is None else f"fitted on {self._n} rows"
        return f"Normalizer({state})"

    def partial_fit(self, x: np.ndarray, header_: Iterable[str] | None = None) -> Normalizer:
        """Accumulate statistics from rows ``x`` (n, n_columns); call repeatedly for chunks."""
        x = np.asarray(x, dtype=np.float64)
        if header_ is not None:
            names = list(header_)
            if self.header is not None and names != self.header:
                raise ValueError("partial_fit called with a different header")
            self.header = names
        if self.header is None:
            raise ValueError("The first partial_fit call needs the column header")
        if x.ndim != 2 or x.shape[1] != len(self.header):
            raise ValueError(f"expected shape (n, {len(self.header)}), got {x.shape}")
        if self._sum is None:
            self._sum = np.zeros(x.shape[1])
            self._sum_sq = np.zeros(x.shape[1])
        self._n += x.shape[0]
        self._sum += x.sum(axis=0)
        self._sum_sq += (x * x).sum(axis=0)
        self._finalize()
        return self

    def fit(self, x: np.ndarray, header_: Iterable[str]) -> Normalizer:
        """Fit on all rows of ``x`` (n, n_columns) at once."""
        self.__init__()
        return self.partial_fit(x, header_)

    def _finalize(self) -> None:
        n = self._n
        if n < 2:
            raise ValueError("Normalizer needs at least two rows to estimate a std")
        means = self._sum / n
        var = (self._sum_sq - 2.0 * self._sum * means + n * means**2) / (n - 1)
        stds = np.sqrt(np.maximum(var, 0.0))
        stds[stds < 1e-7] = 1e-7
        self.means, self.stds = means, stds

    @property
    def continuous(self) -> np.ndarray:
        """Boolean mask of the columns that are standardised."""
        if self.header is None:
            raise ValueError("Normalizer is not fitted")
        return np.array(["->" not in name for name in self.header])

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Standardise the continuous columns of ``x`` (..., n_columns); returns float32."""
        if self.means is None:
            raise ValueError("Normalizer is not fitted; call fit() or Normalizer.load()")
        out = np.array(x, dtype=np.float32, copy=True)
        cols = self.continuous
        out[..., cols] = (out[..., cols] - self.means[cols]) / self.stds[cols]
        return out

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        state = {
            "header": self.header,
            "n": self._n,
            "means": self.means.tolist(),
            "stds": self.stds.tolist(),
        }
        path.write_text(json.dumps(state, indent=1))
        return path

    @classmethod
    def load(cls, path: str | Path) -> Normalizer:
        try:
            state = json.loads(Path(path).read_text())
            norm = cls()
            norm.header = list(state["header"])
            norm._n = int(state["n"])
            norm.means = np.asarray(state["means"], dtype=np.float64)
            norm.stds = np.asarray(state["stds"], dtype=np.float64)
        except (OSError, KeyError, ValueError) as err:
            raise ValueError(
                f"Cannot read normalizer state {path}: {err}. Re-run `python -m medmod_lib.prepare`."
            ) from err
        return norm
