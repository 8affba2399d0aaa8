"""Scratch of killed runs is reclaimed on the next run; workers die with their parent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from medmod_lib import scratch


def _dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    return int(done.stdout)


def test_scratch_of_dead_processes_is_removed_and_live_or_foreign_kept(tmp_path):
    dead = _dead_pid()
    gone = [f"medmod_duckdb_{dead}_abcd1234", f"medmod_chartevents_{dead}_x1y2z3w4"]
    kept = [
        f"medmod_duckdb_{os.getpid()}_mine",  # this process
        f"medmod_labevents_{os.getppid()}_live",  # a running process
        "chartevents_new12345",  # legacy, recent: may belong to a running older kit
        f"unrelated_{dead}_abc",
    ]
    old = tmp_path / "chartevents_old12345"  # legacy (no pid) and two days old
    for name in [*gone, *kept]:
        (tmp_path / name).mkdir()
        (tmp_path / name / "00000.csv").write_text("x")
    old.mkdir()
    two_days = time.time() - 2 * 24 * 3600
    os.utime(old, (two_days, two_days))
    removed = scratch.reclaim(tmp_path)
    assert sorted(p.name for p in removed if p.parent == tmp_path) == sorted([*gone, old.name])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(kept)


def test_the_next_reader_reclaims_a_killed_runs_chunks(tmp_path):
    from medmod_lib.ehr import DuckDBSettings, MimicIVReader

    sys.path.insert(0, str(Path(__file__).parent / "ehr"))
    from mimic_tables import stay, write_release

    root = write_release(tmp_path / "raw", [stay(1)])
    chunks = tmp_path / "chunks"
    left = chunks / f"medmod_chartevents_{_dead_pid()}_abcdefgh"
    left.mkdir(parents=True)
    (left / "00000.csv").write_bytes(b"0" * 1000)
    reader = MimicIVReader(root, DuckDBSettings(chunk_directory=str(chunks)))
    reader.con  # noqa: B018 - the connection is where scratch is set up
    assert not left.exists()
    assert Path(reader.temp_dir).name.startswith(f"medmod_duckdb_{os.getpid()}_")
    reader.close()


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def test_cache_workers_die_when_their_parent_is_killed(tmp_path):
    pid_file = tmp_path / "workers.txt"
    script = textwrap.dedent(
        f"""
        import os, time
        from medmod_lib.cxr.cache import worker_pool
        pool = worker_pool(2)
        pids = {{f.result() for f in [pool.submit(os.getpid) for _ in range(8)]}}
        pool.submit(time.sleep, 120)
        open({str(pid_file)!r}, "w").write(" ".join(map(str, sorted(pids))))
        os.kill(os.getpid(), 9)
        """
    )
    # No pipes: a surviving worker would hold them open and hang the test.
    done = subprocess.run(
        [sys.executable, "-c", script], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        timeout=120,
    )  # fmt: skip
    assert done.returncode == -9
    workers = [int(p) for p in pid_file.read_text().split()]
    assert workers
    deadline = time.time() + 10
    try:
        while time.time() < deadline and any(_running(p) for p in workers):
            time.sleep(0.1)
        assert not any(_running(p) for p in workers)
    finally:
        for pid in workers:
            if _running(pid):
                os.kill(pid, signal.SIGKILL)
