"""``benchmarks/gpu/``: the GPU check's dry run on a CPU, its wheel list and experiment.

The check itself needs the GPU machine; here its ``--dry-run`` runs the same
phases at tiny settings and must write the one JSON of figures the GPU run
would (README, "GPU check").
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tarfile

import pytest

PHASES = ("install", "env", "data", "train_step", "cxr_loader", "notebooks")


@pytest.fixture(scope="module")
def dry_run(repo_root, tmp_path_factory):
    """``(exit status, $OUT folder)`` of ``check.sh --dry-run``."""
    base = tmp_path_factory.mktemp("gpu-check")
    env = os.environ | {
        "OUT": str(base / "out"),
        "CHECK_WORK": str(base / "work"),
        "PYTHON": sys.executable,
        "OMP_NUM_THREADS": "1",
    }
    env.pop("MEDMOD_DATA_ROOT", None)
    done = subprocess.run(
        ["bash", str(repo_root / "benchmarks" / "gpu" / "check.sh"), "--dry-run"],
        env=env,
        cwd=base,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return done, base / "out"


@pytest.mark.slow
@pytest.mark.notebooks
def test_dry_run_writes_every_figure(dry_run):
    done, out = dry_run
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    # what comes back from the device machine: <= 8 plain files with plain names
    names = sorted(p.name for p in out.iterdir())
    assert names == ["check.log", "gpu_check.json", "report.tar.gz"]
    assert all(re.fullmatch(r"[A-Za-z0-9._-]+", n) for n in names)

    fig = json.loads((out / "gpu_check.json").read_text())
    assert fig["mode"] == "dry-run" and 0 < fig["total_s"] <= fig["budget_s"]
    assert list(fig["phases"]) == list(PHASES)
    for name, phase in fig["phases"].items():
        assert phase["status"] == "ok" and phase["rc"] == 0, name
        assert phase["wall_s"] >= 0
    env = fig["env"]
    assert env["python"] and env["torch"] and env["cpu_count"] > 0
    assert env["cuda_available"] is False and env["gpu"] is None
    assert env["packages"]["papermill"] and env["packages"]["duckdb"]

    runs = fig["train_step"]["runs"]
    assert {(r["amp"], r["channels_last"]) for r in runs} == {
        ("off", False), ("off", True), ("auto", False), ("auto", True)
    }  # fmt: skip
    assert all(r["samples_per_s"] > 0 for r in runs)

    loader = fig["cxr_loader"]
    assert loader["images"] == loader["ssl_cached_images"] > 0
    assert loader["ssl_preset"] == "simclr" and loader["ssl_views"] == 2
    for w in (0, 1):
        assert loader[f"ssl_loader_{w}_workers_images_per_s"] > 0
        assert loader[f"ssl_device_aug_{w}_workers_images_per_s"] > 0  # BatchSSLAugment

    jobs = fig["notebooks"]["jobs"]
    assert [j["name"] for j in jobs] == ["00_data_tour"]
    assert jobs[0]["status"] == "ok" and jobs[0]["wall_s"] > 0
    assert fig["notebooks"]["meta"]["profile"] == "smoke"

    summary = fig["summary"]
    assert summary["notebooks_ok"] == ["00_data_tour"] and summary["notebooks_not_ok"] == []
    assert len(summary["train_step_samples_per_s"]) == 2  # contiguous and channels_last
    assert summary["ssl_loader_best"]["images_per_s"] > 0
    assert summary["ssl_loader_device_aug_best"]["images_per_s"] > 0
    assert summary["ssl_loader_goal_images_per_s"] == 3000

    with tarfile.open(out / "report.tar.gz") as tar:
        members = set(tar.getnames())
    assert {"gpu-check/index.html", "gpu-check/run_state.json"} <= members
    assert "gpu-check/00_data_tour.ipynb" in members
    assert "=== notebooks: ok" in (out / "check.log").read_text()


def test_wheel_list_matches_requirements(load_benchmark, repo_root, capsys):
    """wheels.txt names what requirements.txt needs beyond the GPU image (regenerate:
    ``benchmarks/gpu/wheels.sh --list``)."""
    wl = load_benchmark("gpu/wheel_list")
    assert wl.main([]) == 0
    fresh = capsys.readouterr().out

    def names(text: str) -> set[str]:
        return {ln.split("==")[0] for ln in text.splitlines() if ln and not ln.startswith("#")}

    committed = (repo_root / "benchmarks" / "gpu" / "wheels.txt").read_text()
    assert names(fresh) == names(committed)
    needed = names(committed)
    assert {"duckdb", "papermill", "nbclient", "ipykernel", "jupytext"} <= needed
    assert not needed & {"torch", "torchvision", "pandas", "pyarrow", "scikit-learn", "tqdm"}


def test_closure_walks_dependencies_and_skips_the_image(load_benchmark):
    wl = load_benchmark("gpu/wheel_list")
    found = wl.closure(["papermill"], skip={"tqdm", "requests", "aiohttp"})  # aiohttp: 3.12 only
    assert {"papermill", "nbclient", "nbformat", "jupyter-client"} <= set(found)
    assert not {"tqdm", "requests"} & set(found)
    with pytest.raises(LookupError, match="not installed here"):
        wl.closure(["surely-not-an-installed-package"], skip=set())


def test_check_experiment_names_only_declared_parameters(repo_root, capsys):
    from medmod_lib.run import main

    check = repo_root / "benchmarks" / "gpu" / "check.yaml"
    assert main(["--experiment", str(check), "--dry-run", "--run", "gpu-check"]) == 0
    shown = capsys.readouterr().out
    assert "profile='gpu'" in shown and "'text_encoder': 'hashing'" in shown


def test_figures_survive_phases_cut_off_by_the_budget(load_benchmark, tmp_path):
    collect = load_benchmark("gpu/collect")
    (tmp_path / "phases.tsv").write_text(
        "train_step\tok\t0\t12.5\nnotebooks\ttimeout\t124\t300.0\n"
    )
    run = {"method": "simclr", "device": "cuda", "precision": "bfloat16", "batch": 256}
    (tmp_path / "train_step.json").write_text(
        json.dumps(
            {
                "runs": [
                    run | {"channels_last": True, "samples_per_s": 900.0},
                    run | {"channels_last": False, "samples_per_s": 700.0},
                ]
            }
        )
    )
    (tmp_path / "cxr_loader.json").write_text(
        json.dumps(
            {
                "ssl_loader_4_workers_images_per_s": 800.0,
                "ssl_loader_16_workers_images_per_s": 3100.0,
                "ssl_device_aug_4_workers_images_per_s": 2900.0,
            }
        )
    )
    (tmp_path / "reports" / "gpu-check").mkdir(parents=True)
    (tmp_path / "reports" / "gpu-check" / "run_state.json").write_text('{"meta": {"run"')  # cut off

    log = tmp_path / "check.log"
    log.write_text("=== notebooks\n[1/3] 00_data_tour ...\n    ok in 9.0 s\n[2/3] 01_linking ...\n")
    fig = collect.figures(tmp_path, mode="gpu", budget_s=480, total_s=470.04, log=log)
    assert fig["phases"]["notebooks"] == {"status": "timeout", "rc": 124, "wall_s": 300.0}
    assert fig["env"] is None and "unreadable" in fig["notebooks"]
    assert fig["summary"]["train_step_samples_per_s"] == {
        "simclr cuda bfloat16 channels_last": 900.0,
        "simclr cuda bfloat16 contiguous": 700.0,
    }
    assert fig["summary"]["ssl_loader_best"]["key"] == "ssl_loader_16_workers_images_per_s"
    assert fig["summary"]["ssl_loader_goal_met"] is True
    assert fig["summary"]["ssl_loader_device_aug_best"]["images_per_s"] == 2900.0
    assert fig["summary"]["ssl_loader_device_aug_goal_met"] is False
    assert fig["summary"]["notebooks_ok"] == []
    assert fig["summary"]["notebook_cut_off_by_the_budget"] == "01_linking"
