"""Hygiene check: pairs in sync, no outputs, one parameters cell, the skeleton."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from medmod_lib.runner import hygiene

TEMPLATE = Path(__file__).resolve().parents[2] / "notebooks" / "_template.py"


@pytest.fixture
def pair(tmp_path) -> Path:
    py = tmp_path / "01_demo.py"
    shutil.copy(TEMPLATE, py)
    hygiene.sync_pair(py)
    return py


def _edit_py(py: Path, old: str, new: str) -> None:
    text = py.read_text()
    assert old in text
    py.write_text(text.replace(old, new, 1))


def test_template_pair_is_clean_and_deterministic(pair):
    assert hygiene.check_pair(pair) == []
    first = pair.with_suffix(".ipynb").read_text()
    hygiene.sync_pair(pair)
    assert pair.with_suffix(".ipynb").read_text() == first
    nb = json.loads(first)
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    assert nb["metadata"]["jupytext"]["formats"] == "ipynb,py:percent"
    ids = [c["id"] for c in nb["cells"]]
    assert len(set(ids)) == len(ids) and all(len(i) >= 8 for i in ids)


def test_stored_outputs_and_counts_are_caught(pair):
    ipynb = pair.with_suffix(".ipynb")
    nb = json.loads(ipynb.read_text())
    code = next(c for c in nb["cells"] if c["cell_type"] == "code")
    code["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "hi\n"}]
    code["execution_count"] = 3
    ipynb.write_text(json.dumps(nb))
    problems = hygiene.check_pair(pair)
    assert any("has stored outputs" in p for p in problems)
    assert any("execution count" in p for p in problems)


def test_out_of_sync_pair_is_caught(pair):
    _edit_py(pair, "epochs = 2", "epochs = 3")
    assert hygiene.check_pair(pair) == [
        f"{pair.with_suffix('.ipynb')}: out of sync with 01_demo.py; run `make notebooks`"
    ]


def test_missing_ipynb_is_caught(pair):
    pair.with_suffix(".ipynb").unlink()
    assert "missing; run `make notebooks`" in hygiene.check_pair(pair)[0]


@pytest.mark.parametrize(
    "old, new, message",
    [
        ('# %% tags=["parameters"]', "# %%", "exactly one cell tagged `parameters`, found 0"),
        ("# %%\n# Setup", '# %% tags=["parameters"]\n# Setup', "found 2"),
        ("smoke = False", "quick = False", "the parameters cell lacks ['smoke']"),
        ("ctx = notebook.setup(", "ctx = notebook.prepare(", "no setup cell"),
        ("# ## Takeaways", "# ## Summary", "must be `## Takeaways`"),
        (
            "# ## 1. Build a small table\n# Every",
            "# ## 1. Build a small table\n\n# %%\n# Every",
            "needs a sentence",
        ),
        ("# # NN Title", "# NN Title", "`# Title` line"),
    ],
)
def test_skeleton_problems_are_named(pair, old, new, message):
    _edit_py(pair, old, new)
    hygiene.sync_pair(pair)
    problems = hygiene.check_pair(pair)
    assert any(message in p for p in problems), problems


def test_sync_takes_edits_made_in_jupyter_back_to_the_py(pair):
    import nbformat

    ipynb = pair.with_suffix(".ipynb")
    nb = nbformat.read(ipynb, 4)
    nb.cells[-1].source += "\n- A new takeaway written in JupyterLab."
    nbformat.write(nb, ipynb)
    later = pair.stat().st_mtime + 5
    os.utime(ipynb, (later, later))
    hygiene.sync_pair(pair)
    assert "# - A new takeaway written in JupyterLab." in pair.read_text()
    assert hygiene.check_pair(pair) == []


def test_cli_check_returns_nonzero_on_problems(pair, capsys):
    assert hygiene.main(["check", str(pair.parent)]) == 0
    _edit_py(pair, "epochs = 2", "epochs = 4")
    assert hygiene.main(["check", str(pair)]) == 1
    assert "out of sync" in capsys.readouterr().out
