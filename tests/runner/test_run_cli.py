"""The command line: errors before anything runs, exit codes."""

from __future__ import annotations

import pytest

from medmod_lib import run


def test_bad_experiment_file_exits_2_with_the_reason(tmp_path, capsys):
    bad = tmp_path / "exp.yaml"
    bad.write_text("epoch: 3\n")
    assert run.main(["--experiment", str(bad), "--no-data"]) == 2
    assert "unknown key(s) ['epoch']" in capsys.readouterr().err


def test_unknown_parameter_exits_2_before_running(tmp_path, capsys, make_toys):
    notebooks = make_toys(tmp_path / "nb", names=("00_alpha",))
    exp = tmp_path / "exp.yaml"
    exp.write_text("name: t\nprofile: smoke\nnotebooks: {00_alpha: {epochs: 1}}\n")
    argv = ["--experiment", str(exp), "--no-data", "--notebooks", str(notebooks)]
    assert run.main([*argv, "--reports", str(tmp_path / "rep")]) == 2
    assert "notebooks.00_alpha.epochs" in capsys.readouterr().err
    assert not (tmp_path / "rep").exists()


def test_profile_choice_is_checked():
    with pytest.raises(SystemExit):
        run.main(["--profile", "tpu"])


def test_dry_run_lists_the_grid_and_writes_nothing(tmp_path, capsys, make_toys):
    notebooks = make_toys(tmp_path / "nb", names=("00_alpha", "01_beta"))
    exp = tmp_path / "exp.yaml"
    exp.write_text("name: t\nprofile: smoke\ngrid: {method: [simclr, vicreg]}\nseeds: [0, 1]\n")
    argv = ["--experiment", str(exp), "--notebooks", str(notebooks), "--dry-run"]
    assert run.main([*argv, "--reports", str(tmp_path / "rep")]) == 0
    out = capsys.readouterr().out
    assert "6 executed copies planned (device=cpu, smoke=True)" in out
    assert "01_beta__seed-1_method-vicreg: {'seed': 1, 'method': 'vicreg'}" in out
    assert not (tmp_path / "rep").exists()


def test_a_users_data_root_is_checked_never_generated_into(
    tmp_path, capsys, monkeypatch, make_toys
):
    """MEDMOD_DATA_ROOT pointing at a folder without MIMIC-IV: a clear error, nothing written."""
    notebooks = make_toys(tmp_path / "nb", names=("00_alpha",))
    mine = tmp_path / "my_mimic"
    (mine / "notes").mkdir(parents=True)
    monkeypatch.setenv("MEDMOD_DATA_ROOT", str(mine))
    argv = ["--profile", "smoke", "--notebooks", str(notebooks), "--reports", str(tmp_path / "rep")]
    assert run.main(argv) == 2
    assert "No mimiciv release found" in capsys.readouterr().err
    assert sorted(p.name for p in mine.iterdir()) == ["notes"]


def test_dry_run_checks_values_against_the_declared_choices(tmp_path, capsys):
    """Regression: a misspelled value (`method: vicrag`) passed --dry-run."""
    exp = tmp_path / "exp.yaml"
    exp.write_text("name: t\nprofile: smoke\ngrid: {method: [vicreg, vicrag]}\n")
    assert run.main(["--experiment", str(exp), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "02_pretraining__method-vicrag: method='vicrag'" in err
    assert "vicreg | simclr | align" in err and "method-vicreg" not in err


def test_an_empty_experiment_file_is_an_error(tmp_path, capsys):
    exp = tmp_path / "exp.yaml"
    exp.write_text("# to do\n")
    assert run.main(["--experiment", str(exp), "--dry-run"]) == 2
    assert "is empty" in capsys.readouterr().err


def test_dry_run_states_the_precedence_and_each_profile_override(tmp_path, capsys):
    exp = tmp_path / "exp.yaml"
    exp.write_text("name: t\nprofile: smoke\nparameters: {epochs: 20}\n")
    assert run.main(["--experiment", str(exp), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "precedence, last wins" in out
    assert (
        "02_pretraining: epochs=2 from the smoke profile's notebooks.02_pretraining overrides "
        "the experiment's parameters.epochs=20"
    ) in out


def test_an_imported_processed_folder_needs_only_the_xray_release(
    tmp_path, capsys, monkeypatch, make_toys
):
    """Regression: with $MEDMOD_PROCESSED_DIR the runner no longer demands MIMIC-IV."""
    notebooks = make_toys(tmp_path / "nb", names=("00_alpha",))
    mine = tmp_path / "my_mimic"
    (mine / "mimic-cxr-jpg" / "2.1.0" / "files").mkdir(parents=True)
    imported = tmp_path / "imported"
    imported.mkdir()
    monkeypatch.setenv("MEDMOD_DATA_ROOT", str(mine))
    monkeypatch.setenv("MEDMOD_PROCESSED_DIR", str(imported))
    monkeypatch.setenv("MEDMOD_OUTPUT_DIR", str(tmp_path / "out"))
    argv = ["--profile", "smoke", "--notebooks", str(notebooks), "--reports", str(tmp_path / "rep")]
    assert run.main(argv) == 0
    out = capsys.readouterr().out
    assert f"MIMIC-CXR-JPG {mine / 'mimic-cxr-jpg' / '2.1.0'}" in out
    assert f"the processed folder {imported}" in out
    assert sorted(p.name for p in mine.iterdir()) == ["mimic-cxr-jpg"]  # nothing written there
    # a processed folder that is not there, or no X-ray release: clear errors, exit 2
    monkeypatch.setenv("MEDMOD_PROCESSED_DIR", str(tmp_path / "nowhere"))
    assert run.main(argv) == 2
    assert "which is not a folder" in capsys.readouterr().err
    monkeypatch.setenv("MEDMOD_PROCESSED_DIR", str(imported))
    monkeypatch.setenv("MEDMOD_DATA_ROOT", str(tmp_path / "empty"))
    assert run.main(argv) == 2
    assert "No mimic-cxr-jpg release found" in capsys.readouterr().err
