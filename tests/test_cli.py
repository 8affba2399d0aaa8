"""Command-line errors: one clear message, a non-zero exit, the traceback only on request."""

from __future__ import annotations

import errno
import os
import subprocess
import sys

import pytest

from medmod_lib import cli


def _prepare(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "medmod_lib.prepare", *args],
        capture_output=True,
        text=True,
        env=os.environ | (env or {}),
    )


@pytest.mark.parametrize(
    "flag, value, words",
    [("--memory-limit", "abc", "memory limit"), ("--threads", "0", "threads")],
)
def test_bad_duckdb_settings_are_named_before_any_data_is_read(
    synthetic_root, tmp_path, flag, value, words
):
    result = _prepare("--mimic-iv", str(synthetic_root), "--out", str(tmp_path / "p"), flag, value)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 2 and words in lines[0] and "--debug" in lines[1]
    assert "DuckDB failed" not in result.stderr and not (tmp_path / "p").exists()


def test_debug_flag_or_environment_shows_the_traceback(synthetic_root, tmp_path):
    args = ["--mimic-iv", str(synthetic_root), "--out", str(synthetic_root / "processed")]
    quiet = _prepare(*args)
    assert quiet.returncode == 1 and "Traceback" not in quiet.stderr
    assert "never writes inside raw data" in quiet.stderr
    assert "Traceback" in _prepare(*args, "--debug").stderr
    assert "Traceback" in _prepare(*args, env={"MEDMOD_DEBUG": "1"}).stderr


def test_cache_size_is_checked_before_the_ehr_is_prepared(synthetic_root, tmp_path, monkeypatch):
    from medmod_lib import prepare, workflow

    monkeypatch.setattr(workflow, "build_processed", lambda *a, **k: pytest.fail("prepared"))
    args = ["--mimic-iv", str(synthetic_root), "--mimic-cxr", str(synthetic_root)]
    with pytest.raises(ValueError, match="cache-size"):
        prepare.main([*args, "--out", str(tmp_path / "p"), "--cache", "--cache-size", "4"])


@pytest.mark.parametrize(
    "err, words",
    [
        (OSError(errno.ENOSPC, "No space left on device", "/big/inputs.npy"), "no space left"),
        (PermissionError(errno.EACCES, "Permission denied", "/ro/out"), "permission denied"),
        (OSError(errno.EROFS, "Read-only file system", "/ro/out"), "permission denied"),
    ],
)
def test_disk_full_and_permission_errors_name_the_path(err, words, capsys, monkeypatch):
    monkeypatch.delenv(cli.DEBUG_ENV, raising=False)

    def main(argv):
        raise err

    assert cli.run(main, prog="tool", argv=[]) == 1
    message = capsys.readouterr().err
    assert words in message and err.filename in message and message.startswith("tool: error:")


def test_ctrl_c_exits_130_and_a_return_code_passes_through(capsys, monkeypatch):
    monkeypatch.delenv(cli.DEBUG_ENV, raising=False)

    def interrupted(argv):
        raise KeyboardInterrupt

    assert cli.run(interrupted, prog="tool", argv=[]) == 130
    assert cli.run(lambda argv: 3, prog="tool", argv=[]) == 3
    assert cli.run(lambda argv: object(), prog="tool", argv=[]) == 0
