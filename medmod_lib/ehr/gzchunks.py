"""Inflate a big ``.csv.gz`` into plain CSV chunk files while the consumer parses.

DuckDB reads gzip on one thread; plain CSV it parses on all threads. A
background thread inflates (GIL released) while DuckDB parses the previous
chunk, so decompression and parsing overlap. Inflating is on the critical path,
so ISA-L (``isal``, about 3x faster than zlib) is used when installed, else
pyarrow's zlib.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa


def _open_gzip(src: Path):
    """A binary reader of the inflated ``src``: ISA-L if available, else pyarrow (zlib)."""
    try:
        from isal import igzip
    except ImportError:
        return pa.input_stream(str(src), compression="gzip", buffer_size=1 << 22)
    return igzip.open(src, "rb")


def gzip_chunk_files(src: Path, folder: Path, chunk_bytes: int = 1 << 28) -> Iterator[Path]:
    """Yield plain CSV files of about ``chunk_bytes`` each, every one with the header line.

    Chunks end at line ends, so fields must not contain newlines (true for
    chartevents). At most two chunks exist at a time; each file is deleted
    after the consumer asks for the next one.

    Raises:
        OSError: ``src`` cannot be inflated (re-raised from the worker thread).
    """
    todo: queue.Queue = queue.Queue(maxsize=1)
    failure: list[BaseException] = []

    def produce() -> None:
        try:
            with _open_gzip(src) as fh:
                head = b""
                while b"\n" not in head:
                    block = fh.read(1 << 16)
                    if not block:
                        break
                    head += block
                cut = head.find(b"\n") + 1
                header, rest, k = head[:cut], head[cut:], 0
                while True:
                    block = fh.read(chunk_bytes)
                    data = rest + block
                    cut = data.rfind(b"\n") + 1 if block else len(data)
                    if cut or k == 0:
                        path = folder / f"{k:05d}.csv"
                        path.write_bytes(header + data[:cut])
                        todo.put(path)
                        k += 1
                    rest = data[cut:]
                    if not block:
                        break
        except BaseException as err:  # re-raised in the consumer
            failure.append(err)
        finally:
            todo.put(None)

    worker = threading.Thread(target=produce, daemon=True)
    worker.start()
    try:
        while (path := todo.get()) is not None:
            yield path
            path.unlink()
    finally:
        while worker.is_alive():
            try:
                todo.get(timeout=0.1)
            except queue.Empty:
                pass
        for leftover in folder.glob("*.csv"):
            leftover.unlink()
    if failure:
        raise OSError(f"Cannot decompress {src}: {failure[0]}") from failure[0]
