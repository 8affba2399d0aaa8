"""Streaming reader for a MIMIC-IV v2.x/v3.x release (``hosp/`` + ``icu/``) over DuckDB.

Every table is read with the column names of its own header line and explicit
types from :mod:`medmod_lib.schema`: identifiers as ``BIGINT``, ICD codes and
all text as ``VARCHAR``. Timestamps and ``valuenum`` are read as text and parsed
with ``try_strptime`` / ``TRY_CAST`` so that one bad cell becomes a counted skip
instead of a failed read. ``chartevents`` and ``labevents`` are never loaded
whole: queries filter on ``itemid`` and project columns inside the CSV scan.
"""

from __future__ import annotations

import gzip
import os
import re
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd
from tqdm.auto import tqdm

from .. import schema, scratch
from ..paths import mimic_iv_root
from .gzchunks import gzip_chunk_files

#: DuckDB types for the schema kinds. Timestamps and floats stay text until parsed.
_DUCK_TYPES = {"int": "BIGINT", "float": "VARCHAR", "str": "VARCHAR"}
_DUCK_TYPES.update(datetime="VARCHAR", date="VARCHAR")
#: What DuckDB accepts as ``memory_limit``: a number and a unit (bytes without one).
_MEMORY = r"\d+(\.\d+)?\s*(b|bytes|kb|mb|gb|tb|kib|mib|gib|tib)?"
TIMESTAMP_SQL_FORMAT = "%Y-%m-%d %H:%M:%S"
DATE_SQL_FORMAT = "%Y-%m-%d"


class MimicLayoutError(FileNotFoundError):
    """The folder is not a MIMIC-IV v2.x/v3.x release, or a table is missing."""


class MimicSchemaError(ValueError):
    """A table lacks required columns or holds values of the wrong kind."""


@dataclass
class SkipLog:
    """Counted, reported skips: ``(table, reason) -> rows``.

    Every row the pipeline drops for a reason other than a documented cohort
    rule is added here; the counts go to ``manifest.json`` and the summary.
    """

    counts: Counter = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def add(self, table: str, reason: str, n: int, examples: list[str] | None = None) -> None:
        if n:
            self.counts[f"{table}: {reason}"] += int(n)
            if examples:
                self.examples.setdefault(f"{table}: {reason}", []).extend(examples[:10])

    def as_dict(self) -> dict[str, int]:
        return {k: int(v) for k, v in sorted(self.counts.items())}

    def summary(self) -> str:
        if not self.counts:
            return "  (no skipped rows)"
        lines = [f"  {v:>12,d}  {k}" for k, v in sorted(self.counts.items())]
        for key, ex in sorted(self.examples.items()):
            lines.append(f"  e.g. {key}: {', '.join(repr(e) for e in ex[:5])}")
        return "\n".join(lines)


@dataclass(frozen=True)
class DuckDBSettings:
    """DuckDB tuning; the defaults keep a full MIMIC-IV run under ~4 GB on a laptop.

    Attributes:
        threads: worker threads (the number of cores is a good choice).
        memory_limit: DuckDB's own memory cap; it spills to ``temp_directory`` above it.
        temp_directory: spill folder; ``None`` = a fresh temporary folder.
        chunk_directory: folder of the decompressed parts of a big ``.csv.gz`` (two
            parts of 256 MB at a time); ``None`` = ``/dev/shm`` where it exists with
            room for them (RAM, no write-back to disk: about 1 s less per 20 M rows),
            else the spill folder.
    """

    threads: int = 2
    memory_limit: str = "2GB"
    temp_directory: str | None = None
    chunk_directory: str | None = None

    def __post_init__(self) -> None:
        # Checked here, so that a bad setting is never blamed on the data.
        if isinstance(self.threads, bool) or not isinstance(self.threads, int) or self.threads < 1:
            raise ValueError(
                f"DuckDB threads (--threads) must be a whole number >= 1, got {self.threads!r}"
            )
        if not re.fullmatch(_MEMORY, str(self.memory_limit).strip(), flags=re.IGNORECASE):
            raise ValueError(
                f"DuckDB memory limit (--memory-limit) must be a size such as 2GB, 512MB or "
                f"4GiB, got {self.memory_limit!r}"
            )


