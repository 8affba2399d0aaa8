"""Output capping and the index page."""

from __future__ import annotations

import nbformat
import pandas as pd

from medmod_lib.runner.report import cap_outputs, write_index


def _nb(text: str, plain: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text=text),
        nbformat.v4.new_output("execute_result", data={"text/plain": plain}, execution_count=1),
    ]
    return nbformat.v4.new_notebook(cells=[cell])


def test_cap_outputs_keeps_head_and_tail():
    long = "".join(f"{i}\n" for i in range(1000))
    nb = _nb(long, "short")
    assert cap_outputs(nb, max_lines=10) == 1
    text = nb.cells[0].outputs[0]["text"].splitlines()
    assert text[:5] == ["0", "1", "2", "3", "4"] and text[-5:] == [
        "995",
        "996",
        "997",
        "998",
        "999",
    ]
    assert text[5] == "... [990 lines cut by the runner; the full output was 1000 lines] ..."
    assert nb.cells[0].outputs[1]["data"]["text/plain"] == "short"


def test_cap_outputs_leaves_exactly_max_lines_alone():
    exact = "".join(f"{i}\n" for i in range(100))
    nb = _nb(exact, exact + "x\n")
    assert cap_outputs(nb) == 1  # only text/plain (101 lines) is cut
    assert nb.cells[0].outputs[0]["text"] == exact


def test_index_lists_jobs_errors_reasons_and_results(tmp_path):
    (tmp_path / "a.html").write_text("ok")
    jobs = [
        {"name": "a", "status": "ok", "wall_s": 1.234, "parameters": {"seed": 0}, "html": "a.html"},
        {
            "name": "b<x>",
            "status": "failed",
            "wall_s": 2.0,
            "parameters": {"method": "bad"},
            "html": "missing.html",
            "error": {"where": "cell In [3] (index 3): boom()", "ename": "E", "evalue": "v<1>"},
        },
        {"name": "c", "status": "skipped", "wall_s": None, "parameters": {}, "reason": "why"},
    ]
    table = pd.DataFrame({"task": ["t"], "value": [0.123456]})
    index = write_index(tmp_path, jobs, table, {"run": "r1"}, [(tmp_path / "bad.csv", "cols")])
    page = index.read_text()
    assert '<a href="a.html">a</a>' in page and "1.2 s" in page
    assert "b&lt;x&gt;" in page and '<a href="missing.html">' not in page  # no dead links
    assert "cell In [3] (index 3): boom()\nE: v&lt;1&gt;" in page
    assert "why" in page and "0.1235" in page and "Left out" in page and "bad.csv" in page
    assert '{"ok": 1, "failed": 1, "skipped": 1}' in page.replace("&quot;", '"')


def test_index_with_no_results(tmp_path):
    page = write_index(tmp_path, [], pd.DataFrame(), {"run": "empty"}).read_text()
    assert "No results rows" in page
