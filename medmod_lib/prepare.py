"""``python -m medmod_lib.prepare``: raw MIMIC downloads -> processed folder.

Runs the EHR pipeline (:func:`prepare_ehr`) and, when ``--mimic-cxr`` is
given, links every task to the X-rays (:func:`medmod_lib.linking.link_cohorts`,
into ``OUT/linked``) and, with ``--cache``, decodes the images once into
``OUT/cxr_cache_<size>`` (about 48 minutes for the full release on 2 cores;
resumable).

Examples:
    python -m medmod_lib.prepare --mimic-iv data/synthetic --out outputs/processed
    python -m medmod_lib.prepare --mimic-iv $MEDMOD_DATA_ROOT --mimic-cxr $MEDMOD_DATA_ROOT \
        --out outputs/processed --cache
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import cli
from .ehr.cohort import CohortConfig
from .ehr.pipeline import EHRConfig, prepare_ehr
from .ehr.processed import ProcessedEHR
from .ehr.reader import DuckDBSettings
from .ehr.tasks import EHR_TASKS
from .ehr.variables import VariableConfig
from .paths import check_output_location, mimic_cxr_root
from .reference import PHENOTYPE_MAPS

__all__ = ["EHRConfig", "main", "prepare", "prepare_ehr"]


def prepare(
    mimic_iv: str | Path,
    out: str | Path,
    mimic_cxr: str | Path | None = None,
    config: EHRConfig | None = None,
    *,
    cache: bool = False,
    cache_size: int = 256,
) -> ProcessedEHR:
    """EHR pipeline; with ``mimic_cxr`` also the linked cohorts (and the image cache).

    ``out`` is checked against every raw-data folder first; it is built in a temporary
    sibling and renamed into place (reused when current, :mod:`medmod_lib.artifacts`),
    keeping an image cache and links from an earlier run (the links are rebuilt when
    stale).
    """
    from . import workflow

    check_output_location(out, mimic_iv, mimic_cxr)
    if cache and cache_size < 8:
        raise ValueError(f"--cache-size must be at least 8 pixels, got {cache_size}")
    config = config or EHRConfig()
    ehr = workflow.build_processed(mimic_iv, out, config, keep=("linked", "cxr_cache_*"))
    if mimic_cxr is not None:
        from .linking import LinkConfig

        cxr_root = mimic_cxr_root(mimic_cxr)
        linked = workflow.ensure_linked(ehr, cxr_root, out, LinkConfig(seed=config.seed))
        print(f"Linked cohorts in {linked.root}:")
        print(linked.sizes().to_string())
        if cache:
            from .cxr import build_cache

            print(build_cache(cxr_root, Path(out) / f"cxr_cache_{cache_size}", size=cache_size))
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
    parser.add_argument(
        "--blood-only-labs",
        action="store_true",
        help="glucose and pH from blood samples only (the benchmark also reads urine and "
        "other-fluid lab items into them)",
    )
    parser.add_argument(
        "--phenotype-map",
        choices=list(PHENOTYPE_MAPS),
        default="ccs",
        help="ICD codes -> phenotypes: 'ccs' (ICD-10 through AHRQ CCS v2019.1) or 'medfuse' "
        "(MedFuse's table, misses most ICD-10 codes)",
    )
    parser.add_argument("--cache", action="store_true", help="also build the X-ray image cache")
    parser.add_argument("--cache-size", type=int, default=256, help="cached image side (px)")
    cli.add_debug_flag(parser)
    args = parser.parse_args(argv)
    variables = VariableConfig(
        find_capillary_refill=not args.reference_variables,
        derive_gcs_total=not args.reference_variables,
        range_filter=not args.no_range_filter,
        blood_only_labs=args.blood_only_labs,
    )
    config = EHRConfig(
        cohort=CohortConfig(),
        variables=variables,
        tasks=tuple(args.tasks),
        seed=args.seed,
        duckdb=DuckDBSettings(threads=args.threads, memory_limit=args.memory_limit),
        phenotype_map=args.phenotype_map,
    )
    return prepare(
        args.mimic_iv,
        args.out,
        args.mimic_cxr,
        config,
        cache=args.cache,
        cache_size=args.cache_size,
    )


if __name__ == "__main__":
    sys.exit(cli.run(main, prog="python -m medmod_lib.prepare"))
