"""Command line: ``python -m medmod_lib.synthetic [--out DIR] [--patients N] ...``."""

from __future__ import annotations

import argparse
import sys
import time

from .. import paths
from .generate import (
    DEFAULT_IMAGE_SIZE,
    DEFAULT_PATIENTS,
    ensure_dataset,
    generate,
    write_chartevents,
)
from .summary import summarize
from .writer import ForeignFolderError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m medmod_lib.synthetic",
        description="Generate the synthetic MIMIC-IV 3.1 + MIMIC-CXR-JPG 2.1.0 data root.",
    )
    parser.add_argument("--out", default=None, help="data root (default: $MEDMOD_DATA_ROOT)")
    parser.add_argument("--patients", type=int, default=DEFAULT_PATIENTS)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--image-size", type=int, default=DEFAULT_IMAGE_SIZE, help="JPEG short side"
    )
    parser.add_argument("--full-size", action="store_true", help="realistic ~2500x3000 JPEGs")
    parser.add_argument("--no-images", action="store_true", help="tables only")
    parser.add_argument("--reuse", action="store_true", help="keep a matching existing dataset")
    parser.add_argument("--chartevents-only", action="store_true", help="rewrite chartevents only")
    parser.add_argument(
        "--rows", type=int, default=None, help="chartevents rows (with --chartevents-only)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    out = args.out if args.out is not None else paths.data_root()
    start = time.perf_counter()
    try:
        if args.chartevents_only:
            if args.rows is None:
                parser.error("--chartevents-only needs --rows N")
            path = write_chartevents(out, rows=args.rows, seed=args.seed, progress=not args.quiet)
            print(f"wrote {path} in {time.perf_counter() - start:.1f} s")
            return 0
        fn = ensure_dataset if args.reuse else generate
        root = fn(
            out,
            patients=args.patients,
            seed=args.seed,
            image_size=args.image_size,
            full_size=args.full_size,
            images=not args.no_images,
            progress=not args.quiet,
        )
    except (ValueError, ForeignFolderError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(summarize(root))
    print(f"({time.perf_counter() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
