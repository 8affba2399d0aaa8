"""Toy notebooks for the runner tests (tests/runner/fixtures/*.py -> .ipynb)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from medmod_lib.runner import hygiene

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def make_toy_notebooks(dest: Path, names: tuple[str, ...] = ()) -> Path:
    """Copy the toy py:percent notebooks into ``dest`` and build their .ipynb."""
    dest.mkdir(parents=True, exist_ok=True)
    for py in sorted(FIXTURES.glob("*.py")):
        if not names or py.stem in names:
            shutil.copy(py, dest / py.name)
            hygiene.sync_pair(dest / py.name)
    return dest


@pytest.fixture
def toy_notebooks(tmp_path) -> Path:
    return make_toy_notebooks(tmp_path / "notebooks")


@pytest.fixture(scope="session")
def make_toys():
    """The :func:`make_toy_notebooks` function (test modules are not a package)."""
    return make_toy_notebooks
