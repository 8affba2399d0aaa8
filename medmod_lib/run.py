"""Main job: ``python -m medmod_lib.run`` (what ``make demo`` runs).

Makes sure the data root holds a dataset (generating the synthetic one when
the default root is empty), then executes the numbered notebooks with
papermill into ``reports/<run>/``: executed copies, HTML pages, ``index.html``,
``results.csv`` and the summary notebook ``05_report``.

Examples::

    python -m medmod_lib.run                          # demo experiment, cpu profile
    python -m medmod_lib.run --profile smoke --run quick
    python -m medmod_lib.run --experiment my.yaml --resume
    python -m medmod_lib.run --only 02 03 --run demo-cpu --resume
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from . import cli, paths
from .runner.experiment import PRECEDENCE, PROFILES, ExperimentError, load_experiment
from .runner.share import share_safe_default


def reports_root() -> Path:
    """``<project>/reports``: executed notebooks and HTML reports (git-ignored)."""
    return paths.project_root() / "reports"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m medmod_lib.run",
        description="Execute the MedMod notebooks into reports/<run>/.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("Examples::", 1)[1],
    )
    parser.add_argument("--experiment", type=Path, help="experiment YAML (default: demo)")
    parser.add_argument("--profile", choices=PROFILES, help="overrides the file's profile")
    parser.add_argument("--run", help="run name: reports/<run>/ (default: <name>-<profile>)")
    parser.add_argument("--resume", action="store_true", help="keep finished notebooks")
    parser.add_argument("--only", nargs="+", default=(), metavar="NN", help="notebooks to run")
    parser.add_argument("--notebooks", type=Path, default=paths.project_root() / "notebooks")
    parser.add_argument("--reports", type=Path, default=None, help="default: <project>/reports")
    parser.add_argument("--no-data", action="store_true", help="do not generate synthetic data")
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="check the experiment and list the copies; run nothing",
    )
    parser.add_argument(
        "--private",
        action="store_true",
        help="keep identifiers, paths and patient-level outputs in reports on real data "
        "(default: redacted, with a data-use notice; see medmod_lib/runner/share.py)",
    )
    cli.add_debug_flag(parser)
    return parser


def _describe_data(data_root: Path) -> str:
    """What the run reads from a user's data root, checked; raises FileNotFoundError.

    With ``$MEDMOD_PROCESSED_DIR`` (an imported benchmark folder) the EHR comes
    from that folder, so only the MIMIC-CXR-JPG release must be under the data root.
    """
    imported = paths.processed_dir()
    if imported is None:
        return f"Data root {data_root}: MIMIC-IV {paths.mimic_iv_root(data_root)}"
    if not imported.is_dir():
        raise FileNotFoundError(
            f"${paths.PROCESSED_DIR_ENV} is {imported}, which is not a folder; point it at "
            "a processed folder (`python -m medmod_lib.export.importer`) or unset it."
        )
    return (
        f"Data root {data_root}: MIMIC-CXR-JPG {paths.mimic_cxr_root(data_root)}; the EHR "
        f"from the processed folder {imported} (${paths.PROCESSED_DIR_ENV}); notebook 00's "
        "tour of the raw MIMIC-IV tables needs a MIMIC-IV release (run the others with --only)"
    )


def main(argv: list[str] | None = None) -> int:
    """Run an experiment; returns the exit status (1 when a notebook failed)."""
    args = _parser().parse_args(argv)
    os.environ.setdefault("PYTHONHASHSEED", "0")
    os.environ.setdefault("MPLBACKEND", "Agg")
    from .runner.execute import RunPlan, run_experiment

    try:
        exp = load_experiment(args.experiment, profile=args.profile)
    except ExperimentError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if exp.smoke:
        os.environ.setdefault("TQDM_DISABLE", "1")
    data_root = Path(exp.data_root).expanduser() if exp.data_root else paths.data_root()
    if not args.no_data and not args.dry_run:
        if paths.is_default_data_root(data_root):
            from .synthetic import ensure_dataset, summarize

            data_root = ensure_dataset(data_root)
            print(summarize(data_root))
        else:
            try:  # a user's download: check the layout, never write there
                print(_describe_data(data_root))
            except FileNotFoundError as err:
                print(f"error: {err}", file=sys.stderr)
                return 2
    run = args.run or f"{exp.name}-{exp.profile}"
    plan = RunPlan(
        run_dir=(args.reports or reports_root()) / run,
        output_dir=paths.output_root() / "runs" / run,
        data_root=Path(data_root).resolve(),
        notebooks_dir=args.notebooks.resolve(),
        share_safe=not args.private and share_safe_default(data_root),
    )
    print(f"{exp!r} -> {plan.run_dir}")
    if plan.share_safe:
        print(
            "Real data: reports are redacted for sharing (identifiers, the data path, "
            "patient-level outputs) and carry a data-use notice; --private keeps everything."
        )
    try:
        jobs = run_experiment(exp, plan, resume=args.resume, only=args.only, dry_run=args.dry_run)
    except (ExperimentError, FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.dry_run:
        print(PRECEDENCE)
        for line in exp.overridden:
            print(f"  note: {line}")
        for job in jobs:
            shown = {k: v for k, v in job["parameters"].items() if k not in ("smoke", "device")}
            print(f"  {job['name']}: {shown}")
        print(f"{len(jobs)} executed copies planned (device={exp.device}, smoke={exp.smoke})")
        return 0
    failed = [j["name"] for j in jobs if j["status"] == "failed"]
    print(f"index: {plan.run_dir / 'index.html'}")
    if failed:
        print(f"failed: {', '.join(failed)} (see the index)", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(cli.run(main, prog="python -m medmod_lib.run"))
