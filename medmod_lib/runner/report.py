"""Executed notebooks -> capped outputs, HTML pages and the run's index page."""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import nbformat
import pandas as pd

#: Stream and text outputs longer than this are cut in the middle.
MAX_OUTPUT_LINES = 100


def _cap_text(text: str, max_lines: int) -> tuple[str, bool]:
    lines = text.splitlines(keepends=True)
    if len(lines) <= max_lines:
        return text, False
    head, tail = max_lines // 2, max_lines - max_lines // 2
    cut = len(lines) - head - tail
    marker = f"... [{cut} lines cut by the runner; the full output was {len(lines)} lines] ...\n"
    return "".join(lines[:head]) + marker + "".join(lines[-tail:]), True


def cap_outputs(nb: nbformat.NotebookNode, max_lines: int = MAX_OUTPUT_LINES) -> int:
    """Cut long stream and ``text/plain`` outputs to ``max_lines`` lines, in place.

    Args:
        nb: An executed notebook.
        max_lines: Lines kept per output (half from the start, half from the end).

    Returns:
        How many outputs were cut.
    """
    cut = 0
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                out["text"], changed = _cap_text(out.get("text", ""), max_lines)
                cut += changed
            elif "data" in out and "text/plain" in out["data"]:
                value = out["data"]["text/plain"]
                value = "".join(value) if isinstance(value, list) else value
                out["data"]["text/plain"], changed = _cap_text(value, max_lines)
                cut += changed
    return cut


def export_html(ipynb: Path, html_path: Path | None = None) -> Path:
    """Export an executed notebook to a self-contained HTML page (images inline).

    Args:
        ipynb: The executed notebook.
        html_path: Target; default: next to ``ipynb`` with ``.html``.

    Returns:
        The HTML path.
    """
    from nbconvert import HTMLExporter

    html_path = html_path or ipynb.with_suffix(".html")
    body, _ = HTMLExporter(template_name="lab").from_notebook_node(nbformat.read(ipynb, 4))
    html_path.write_text(body, encoding="utf-8")
    return html_path


_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;
text-align:left;vertical-align:top}th{background:#f3f3f3}code{font-size:90%}
.ok{color:#1a7f37}.cached{color:#1a7f37}.failed{color:#cf222e;font-weight:bold}
.skipped{color:#9a6700}.pending{color:#777}pre{white-space:pre-wrap;margin:0}
"""


def _params(params: dict[str, Any]) -> str:
    shown = {k: v for k, v in params.items() if k not in ("data_root", "output_dir")}
    text = ", ".join(f"{k}={json.dumps(v, default=str)}" for k, v in sorted(shown.items()))
    return f"<code>{html.escape(text)}</code>"


def _job_row(job: dict[str, Any], run_dir: Path) -> str:
    status = job["status"]
    link = html.escape(job["name"])
    if job.get("html") and (run_dir / job["html"]).exists():
        link = f'<a href="{html.escape(job["html"])}">{link}</a>'
    wall = f"{job['wall_s']:.1f} s" if job.get("wall_s") is not None else ""
    detail = ""
    if job.get("error"):
        err = job["error"]
        where = err.get("where", "")
        detail = f"<pre>{html.escape(where)}\n{html.escape(err['ename'])}: {html.escape(err['evalue'])}</pre>"
    elif job.get("reason"):
        detail = html.escape(job["reason"])
    label = "ok (resumed)" if status == "cached" else status
    return (
        f"<tr><td>{link}</td><td class='{status}'>{label}</td><td>{wall}</td>"
        f"<td>{_params(job.get('parameters', {}))}</td><td>{detail}</td></tr>"
    )


def write_index(
    run_dir: Path,
    jobs: Sequence[dict[str, Any]],
    results: pd.DataFrame,
    meta: dict[str, Any],
    skipped_results: Sequence[tuple[Path, str]] = (),
) -> Path:
    """Write ``<run_dir>/index.html``: one row per executed copy, then the results.

    Args:
        run_dir: The run folder (links are relative to it).
        jobs: Job records (``name``, ``status``, ``wall_s``, ``parameters`` (paths
            are shown once, in ``meta``),
            ``html``, ``error`` with ``where``/``ename``/``evalue``, ``reason``).
        results: The combined results table.
        meta: Run facts shown at the top (experiment, profile, versions ...).
        skipped_results: Results files left out, with the reason.

    Returns:
        The index path.
    """
    counts = pd.Series([j["status"] for j in jobs], dtype=object).value_counts().to_dict()
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>MedMod run {html.escape(str(meta.get('run', '')))}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>MedMod run <code>{html.escape(str(meta.get('run', '')))}</code></h1>",
        "<table>",
        *(
            f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
            for k, v in meta.items()
        ),
        f"<tr><th>status</th><td>{html.escape(json.dumps(counts))}</td></tr></table>",
        "<h2>Notebooks</h2><table><tr><th>notebook</th><th>status</th><th>wall time</th>"
        "<th>parameters</th><th>error / reason</th></tr>",
        *(_job_row(j, run_dir) for j in jobs),
        "</table>",
        "<h2>Results</h2>",
        "<p><a href='results.csv'>results.csv</a> (all rows, tidy format)</p>",
    ]
    if results.empty:
        parts.append("<p>No results rows (no notebook wrote a results table).</p>")
    else:
        parts.append(results.to_html(index=False, na_rep="", float_format="{:.4g}".format))
    for path, reason in skipped_results:
        parts.append(
            f"<p class='failed'>Left out {html.escape(str(path))}: {html.escape(reason)}</p>"
        )
    parts.append("</body></html>")
    index = run_dir / "index.html"
    index.write_text("\n".join(parts), encoding="utf-8")
    return index
