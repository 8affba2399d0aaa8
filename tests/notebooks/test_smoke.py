"""Every numbered notebook (then the template), in smoke mode through nbval (--nbval-lax).

One test per notebook, so a failure names it. The notebooks share one output
folder (02 leaves checkpoints that 03 uses) and the session's synthetic data.
Checked cells (``# NBVAL_CHECK_OUTPUT``) compare with
``tests/notebooks/expected/<NN_name>.json``; record it with
``python -m medmod_lib.runner.nbtest record notebooks/NN_name.ipynb``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from medmod_lib.runner import nbtest
from medmod_lib.runner.execute import discover_notebooks

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
# The template runs too: authors copy it, and its checked cell tests the mechanism.
NUMBERED = [*discover_notebooks(NOTEBOOKS).values(), NOTEBOOKS / "_template.ipynb"]

pytestmark = pytest.mark.notebooks


@pytest.fixture(scope="session")
def smoke_outputs(tmp_path_factory) -> Path:
    """The output root shared by the notebooks of this session."""
    return tmp_path_factory.mktemp("notebook-outputs")


@pytest.mark.parametrize("notebook", NUMBERED, ids=[p.stem for p in NUMBERED])
def test_notebook_runs_in_smoke_mode(notebook, synthetic_root, smoke_outputs, tmp_path):
    expected = nbtest.expected_dir() / f"{notebook.stem}.json"
    output_dir = smoke_outputs / "runs" / "smoke"
    copy = nbtest.smoke_copy(
        notebook,
        tmp_path / "copy",
        data_root=synthetic_root,
        output_dir=output_dir,
        expected=expected if expected.exists() else None,
    )
    result = nbtest.run_nbval(copy, nbtest.harness_env(synthetic_root, smoke_outputs))
    assert result.returncode == 0, (
        f"{notebook.name} failed in smoke mode:\n{result.stdout[-6000:]}\n{result.stderr[-2000:]}"
    )
