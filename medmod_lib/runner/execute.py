"""Execute an experiment's notebooks with papermill into ``reports/<run>/``.

Layout of a run folder::

    reports/<run>/
      index.html          status, wall time, parameters, errors; results table
      results.csv         concatenation of the notebooks' tidy results
      run_state.json      per copy: status, parameter hash, wall time, error
      NN_name[__grid].ipynb / .html   executed copies (outputs capped)

Artifacts shared between notebooks (checkpoints, caches, results CSVs) go to
the run's ``output_dir`` (default ``<output root>/runs/<run>``).
"""

from __future__ import annotations

import hashlib
import json
import platform
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

from . import report, results, share
from .experiment import (
    COMMON_PARAMETERS,
    NOTEBOOK_RE,
    Experiment,
    Job,
    check_choices,
    choices_from_help,
    expand_jobs,
)

KERNEL_NAME = "python3"
STATE_FILE = "run_state.json"


def discover_notebooks(notebooks_dir: Path) -> dict[str, Path]:
    """Numbered notebooks (``NN_name.ipynb``) in a folder, in name order."""
    found = sorted(p for p in Path(notebooks_dir).glob("*.ipynb") if NOTEBOOK_RE.match(p.stem))
    return {p.stem: p for p in found}


def declared_parameters(path: Path) -> set[str]:
    """Names in a notebook's ``parameters`` cell (via ``papermill.inspect_notebook``).

    Raises:
        ValueError: The notebook has no cell tagged ``parameters``.
    """
    import papermill

    names = set(papermill.inspect_notebook(str(path)))
    if not names:
        raise ValueError(
            f'{path} has no cell tagged `parameters`; add `# %% tags=["parameters"]` '
            "above its settings in the .py and run `make notebooks`."
        )
    return names


def declared_choices(path: Path) -> dict[str, list[str]]:
    """Parameter -> the values its ``parameters``-cell comment declares (``# a | b``)."""
    import ast

    import papermill

    found = {}
    for name, info in papermill.inspect_notebook(str(path)).items():
        try:
            default = ast.literal_eval(info.get("default") or "None")
        except (ValueError, SyntaxError):
            continue
        allowed = choices_from_help(info.get("help") or "", default)
        if allowed:
            found[name] = allowed
    return found


def _hash(notebook: Path, params: dict[str, Any]) -> str:
    blob = json.dumps(params, sort_keys=True, default=str).encode() + notebook.read_bytes()
    return hashlib.sha256(blob).hexdigest()[:16]


def _error_record(err: Exception) -> dict[str, str]:
    from papermill.exceptions import PapermillExecutionError

    if isinstance(err, PapermillExecutionError):
        first = next((ln for ln in err.source.splitlines() if ln.strip()), "")
        return {
            "where": f"cell In [{err.exec_count}] (index {err.cell_index}): {first.strip()}",
            "ename": err.ename,
            "evalue": err.evalue,
        }
    evalue = str(err)
    if type(err).__name__ == "NoSuchKernel":
        evalue += " (install it: python -m ipykernel install --sys-prefix --name python3)"
    return {
        "where": "runner (before or around the kernel)",
        "ename": type(err).__name__,
        "evalue": evalue,
    }


def _outputs(output_dir: Path, notebook: str) -> dict[str, tuple[int, int]]:
    """The notebook's result and claim files: path -> (mtime_ns, size)."""
    found = {}
    for folder in (results.results_dir(output_dir), results.claims_dir(output_dir)):
        for path in folder.glob(f"{notebook}[_.]*csv"):
            st = path.stat()
            found[str(path)] = (st.st_mtime_ns, st.st_size)
    return found


def _remove_previous(old: dict[str, Any], job: Job, output_dir: Path) -> None:
    """Delete the result and claim files the previous execution of ``job`` wrote.

    Runs before a copy is executed again, so that a failed rerun leaves no earlier
    numbers in results.csv, claims.csv or the index. Records of older runs do not list
    their files; for a notebook without grid copies all of its files are its own.
    """
    files = old.get("outputs")
    if files is None and job.name == job.notebook and old:
        files = list(_outputs(output_dir, job.notebook))
    for path in files or []:
        Path(path).unlink(missing_ok=True)


