"""Experiment files: profiles, precedence, strict parameter names, grid expansion."""

from __future__ import annotations

import pytest

from medmod_lib.runner.experiment import (
    Experiment,
    ExperimentError,
    UnknownParameterError,
    expand_jobs,
    load_experiment,
)

COMMON = {"data_root", "output_dir", "seed", "device", "smoke"}
DECLARED = {
    "00_tour": COMMON,
    "02_pretraining": COMMON | {"method", "epochs"},
    "03_linear_eval": COMMON | {"method", "epochs", "protocol"},
}
ORDER = list(DECLARED)


def _write(tmp_path, text: str):
    path = tmp_path / "exp.yaml"
    path.write_text(text)
    return path


def test_profile_is_the_base_and_experiment_overrides_it(tmp_path):
    path = _write(tmp_path, "name: x\nprofile: smoke\nparameters: {epochs: 7}\n")
    exp = load_experiment(path)
    assert exp.profile == "smoke" and exp.smoke is True and exp.device == "cpu"
    assert exp.parameters["epochs"] == 7  # experiment beats profile (1)
    assert exp.parameters["batch_size"] == 8  # from the smoke profile
    assert load_experiment(path, profile="gpu").parameters["amp"] is True  # --profile wins


def test_default_experiment_is_demo_on_cpu():
    exp = load_experiment()
    assert (exp.name, exp.profile, exp.smoke, exp.seeds, exp.summary) == (
        "demo", "cpu", False, [0], "05_report",
    )  # fmt: skip


@pytest.mark.parametrize(
    "text, match",
    [
        ("epochs: 3\n", "unknown key"),
        ("grid: {method: simclr}\n", "non-empty list"),
        ("grid: {seed: [1, 2]}\n", "use `seeds:`"),
        ("seeds: [a]\n", "list of ints"),
        ("- 1\n", "mapping"),
        ("a: [\n", "not valid YAML"),
    ],
)
def test_malformed_files_are_rejected_with_the_file_named(tmp_path, text, match):
    path = _write(tmp_path, text)
    with pytest.raises(ExperimentError, match=match) as err:
        load_experiment(path)
    assert "exp.yaml" in str(err.value) or match == "list of ints"


def test_missing_file_and_unknown_profile():
    with pytest.raises(ExperimentError, match="does not exist"):
        load_experiment("/nonexistent/exp.yaml")
    with pytest.raises(ExperimentError, match="Unknown profile"):
        load_experiment(profile="tpu")


@pytest.mark.parametrize(
    "exp, fragment",
    [
        (Experiment(notebooks={"02_pretraining": {"epoch": 3}}), "notebooks.02_pretraining.epoch"),
        (Experiment(notebooks={"00_tour": {"method": "x"}}), "notebooks.00_tour.method"),
        (Experiment(notebooks={"09_missing": {}}), "no notebook 09_missing"),
        (Experiment(parameters={"lr_typo": 1}), "parameters.lr_typo"),
        (Experiment(parameters={"seed": 1}), "top-level key"),
        (Experiment(grid={"methd": ["a", "b"]}), "grid.methd"),
    ],
)
def test_unknown_parameter_names_are_errors(exp, fragment):
    with pytest.raises(UnknownParameterError, match="Unknown parameter") as err:
        expand_jobs(exp, DECLARED, ORDER)
    assert fragment in str(err.value)


def test_standard_knob_without_a_declaring_notebook_is_allowed_and_not_passed():
    jobs = expand_jobs(Experiment(parameters={"batch_size": 4}), DECLARED, ORDER)
    assert all("batch_size" not in j.parameters for j in jobs)


def test_grid_expands_only_for_declaring_notebooks():
    exp = Experiment(
        seeds=[0, 1],
        grid={"method": ["simclr", "vicreg", "align"]},
        parameters={"epochs": 5},
        notebooks={"03_linear_eval": {"epochs": 2, "protocol": "linear"}},
        device="cpu",
    )
    jobs = expand_jobs(exp, DECLARED, ORDER)
    names = [j.name for j in jobs]
    assert names[:2] == ["00_tour__seed-0", "00_tour__seed-1"]
    assert len(jobs) == 2 + 6 + 6
    assert "02_pretraining__seed-1_method-vicreg" in names
    by_name = {j.name: j for j in jobs}
    pre = by_name["02_pretraining__seed-0_method-align"]
    assert pre.parameters == {
        "epochs": 5, "method": "align", "seed": 0, "device": "cpu", "smoke": False,
    }  # fmt: skip
    lin = by_name["03_linear_eval__seed-1_method-simclr"]
    assert lin.parameters["epochs"] == 2 and lin.parameters["protocol"] == "linear"
    assert lin.grid == {"seed": 1, "method": "simclr"}
    assert by_name["00_tour__seed-0"].grid == {"seed": 0}


def test_single_value_axes_stay_out_of_names():
    jobs = expand_jobs(Experiment(grid={"method": ["a/b c"]}), DECLARED, ORDER)
    assert [j.name for j in jobs] == ["00_tour", "02_pretraining", "03_linear_eval"]
    jobs = expand_jobs(Experiment(grid={"method": ["a/b c", "d"]}), DECLARED, ["02_pretraining"])
    assert jobs[0].name == "02_pretraining__method-a-b-c"


def test_repr_shows_the_grid():
    assert repr(Experiment(seeds=[0, 1], grid={"method": ["a", "b", "c"]})) == (
        "Experiment(name='demo', profile='cpu', grid=seed[2] x method[3])"
    )


def test_summary_notebook_runs_once_whatever_the_grid():
    declared = {**DECLARED, "05_report": COMMON | {"method"}}
    exp = Experiment(seeds=[4, 5], grid={"method": ["a", "b"]})
    jobs = expand_jobs(exp, declared, ["05_report"])
    assert [(j.name, j.grid) for j in jobs] == [("05_report", {"seed": 4})]


@pytest.mark.parametrize(
    "help_text, default, expected",
    [
        ("vicreg | simclr (NT-Xent) | align (CLIP loss)", "vicreg", ["vicreg", "simclr", "align"]),
        ("probed method (vicreg | simclr | align)", "simclr", ["vicreg", "simclr", "align"]),
        ("modalities (ehr | cxr | ehr+cxr); [] skips", ["ehr+cxr"], ["ehr", "cxr", "ehr+cxr"]),
        (
            "epoch selection: val_loss (no labels) | auto (MedMod: probe)",
            "val_loss",
            ["val_loss", "auto"],
        ),
        ("stand-in: learnable | zeros", "zeros", ["learnable", "zeros"]),
        ("the gpu profile runs all five tasks", "x", None),
        ("a | b", "c", None),  # the default is not among them: prose, not a declaration
        ("a | b", 3, None),
    ],
)
def test_choices_declared_in_parameter_comments(help_text, default, expected):
    from medmod_lib.runner.experiment import choices_from_help

    assert choices_from_help(help_text, default) == expected
