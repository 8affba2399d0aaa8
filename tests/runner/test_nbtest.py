"""The nbval harness on toy notebooks: smoke parameters, checked outputs, failures."""

from __future__ import annotations

import json

import nbformat
import pytest

from medmod_lib.runner import nbtest

pytestmark = pytest.mark.notebooks
CHECKED = 'print(f"value={value} method={method}")'


@pytest.fixture
def beta(tmp_path, make_toys):
    notebooks = make_toys(tmp_path / "nb", names=("00_alpha", "01_beta"))
    return notebooks / "01_beta.ipynb"


def _expected(tmp_path, text: str):
    path = tmp_path / "01_beta.json"
    source = f"# NBVAL_CHECK_OUTPUT\n{CHECKED}"
    outputs = [{"output_type": "stream", "name": "stdout", "text": text}]
    path.write_text(json.dumps([{"source": source, "outputs": outputs}]))
    return path


def test_smoke_copy_injects_the_smoke_profile_and_expected_outputs(tmp_path, beta):
    copy = nbtest.smoke_copy(
        beta,
        tmp_path / "copies",
        data_root=tmp_path / "d",
        output_dir=tmp_path / "o",
        expected=_expected(tmp_path, "value=0.844422 method=simclr\n"),
    )
    nb = nbformat.read(copy, 4)
    injected = next(c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", []))
    assert "smoke = True" in injected.source and 'device = "cpu"' in injected.source
    assert f'output_dir = "{tmp_path / "o"}"' in injected.source
    assert "epochs" not in injected.source  # a knob 01_beta does not declare
    assert nbtest.checked_cells(nb)[0].outputs[0]["text"] == "value=0.844422 method=simclr\n"
    assert nb.metadata.kernelspec.name == "python3"


def test_stale_expected_file_is_an_error(tmp_path, beta):
    stale = tmp_path / "stale.json"
    stale.write_text(json.dumps([{"source": "print(1)", "outputs": []}]))
    with pytest.raises(ValueError, match="re-record"):
        nbtest.smoke_copy(beta, tmp_path / "c", data_root=tmp_path, output_dir=tmp_path,
                          expected=stale)  # fmt: skip


def test_nbval_passes_matching_and_fails_changed_outputs(tmp_path, beta):
    env = nbtest.harness_env(tmp_path / "d", tmp_path / "o")
    kwargs = {"data_root": tmp_path / "d", "output_dir": tmp_path / "o"}
    good = nbtest.smoke_copy(
        beta,
        tmp_path / "good",
        **kwargs,
        expected=_expected(tmp_path, "value=0.844422 method=simclr\n"),
    )
    result = nbtest.run_nbval(good, env)
    assert result.returncode == 0, result.stdout + result.stderr
    bad = nbtest.smoke_copy(
        beta, tmp_path / "bad", **kwargs, expected=_expected(tmp_path, "value=0.5 method=simclr\n")
    )
    result = nbtest.run_nbval(bad, env)
    assert result.returncode == 1
    assert "value=0.5" in result.stdout and "1 failed" in result.stdout


def test_sanitizer_hides_timestamps_paths_and_durations():
    import configparser
    import re

    cfg = configparser.ConfigParser()
    cfg.read_string(nbtest.SANITIZE_CFG)
    text = "at 2026-11-23 12:00:01.5 took 3.2 s in /tmp/pytest-of-root/pytest-3/data/x.csv"
    for section in cfg.sections():
        text = re.sub(cfg[section]["regex"], cfg[section]["replace"], text)
    assert text == "at TIMESTAMP took DURATION in PATH"
