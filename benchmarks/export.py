"""Benchmark the export: processed folder -> mimic3-benchmarks / MedFuse layout.

Generates a synthetic release (no images) of ``--patients`` patients, builds its
processed folder (not timed), then times :func:`medmod_lib.export.export_processed`
in both flavours, each into a new folder, and prints event rows/s, episode files and
seconds.

Target on 2 cores: the export of a 1,000-patient synthetic release in under a minute.

Usage:
    python benchmarks/export.py [--patients 1000] [--work DIR] [--cxr]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from medmod_lib import workflow  # noqa: E402
from medmod_lib.export import FLAVOURS, export_processed  # noqa: E402
from medmod_lib.synthetic import generate  # noqa: E402


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", default=None, help="working folder (default: a temp folder)")
    parser.add_argument("--cxr", action="store_true", help="also write MedFuse's CXR files")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.work or tmp)
        data = work / "data"
        t = time.perf_counter()
        if not (data / "mimiciv").is_dir():
            generate(data, patients=args.patients, seed=args.seed, images=False, progress=False)
        ehr = workflow.ensure_processed(data, work / "out")
        print(f"prepared {ehr} in {time.perf_counter() - t:.0f} s (not timed)")
        rows = []
        for flavour in FLAVOURS:
            (work / "export").mkdir(exist_ok=True)
            target = Path(tempfile.mkdtemp(prefix=f"{flavour}-", dir=work / "export"))
            t = time.perf_counter()
            result = export_processed(
                ehr.root,
                target,
                flavour=flavour,
                cxr_root=data if args.cxr else None,
                progress=False,
            )
            seconds = time.perf_counter() - t
            shutil.rmtree(target)  # into a new folder each time; deleting is not timed
            row = {
                "flavour": flavour,
                "patients": args.patients,
                "stays": len(ehr.stays),
                "event_rows": result.rows_read,
                "episode_files": result.episode_files,
                "rows_written": result.rows_written,
                "seconds": round(seconds, 2),
                "rows_per_s": round(result.rows_read / seconds),
            }
            rows.append(row)
            print(
                f"{flavour:18s} {row['event_rows']:>10,} event rows -> "
                f"{row['episode_files']:,} episode files ({row['rows_written']:,} rows) "
                f"in {seconds:6.1f} s: {row['rows_per_s']:,} rows/s"
            )
        return rows


if __name__ == "__main__":
    main()
