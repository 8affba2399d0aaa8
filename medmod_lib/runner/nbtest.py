"""The notebook test harness: numbered notebooks in smoke mode through nbval.

For each notebook the harness writes a copy with the ``smoke`` profile's
parameters injected (papermill's ``parameterize_notebook``, nothing executed)
and runs ``pytest --nbval-lax`` on it in a subprocess, so that a failing cell is
reported with its notebook's name.

Committed notebooks have no outputs, and nbval passes a ``# NBVAL_CHECK_OUTPUT``
cell that has no stored output. So the expected outputs of those cells live in
``tests/notebooks/expected/<NN_name>.json`` and are put into the copy before
nbval runs. Record or refresh them with::

    python -m medmod_lib.runner.nbtest record notebooks/NN_name.ipynb
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat

from .execute import declared_parameters, discover_notebooks
from .experiment import expand_jobs, load_experiment

CHECK_MARK = "# NBVAL_CHECK_OUTPUT"
#: Regexes applied to both the expected and the actual output of checked cells.
SANITIZE_CFG = r"""
[timestamps]
regex: \d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?
replace: TIMESTAMP

[durations]
regex: \d+(\.\d+)?\s?(s|ms|sec|seconds|min)\b
replace: DURATION

[paths]
regex: (/[\w.+-]+)+/(data|outputs|runs|reports|pytest-\w+)(/[\w.+-]*)*
replace: PATH

[memory addresses]
regex: 0x[0-9a-f]{6,}
replace: 0xADDRESS
"""


def expected_dir() -> Path:
    """``tests/notebooks/expected``: recorded outputs of checked cells."""
    return Path(__file__).resolve().parents[2] / "tests" / "notebooks" / "expected"


def checked_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    """Code cells marked ``# NBVAL_CHECK_OUTPUT``, in order."""
    return [c for c in nb.cells if c.cell_type == "code" and CHECK_MARK in c.source]


def smoke_parameters(notebook: Path, data_root: Path, output_dir: Path) -> dict:
    """The parameters the ``smoke`` profile gives ``notebook`` (first grid value)."""
    exp = load_experiment(profile="smoke")
    exp.grid = {}  # one copy per notebook in tests
    declared = {nb: declared_parameters(p) for nb, p in discover_notebooks(notebook.parent).items()}
    declared[notebook.stem] = declared_parameters(notebook)
    exp.notebooks = {k: v for k, v in exp.notebooks.items() if k in declared}
    job = expand_jobs(exp, declared, [notebook.stem])[0]
    return {**job.parameters, "data_root": str(data_root), "output_dir": str(output_dir)}


def smoke_copy(
    notebook: Path, dest_dir: Path, *, data_root: Path, output_dir: Path, expected: Path | None
) -> Path:
    """Write the smoke-parameterised copy (with expected outputs) into ``dest_dir``.

    Raises:
        ValueError: The expected-output file lists a different number of
            checked cells than the notebook has (re-record it).
    """
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    nb = load_notebook_node(str(notebook))  # adds the cell metadata papermill expects
    params = smoke_parameters(notebook, data_root, output_dir)
    nb = parameterize_notebook(nb, params, kernel_name="python3", language="python")
    if expected is not None and expected.exists():
        recorded = json.loads(expected.read_text())
        cells = checked_cells(nb)
        if [c["source"] for c in recorded] != [c.source for c in cells]:
            raise ValueError(
                f"{expected} does not match the checked cells of {notebook}; re-record with "
                f"`python -m medmod_lib.runner.nbtest record {notebook}`."
            )
        for cell, rec in zip(cells, recorded, strict=True):
            cell.outputs = [nbformat.from_dict(o) for o in rec["outputs"]]
            cell.execution_count = 1  # nbval ignores outputs of cells that never ran
    dest_dir.mkdir(parents=True, exist_ok=True)
    out = dest_dir / notebook.name
    nbformat.write(nb, out)
    return out


def harness_env(data_root: Path, output_root: Path) -> dict[str, str]:
    """Environment of the nbval subprocess (quiet, seeded, headless)."""
    env = dict(os.environ)
    env.update(
        TQDM_DISABLE="1",
        MPLBACKEND="Agg",
        PYTHONHASHSEED="0",
        OMP_NUM_THREADS=env.get("OMP_NUM_THREADS", "2"),
        MEDMOD_DATA_ROOT=str(data_root),
        MEDMOD_OUTPUT_DIR=str(output_root),
    )
    return env


def run_nbval(copy: Path, env: dict[str, str], timeout: int = 900) -> subprocess.CompletedProcess:
    """``pytest --nbval-lax`` on one copy, isolated from the project's pytest config."""
    work = copy.parent
    (work / "sanitize.cfg").write_text(SANITIZE_CFG)
    (work / "pytest.ini").write_text("[pytest]\naddopts =\n")
    cmd = [
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
        "-c", str(work / "pytest.ini"), "--rootdir", str(work),
        "--nbval-lax", "--nbval-current-env", "--nbval-cell-timeout=600",
        f"--nbval-sanitize-with={work / 'sanitize.cfg'}", str(copy),
    ]  # fmt: skip
    return subprocess.run(
        cmd, cwd=work, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def record(notebook: Path, data_root: Path, output_dir: Path) -> Path:
    """Execute the smoke copy and store the outputs of its checked cells."""
    import tempfile

    import papermill

    with tempfile.TemporaryDirectory() as tmp:
        copy = smoke_copy(
            notebook, Path(tmp), data_root=data_root, output_dir=output_dir, expected=None
        )
        done = papermill.execute_notebook(str(copy), str(copy), kernel_name="python3")
    keep = ("output_type", "name", "text", "data")
    cells = [
        {"source": c.source, "outputs": [{k: o[k] for k in keep if k in o} for o in c.outputs]}
        for c in checked_cells(done)
    ]
    target = expected_dir() / f"{notebook.stem}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(cells, indent=1) + "\n")
    return target


def main(argv: list[str] | None = None) -> int:
    from .. import paths

    parser = argparse.ArgumentParser(prog="python -m medmod_lib.runner.nbtest")
    parser.add_argument("command", choices=["record"])
    parser.add_argument("notebooks", nargs="+", type=Path)
    args = parser.parse_args(argv)
    os.environ.update(TQDM_DISABLE="1", PYTHONHASHSEED="0", MPLBACKEND="Agg")
    out = paths.output_root() / "runs" / "nbtest-record"
    for nb in args.notebooks:
        print(f"recorded {record(nb.with_suffix('.ipynb'), paths.data_root(), out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
