"""``python -m medmod_lib.export``: a processed folder in the mimic3-benchmarks or MedFuse layout.

Examples:
    python -m medmod_lib.export --processed outputs/processed --format medfuse \
        --out outputs/export/medfuse --cxr $MEDMOD_DATA_ROOT
    python -m medmod_lib.export --processed outputs/processed --format mimic3-benchmarks \
        --out outputs/export/mimic3
"""

from __future__ import annotations

import argparse

from .layout import EXPORT_TASKS, FLAVOURS
from .writer import ExportResult, export_processed


def main(argv: list[str] | None = None) -> ExportResult:
    parser = argparse.ArgumentParser(
        prog="python -m medmod_lib.export", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--processed", required=True, help="processed folder (medmod_lib.prepare)")
    parser.add_argument("--format", required=True, choices=FLAVOURS, help="layout to write")
    parser.add_argument("--out", required=True, help="export folder (new, empty or an export)")
    parser.add_argument(
        "--tasks",
        nargs="+",
        default=None,
        choices=[t.value for t in EXPORT_TASKS],
        help="tasks to export (default: all the folder has)",
    )
    parser.add_argument(
        "--cxr",
        default=None,
        help="MIMIC-CXR-JPG root: also write OUT/mimic-cxr-jpg for MedFuse's --cxr_data_dir",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    result = export_processed(
        args.processed,
        args.out,
        flavour=args.format,
        tasks=args.tasks,
        cxr_root=args.cxr,
        progress=not args.no_progress,
    )
    print(result)
    for task, counts in result.tasks.items():
        print(f"  {task}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    print(f"  {result.rows_per_second:,.0f} rows/s")
    return result


if __name__ == "__main__":
    main()
