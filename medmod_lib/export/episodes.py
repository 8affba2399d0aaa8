"""Stream ``timeseries.parquet`` into per-task episode CSVs (layout: :mod:`.layout`).

The processed folder keeps every stay's events once, sorted by ``(stay_id, Hours)``,
with values already stored as the benchmark's strings. The writer reads it in record
batches (memory bounded by the batch size, not the release), formats every row once
(``Hours`` as Python writes a float, the channels as stored) and writes each stay's
rows inside the task's window to every task folder that has a sample of the stay.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from tqdm.auto import tqdm

from .layout import EPS, episode_header

#: Rows per record batch read from ``timeseries.parquet``.
BATCH_ROWS = 262_144


@dataclass(frozen=True)
class Target:
    """One episode file to write: rows with ``-eps < Hours < end + eps`` go to ``path``."""

    path: Path
    end: float


@dataclass
class EpisodeStats:
    """What :func:`write_episodes` wrote."""

    files: int = 0
    rows_written: int = 0
    rows_read: int = 0
    stays_read: int = 0
    empty: list[Path] = field(default_factory=list)
    missing: list[Path] = field(default_factory=list)


def _format_batch(batch: pa.RecordBatch, channels: list[str]) -> list[str]:
    """One ``Hours,<17 values>`` line per row (empty string = not measured)."""
    hours = pa.array([repr(h) for h in batch.column("Hours").to_pylist()], pa.string())
    cols = [hours] + [pc.fill_null(batch.column(c).cast(pa.string()), "") for c in channels]
    for name, col in zip(channels, cols[1:], strict=True):
        if pc.any(pc.match_substring(col, ",")).as_py():
            raise ValueError(
                f"a value of {name!r} contains a comma; the benchmark readers split rows on ','"
            )
    return pc.binary_join_element_wise(*cols, ",").to_pylist()


def _stay_runs(
    path: Path, channels: list[str], batch_rows: int
) -> Iterator[tuple[int, np.ndarray, list[str]]]:
    """``(stay_id, hours, lines)`` per stay, in file order, across batch boundaries."""
    pending: tuple[int, list[np.ndarray], list[str]] | None = None
    columns = ["stay_id", "Hours", *channels]
    last_id = None
    for batch in pq.ParquetFile(path).iter_batches(batch_size=batch_rows, columns=columns):
        if batch.num_rows == 0:
            continue
        ids = batch.column("stay_id").to_numpy().astype(np.int64)
        hours = batch.column("Hours").to_numpy().astype(np.float64)
        lines = _format_batch(batch, channels)
        if np.any((np.diff(ids) == 0) & (np.diff(hours) < 0)):
            raise ValueError(
                f"{path}: the rows of a stay are not sorted by Hours; re-run "
                "`python -m medmod_lib.prepare`."
            )
        cuts = np.flatnonzero(np.diff(ids)) + 1
        starts = np.r_[0, cuts]
        ends = np.r_[cuts, len(ids)]
        for a, b in zip(starts, ends, strict=True):
            sid = int(ids[a])
            if pending is not None and pending[0] == sid:
                if hours[a] < pending[1][-1][-1]:
                    raise ValueError(f"{path}: the rows of stay {sid} are not sorted by Hours")
                pending[1].append(hours[a:b])
                pending[2].extend(lines[a:b])
                continue
            if pending is not None:
                yield pending[0], np.concatenate(pending[1]), pending[2]
            if last_id is not None and sid < last_id:
                raise ValueError(
                    f"{path} is not sorted by stay_id (stay {sid} after {last_id}); "
                    "re-run `python -m medmod_lib.prepare` to rewrite the processed folder."
                )
            last_id = sid
            pending = (sid, [hours[a:b]], list(lines[a:b]))
    if pending is not None:
        yield pending[0], np.concatenate(pending[1]), pending[2]


def write_episodes(
    timeseries: Path,
    targets: dict[int, list[Target]],
    *,
    batch_rows: int = BATCH_ROWS,
    progress: bool = True,
) -> EpisodeStats:
    """Write every stay's episode files.

    Args:
        timeseries: ``timeseries.parquet`` of a processed folder.
        targets: per ``stay_id``, the files to write and their window ends (hours).
        batch_rows: rows per record batch.
        progress: show a progress bar over rows.

    Returns:
        Counts; ``empty`` lists files that would hold no row (not written; a task
        sample never has an empty window in the kit) and ``missing`` the targets of
        stays with no events in ``timeseries.parquet``.

    Raises:
        ValueError: the file is not sorted by ``(stay_id, Hours)``.
    """
    channels = episode_header()[1:]
    head = ",".join(episode_header()) + "\n"
    stats = EpisodeStats()
    seen: set[int] = set()
    total = pq.ParquetFile(timeseries).metadata.num_rows
    bar = tqdm(total=total, unit="row", desc="episodes", disable=not progress)
    for sid, hours, lines in _stay_runs(Path(timeseries), channels, batch_rows):
        bar.update(len(hours))
        stats.rows_read += len(hours)
        stats.stays_read += 1
        todo = targets.get(sid)
        if not todo:
            continue
        seen.add(sid)
        lo = int(np.searchsorted(hours, -EPS, side="right"))
        for target in todo:
            hi = int(np.searchsorted(hours, target.end + EPS, side="left"))
            if hi <= lo:
                stats.empty.append(target.path)
                continue
            with open(target.path, "w", newline="\n") as f:
                f.write(head)
                f.write("\n".join(lines[lo:hi]))
                f.write("\n")
            stats.files += 1
            stats.rows_written += hi - lo
    bar.close()
    for sid in set(targets) - seen:
        stats.missing.extend(t.path for t in targets[sid])
    return stats
