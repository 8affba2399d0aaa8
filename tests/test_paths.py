from __future__ import annotations

import pytest

from medmod_lib import paths


def test_data_root_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(paths.DATA_ROOT_ENV, str(tmp_path))
    assert paths.data_root() == tmp_path
    monkeypatch.delenv(paths.DATA_ROOT_ENV)
    assert paths.data_root() == paths.project_root() / "data" / "synthetic"


def test_release_folders_are_found_at_any_level(tmp_path):
    release = tmp_path / "mimiciv" / "2.2"
    (release / "hosp").mkdir(parents=True)
    assert paths.mimic_iv_root(tmp_path) == release
    assert paths.mimic_iv_root(tmp_path / "mimiciv") == release
    assert paths.mimic_iv_root(release) == release


def test_newest_release_wins(tmp_path):
    for v in ("2.2", "3.1"):
        (tmp_path / "mimiciv" / v / "hosp").mkdir(parents=True)
    assert paths.mimic_iv_root(tmp_path).name == "3.1"


def test_missing_release_names_the_fix(tmp_path):
    (tmp_path / "mimiciv" / "9.9").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="MEDMOD_DATA_ROOT") as err:
        paths.mimic_cxr_root(tmp_path)
    assert str(tmp_path) in str(err.value)
