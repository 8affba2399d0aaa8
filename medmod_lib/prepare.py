"""``python -m medmod_lib.prepare``: raw MIMIC downloads -> processed folder.

Runs the EHR pipeline (:func:`prepare_ehr`) and, when ``--mimic-cxr`` is
given, the X-ray steps registered in :data:`CXR_STEPS` (added by the CXR and
linking modules).

Examples:
    python -m medmod_lib.prepare --mimic-iv data/synthetic --out outputs/processed
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from .ehr.cohort import CohortConfig
from .ehr.pipeline import EHRConfig, prepare_ehr
from .ehr.processed import ProcessedEHR
from .ehr.reader import DuckDBSettings
from .ehr.tasks import EHR_TASKS
from .ehr.variables import VariableConfig
from .paths import mimic_cxr_root

#: Steps run after the EHR pipeline when an X-ray root is given:
#: ``step(ehr, cxr_root, out, seed)``. The CXR/linking modules append theirs.
CXR_STEPS: list[Callable[[ProcessedEHR, Path, Path, int], None]] = []

__all__ = ["CXR_STEPS", "EHRConfig", "main", "prepare", "prepare_ehr"]


def prepare(
    mimic_iv: str | Path,
    out: str | Path,
    mimic_cxr: str | Path | None = None,
    config: EHRConfig | None = None,
) -> ProcessedEHR:
    """EHR pipeline, then the registered X-ray steps when ``mimic_cxr`` is given."""
    config = config or EHRConfig()
    ehr = prepare_ehr(mimic_iv, out, config)
    if mimic_cxr is not None:
        cxr_root = mimic_cxr_root(mimic_cxr)
        if not CXR_STEPS:
            print(f"No X-ray steps are registered yet; {cxr_root} was not processed.")
        for step in CXR_STEPS:
            step(ehr, cxr_root, Path(out), config.seed)
    return ehr


def main(argv: list[str] | None = None) -> ProcessedEHR:
    parser = argparse.ArgumentParser(
        prog="python -m medmod_lib.prepare", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--mimic-iv", required=True, help="MIMIC-IV root (v2.2/v3.x)")
    parser.add_argument("--mimic-cxr", default=None, help="MIMIC-CXR-JPG root (optional)")
    parser.add_argument("--out", required=True, help="processed output folder")
    parser.add_argument(
        "--tasks", nargs="+", default=[t.value for t in EHR_TASKS], help="EHR tasks to build"
    )
    parser.add_argument("--seed", type=int, default=0, help="split seed")
    parser.add_argument("--threads", type=int, default=2, help="DuckDB threads")
    parser.add_argument("--memory-limit", default="2GB", help="DuckDB memory limit")
    parser.add_argument("--no-range-filter", action="store_true", help="keep outliers")
    parser.add_argument(
        "--reference-variables",
        action="store_true",
        help="reproduce the reference: no capillary refill lookup, no derived GCS total",
    )
    args = parser.parse_args(argv)
    variables = VariableConfig(
        find_capillary_refill=not args.reference_variables,
        derive_gcs_total=not args.reference_variables,
        range_filter=not args.no_range_filter,
    )
    config = EHRConfig(
        cohort=CohortConfig(),
        variables=variables,
        tasks=tuple(args.tasks),
        seed=args.seed,
        duckdb=DuckDBSettings(threads=args.threads, memory_limit=args.memory_limit),
    )
    return prepare(args.mimic_iv, args.out, args.mimic_cxr, config)


if __name__ == "__main__":
    main()
