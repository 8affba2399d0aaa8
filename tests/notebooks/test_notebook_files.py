"""The committed notebooks: clean jupytext pairs, one skeleton, valid profiles."""

from __future__ import annotations

from pathlib import Path

import pytest

from medmod_lib.runner import hygiene
from medmod_lib.runner.execute import declared_parameters, discover_notebooks
from medmod_lib.runner.experiment import PROFILES, check_parameters, load_experiment

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
PAIRS = hygiene.find_pairs([NOTEBOOKS])


@pytest.mark.parametrize("py", PAIRS, ids=[p.stem for p in PAIRS])
def test_pair_is_clean(py):
    assert hygiene.check_pair(py) == []


def test_every_ipynb_has_a_py_source():
    orphans = [p.name for p in NOTEBOOKS.glob("*.ipynb") if not p.with_suffix(".py").exists()]
    assert orphans == [], "write the .py source (jupytext py:percent) and run `make notebooks`"


def test_template_and_summary_notebook_exist():
    assert (NOTEBOOKS / "_template.py").exists() and (NOTEBOOKS / "05_report.py").exists()


@pytest.mark.parametrize("profile", PROFILES)
def test_profiles_name_only_declared_parameters(profile):
    declared = {nb: declared_parameters(p) for nb, p in discover_notebooks(NOTEBOOKS).items()}
    check_parameters(load_experiment(profile=profile), declared)


def test_every_expected_output_file_belongs_to_a_notebook():
    from medmod_lib.runner.nbtest import expected_dir

    stray = [
        p.name
        for p in expected_dir().glob("*.json")
        if not (NOTEBOOKS / f"{p.stem}.ipynb").exists()
    ]
    assert stray == [], "delete or re-record expected outputs of renamed notebooks"
