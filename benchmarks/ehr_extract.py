"""Benchmark the EHR pipeline: chartevents.csv.gz -> per-stay hourly inputs.

Generates a synthetic MIMIC-IV release without images, rewrites its
``chartevents.csv.gz`` with at least ``--rows`` rows, runs
:func:`medmod_lib.ehr.prepare_ehr` in a child process (so its peak RSS,
DuckDB included, is measured alone), then the same path as mimic3-benchmarks
runs it (``mimic3_reference.py``: a row-by-row ``csv.DictReader`` over the
gzip file into per-subject ``events.csv`` files, per-subject pandas episode
extraction, the Python-loop discretizer) on a prefix of the same file. Both
whole-path rates are printed, and the reference's first stage alone.

Targets on 2 cores: >= 1.5 million chartevents rows/s for the whole path to
hourly inputs, peak memory < 4 GB, >= 10x the reference.

Usage:
    python benchmarks/ehr_extract.py [--rows 20000000] [--patients 4000] [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import mimic3_reference as m3
import pandas as pd
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from medmod_lib import reference  # noqa: E402


def _generate(data: Path, patients: int, rows: int, seed: int) -> None:
    from medmod_lib.synthetic import generate, write_chartevents
    from medmod_lib.synthetic.writer import FORMAT_VERSION

    marker = data / ".ehr_extract_params.json"
    params = {"patients": patients, "rows": rows, "seed": seed, "format": FORMAT_VERSION}
    if marker.is_file() and json.loads(marker.read_text()) == params:
        print(f"reusing {data}")
        return
    marker.unlink(missing_ok=True)  # a stale marker is a file generate() did not write
    t = time.perf_counter()
    generate(data, patients=patients, seed=seed, images=False)
    write_chartevents(data, rows=rows, seed=seed)
    marker.write_text(json.dumps(params))
    print(f"generated {data} in {time.perf_counter() - t:.0f} s (not timed below)")


def _count_rows(path: Path) -> int:
    import duckdb

    con = duckdb.connect()
    con.execute("SET threads=2")
    q = f"SELECT count(*) FROM read_csv('{path}', header=true, all_varchar=true)"
    return int(con.execute(q).fetchone()[0])


def _child(data: Path, out: Path, threads: int, memory_limit: str) -> None:
    """Run the pipeline and print one JSON line with timings and peak memory."""
    from medmod_lib.ehr import DuckDBSettings, EHRConfig, prepare_ehr

    proc, samples, stop = psutil.Process(), [], threading.Event()

    def sample() -> None:
        k, uss = 0, 0
        while not stop.is_set():
            if k % 20 == 0:  # uss (private memory, no file-backed pages) is costly to read
                uss = proc.memory_full_info().uss
            samples.append((time.perf_counter(), proc.memory_info().rss, uss))
            time.sleep(0.05)
            k += 1

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    settings = DuckDBSettings(threads=threads, memory_limit=memory_limit)
    cpu0 = sum(proc.cpu_times()[:2])
    t = time.perf_counter()
    ehr = prepare_ehr(data, out, EHRConfig(duckdb=settings))
    wall = time.perf_counter() - t
    cpu = sum(proc.cpu_times()[:2]) - cpu0
    stop.set()
    thread.join()
    m = ehr.manifest
    # Peak per phase, from the phase lengths in the manifest.
    bounds, edge = {}, t
    for phase in ("cohort_s", "extract_s", "discretize_s", "tasks_s"):
        bounds[phase] = (edge, edge + m["timings"][phase])
        edge += m["timings"][phase]
    phase_peak = {
        phase: max((r for x, r, _ in samples if lo <= x <= hi), default=0)
        for phase, (lo, hi) in bounds.items()
    }
    result = {
        "timings": m["timings"],
        "wall_s": wall,
        "cpu_s": cpu,
        "peak_rss_sampled": max(r for _, r, _ in samples),
        "peak_uss_sampled": max(u for _, _, u in samples),
        "peak_rss_by_phase": phase_peak,
        "ru_maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "stays": m["counts"]["cohort_stays"],
        "hourly_bins": m["counts"]["hourly_bins"],
        "chart_rows_kept": m["counts"]["chartevents_rows_with_17var_itemids"],
    }
    print("RESULT " + json.dumps(result))


def run_reference(chart: Path, stays: pd.DataFrame, max_rows: int, work: Path) -> dict:
    """The three mimic3-benchmarks stages on the first ``max_rows`` rows, each timed.

    Single-threaded, so CPU time = wall time on an idle core.
    """
    itemids = {str(i) for i in reference.itemid_map()["itemid"]}
    stay_ids = {str(s) for s in stays["stay_id"]}
    timings: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="ehr_reference_", dir=work) as tmp:
        subjects = Path(tmp)
        t = time.perf_counter()
        rows = m3.break_up_by_subject(chart, itemids, stay_ids, max_rows, subjects)
        timings["events_s"] = time.perf_counter() - t
        t = time.perf_counter()
        episodes = m3.extract_episodes(
            subjects, stays[["subject_id", "stay_id", "intime", "outtime"]]
        )
        timings["episodes_s"] = time.perf_counter() - t
        t = time.perf_counter()
        bins = m3.discretize_episodes(subjects)
        timings["discretize_s"] = time.perf_counter() - t
    return {"rows": rows, "episodes": episodes, "bins": bins, "timings": timings}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=20_000_000)
    parser.add_argument("--patients", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--work", type=Path, default=None, help="keep data here (reused)")
    parser.add_argument("--reference-rows", type=int, default=2_000_000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--memory-limit", default="2GB")
    parser.add_argument("--child", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child[0], args.child[1], args.threads, args.memory_limit)
        return

    tmp = None if args.work else tempfile.TemporaryDirectory(prefix="ehr_extract_")
    work = args.work or Path(tmp.name)
    data, out = work / "data", work / "processed"
    _generate(data, args.patients, args.rows, args.seed)
    from medmod_lib.paths import mimic_iv_root

    chart = mimic_iv_root(data) / "icu" / "chartevents.csv.gz"
    n_rows = _count_rows(chart)
    size_gb = chart.stat().st_size / 1e9
    print(f"chartevents: {n_rows:,} rows, {size_gb:.2f} GB gzip")

    cmd = [sys.executable, __file__, "--child", str(data), str(out)]
    cmd += ["--threads", str(args.threads), "--memory-limit", args.memory_limit]
    child = subprocess.run(cmd, capture_output=True, text=True, check=False)
    lines = [x for x in child.stdout.splitlines() if x.startswith("RESULT ")]
    if child.returncode or not lines:
        print(child.stdout[-3000:], child.stderr[-3000:])
        raise SystemExit(f"pipeline failed (exit {child.returncode})")
    res = json.loads(lines[-1][len("RESULT ") :])
    tm = res["timings"]
    to_hourly = tm["cohort_s"] + tm["extract_s"] + tm["discretize_s"]

    ref = run_reference(chart, pd.read_parquet(out / "stays.parquet"), args.reference_rows, work)
    ref_tm = ref["timings"]
    ours = n_rows / to_hourly
    ref_reader = ref["rows"] / ref_tm["events_s"]  # stage 1 alone: read, filter, write
    ref_whole = ref["rows"] / sum(ref_tm.values())
    peak = max(res["peak_rss_sampled"], res["ru_maxrss"]) / 2**30
    load = psutil.getloadavg()[0]
    print(
        f"stays {res['stays']:,}, hourly bins {res['hourly_bins']:,}, "
        f"chartevents rows with the 17-variable itemids {res['chart_rows_kept']:,}"
    )
    print(
        f"timings (s): {tm}; CPU {res['cpu_s']:.1f} s; load average {load:.1f} on {psutil.cpu_count()} cores"
    )
    print(
        f"whole path .csv.gz -> hourly inputs: {to_hourly:.1f} s wall = {ours / 1e6:.2f} M rows/s "
        f"(target >= 1.5); with tasks/listfiles/normalizers: {tm['total_s']:.1f} s"
    )
    print(f"  per CPU-second (whole run): {n_rows / res['cpu_s'] / 1e6:.2f} M rows/s")
    print(f"peak RSS (incl. DuckDB): {peak:.2f} GiB (target < 4)")
    by_phase = ", ".join(f"{k[:-2]} {v / 2**30:.2f}" for k, v in res["peak_rss_by_phase"].items())
    print(
        f"  by phase (GiB): {by_phase}; private memory (USS, without the "
        f"file-backed pages of inputs.npy) {res['peak_uss_sampled'] / 2**30:.2f} GiB"
    )
    print(
        f"reference (mimic3-benchmarks style, first {ref['rows']:,} rows, one core): "
        f"events {ref_tm['events_s']:.1f} s, episodes {ref_tm['episodes_s']:.1f} s "
        f"({ref['episodes']:,} files), discretize {ref_tm['discretize_s']:.1f} s "
        f"({ref['bins']:,} bins)"
    )
    print(
        f"  whole path .csv.gz -> hourly inputs: {ref_whole / 1e6:.3f} M rows/s; "
        f"stage 1 alone (read, filter, write per-subject events.csv): {ref_reader / 1e6:.3f} M rows/s"
    )
    print(
        f"speed-up, whole path: {ours / ref_whole:.1f}x (target >= 10); "
        f"against stage 1 alone, which stops before the hourly inputs: {ours / ref_reader:.1f}x"
    )
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
