"""Notebook hygiene: jupytext pairs in sync, no outputs, one skeleton.

Each notebook is a pair: ``notebooks/NN_name.py`` (py:percent, the reviewed
source) and ``notebooks/NN_name.ipynb`` generated from it (no outputs, no
execution counts, kernelspec ``python3``, cell ids derived from the cell text).

Command line (``make notebooks`` runs ``sync``; the tests run ``check``)::

    python -m medmod_lib.runner.hygiene sync  [notebooks/ | files.py ...]
    python -m medmod_lib.runner.hygiene check [notebooks/ | files.py ...]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from pathlib import Path

import jupytext
import nbformat

from .experiment import COMMON_PARAMETERS

KERNELSPEC = {"name": "python3", "display_name": "Python 3 (medmod)", "language": "python"}
JUPYTEXT_META = {
    "formats": "ipynb,py:percent",
    "notebook_metadata_filter": "-all",
    "cell_metadata_filter": "tags,-all",
}
SETUP_CALL = re.compile(r"\bsetup\(")


def _cell_ids(nb: nbformat.NotebookNode) -> None:
    seen: dict[str, int] = {}
    for cell in nb.cells:
        base = hashlib.sha1(f"{cell.cell_type}\n{cell.source}".encode()).hexdigest()[:8]
        seen[base] = seen.get(base, 0) + 1
        cell["id"] = base if seen[base] == 1 else f"{base}-{seen[base]}"


def notebook_from_py(py: Path) -> nbformat.NotebookNode:
    """The canonical ``.ipynb`` of a py:percent file (deterministic, no outputs)."""
    nb = jupytext.read(py, fmt="py:percent")
    nb.metadata = nbformat.from_dict(
        {"kernelspec": KERNELSPEC, "language_info": {"name": "python"}, "jupytext": JUPYTEXT_META}
    )
    for cell in nb.cells:
        tags = cell.metadata.get("tags")
        cell.metadata = nbformat.from_dict({"tags": tags} if tags else {})
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nb.nbformat, nb.nbformat_minor = 4, 5
    _cell_ids(nb)
    return nb


def _dumps(nb: nbformat.NotebookNode) -> str:
    return nbformat.writes(nb, version=4) + "\n"


def sync_pair(py: Path) -> Path:
    """Bring a pair in sync and return the ``.ipynb`` path.

    When the ``.ipynb`` is newer than the ``.py`` and says something else
    (edited in Jupyter without the jupytext pairing), its cells are first
    written back to the ``.py``. Then the ``.ipynb`` is rebuilt from the ``.py``.
    """
    py = Path(py)
    ipynb = py.with_suffix(".ipynb")
    if ipynb.exists() and ipynb.stat().st_mtime > py.stat().st_mtime:
        edited = jupytext.read(ipynb)
        edited.metadata = nbformat.from_dict({"jupytext": JUPYTEXT_META})
        text = jupytext.writes(edited, fmt="py:percent")
        if text != py.read_text():
            py.write_text(text)
    ipynb.write_text(_dumps(notebook_from_py(py)))
    return ipynb


def _markdown_lines(cell: nbformat.NotebookNode) -> list[str]:
    return [ln.rstrip() for ln in cell.source.splitlines()]


def check_skeleton(nb: nbformat.NotebookNode, where: str) -> list[str]:
    """Problems with the shared skeleton (see ``notebooks/README.md``)."""
    problems = []
    cells = nb.cells
    if not cells or cells[0].cell_type != "markdown":
        return [f"{where}: the first cell must be markdown: `# Title` and a purpose line"]
    first = [ln for ln in _markdown_lines(cells[0]) if ln]
    if not first or not first[0].startswith("# ") or len(first) < 2:
        problems.append(f"{where}: the first cell needs a `# Title` line and a purpose sentence")
    tagged = [i for i, c in enumerate(cells) if "parameters" in c.metadata.get("tags", [])]
    if len(tagged) != 1:
        problems.append(
            f"{where}: expected exactly one cell tagged `parameters`, found {len(tagged)}"
        )
    else:
        source = cells[tagged[0]].source
        missing = [p for p in COMMON_PARAMETERS if not re.search(rf"^{p}\s*[:=]", source, re.M)]
        if missing:
            problems.append(f"{where}: the parameters cell lacks {missing}")
        after = cells[tagged[0] + 1 :]
        if not any(c.cell_type == "code" and SETUP_CALL.search(c.source) for c in after):
            problems.append(
                f"{where}: no setup cell after the parameters cell "
                "(`ctx = notebook.setup(...)` from medmod_lib.notebook)"
            )
    headings = []
    for i, cell in enumerate(cells):
        if cell.cell_type != "markdown":
            continue
        lines = _markdown_lines(cell)
        for j, line in enumerate(lines):
            if line.startswith("## "):
                headings.append(line[3:].strip())
                rest = [ln for ln in lines[j + 1 :] if ln and not ln.startswith("#")]
                if not rest:
                    problems.append(
                        f"{where}: heading `{line}` (cell {i}) needs a sentence saying why"
                    )
    if not headings:
        problems.append(f"{where}: no `## Step` headings")
    elif headings[-1].lower() != "takeaways" and [h.lower() for h in headings[-2:]] != [
        "takeaways",
        "exercises",
    ]:
        problems.append(
            f"{where}: the last `##` section must be `## Takeaways` (or `## Takeaways` "
            "then `## Exercises`)"
        )
    return problems


def check_pair(py: Path) -> list[str]:
    """Every hygiene problem of one pair (empty when clean)."""
    py = Path(py)
    ipynb = py.with_suffix(".ipynb")
    if not ipynb.exists():
        return [f"{ipynb}: missing; run `make notebooks`"]
    problems = []
    stored = json.loads(ipynb.read_text())
    for i, cell in enumerate(stored.get("cells", [])):
        if cell.get("outputs"):
            problems.append(f"{ipynb}: cell {i} has stored outputs; notebooks are committed clean")
        if cell.get("execution_count") is not None:
            problems.append(f"{ipynb}: cell {i} has an execution count")
    expected = _dumps(notebook_from_py(py))
    if json.loads(expected) != stored:
        problems.append(f"{ipynb}: out of sync with {py.name}; run `make notebooks`")
    problems += check_skeleton(nbformat.reads(expected, 4), str(py))
    return problems


def find_pairs(targets: list[Path]) -> list[Path]:
    """The ``.py`` sources among files and folders (folders: ``NN_*.py`` and ``_template.py``)."""
    out = []
    for target in targets:
        if target.is_dir():
            out += sorted(p for p in target.glob("*.py") if re.match(r"^(\d\d_|_template)", p.name))
        else:
            out.append(target.with_suffix(".py"))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m medmod_lib.runner.hygiene")
    parser.add_argument("command", choices=["sync", "check"])
    parser.add_argument("targets", nargs="*", type=Path, default=[Path("notebooks")])
    args = parser.parse_args(argv)
    pairs = find_pairs(args.targets)
    if args.command == "sync":
        for py in pairs:
            print(f"synced {sync_pair(py)}")
        return 0
    problems = [p for py in pairs for p in check_pair(py)]
    print("\n".join(problems) or f"{len(pairs)} notebook pair(s) clean")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