@dataclass
class RunPlan:
    """Where a run reads and writes."""

    run_dir: Path
    output_dir: Path
    data_root: Path
    notebooks_dir: Path
    #: Redact identifiers, the data path and patient-level outputs (:mod:`.share`).
    share_safe: bool = False


def _depends(exp: Experiment, job: Job, done: dict[str, dict], jobs: Sequence[Job]) -> str | None:
    """The reason to skip ``job`` (a failed or skipped dependency), or None."""
    order = list(dict.fromkeys(j.notebook for j in jobs))
    # The summary runs whatever failed: it reports partial results.
    default = [] if job.notebook == exp.summary else order[: order.index(job.notebook)]
    deps = exp.depends_on.get(job.notebook, default)
    for other in jobs:
        if other.notebook not in deps or other.notebook == exp.summary:
            continue
        shared = set(other.grid) & set(job.grid)
        if any(other.grid[a] != job.grid[a] for a in shared):
            continue
        status = done.get(other.name, {}).get("status")
        if status in ("failed", "skipped"):
            return f"depends on {other.name}, which {status}"
    return None


def run_experiment(
    exp: Experiment,
    plan: RunPlan,
    *,
    resume: bool = False,
    only: Sequence[str] = (),
    kernel_name: str = KERNEL_NAME,
    progress: bool = True,
    dry_run: bool = False,
) -> list[dict[str, Any]]:
    """Execute every job of ``exp`` and write the run folder.

    Args:
        exp: The experiment (profile applied).
        plan: Folders of the run.
        resume: Keep copies that finished with the same parameters and notebook.
        only: Notebook numbers or stems to run (``["02", "03_linear_eval"]``).
        kernel_name: Jupyter kernel (``make`` installs ``python3`` into the venv).
        progress: Print one line per copy.
        dry_run: Check names and expand the grid, write nothing, return the plan
            (records with status ``planned``).

    Returns:
        The job records written to ``run_state.json``, in execution order.

    Raises:
        UnknownParameterError: Before anything runs, for names no notebook declares.
    """
    import papermill

    available = discover_notebooks(plan.notebooks_dir)
    if not available:
        raise FileNotFoundError(f"No numbered notebooks (NN_name.ipynb) in {plan.notebooks_dir}.")
    declared = {nb: declared_parameters(p) for nb, p in available.items()}
    for nb, names in declared.items():
        missing = [c for c in COMMON_PARAMETERS if c not in names]
        if missing:
            raise ValueError(f"{available[nb]}: parameters cell lacks {missing}; see the template.")
    unmatched = [o for o in only if not any(nb.startswith(o) for nb in available)]
    if unmatched:
        raise ValueError(f"--only {' '.join(unmatched)}: no such notebook in {sorted(available)}")
    order = [nb for nb in available if not only or any(nb.startswith(o) for o in only)]
    if exp.summary in order:  # the summary runs last, on the combined results
        order = [nb for nb in order if nb != exp.summary] + [exp.summary]
    jobs = expand_jobs(exp, declared, order)
    check_choices(jobs, {nb: declared_choices(available[nb]) for nb in order})
    if dry_run:
        return [
            {
                "name": j.name,
                "notebook": j.notebook,
                "status": "planned",
                "parameters": j.parameters,
            }
            for j in jobs
        ]

    plan.run_dir.mkdir(parents=True, exist_ok=True)
    state_path = plan.run_dir / STATE_FILE
    old = json.loads(state_path.read_text())["jobs"] if state_path.exists() else {}
    previous = old if resume else {}
    # With --only, the other notebooks' records stay in the state and the index.
    done = {k: v for k, v in old.items() if only and v.get("notebook") not in order}
    if not resume:  # a fresh run must not show or combine what an earlier one left
        for nb in order:
            stale = [*results.results_dir(plan.output_dir).glob(f"{nb}[_.]*csv")]
            stale += [*results.claims_dir(plan.output_dir).glob(f"{nb}[_.]*csv")]
            stale += [p for ext in ("ipynb", "html") for p in plan.run_dir.glob(f"{nb}*.{ext}")]
            for path in stale:
                path.unlink()
    meta = {
        "run": plan.run_dir.name,
        "experiment": " + ".join(exp.source),
        "profile": exp.profile,
        "data_root": "$MEDMOD_DATA_ROOT" if plan.share_safe else str(plan.data_root),
        "output_dir": str(plan.output_dir),
        "python": platform.python_version(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    if plan.share_safe:
        meta["data use"] = share.NOTICE.replace("**", "")
    combined, claims = results.combine_results([]), results.combine_claims([])
    started = time.perf_counter()

    def save() -> None:
        meta["wall time"] = f"{time.perf_counter() - started:.0f} s"
        state_path.write_text(json.dumps({"meta": meta, "jobs": done}, indent=1, default=str))
        rank = {j.name: i for i, j in enumerate(jobs)}
        key = lambda r: (r["notebook"], rank.get(r["name"], -1), r["name"])  # noqa: E731
        shown = sorted(done.values(), key=key) + [
            {
                "name": j.name,
                "notebook": j.notebook,
                "status": "pending",
                "parameters": j.parameters,
            }
            for j in jobs
            if j.name not in done
        ]
        report.write_index(
            plan.run_dir,
            shown,
            combined.table,
            meta,
            [*combined.skipped, *claims.skipped],
            claims=claims.table,
        )

    def collect() -> tuple[results.Combined, results.Combined]:
        both = (
            results.combine_results(list(results.results_dir(plan.output_dir).glob("*.csv"))),
            results.combine_claims(list(results.claims_dir(plan.output_dir).glob("*.csv"))),
        )
        results.write_combined(both[0], plan.run_dir / "results.csv")
        results.write_combined(both[1], plan.run_dir / "claims.csv")
        return both

    for i, job in enumerate(jobs, 1):
        params = dict(job.parameters)
        params.update(data_root=str(plan.data_root), output_dir=str(plan.output_dir))
        if job.notebook == exp.summary:
            combined, claims = collect()
            for name in ("results", "claims"):
                if f"{name}_csv" in declared[job.notebook]:
                    params[f"{name}_csv"] = str(plan.run_dir / f"{name}.csv")
        source = available[job.notebook]
        record: dict[str, Any] = {
            "name": job.name,
            "notebook": job.notebook,
            "parameters": params,
            "hash": _hash(source, params),
            "status": "pending",
            "wall_s": None,
            "html": f"{job.name}.html",
        }
        old = previous.get(job.name, {})
        reason = _depends(exp, job, done, jobs)
        out_nb = plan.run_dir / f"{job.name}.ipynb"
        fresh = old.get("hash") == record["hash"] and job.notebook != exp.summary
        if old.get("status") in ("ok", "cached") and fresh:
            if out_nb.exists():
                record.update(status="cached", wall_s=old.get("wall_s"), outputs=old.get("outputs"))
        if record["status"] == "cached":
            pass
        elif reason:
            record.update(status="skipped", reason=reason, html=None)
            _remove_previous(old, job, plan.output_dir)
        else:
            if progress:
                print(f"[{i}/{len(jobs)}] {job.name} ...", flush=True)
            _remove_previous(old, job, plan.output_dir)
            before = _outputs(plan.output_dir, job.notebook)
            start = time.perf_counter()
            try:
                papermill.execute_notebook(
                    str(source),
                    str(out_nb),
                    parameters=params,
                    kernel_name=kernel_name,
                    language="python",
                    cwd=str(plan.notebooks_dir),
                    progress_bar=False,
                    execution_timeout=exp.timeout_per_cell,
                )
                record["status"] = "ok"
            except Exception as err:  # noqa: BLE001 - every failure is recorded in the index
                record.update(status="failed", error=_error_record(err))
            after = _outputs(plan.output_dir, job.notebook)
            written = sorted(p for p, key in after.items() if before.get(p) != key)
            if record["status"] == "failed":  # a failed copy contributes no numbers
                for path in written:
                    Path(path).unlink(missing_ok=True)
                written = []
            record["outputs"] = written
            record["wall_s"] = round(time.perf_counter() - start, 2)
            if out_nb.exists():
                nb = nbformat.read(out_nb, 4)
                report.cap_outputs(nb)
                if plan.share_safe:
                    share.redact_notebook(nb, plan.data_root)
                nbformat.write(nb, out_nb)
                report.export_html(out_nb)
            else:
                record["html"] = None
            if progress:
                print(f"    {record['status']} in {record['wall_s']:.1f} s", flush=True)
        if plan.share_safe:
            record["parameters"] = share.redact_parameters(record["parameters"], plan.data_root)
        done[job.name] = record
        save()

    if exp.summary not in order:
        combined, claims = collect()
    save()
    return [done[j.name] for j in jobs]
