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
img{max-width:100%;height:auto}.notice{background:#fff8c5;padding:8px;border:1px solid #d4a72c}figure{margin:1em 0}figcaption{color:#555}
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


def _verdict_cell(text: str) -> str:
    cls = next((c for c in ("held", "reversed", "not resolved") if text.endswith(c)), "")
    css = {"held": "ok", "reversed": "failed", "not resolved": "skipped"}.get(cls, "")
    return f"<td class='{css}'>{html.escape(text)}</td>"


def _claims_html(claims: pd.DataFrame) -> list[str]:
    from .summary import claims_overview

    table = claims_overview(claims)
    if table.empty:
        return ["<p>No claims were checked in this run.</p>"]
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in table.columns)
    body = []
    for row in table.itertuples(index=False):
        cells = [
            _verdict_cell(str(v))
            if str(col).startswith("seed ")
            else f"<td>{html.escape(str(v))}</td>"
            for col, v in zip(table.columns, row, strict=True)
        ]
        body.append("<tr>" + "".join(cells) + "</tr>")
    return [
        "<p>Each claim says the first model scores higher than the second on the same test "
        "stays. Per seed: the difference with the 95% interval of the paired bootstrap "
        "(both models on the same resamples); <b>held</b> when the interval lies above 0, "
        "<b>reversed</b> below 0, <b>not resolved</b> otherwise. Details per claim: "
        "<a href='claims.csv'>claims.csv</a>.</p>",
        f"<table><tr>{head}</tr>",
        *body,
        "</table>",
    ]


def _headline_html(results: pd.DataFrame, run_dir: Path) -> list[str]:
    from .summary import figure_names, headline_tables, save_figures

    parts = []
    for task, table in headline_tables(results).items():
        parts.append(f"<h3>{html.escape(task)}</h3>")
        parts.append(table.to_html(escape=True))
    if not parts:
        parts.append("<p>No headline results yet.</p>")
    figures = save_figures(results, run_dir / "figures") if not results.empty else []
    if figures:
        parts.append("<h2>Figures</h2>")
    for path, caption in zip(figures, figure_names(figures), strict=True):
        rel = path.relative_to(run_dir).as_posix()
        parts.append(
            f"<figure><img src='{html.escape(rel)}' alt='{html.escape(caption)}'>"
            f"<figcaption>{html.escape(caption)}</figcaption></figure>"
        )
    return parts


def write_index(
    run_dir: Path,
    jobs: Sequence[dict[str, Any]],
    results: pd.DataFrame,
    meta: dict[str, Any],
    skipped_results: Sequence[tuple[Path, str]] = (),
    claims: pd.DataFrame | None = None,
) -> Path:
    """Write ``<run_dir>/index.html``: the claims' verdicts, headline tables, figures, notebooks.

    The page opens with what a reader wants first: the verdict of every headline
    claim (:mod:`medmod_lib.evaluation.claims`), then one table per task (model x
    test set, monitored metric with its 95 % interval) and the summary figures
    (:mod:`medmod_lib.runner.summary`, written to ``<run_dir>/figures/``), then the
    notebooks that ran. The full tidy table stays one link away (``results.csv``).

    Args:
        run_dir: The run folder (links are relative to it).
        jobs: Job records (``name``, ``status``, ``wall_s``, ``parameters`` (paths
            are shown once, in ``meta``),
            ``html``, ``error`` with ``where``/``ename``/``evalue``, ``reason``).
        results: The combined results table.
        meta: Run facts shown at the bottom (experiment, profile, versions ...).
        skipped_results: Results or claims files left out, with the reason.
        claims: The combined claims table (None: no claims section content).

    Returns:
        The index path.
    """
    counts = pd.Series([j["status"] for j in jobs], dtype=object).value_counts().to_dict()
    claims = claims if claims is not None else pd.DataFrame()
    n_rows = len(results)
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>MedMod run {html.escape(str(meta.get('run', '')))}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>MedMod run <code>{html.escape(str(meta.get('run', '')))}</code></h1>",
        *(
            [f"<p class='notice'><b>{html.escape(str(meta['data use']))}</b></p>"]
            if meta.get("data use")
            else []
        ),
        f"<p>Notebooks: {html.escape(', '.join(f'{v} {k}' for k, v in counts.items()))}; "
        f"wall time {html.escape(str(meta.get('wall time', '')))}. "
        f"Every number: <a href='results.csv'>results.csv</a> ({n_rows} rows, tidy format); "
        "claim verdicts: <a href='claims.csv'>claims.csv</a>.</p>",
        "<h2>Claims</h2>",
        *_claims_html(claims),
        "<h2>Headline results</h2>",
        "<p>Each task's monitored metric (AUROC, macro AUROC for multi-label tasks, kappa "
        "for length of stay) on its test set, with the 95% bootstrap interval. Test sets "
        "differ in size: compare models within a column.</p>",
        *_headline_html(results, run_dir),
        "<h2>Notebooks</h2><table><tr><th>notebook</th><th>status</th><th>wall time</th>"
        "<th>parameters</th><th>error / reason</th></tr>",
        *(_job_row(j, run_dir) for j in jobs),
        "</table>",
    ]
    for path, reason in skipped_results:
        parts.append(
            f"<p class='failed'>Left out {html.escape(str(path))}: {html.escape(reason)}</p>"
        )
    parts += [
        "<h2>Run</h2><table>",
        *(
            f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
            for k, v in meta.items()
        ),
        f"<tr><th>status</th><td>{html.escape(json.dumps(counts))}</td></tr></table>",
        "</body></html>",
    ]
    index = run_dir / "index.html"
    index.write_text("\n".join(parts), encoding="utf-8")
    return index
