"""Figures of a GPU check (``check.sh``): the machine, then one JSON of every result.

    python benchmarks/gpu/collect.py env WORK/env.json
    python benchmarks/gpu/collect.py figures --work WORK --out OUT/gpu_check.json

``env`` records the interpreter, torch and its CUDA build, the GPU, and the
versions of the packages the kit uses. ``figures`` combines that with the
phases ``check.sh`` timed (``WORK/phases.tsv``), the JSON of
``benchmarks/train_step.py`` and ``benchmarks/cxr_loader.py``, and the notebook
run's ``run_state.json`` and ``results.csv``, and adds a short summary: the
best train-step rate per method and precision, the best loader rates (SSL
augmentations on the CPU cores, and on the device) against the 3,000 images/s
goal, and the notebooks that finished.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

#: Packages whose versions the report records (the kit's runtime requirements).
PACKAGES = (
    "torch",
    "torchvision",
    "numpy",
    "pandas",
    "pyarrow",
    "duckdb",
    "scikit-learn",
    "pillow",
    "matplotlib",
    "seaborn",
    "transformers",
    "sentence-transformers",
    "papermill",
    "nbclient",
    "ipykernel",
    "jupytext",
    "nbconvert",
)

#: Loader goal on an H100: the pretraining loader never starves the GPU.
LOADER_GOAL_IMAGES_PER_S = 3000.0


def environment() -> dict:
    """The interpreter, torch/CUDA, the GPU and package versions."""
    import torch

    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    cuda = torch.cuda.is_available()
    env = {
        "python": platform.python_version(),
        "python_executable": sys.executable,
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "torch_cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if cuda else None,
        "cuda_available": cuda,
        "gpu_count": torch.cuda.device_count() if cuda else 0,
        "gpu": torch.cuda.get_device_name(0) if cuda else None,
        "bf16_supported": bool(cuda and torch.cuda.is_bf16_supported()),
        "packages": versions,
    }
    try:
        smi = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,memory.total,driver_version", "--format=csv"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        env["nvidia_smi"] = smi.stdout.strip() or smi.stderr.strip()
    except (OSError, subprocess.TimeoutExpired) as err:
        env["nvidia_smi"] = f"unavailable: {err}"
    return env


def read_json(path: Path) -> dict | None:
    """A JSON file; None when the phase that writes it did not finish, and an
    ``{"unreadable": ...}`` record when it was cut off while writing."""
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        return {"unreadable": f"{path}: {err}"}


def read_phases(path: Path) -> dict[str, dict]:
    """``name -> {status, rc, wall_s}`` from check.sh's tab-separated phase log."""
    phases: dict[str, dict] = {}
    if path.is_file():
        for line in path.read_text().splitlines():
            name, status, rc, wall = line.split("\t")
            phases[name] = {"status": status, "rc": int(rc), "wall_s": float(wall)}
    return phases


def notebook_figures(run_dir: Path) -> dict | None:
    """Per-notebook status and wall time, and the combined results table."""
    state = read_json(run_dir / "run_state.json")
    if state is None or "unreadable" in state:
        return state
    jobs = []
    for name, job in state["jobs"].items():
        row = {"name": name, "status": job["status"], "wall_s": job.get("wall_s")}
        if job.get("error"):
            row["error"] = {k: str(v)[:500] for k, v in job["error"].items()}
        jobs.append(row)
    results = []
    if (run_dir / "results.csv").is_file():
        with open(run_dir / "results.csv", newline="") as f:
            results = list(csv.DictReader(f))
    return {"meta": state["meta"], "jobs": jobs, "results": results}


def summarize(figures: dict) -> dict:
    """The headline numbers of a check."""
    out: dict = {}
    ts = figures.get("train_step")
    if ts:
        best: dict[str, float] = {}
        for r in ts.get("runs", []):
            cl = "channels_last" if r["channels_last"] else "contiguous"
            key = f"{r['method']} {r['device']} {r['precision']} {cl}"
            best[key] = max(best.get(key, 0.0), r["samples_per_s"])
        out["train_step_samples_per_s"] = best
    loader = figures.get("cxr_loader") or {}
    for where, prefix in (("", "ssl_loader_"), ("_device_aug", "ssl_device_aug_")):
        rates = {
            k: v for k, v in loader.items() if k.startswith(prefix) and k.endswith("_images_per_s")
        }
        if rates:
            key = max(rates, key=rates.get)
            out[f"ssl_loader{where}_best"] = {"key": key, "images_per_s": rates[key]}
            out[f"ssl_loader{where}_goal_met"] = rates[key] >= LOADER_GOAL_IMAGES_PER_S
            out["ssl_loader_goal_images_per_s"] = LOADER_GOAL_IMAGES_PER_S
    nbs = figures.get("notebooks")
    if nbs:
        out["notebooks_ok"] = [
            j["name"] for j in nbs.get("jobs", []) if j["status"] in ("ok", "cached")
        ]
        out["notebooks_not_ok"] = [
            f"{j['name']}: {j['status']}"
            for j in nbs.get("jobs", [])
            if j["status"] not in ("ok", "cached")
        ]
        out["notebook_wall_s"] = {j["name"]: j["wall_s"] for j in nbs.get("jobs", [])}
    return out


def cut_off_notebook(log: Path | None) -> str | None:
    """The notebook the runner had started last (``[k/n] NAME ...`` in the check's log)."""
    if log is None or not log.is_file():
        return None
    started = re.findall(r"^\[\d+/\d+\] (\S+) \.\.\.$", log.read_text(), flags=re.M)
    return started[-1] if started else None


def figures(
    work: Path, *, mode: str, budget_s: float, total_s: float, log: Path | None = None
) -> dict:
    """Everything a check measured, from the files its phases wrote under ``work``.

    ``log`` (the check's own log) names the notebook a timeout cut off.
    """
    out = {
        "mode": mode,
        "budget_s": budget_s,
        "total_s": round(total_s, 1),
        "env": read_json(work / "env.json"),
        "phases": read_phases(work / "phases.tsv"),
        "train_step": read_json(work / "train_step.json"),
        "cxr_loader": read_json(work / "cxr_loader.json"),
        "notebooks": notebook_figures(work / "reports" / "gpu-check"),
    }
    out["summary"] = summarize(out)
    if out["phases"].get("notebooks", {}).get("status") == "timeout":
        out["summary"]["notebook_cut_off_by_the_budget"] = cut_off_notebook(log)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    env = sub.add_parser("env", help="write the machine's description")
    env.add_argument("out", type=Path)
    fig = sub.add_parser("figures", help="combine a check's results into one JSON")
    fig.add_argument("--work", type=Path, required=True)
    fig.add_argument("--out", type=Path, required=True)
    fig.add_argument("--mode", default="gpu")
    fig.add_argument("--budget-s", type=float, default=0.0)
    fig.add_argument("--total-s", type=float, default=0.0)
    fig.add_argument("--log", type=Path, default=None, help="the check's log so far")
    args = parser.parse_args(argv)
    if args.command == "env":
        data = environment()
        args.out.write_text(json.dumps(data, indent=2))
        print(json.dumps({k: data[k] for k in ("python", "torch", "gpu", "cpu_count")}))
        return 0
    data = figures(
        args.work, mode=args.mode, budget_s=args.budget_s, total_s=args.total_s, log=args.log
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data, indent=2))
    print(json.dumps(data["summary"], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
