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