def _header(path: Path) -> list[str]:
    return _head(path)[0]


def _head(path: Path) -> tuple[list[str], bool]:
    """The header's column names (a UTF-8 byte-order mark dropped) and whether a data row follows."""
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8-sig", newline="") as fh:
            line = fh.readline()
            rows = any(row.strip() for row in (fh.readline(), fh.readline()))
    except (OSError, EOFError, UnicodeDecodeError) as err:
        raise MimicSchemaError(f"Cannot read the header of {path}: {err}") from err
    cols = [c.strip().strip('"') for c in line.rstrip("\r\n").split(",")] if line else []
    return cols, rows


def into_sql(target: str, *, append: bool) -> str:
    """The head of a statement that fills a temp table: a new one, or rows added to it."""
    return f"INSERT INTO {target} " if append else f"CREATE OR REPLACE TEMP TABLE {target} AS "


class MimicIVReader:
    """Locate and query the tables of one MIMIC-IV release.

    Args:
        root: the data root, the ``mimiciv`` folder or the release folder.
        settings: DuckDB tuning.

    Raises:
        MimicLayoutError: a v1.0 layout (``core/``) or no ``hosp/``/``icu/``.

    Examples:
        >>> reader = MimicIVReader("data/synthetic")  # doctest: +SKIP
        >>> reader.table("icustays").shape  # doctest: +SKIP
        (140, 8)
    """

    def __init__(self, root: str | Path, settings: DuckDBSettings | None = None) -> None:
        self.root = mimic_iv_root(root).resolve()
        self.settings = settings or DuckDBSettings()
        found = sorted(p.name for p in self.root.iterdir()) if self.root.is_dir() else []
        if (self.root / "core").is_dir():
            raise MimicLayoutError(
                f"{self.root} has the MIMIC-IV v1.0 layout (found: {found}). The kit reads "
                "v2.2/v3.x, where core/ was merged into hosp/ and `ethnicity` renamed `race`. "
                "Download MIMIC-IV v2.2 or v3.1 from PhysioNet and point --mimic-iv at it."
            )
        missing = [m for m in ("hosp", "icu") if not (self.root / m).is_dir()]
        if missing:
            raise MimicLayoutError(
                f"{self.root} is not a MIMIC-IV v2.x/v3.x release: missing {missing} "
                f"(found: {found or 'nothing'}). Expected <release>/hosp/ and <release>/icu/ "
                "with <table>.csv.gz files, as downloaded from PhysioNet."
            )
        self.version = self.root.name
        self._con: duckdb.DuckDBPyConnection | None = None
        self._tmp: tempfile.TemporaryDirectory | None = None

    def __repr__(self) -> str:
        return f"MimicIVReader(root={str(self.root)!r}, version={self.version!r})"

    # ------------------------------------------------------------------ files
    def path(self, table: str) -> Path:
        """The file of ``table``: ``<module>/<table>.csv.gz``, else ``.csv``."""
        folder = self.root / schema.module_of(table)
        for suffix in (".csv.gz", ".csv"):
            candidate = folder / f"{table}{suffix}"
            if candidate.is_file():
                return candidate
        found = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
        raise MimicLayoutError(
            f"Table {table!r} not found: expected {folder}/{table}.csv.gz (or .csv); "
            f"{folder.name}/ holds {found or 'nothing'}. Re-download the missing file "
            "from PhysioNet into that folder."
        )

    def columns(self, table: str, required: list[str] | None = None) -> list[str]:
        """The header of ``table``'s file; raise if ``required`` columns are missing."""
        path = self.path(table)
        cols = _header(path)
        missing = [c for c in (required or []) if c not in cols]
        if missing:
            raise MimicSchemaError(
                f"{path} lacks required columns {missing} (found: {cols}). Expected the "
                f"MIMIC-IV v2.2/v3.x columns {schema.columns(table)}; check that the file "
                "is the unmodified PhysioNet table (v1.0 files use other names)."
            )
        return cols

    def require_rows(self, table: str) -> None:
        """Raise if ``table``'s file holds a header but no data row (e.g. a failed download)."""
        path = self.path(table)
        cols, rows = _head(path)
        if not rows:
            raise MimicSchemaError(
                f"{path} has no data rows (header: {cols or 'none'}). A MIMIC-IV {table} is "
                "never empty: the download or extraction was probably cut short; download "
                "the file again from PhysioNet."
            )

    def scan(self, table: str, required: list[str], path: Path | None = None) -> str:
        """SQL for a typed ``read_csv`` scan of ``table`` (use in a ``FROM`` clause).

        ``path`` reads another file with the same header (a decompressed chunk).
        """
        cols = self.columns(table, required)
        kinds = schema.MIMIC_IV[schema.module_of(table)][table]
        # Columns the query does not use stay text: nothing to convert, nothing to reject.
        kind = {c: kinds.get(c, "str") if c in required else "str" for c in cols}
        types = ", ".join(f"'{c}': '{_DUCK_TYPES[kind[c]]}'" for c in cols)
        path = str(path or self.path(table)).replace("'", "''")
        return (
            f"read_csv('{path}', header=true, auto_detect=false, delim=',', quote='\"', "
            f"escape='\"', columns={{{types}}}, nullstr='')"
        )

    def load(
        self,
        table: str,
        required: list[str],
        select: str,
        target: str,
        chunk_bytes: int = 1 << 28,
        each: Callable[[int], None] | None = None,
    ) -> None:
        """``CREATE TABLE target AS`` ``select`` over ``table``, streaming big gzip files.

        Args:
            table: MIMIC-IV table to read.
            required: its columns the query needs.
            select: SQL with a ``{scan}`` placeholder for the ``FROM`` source.
            target: name of the DuckDB table to create (replaced if present).
            chunk_bytes: decompressed bytes per chunk for ``.csv.gz`` files.
            each: called with the part number after each part is read. With it,
                ``target`` holds only the latest part (``each`` moves its rows on),
                so a big table's raw rows are never all held at once.
        """
        path = self.path(table)
        if not path.name.endswith(".gz") or path.stat().st_size < chunk_bytes // 16:
            self.execute(
                into_sql(target, append=False) + select.format(scan=self.scan(table, required)),
                table,
            )
            if each is not None:
                each(0)
            return
        total = max(1, int(path.stat().st_size * 8 / chunk_bytes) + 1)  # ~8x gzip ratio
        bar = tqdm(total=total, desc=f"reading {table}", unit="chunk")
        chunk_dir = self._chunk_dir(chunk_bytes)
        folder = Path(tempfile.mkdtemp(prefix=scratch.chunk_prefix(table), dir=chunk_dir))
        try:
            for k, chunk in enumerate(gzip_chunk_files(path, folder, chunk_bytes)):
                scan = self.scan(table, required, chunk)
                into = into_sql(target, append=bool(k) and each is None)
                self.execute(into + select.format(scan=scan), table)
                if each is not None:
                    each(k)
                bar.update()
        finally:
            bar.close()
            folder.rmdir()

    def _chunk_dir(self, chunk_bytes: int) -> str:
        """:attr:`DuckDBSettings.chunk_directory`, or ``/dev/shm`` with room, or the spill folder."""
        if self.settings.chunk_directory is not None:
            Path(self.settings.chunk_directory).mkdir(parents=True, exist_ok=True)
            return self.settings.chunk_directory
        shm = Path("/dev/shm")
        try:  # the two parts take at most a quarter of what is free
            room = shutil.disk_usage(shm).free >= 8 * chunk_bytes
        except OSError:
            room = False
        return str(shm) if room and os.access(shm, os.W_OK) else self.temp_dir

    # -------------------------------------------------------------- database
    @property
    def temp_dir(self) -> str:
        """DuckDB's spill folder, also used for decompressed chunks."""
        self.con  # noqa: B018 - creates the folder
        return self._temp_dir

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        """A DuckDB connection tuned by :class:`DuckDBSettings` (created on first use)."""
        if self._con is None:
            s = self.settings
            # Scratch of killed runs (their process is gone) is removed first.
            scratch.reclaim(s.temp_directory, s.chunk_directory)
            temp = s.temp_directory
            if temp is None:
                self._tmp = tempfile.TemporaryDirectory(prefix=scratch.duckdb_prefix())
                temp = self._tmp.name
            self._temp_dir = temp
            Path(temp).mkdir(parents=True, exist_ok=True)
            self._con = duckdb.connect(":memory:")
            self._con.execute(f"SET threads={int(s.threads)}")
            self._con.execute(f"SET memory_limit='{s.memory_limit}'")
            self._con.execute("SET preserve_insertion_order=false")
            self._con.execute(f"SET temp_directory='{temp}'")
        return self._con

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def sql(self, query: str, table: str = "") -> pd.DataFrame:
        """Run ``query`` and return a frame; DuckDB errors name the table's file."""
        try:
            return self.con.sql(query).df()
        except duckdb.Error as err:
            where = f" while reading {self.path(table)}" if table else ""
            raise MimicSchemaError(
                f"DuckDB failed{where}: {err}. Identifier columns must hold integers and "
                "the file must be a comma-separated MIMIC-IV CSV with a header row."
            ) from err

    def execute(self, query: str, table: str = "") -> None:
        try:
            self.con.execute(query)
        except duckdb.Error as err:
            where = f" while reading {self.path(table)}" if table else ""
            raise MimicSchemaError(
                f"DuckDB failed{where}: {err}. Identifier columns must hold integers and "
                "the file must be a comma-separated MIMIC-IV CSV with a header row."
            ) from err

    def table(
        self, table: str, columns: list[str] | None = None, skips: SkipLog | None = None
    ) -> pd.DataFrame:
        """Read a small table (not chartevents/labevents) with parsed timestamps.

        Args:
            table: MIMIC-IV table name, e.g. ``"icustays"``.
            columns: columns to keep (all schema columns present when ``None``);
                all of them are required.
            skips: where unparseable timestamps/dates are counted (set to NaT).

        Returns:
            One row per file row; ids int64, text as str, ``datetime``/``date``
            columns as ``datetime64``, ``float`` columns as float64.
        """
        kinds = schema.MIMIC_IV[schema.module_of(table)][table]
        wanted = columns or [c for c in kinds if c in self.columns(table)]
        exprs = []
        for c in wanted:
            kind = kinds.get(c, "str")
            if kind in ("datetime", "date"):
                fmt = TIMESTAMP_SQL_FORMAT if kind == "datetime" else DATE_SQL_FORMAT
                exprs.append(f'try_strptime("{c}", \'{fmt}\') AS "{c}"')
                exprs.append(f'"{c}" AS "__raw_{c}"')
            elif kind == "float":
                exprs.append(f'TRY_CAST("{c}" AS DOUBLE) AS "{c}"')
                exprs.append(f'"{c}" AS "__raw_{c}"')
            else:
                exprs.append(f'"{c}"')
        df = self.sql(f"SELECT {', '.join(exprs)} FROM {self.scan(table, wanted)}", table)
        for c in wanted:
            raw = f"__raw_{c}"
            if raw in df.columns:
                bad = df[c].isna() & df[raw].notna()
                if skips is not None:
                    skips.add(
                        table,
                        f"unparseable {c} (set to missing)",
                        int(bad.sum()),
                        df.loc[bad, raw].astype(str).head(5).tolist(),
                    )
                df = df.drop(columns=raw)
        for c in wanted:
            if kinds.get(c) == "int":
                if df[c].isna().any():
                    df[c] = df[c].astype("Int64")
                else:
                    df[c] = df[c].astype("int64")
            elif kinds.get(c, "str") == "str":
                df[c] = df[c].astype(object).where(df[c].notna(), None)
        return df
