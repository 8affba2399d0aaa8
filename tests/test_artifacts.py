"""The get-or-build rule: atomic builds, content-checked reuse, partials reclaimed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from medmod_lib import artifacts


def _build_from(table: Path, calls: list, fail_after: int | None = None):
    def build(tmp: Path) -> None:
        calls.append(tmp)
        (tmp / "a.txt").write_text(table.read_text().upper())
        if fail_after == 1:
            raise KeyboardInterrupt  # Ctrl-C in the middle of the build
        (tmp / "b.txt").write_text(str(len(table.read_text())))

    return build


def _ask(out, table, calls, fail_after=None, **settings):
    return artifacts.get_or_build(
        out,
        kind="demo",
        settings={"seed": 0} | settings,
        inputs={"table": table},
        build=_build_from(table, calls, fail_after),
        load=lambda p: (p / "a.txt").read_text(),
    )


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_reused_until_a_setting_or_the_content_changes(tmp_path):
    table = tmp_path / "raw.csv"
    table.write_text("subject,age\n1,30\n")
    out, calls = tmp_path / "out" / "art", []
    assert _ask(out, table, calls) == "SUBJECT,AGE\n1,30\n"
    _ask(out, table, calls)
    assert len(calls) == 1  # reused
    _ask(out, table, calls, seed=1)
    assert len(calls) == 2  # another setting
    _ask(out, table, calls, seed=1)
    assert len(calls) == 2
    # Same size, same (old) modification time, other content: rebuilt.
    st = table.stat()
    table.write_text("subject,age\n1,14\n")
    os.utime(table, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert table.stat().st_size == st.st_size and table.stat().st_mtime_ns == st.st_mtime_ns
    assert _ask(out, table, calls, seed=1) == "SUBJECT,AGE\n1,14\n"
    assert len(calls) == 3
    # Touched but the same content: reused (re-hashed once, then by stat again).
    os.utime(table)
    _ask(out, table, calls, seed=1)
    _ask(out, table, calls, seed=1)
    assert len(calls) == 3


@pytest.mark.parametrize("where", ["build", "swap"])
def test_an_interrupted_build_is_never_reused(tmp_path, monkeypatch, where):
    table = tmp_path / "raw.csv"
    table.write_text("x\n1\n")
    fresh, calls = tmp_path / "fresh" / "art", []
    _ask(fresh, table, calls)
    out = tmp_path / "out" / "art"
    _ask(out, table, calls, seed=1)  # an earlier build with other settings
    if where == "build":
        with pytest.raises(KeyboardInterrupt):
            _ask(out, table, calls, fail_after=1)
    else:
        monkeypatch.setattr(artifacts, "_swap", _raise_interrupt)
        with pytest.raises(KeyboardInterrupt):
            _ask(out, table, calls)
        monkeypatch.undo()
    assert sorted(p.name for p in out.parent.iterdir()) == ["art"]  # no partial left
    assert artifacts.read_stamp(out)["settings"] == {"seed": 1}  # the old one, whole
    n = len(calls)
    _ask(out, table, calls)
    assert len(calls) == n + 1  # rebuilt, not reused
    assert _files(out) == _files(fresh)  # byte-identical to an uninterrupted build


def _raise_interrupt(*args):
    raise KeyboardInterrupt


def test_partials_of_killed_builds_are_reclaimed(tmp_path):
    table = tmp_path / "raw.csv"
    table.write_text("x\n1\n")
    out = tmp_path / "art"
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        text=True,
        capture_output=True,
        check=True,
    )
    pid = int(dead.stdout)
    left = tmp_path / f".art.partial-{pid}-abcd"
    left.mkdir()
    (left / "a.txt").write_text("half")
    live = tmp_path / f".art.partial-{os.getppid()}-abcd"  # another running build: kept
    live.mkdir()
    _ask(out, table, [])
    assert not left.exists() and live.exists()


def test_a_folder_that_is_not_an_artifact_is_never_replaced(tmp_path):
    table = tmp_path / "raw.csv"
    table.write_text("x\n1\n")
    out = tmp_path / "home"
    out.mkdir()
    (out / "thesis.tex").write_text("precious")
    with pytest.raises(ValueError, match="left untouched"):
        _ask(out, table, [])
    assert (out / "thesis.tex").read_text() == "precious"


def test_upstream_digest_invalidates(tmp_path):
    table = tmp_path / "raw.csv"
    table.write_text("x\n1\n")
    calls = []

    def ask(up):
        return artifacts.get_or_build(
            tmp_path / "down",
            kind="down",
            settings={},
            upstream={"up": up},
            build=lambda tmp: calls.append(tmp),
            load=Path,
        )

    ask("a")
    ask("a")
    ask("b")
    assert len(calls) == 2
