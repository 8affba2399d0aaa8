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


def test_an_output_overlapping_any_raw_folder_is_refused(tmp_path):
    import pytest

    from medmod_lib.paths import check_output_location, raw_folders

    root = tmp_path / "physionet"
    iv, cxr = root / "mimiciv" / "3.1", root / "mimic-cxr-jpg" / "2.1.0"
    (iv / "hosp").mkdir(parents=True)
    cxr.mkdir(parents=True)
    # Given only the MIMIC-IV release, the data root and the X-ray release are found too.
    assert {root, iv, cxr} <= set(raw_folders(iv))
    for bad in (cxr / "x", root / "processed", iv, tmp_path):
        with pytest.raises(ValueError, match="never writes inside raw data"):
            check_output_location(bad, iv)
    assert check_output_location(tmp_path / "outputs", iv) == (tmp_path / "outputs").resolve()
