"""Benchmark the EHR pipeline: chartevents.csv.gz -> per-stay hourly inputs.

Generates a synthetic MIMIC-IV release without images, rewrites its
``chartevents.csv.gz`` with at least ``--rows`` rows (``--other-share`` of them items
outside the 17 variables, as most of the real table is), runs
:func:`medmod_lib.ehr.prepare_ehr` in a child process (so its peak RSS,
DuckDB included, is measured alone), then the same path as mimic3-benchmarks
runs it (``mimic3_reference.py``: a row-by-row ``csv.DictReader`` over the
gzip file into per-subject ``events.csv`` files, per-subject pandas episode
extraction, the Python-loop discretizer) on a prefix of the same file. Both
whole-path rates are printed, and the reference's first stage alone.

After the run, one independent DuckDB pass over the input counts its rows, the rows
with a 17-variable itemid and those of them in cohort stays, and checks them against
the pipeline's manifest (nothing lost). Peak disk use (the DuckDB spill folder plus the
processed folder) is sampled during the run.

Targets on 2 cores: >= 1.5 million chartevents rows/s for the whole path to
hourly inputs, peak memory < 4 GB, >= 10x the reference. ``--full-scale`` is the
size of MIMIC-IV v3.1 (about 433 M chartevents rows, 94 k ICU stays; about four rows
in five carry an itemid outside the 17 variables): target under 10 minutes, < 4 GB.

Usage:
    python benchmarks/ehr_extract.py [--rows 20000000] [--patients 4000] [--work DIR]
    python benchmarks/ehr_extract.py --full-scale --work DIR   # ~8 GB free disk, ~12 min
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


def _generate(data: Path, patients: int, rows: int, seed: int, other_share: float) -> None:
    from medmod_lib.synthetic import generate, write_chartevents
    from medmod_lib.synthetic.writer import FORMAT_VERSION

    marker = data / ".ehr_extract_params.json"
    params = {"patients": patients, "rows": rows, "seed": seed, "format": FORMAT_VERSION}
    params["other_share"] = other_share
    if marker.is_file() and json.loads(marker.read_text()) == params:
        print(f"reusing {data}")
        return
    marker.unlink(missing_ok=True)  # a stale marker is a file generate() did not write
    t = time.perf_counter()
    generate(data, patients=patients, seed=seed, images=False)
    write_chartevents(data, rows=rows, seed=seed, other_share=other_share)
    marker.write_text(json.dumps(params))
    print(f"generated {data} in {time.perf_counter() - t:.0f} s (not timed below)")


def _input_counts(data: Path, chart: Path, cohort: pd.DataFrame) -> dict[str, int]:
    """Rows of ``chart``: all, with a 17-variable itemid, and of those in cohort stays.

    Independent of the pipeline: plain DuckDB over the gzip file; the 17-variable items
    are the benchmark's chartevents itemids plus d_items' "Capillary Refill" items.
    """
    import duckdb

    from medmod_lib.paths import mimic_iv_root

    items = mimic_iv_root(data) / "icu" / "d_items.csv.gz"
    ids = reference.itemid_map().query("table == 'chartevents'")["itemid"].astype(int).tolist()
    crr = duckdb.sql(
        f"SELECT itemid FROM read_csv('{items}') WHERE label ILIKE 'Capillary Refill%'"
    )
    ids += [int(i) for (i,) in crr.fetchall()]
    con = duckdb.connect()
    con.execute("SET threads=2")
    con.register("cohort_df", pd.DataFrame({"stay_id": cohort["stay_id"].astype(str)}))
    wanted = ",".join(f"'{i}'" for i in ids)
    q = f"""SELECT count(*), count(*) FILTER (WHERE itemid IN ({wanted})),
                   count(*) FILTER (WHERE itemid IN ({wanted})
                                      AND stay_id IN (SELECT stay_id FROM cohort_df))
            FROM read_csv('{chart}', header=true, all_varchar=true)"""
    total, var17, in_cohort = con.execute(q).fetchone()
    return {"rows": int(total), "rows_17var": int(var17), "rows_17var_cohort": int(in_cohort)}


def _folder_bytes(path: Path) -> int:
    total = 0
    for entry in path.rglob("*") if path.exists() else ():
        try:
            total += entry.stat().st_size if entry.is_file() else 0
        except OSError:  # removed while walking
            pass
    return total


def _status_kib(fields: tuple[str, ...]) -> tuple[int, ...]:
    """Fields of /proc/self/status in bytes (0 where the platform has none)."""
    found = dict.fromkeys(fields, 0)
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in found:
                found[key] = int(rest.split()[0]) * 1024
    except OSError:
        pass
    return tuple(found[f] for f in fields)


def _child(data: Path, out: Path, threads: int, memory_limit: str) -> None:
    """Run the pipeline and print one JSON line with timings, peak memory and disk."""
    from medmod_lib.ehr import DuckDBSettings, EHRConfig, prepare_ehr

    proc, samples, stop = psutil.Process(), [], threading.Event()
    spill = out.parent / "duckdb_spill"
    disk = [0, 0]  # peak of spill + processed folder, peak of the spill folder alone

    def sample() -> None:
        k, uss = 0, 0
        while not stop.is_set():
            if k % 20 == 0:  # uss (private memory, no file-backed pages) is costly to read
                uss = proc.memory_full_info().uss
                # The spill folder and the processed folder.
                spilled = _folder_bytes(spill)
                disk[0] = max(disk[0], spilled + _folder_bytes(out))
                disk[1] = max(disk[1], spilled)
            anon, file_backed = _status_kib(("RssAnon", "RssFile"))
            samples.append((time.perf_counter(), proc.memory_info().rss, uss, anon, file_backed))
            time.sleep(0.05)
            k += 1

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    settings = DuckDBSettings(threads=threads, memory_limit=memory_limit, temp_directory=str(spill))
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
        phase: max((r for x, r, *_ in samples if lo <= x <= hi), default=0)
        for phase, (lo, hi) in bounds.items()
    }
    result = {
        "timings": m["timings"],
        "wall_s": wall,
        "cpu_s": cpu,
        "peak_rss_sampled": max(r for _, r, *_ in samples),
        "peak_uss_sampled": max(u for _, _, u, *_ in samples),
        "peak_anon_sampled": max(a for *_, a, _ in samples),
        "peak_file_sampled": max(f for *_, f in samples),
        "peak_rss_by_phase": phase_peak,
        # Linux keeps the parent's high-water mark across fork + exec, so this is only
        # meaningful when the parent was small (not after generating the data).
        "ru_maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "stays": m["counts"]["cohort_stays"],
        "hourly_bins": m["counts"]["hourly_bins"],
        "chart_rows_kept": m["counts"]["chartevents_rows_with_17var_itemids"],
        "not_stored": sum(n for k, n in m["skips"].items() if k.startswith("chartevents: stay")),
        "peak_disk": disk[0],
        "peak_spill": disk[1],
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
    parser.add_argument(
        "--other-share", type=float, default=0.0, help="share of rows outside the 17 variables"
    )
    parser.add_argument(
        "--full-scale",
        action="store_true",
        help="MIMIC-IV v3.1 size: --rows 433000000 --patients 78000 --other-share 0.8",
    )
    parser.add_argument("--child", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.full_scale:
        args.rows, args.patients, args.other_share = 433_000_000, 78_000, 0.8
    if args.child:
        _child(args.child[0], args.child[1], args.threads, args.memory_limit)
        return

    tmp = None if args.work else tempfile.TemporaryDirectory(prefix="ehr_extract_")
    work = args.work or Path(tmp.name)
    data, out = work / "data", work / "processed"
    _generate(data, args.patients, args.rows, args.seed, args.other_share)
    from medmod_lib.paths import mimic_iv_root

    chart = mimic_iv_root(data) / "icu" / "chartevents.csv.gz"
    print(f"chartevents: {chart.stat().st_size / 1e9:.2f} GB gzip")

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
    stays = pd.read_parquet(out / "stays.parquet")
    t = time.perf_counter()
    inp = _input_counts(data, chart, stays)
    n_rows = inp["rows"]
    stored = res["chart_rows_kept"] - res["not_stored"]
    print(
        f"input (independent DuckDB pass, {time.perf_counter() - t:.0f} s, not timed): "
        f"{n_rows:,} rows; {inp['rows_17var']:,} with a 17-variable itemid "
        f"({inp['rows_17var'] / n_rows:.1%}), {inp['rows_17var_cohort']:,} of them in cohort stays"
    )
    lost = {
        "17-variable rows read": (res["chart_rows_kept"], inp["rows_17var"]),
        "17-variable rows of cohort stays stored": (stored, inp["rows_17var_cohort"]),
    }
    for what, (kit, truth) in lost.items():
        verdict = "equal" if kit == truth else f"DIFFER by {kit - truth:+,}"
        print(f"  nothing lost: {what}: pipeline {kit:,}, input {truth:,}: {verdict}")

    ref = run_reference(chart, stays, args.reference_rows, work)
    ref_tm = ref["timings"]
    ours = n_rows / to_hourly
    ref_reader = ref["rows"] / ref_tm["events_s"]  # stage 1 alone: read, filter, write
    ref_whole = ref["rows"] / sum(ref_tm.values())
    peak = res["peak_rss_sampled"] / 2**30  # sampled every 50 ms (ru_maxrss: see _child)
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
    print(
        f"peak RSS (incl. DuckDB): {peak:.2f} GiB (target < 4): anonymous memory "
        f"{res['peak_anon_sampled'] / 2**30:.2f} GiB at most, file-backed pages (mapped "
        f"files, reclaimable) {res['peak_file_sampled'] / 2**30:.2f} GiB at most"
    )
    print(
        f"peak disk (DuckDB spill folder + processed folder): {res['peak_disk'] / 2**30:.2f} GiB "
        f"(spill folder alone: {res['peak_spill'] / 2**30:.2f} GiB at most); "
        f"processed folder at the end: {_folder_bytes(out) / 2**30:.2f} GiB"
    )
    by_phase = ", ".join(f"{k[:-2]} {v / 2**30:.2f}" for k, v in res["peak_rss_by_phase"].items())
    print(
        f"  by phase (GiB): {by_phase}; private memory (USS) "
        f"{res['peak_uss_sampled'] / 2**30:.2f} GiB"
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
