"""Issue #6's claim, checked where a user reads it: notebook 02's own results table.

Notebook 02 runs with its defaults (the ``cpu`` profile: VICReg, 12 epochs, every
stay film of the training split) on the default synthetic dataset, seed 0, as
``make demo`` runs it. Its results must show the loss falling and the linear
probe on the pretrained encoders beating the same probe on random encoders for
in-hospital mortality on the held-out (validation + test) pairs. Same seed, same
data, same numbers on CPU; the README lists five seeds.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "02_pretraining.ipynb"

pytestmark = [pytest.mark.notebooks, pytest.mark.slow]


def test_notebook_02_defaults_pretrained_probe_beats_random(tmp_path, monkeypatch):
    import papermill

    from medmod_lib.synthetic import ensure_dataset

    data = ensure_dataset(tmp_path / "data", progress=False)
    out = tmp_path / "out"
    for key, value in {"TQDM_DISABLE": "1", "MPLBACKEND": "Agg", "PYTHONHASHSEED": "0"}.items():
        monkeypatch.setenv(key, value)
    papermill.execute_notebook(
        str(NOTEBOOK),
        str(tmp_path / "02.ipynb"),
        parameters={"data_root": str(data), "output_dir": str(out), "seed": 0, "device": "cpu"},
        kernel_name="python3",
        progress_bar=False,
    )
    (table,) = (out / "results").glob("02_pretraining_*_s0.csv")  # tagged with the method
    results = pd.read_csv(table)
    value = results.set_index("metric")["value"]
    print(value.round(3).to_string())  # both numbers, for the log
    assert value["loss_last_epoch"] < value["loss_first_epoch"]
    assert value["held_out_auroc"] > value["random_init_held_out_auroc"]
    assert value["pair_cosine_gap"] > 0  # a stay's EHR and film end closer than two stays'
