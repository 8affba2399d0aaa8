"""Benchmark: write a large synthetic ``chartevents.csv.gz`` and report rows/s.

Usage: ``python benchmarks/synthetic_chartevents.py [--rows 20000000] [--out DIR]``.
Generates a small tables-only dataset (if needed) and rewrites its chartevents.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from medmod_lib.synthetic import ensure_dataset, write_chartevents


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=20_000_000)
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="medmod_chartevents_")) / "data"
    ensure_dataset(out, patients=args.patients, images=False, progress=False)
    start = time.perf_counter()
    path = write_chartevents(out, rows=args.rows, seed=0)
    secs = time.perf_counter() - start
    from medmod_lib.synthetic.writer import read_manifest

    written = read_manifest(out)["chartevents_override"]["written"]
    size = path.stat().st_size / 1e6
    print(
        f"{written:,} rows in {secs:.1f} s = {written / secs:,.0f} rows/s ({size:,.0f} MB gz): {path}"
    )


if __name__ == "__main__":
    main()
