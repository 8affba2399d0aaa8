"""The run's index page and notebook 05, looked at in headless chromium.

Both pages are built from the same kind of tables a demo run writes (several
seeds, models and test sets, missing-modality sweeps and claims), rendered by
chromium to a PNG, and checked for size sanity: the page is not blank, and no
figure on it is wider than 2,500 px or has more than 12 panels in a row (figures
are read back from the page itself: ``<img>`` files of the index, the base64
PNGs embedded in notebook 05's HTML). Skips when chromium is absent (``make
browser`` installs it where root and apt are available).
"""

from __future__ import annotations

import base64
import io
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from medmod_lib.runner.report import write_index

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
MAX_FIGURE_PX = 2500
MAX_PANELS_PER_ROW = 12


def _browser() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    pytest.skip("chromium not installed (make browser)")


def screenshot(page: Path, out: Path, width: int = 1280, height: int = 2400) -> Image.Image:
    """Render ``page`` in headless chromium to ``out`` and return the image."""
    cmd = [
        _browser(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        f"--window-size={width},{height}",
        f"--screenshot={out}",
        page.resolve().as_uri(),
    ]
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)
    return Image.open(out)


def _tables(seeds=(0, 1)) -> tuple[pd.DataFrame, pd.DataFrame]:
    from medmod_lib.runner.results import CLAIM_COLUMNS

    rows, claims = [], []
    models = [
        ("ehr_only", "ehr"),
        ("cxr_only", "cxr"),
        ("medfuse", "ehr+cxr"),
        ("joint", "ehr+cxr"),
        ("vicreg", "ehr+cxr"),
    ]
    for seed in seeds:
        for task, metric in (("in-hospital-mortality", "auroc"), ("radiology", "auroc_macro")):
            for test_set in ("paired", "partial"):
                for i, (method, modality) in enumerate(models):
                    v = 0.6 + 0.04 * i
                    rows.append(
                        dict(
                            task=task,
                            method=method,
                            protocol="supervised",
                            modality=modality,
                            seed=seed,
                            metric=metric,
                            value=v,
                            ci_low=v - 0.06,
                            ci_high=v + 0.06,
                            n=300,
                            test_set=test_set,
                        )
                    )
            for trained_on in ("paired", "partial"):
                for f in (0, 20, 40, 60, 80, 100):
                    v = 0.8 - f / 1000
                    rows.append(
                        dict(
                            task=task,
                            method="medfuse",
                            protocol=f"supervised_{trained_on}",
                            modality="ehr+cxr",
                            seed=seed,
                            metric=f"{metric}@missing{f}",
                            value=v,
                            ci_low=v - 0.05,
                            ci_high=v + 0.05,
                            n=300,
                            test_set="paired",
                        )
                    )
        for k in range(9):
            claims.append(
                dict(
                    claim=f"c{k}",
                    task="radiology",
                    notebook="03_linear_eval",
                    statement=f"claim number {k}",
                    a="a",
                    b="b",
                    test_set="paired",
                    metric="auroc_macro",
                    value_a=0.8,
                    value_b=0.7,
                    diff=0.1,
                    ci_low=0.02,
                    ci_high=0.18,
                    n=300,
                    n_boot=200,
                    seed=seed,
                    verdict="held",
                )
            )
    for method in ("vicreg", "simclr"):
        for seed in seeds:
            for metric, v in (("held_out_auroc", 0.75), ("random_init_held_out_auroc", 0.7)):
                rows.append(
                    dict(
                        task="in-hospital-mortality",
                        method=method,
                        protocol="pretrain-probe",
                        modality="ehr+cxr",
                        seed=seed,
                        metric=metric,
                        value=v + 0.01 * seed,
                        ci_low=np.nan,
                        ci_high=np.nan,
                        n=91,
                        test_set=np.nan,
                    )
                )
    return pd.DataFrame(rows), pd.DataFrame(claims, columns=list(CLAIM_COLUMNS))


def _panels_per_row(image: Image.Image, min_line_px: int = 40) -> int:
    """Panels side by side: the most long dark horizontal lines on one pixel row.

    Every panel draws its x axis as a dark line across its width, and the panels of
    one row share that line's height, so the pixel row through them crosses one long
    run of dark pixels per panel.
    """
    dark = np.asarray(image.convert("L"), dtype=np.float32) < 150
    most = 0
    for row in dark:
        edges = np.flatnonzero(np.diff(np.r_[0, row.astype(np.int8), 0]))
        lengths = edges[1::2] - edges[::2]
        most = max(most, int((lengths >= min_line_px).sum()))
    return most


def _check_figure(image: Image.Image, where: str) -> None:
    width, height = image.size
    assert width <= MAX_FIGURE_PX, f"{where}: figure {width} px wide"
    assert height > 50, f"{where}: empty figure"
    assert _panels_per_row(image) <= MAX_PANELS_PER_ROW, where


def _not_blank(shot: Image.Image) -> None:
    grey = np.asarray(shot.convert("L"), dtype=np.float32)
    assert grey.std() > 10, "the page rendered blank"


def test_index_page_reads_well_in_a_browser(tmp_path):
    results, claims = _tables()
    jobs = [{"name": "03_linear_eval", "status": "ok", "wall_s": 1.0, "parameters": {}}]
    index = write_index(tmp_path, jobs, results, {"run": "demo"}, claims=claims)
    shot = screenshot(index, tmp_path / "index.png")
    _not_blank(shot)
    page = index.read_text()
    images = re.findall(r"<img src='([^']+)'", page)
    assert len(images) == 4  # two forest plots, the missing-modality curves, pretraining
    for src in images:
        _check_figure(Image.open(tmp_path / src), src)
    assert page.index("<h2>Claims") < page.index("<h2>Headline") < page.index("<img")


@pytest.mark.notebooks
def test_notebook_05_figures_stay_readable(tmp_path, monkeypatch):
    import papermill
    from nbconvert import HTMLExporter

    from medmod_lib.runner.results import save_claims, save_results

    results, claims = _tables(seeds=(0, 1, 2))
    out = tmp_path / "out"
    save_results(results, out, "03_linear_eval_s0")
    save_claims(claims, out, "03_linear_eval_s0")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    executed = tmp_path / "05.ipynb"
    papermill.execute_notebook(
        str(ROOT / "notebooks" / "05_report.ipynb"),
        str(executed),
        parameters={"output_dir": str(out), "device": "cpu"},
        kernel_name="python3",
        progress_bar=False,
    )
    body, _ = HTMLExporter(template_name="lab").from_filename(str(executed))
    html_path = tmp_path / "05.html"
    html_path.write_text(body, encoding="utf-8")
    _not_blank(screenshot(html_path, tmp_path / "05.png"))
    pngs = re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", body)
    images = [Image.open(io.BytesIO(base64.b64decode(data))) for data in pngs]
    figures = [im for im in images if min(im.size) > 50]  # the page's icons are tiny
    assert len(figures) == 4, len(figures)  # each figure once: two forests, sweep, pretraining
    for k, image in enumerate(figures):
        _check_figure(image, f"05 figure {k}")
    assert "claim number 8" in body and "3 of 3 seeds" in body
