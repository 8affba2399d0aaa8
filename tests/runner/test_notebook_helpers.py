"""The setup-cell helpers of medmod_lib.notebook."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest
import torch

from medmod_lib import notebook
from medmod_lib.runner.results import REQUIRED_COLUMNS


def test_seed_everything_repeats_all_generators():
    draws = []
    for _ in range(2):
        notebook.seed_everything(123)
        draws.append((random.random(), np.random.rand(), torch.rand(1).item()))
    assert draws[0] == draws[1]


def test_resolve_device():
    assert notebook.resolve_device("cpu") == "cpu"
    expected = "cuda" if torch.cuda.is_available() else notebook.resolve_device("auto")
    assert notebook.resolve_device("auto") == expected
    if not torch.cuda.is_available():
        assert notebook.resolve_device("auto") in ("cpu", "mps")
        with pytest.raises(ValueError, match="CUDA is not available"):
            notebook.resolve_device("cuda:0")


def test_setup_resolves_paths_and_caps_display(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MEDMOD_OUTPUT_DIR", str(tmp_path / "out"))
    monkeypatch.setenv("MEDMOD_DATA_ROOT", str(tmp_path / "data"))
    ctx = notebook.setup(name="02_x", seed=5, device="cpu", smoke=True)
    assert ctx.output_dir == tmp_path / "out" / "runs" / "interactive" and ctx.output_dir.is_dir()
    assert ctx.data_root == tmp_path / "data" and ctx.seed == 5 and ctx.smoke is True
    assert pd.get_option("display.max_rows") == 30
    out = capsys.readouterr().out
    assert "torch " in out and "02_x: seed=5 device=cpu (" in out
    explicit = notebook.setup(name="y", output_dir=tmp_path / "o2", verbose=False)
    assert explicit.output_dir == tmp_path / "o2" and capsys.readouterr().out == ""


def test_context_save_results_names_the_file_by_notebook_tag_and_seed(tmp_path):
    ctx = notebook.setup(name="03_eval", seed=2, output_dir=tmp_path, verbose=False)
    row = ["mortality", "simclr", "linear", "ehr", 2, "auroc", 0.7, 0.6, 0.8, 50]
    path = ctx.save_results(pd.DataFrame([row], columns=list(REQUIRED_COLUMNS)), tag="simclr")
    assert path == tmp_path / "results" / "03_eval_simclr_s2.csv"
    assert pd.read_csv(path)["value"].tolist() == [0.7]


def test_versions_lists_the_main_libraries():
    v = notebook.versions()
    assert v["torch"].startswith("2.") and set(notebook.VERSIONED) <= set(v)


def test_evaluation_rows_with_provenance_columns_are_saved(tmp_path):
    """Rows from medmod_lib.evaluation (required + provenance columns) go through save_results."""
    import numpy as np

    from medmod_lib.evaluation import evaluate_predictions
    from medmod_lib.runner.results import combine_results, save_results

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    rows = evaluate_predictions(
        "in-hospital-mortality",
        y,
        np.clip(0.3 * rng.random(200) + 0.5 * y, 0, 1),
        method="m",
        protocol="p",
        modality="ehr",
        seed=0,
        n_boot=20,
    )
    path = save_results(rows, tmp_path, "eval")
    combined = combine_results([path]).table
    assert combined["n_boot"].eq(20).all() and len(combined) == len(rows)
