"""Inflate a big ``.csv.gz`` into plain CSV chunk files while the consumer parses.

DuckDB reads gzip on one thread; plain CSV it parses on all threads. A
background thread inflates (GIL released) while DuckDB parses the previous
chunk, so decompression and parsing overlap. Inflating is on the critical path,
so ISA-L (``isal``, about 3x faster than zlib) is used when installed, else
pyarrow's zlib.

Two chunk files take turns: a consumed file is renamed to the next chunk's
name and overwritten in place. Writing into a fresh file costs the kernel new
pages (and write-back on a disk-backed temp folder), which measured 2.5x the
inflating itself; overwriting pages the file already holds does not.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa

#: Bytes inflated per read into the reused buffer.
_BLOCK = 1 << 23
#: Chunk files in turn: one being parsed while the next is written.
_SLOTS = 2


def _open_gzip(src: Path):
    """A binary reader of the inflated ``src``: ISA-L if available, else pyarrow (zlib)."""
    try:
        from isal import igzip
    except ImportError:
        return pa.input_stream(str(src), compression="gzip", buffer_size=1 << 22)
    return igzip.open(src, "rb")


class _ChunkWriter:
    """Numbered chunk files, each opened with ``header`` when it gets its first bytes.

    ``spare`` yields a consumed chunk file to overwrite, or ``None`` for a new one.
    """

    def __init__(self, folder: Path, header: bytes, ready, spare) -> None:
        self.folder, self.header, self.ready, self.spare = folder, header, ready, spare
        self.out, self.path, self.count, self.size = None, None, 0, 0

    def write(self, data) -> None:
        if self.out is None:
            self.path = self.folder / f"{self.count:05d}.csv"
            old = self.spare()
            if old is None:
                self.out = open(self.path, "wb")  # noqa: SIM115 - closed by finish()/abort()
            else:
                old.rename(self.path)
                self.out = open(self.path, "r+b")  # noqa: SIM115
            self.out.write(self.header)
            self.count += 1
        self.out.write(data)
        self.size += len(data)

    def finish(self) -> None:
        """Close the current chunk (cut to what was written) and hand it over."""
        self.out.truncate()
        self.out.close()
        self.out, self.size = None, 0
        self.ready(self.path)

    def close(self) -> None:
        if self.count == 0:
            self.write(b"")  # a table without rows still gives one header-only chunk
        if self.out is not None:
            self.finish()

    def abort(self) -> None:
        if self.out is not None:
            self.out.close()


class _Stopped(Exception):
    """The consumer stopped early; the producer ends without error."""


def gzip_chunk_files(src: Path, folder: Path, chunk_bytes: int = 1 << 28) -> Iterator[Path]:
    """Yield plain CSV files of about ``chunk_bytes`` each, every one with the header line.

    Chunks end at line ends, so fields must not contain newlines (true for
    chartevents). At most two chunk files exist at a time; a yielded file is
    valid until the consumer asks for the next one, then it is reused.

    Raises:
        OSError: ``src`` cannot be inflated (re-raised from the worker thread).
    """
    todo: queue.Queue = queue.Queue()
    spares: queue.Queue = queue.Queue()
    for _ in range(_SLOTS):
        spares.put(None)
    stop = threading.Event()
    failure: list[BaseException] = []

    def spare() -> Path | None:
        old = spares.get()
        if stop.is_set():
            raise _Stopped
        return old

    def produce() -> None:
        # One reused buffer: no fresh pages per read and no copies of whole chunks.
        buffer = bytearray(max(min(_BLOCK, chunk_bytes), 1 << 16))
        view = memoryview(buffer)
        chunks = None
        try:
            with _open_gzip(src) as fh:
                n = fh.readinto(buffer)
                start = buffer.find(b"\n", 0, n) + 1 or n  # the header line ends in block 1
                chunks = _ChunkWriter(folder, bytes(view[:start]), todo.put, spare)
                while n:
                    while start < n:  # cut at the first line end once a chunk is full
                        need = max(chunk_bytes - chunks.size, 1)
                        found = start + need <= n and buffer.find(b"\n", start + need - 1, n) + 1
                        chunks.write(view[start : found or n])
                        if found:
                            chunks.finish()
                        start = found or n
                    n, start = fh.readinto(buffer), 0
            chunks.close()
        except _Stopped:
            pass
        except BaseException as err:  # re-raised in the consumer
            failure.append(err)
            if chunks is not None:
                chunks.abort()
        finally:
            todo.put(None)

    worker = threading.Thread(target=produce, daemon=True)
    worker.start()
    try:
        while (path := todo.get()) is not None:
            yield path
            spares.put(path)
    finally:
        stop.set()
        spares.put(None)  # wakes a producer waiting for a file to reuse
        worker.join()
        for leftover in folder.glob("*.csv"):
            leftover.unlink()
    if failure:
        raise OSError(f"Cannot decompress {src}: {failure[0]}") from failure[0]
