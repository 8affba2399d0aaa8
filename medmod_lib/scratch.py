"""Scratch folders that outlive a killed run are reclaimed; workers die with their parent.

Every scratch folder the kit makes is named ``<prefix><pid>_<random>`` (DuckDB's spill
folder ``medmod_duckdb_<pid>_...`` in the system temporary folder; decompressed
chunks ``medmod_<table>_<pid>_...`` in ``/dev/shm`` or the spill folder).
A run that is killed (SIGKILL, out of memory, a closed laptop) cannot remove them, so
the next run removes those whose process is gone: :func:`reclaim`. Folders from kits
before this rule carry no pid (``medmod_duckdb_<random>``, ``/dev/shm/chartevents_*``)
and are removed once they are a day old.

:func:`die_with_parent` is the initializer of worker processes: on Linux the kernel
sends them SIGTERM when the process that started them ends, however it ends.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

#: Prefix of DuckDB's spill folders.
DUCKDB_PREFIX = "medmod_duckdb_"
#: Legacy folders (no pid in the name) older than this are removed.
LEGACY_AGE_S = 24 * 3600
_LEGACY_CHUNKS = re.compile(r"^(chartevents|labevents)_[A-Za-z0-9_]{8}$")
_LEGACY_DUCKDB = re.compile(rf"^{DUCKDB_PREFIX}[A-Za-z0-9_]{{8}}$")
_OURS = re.compile(rf"^(?:{DUCKDB_PREFIX}|medmod_[a-z_]+?_)(\d+)_[A-Za-z0-9_]+$")


def chunk_prefix(table: str) -> str:
    """Prefix of the folder of one table's decompressed chunks (holds this process's pid)."""
    return f"medmod_{table}_{os.getpid()}_"


def duckdb_prefix() -> str:
    """Prefix of this process's DuckDB spill folder."""
    return f"{DUCKDB_PREFIX}{os.getpid()}_"


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (one owned by another user counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stale(path: Path, now: float) -> bool:
    match = _OURS.match(path.name)
    if match:
        pid = int(match.group(1))
        return pid != os.getpid() and not process_alive(pid)
    if _LEGACY_DUCKDB.match(path.name) or _LEGACY_CHUNKS.match(path.name):
        try:
            return now - path.stat().st_mtime > LEGACY_AGE_S
        except OSError:
            return False
    return False


def reclaim(*folders: str | Path | None) -> list[Path]:
    """Remove scratch folders of dead kit processes in ``folders`` (default places too).

    Returns:
        The folders removed.
    """
    places = {Path(tempfile.gettempdir()), Path("/dev/shm")}
    places.update(Path(f) for f in folders if f)
    removed, now = [], time.time()
    for place in places:
        try:
            entries = list(place.iterdir())
        except OSError:
            continue
        for path in entries:
            if path.is_dir() and not path.is_symlink() and _stale(path, now):
                shutil.rmtree(path, ignore_errors=True)
                if not path.exists():
                    removed.append(path)
    return removed


def die_with_parent(parent: int | None = None) -> None:
    """Worker initializer: end this process when its parent ends (Linux; elsewhere a no-op).

    Args:
        parent: the parent's pid, to catch a parent that died before the call.
    """
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            return
    if parent is not None and os.getppid() != parent:
        os._exit(1)
