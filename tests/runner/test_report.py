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


def _results(n_methods: int = 3, test_sets=("paired", "partial"), seeds=(0,)) -> pd.DataFrame:
    rows = []
    for seed in seeds:
        for test_set in test_sets:
            for i in range(n_methods):
                v = 0.6 + 0.01 * i + 0.001 * seed
                rows.append(
                    dict(
                        task="in-hospital-mortality",
                        method=f"m{i}",
                        protocol="supervised",
                        modality="ehr",
                        seed=seed,
                        metric="auroc",
                        value=v,
                        ci_low=v - 0.05,
                        ci_high=v + 0.05,
                        n=100 if test_set == "paired" else 300,
                        test_set=test_set,
                    )
                )
        for f in (0, 50, 100):
            v = 0.7 - f / 1000
            rows.append(
                dict(
                    task="in-hospital-mortality",
                    method="medfuse",
                    protocol="supervised_partial",
                    modality="ehr+cxr",
                    seed=seed,
                    metric=f"auroc@missing{f}",
                    value=v,
                    ci_low=v - 0.05,
                    ci_high=v + 0.05,
                    n=100,
                    test_set="paired",
                )
            )
    return pd.DataFrame(rows)


def _claims(verdicts=("held", "not resolved")) -> pd.DataFrame:
    from medmod_lib.runner.results import CLAIM_COLUMNS

    rows = [
        dict(
            claim=f"mortality.c{seed}",
            task="in-hospital-mortality",
            notebook="03_linear_eval",
            statement="fusion <beats> single",
            a="a",
            b="b",
            test_set="paired",
            metric="auroc",
            value_a=0.8,
            value_b=0.7,
            diff=0.1,
            ci_low=0.02 if v == "held" else -0.02,
            ci_high=0.18,
            n=100,
            n_boot=100,
            seed=seed,
            verdict=v,
        )
        for seed, v in enumerate(verdicts)
    ]
    return pd.DataFrame(rows, columns=list(CLAIM_COLUMNS))


def test_index_opens_with_claims_then_headlines_and_links_the_full_table(tmp_path):
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
    results = _results()
    index = write_index(
        tmp_path,
        jobs,
        results,
        {"run": "r1"},
        [(tmp_path / "bad.csv", "cols")],
        claims=_claims(),
    )
    page = index.read_text()
    assert '<a href="a.html">a</a>' in page and "1.2 s" in page
    assert "b&lt;x&gt;" in page and '<a href="missing.html">' not in page  # no dead links
    assert "cell In [3] (index 3): boom()\nE: v&lt;1&gt;" in page
    assert "why" in page and "Left out" in page and "bad.csv" in page
    assert '{"ok": 1, "failed": 1, "skipped": 1}' in page.replace("&quot;", '"')
    # order: claims, then headline tables, then figures, then notebooks
    at = [page.index(h) for h in ("<h2>Claims", "<h2>Headline", "<h2>Figures", "<h2>Notebooks")]
    assert at == sorted(at)
    assert "fusion &lt;beats&gt; single" in page and "1 of 2 seeds" in page
    assert "+0.100 [+0.020, +0.180] held" in page and "[-0.020, +0.180] not resolved" in page
    # one headline table per task (paired and partial columns), the full table only linked
    assert "0.620 [0.570, 0.670]" in page and "<a href='results.csv'>" in page
    assert page.count("<table") == 4  # claims, one task, notebooks, run facts
    assert "auroc@missing50" not in page
    figures = sorted(p.name for p in (tmp_path / "figures").glob("*.png"))
    assert figures == ["forest_in-hospital-mortality.png", "missing_modality.png"]
    for name in figures:
        assert f"src='figures/{name}'" in page


def test_index_with_no_results(tmp_path):
    page = write_index(tmp_path, [], pd.DataFrame(), {"run": "empty"}).read_text()
    assert "No headline results yet" in page and "No claims were checked" in page


def test_summary_figures_stay_readable_with_many_methods_and_test_sets(tmp_path):
    from PIL import Image

    from medmod_lib.runner import summary

    many = _results(n_methods=40, test_sets=[f"set{i}" for i in range(9)], seeds=(0, 1, 2))
    fig = summary.forest_figure(many, "in-hospital-mortality")
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 9
    rows = {round(ax.get_position().y0, 3) for ax in visible}
    assert len(rows) == 3  # 9 panels wrapped into rows of at most MAX_PANELS_PER_ROW
    assert all(
        sum(round(ax.get_position().y0, 3) == y for ax in visible) <= summary.MAX_PANELS_PER_ROW
        for y in rows
    )
    for path in summary.save_figures(many, tmp_path):
        width, _ = Image.open(path).size
        assert width <= summary.MAX_FIGURE_PX, (path.name, width)
    table = summary.headline_tables(many)["in-hospital-mortality"]
    assert table.shape == (40, 9)
    assert table.iloc[0, 0].endswith("3 seeds)")  # mean and range over seeds, not one interval


def test_a_data_use_notice_opens_the_index(tmp_path):
    meta = {"run": "real", "data use": "Data use notice: credentialed data"}
    page = write_index(tmp_path, [], pd.DataFrame(), meta).read_text()
    assert page.index("class='notice'") < page.index("<h2>Claims")
    plain = write_index(tmp_path, [], pd.DataFrame(), {"run": "synthetic"}).read_text()
    assert "class='notice'" not in plain
