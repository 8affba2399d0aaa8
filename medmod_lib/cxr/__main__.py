"""Build (or resume) the X-ray image cache: ``python -m medmod_lib.cxr``.

Examples::

    python -m medmod_lib.cxr                          # every image under $MEDMOD_DATA_ROOT
    python -m medmod_lib.cxr --views AP --size 256 --workers 8
    python -m medmod_lib.cxr --root /data/physionet --out /scratch/cxr_cache_256

Interrupt it at any time; the same command continues where it stopped.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .. import cli


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, build the cache, print the report; 1 if any image failed."""
    from .cache import build_cache, default_cache_dir
    from .metadata import load_metadata

    parser = argparse.ArgumentParser(
        prog="python -m medmod_lib.cxr", description="Build or resume the X-ray image cache."
    )
    parser.add_argument("--root", default=None, help="data root (default: $MEDMOD_DATA_ROOT)")
    parser.add_argument(
        "--out", default=None, help="cache folder (default: outputs/cxr_cache/SIZE)"
    )
    parser.add_argument("--size", type=int, default=256, help="side of the stored square (256)")
    parser.add_argument("--views", nargs="*", default=None, help="only these views (default: all)")
    parser.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    parser.add_argument("--retry-failed", action="store_true", help="retry missing/corrupt images")
    cli.add_debug_flag(parser)
    args = parser.parse_args(argv)
    from ..paths import check_output_location

    out = args.out or default_cache_dir(args.size)
    check_output_location(out, args.root)  # before anything is read
    images = load_metadata(args.root, views=args.views) if args.views else None
    report = build_cache(
        args.root,
        out,
        images=images,
        size=args.size,
        workers=args.workers,
        retry_failed=args.retry_failed,
    )
    print(report)
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(cli.run(main, prog="python -m medmod_lib.cxr"))
