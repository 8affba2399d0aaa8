"""MIMIC-IV release -> processed EHR folder: cohort, events, hourly inputs, tasks.

The steps, in order (each one a function of its own module):

1. :func:`~.cohort.build_cohort`, then :func:`~.splits.assign_splits` (seeded,
   subject-level).
2. :func:`~.variables.extract_events`: one DuckDB pass over chartevents and
   labevents into a table of cleaned events of the cohort stays.
3. Per chunk of whole stays (:func:`~.variables.fetch_events`, two chunks processed
   at once, written in chunk order): :func:`~.events.clean_chunk` (duplicates,
   same-time values, derived GCS total), :func:`~.events.wide_table` (rows of
   ``timeseries.parquet``) and :func:`~.events.hourly_inputs` (rows of
   ``hourly/inputs.npy``, indexed by ``hourly/index.parquet``). ``hourly_inputs``
   computes the 76-column hourly array straight from the numeric events; it gives
   the same output as :func:`~.discretizer.discretize_events`, which the pipeline
   does not call.
4. ``stays.parquet``, ``splits.csv``, ``cohort_flow.csv``; per task
   :func:`~.tasks.build_task` -> ``tasks/<task>.parquet``,
   :func:`~.listfiles.write_listfiles`, and a normalizer fitted on the hourly rows
   of the task's training stays (the first 48 h for in-hospital mortality) ->
   ``normalizers/<task>.json``.
5. ``manifest.json`` (inputs, settings, counts, skips, timings) and a printed summary.
"""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm.auto import tqdm

from .. import __version__, reference
from ..reference import Task
from .cohort import CohortConfig, build_cohort, los_hours
from .discretizer import Normalizer, header, n_bins_for
from .events import ChunkCounts, clean_chunk, hourly_inputs, wide_table
from .listfiles import write_listfiles
from .processed import ProcessedEHR
from .reader import DuckDBSettings, MimicIVReader, SkipLog
from .splits import DEFAULT_FRACTIONS, SPLITS, assign_splits
from .tasks import (
    EHR_TASKS,
    IHM_HOURS,
    EventSummary,
    build_task,
    phenotype_code_counts,
    phenotype_prevalence_by_version,
)
from .variables import EVENTS_TABLE, KEPT, VariableConfig, extract_events, fetch_events

#: Chunks of the events pass processed at once (numpy and Arrow release the GIL).
_WORKERS = 2


@dataclass(frozen=True)
class EHRConfig:
    """Everything that decides the processed folder's content.

    Attributes:
        cohort: cohort filters.
        variables: variable extraction switches.
        tasks: EHR tasks to build (radiology comes from the CXR side).
        seed: seed of the subject-level split.
        split_fractions: train/val/test shares.
        duckdb: DuckDB threads / memory limit / spill folder.
        chunk_events: events per discretization chunk (bounds memory; whole
            stays per chunk).
        phenotype_map: ICD codes -> the 25 phenotypes: ``"ccs"`` keys codes on
            (icd_version, icd_code), ICD-10 through AHRQ CCS for ICD-10-CM v2019.1;
            ``"medfuse"`` reproduces MedFuse's string lookup in its YAML.
    """

    cohort: CohortConfig = field(default_factory=CohortConfig)
    variables: VariableConfig = field(default_factory=VariableConfig)
    tasks: tuple[str, ...] = tuple(t.value for t in EHR_TASKS)
    seed: int = 0
    split_fractions: tuple[float, float, float] = DEFAULT_FRACTIONS
    duckdb: DuckDBSettings = field(default_factory=DuckDBSettings)
    chunk_events: int = 2_000_000
    phenotype_map: str = "ccs"

    def __post_init__(self) -> None:
        if self.phenotype_map not in reference.PHENOTYPE_MAPS:
            raise ValueError(
                f"phenotype_map must be one of {reference.PHENOTYPE_MAPS}, "
                f"got {self.phenotype_map!r}"
            )
        for t in self.tasks:
            if Task.parse(t) not in EHR_TASKS:
                raise ValueError(
                    f"{t!r} is not an EHR task; choose from {[x.value for x in EHR_TASKS]}"
                )


def _check_out(out: Path, raw: Path) -> None:
    from ..paths import check_output_location

    check_output_location(out, raw)


def input_files(reader: MimicIVReader, config: EHRConfig) -> dict[str, Path]:
    """Table name -> file of every MIMIC-IV table the pipeline reads with ``config``."""
    tables = ["patients", "admissions", "icustays", "chartevents", "d_items", "diagnoses_icd"]
    tables += ["labevents"] if config.variables.use_labevents else []
    return {t: reader.path(t) for t in tables}


def output_settings(config: EHRConfig) -> dict:
    """``config`` as JSON without what cannot change the folder (DuckDB threads, memory, scratch)."""
    settings = json.loads(json.dumps(dataclasses.asdict(config), default=str))
    settings.pop("duckdb")
    return settings


def _chunks(reader: MimicIVReader, stay_ids: np.ndarray, chunk_events: int) -> list[np.ndarray]:
    """Split sorted ``stay_ids`` into runs of whole stays with about ``chunk_events`` events."""
    counts = reader.sql(
        f"SELECT stay_id, count(*) AS n FROM {EVENTS_TABLE} WHERE code = {KEPT} GROUP BY stay_id"
    )
    n = counts.set_index("stay_id")["n"].reindex(stay_ids, fill_value=0).to_numpy()
    group = np.cumsum(n) // max(int(chunk_events), 1)
    return [stay_ids[group == g] for g in np.unique(group)]


def _events_pass(
    reader: MimicIVReader,
    stays: pd.DataFrame,
    out: Path,
    config: EHRConfig,
) -> tuple[EventSummary, pd.DataFrame, int, ChunkCounts]:
    """Write timeseries.parquet and hourly/{inputs.npy,index.parquet} chunk by chunk."""
    ends = los_hours(stays).sort_index()
    n_bins = np.array([n_bins_for(e) for e in ends.to_numpy()], dtype=np.int64)
    total = int(n_bins.sum())
    (out / "hourly").mkdir(parents=True, exist_ok=True)
    cols = header()
    path = out / "hourly" / "inputs.npy"
    head = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(total, len(cols)))
    start = head.offset  # bytes of the .npy header; rows are written after it, in order
    del head
    _allocate(path)
    schema = pa.schema(
        [("stay_id", pa.int64()), ("Hours", pa.float64())]
        + [(c, pa.string()) for c in reference.channels()]
    )
    summaries, indexes, offset, n_rows, counts = [], [], 0, 0, ChunkCounts()
    chunks = _chunks(reader, ends.index.to_numpy(), config.chunk_events)

    def process(ev: dict[str, np.ndarray], chunk: np.ndarray):
        """The per-chunk numpy/Arrow work; runs on a worker thread (mostly GIL-free)."""
        ev, c = clean_chunk(ev, config.variables.derive_gcs_total)
        frame = pd.DataFrame({"stay_id": ev["stay_id"], "hours": ev["hours"]})
        summary = EventSummary.from_events(frame, ends.loc[chunk])
        arr, idx = hourly_inputs(ev, ends.loc[chunk])
        return c, summary, arr, idx, wide_table(ev, schema)

    # DuckDB fetches in this thread; two chunks are processed at once; results are
    # written in chunk order, so the output does not depend on thread timing.
    # Plain sequential writes, not a memory map: written pages then sit in the page
    # cache, not in this process's resident memory (about 1.4 GB at MIMIC-IV's size).
    with (
        path.open("r+b") as inputs,
        pq.ParquetWriter(out / "timeseries.parquet", schema) as writer,
        ThreadPoolExecutor(max_workers=_WORKERS) as pool,
    ):
        inputs.seek(start)
        pending: deque = deque()
        for chunk in tqdm(chunks, desc="hourly inputs", unit="chunk"):
            pending.append(pool.submit(process, fetch_events(reader, chunk[0], chunk[-1]), chunk))
            while len(pending) > _WORKERS or (pending and chunk is chunks[-1]):
                c, summary, arr, idx, table = pending.popleft().result()
                counts += c
                summaries.append(summary)
                if len(arr):  # a chunk of stays shorter than one bin has no rows
                    inputs.write(memoryview(np.ascontiguousarray(arr, dtype=np.float32)).cast("B"))
                idx["offset"] += offset
                offset += len(arr)
                indexes.append(idx)
                n_rows += table.num_rows
                writer.write_table(table)
    if offset != total:  # every stay's bins were written exactly once
        raise RuntimeError(f"{path}: wrote {offset} hourly rows, expected {total}")
    index = pd.concat(indexes, ignore_index=True)
    index.to_parquet(out / "hourly" / "index.parquet", index=False)
    return EventSummary.concat(summaries), index, n_rows, counts


def _allocate(path: Path) -> None:
    """Reserve the disk blocks of a new (sparse) file now.

    ``open_memmap`` creates a sparse file: on a full disk, a later write to it (through a
    memory map: SIGBUS, no message) fails late. Reserving the blocks first turns that
    into an ``OSError`` that names the file and its size, before any work is done.
    """
    size = path.stat().st_size
    with open(path, "r+b") as fh:
        try:
            os.posix_fallocate(fh.fileno(), 0, size)
        except AttributeError:  # not on this platform
            return
        except OSError as err:
            if err.errno in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
                return  # the filesystem cannot reserve; writes fail as before
            raise OSError(
                err.errno, f"{err.strerror}: cannot reserve {size / 1e9:.2f} GB", str(path)
            ) from err


def _fit_normalizer(
    inputs: np.ndarray, index: pd.DataFrame, stay_ids: np.ndarray, first: int | None
) -> Normalizer:
    norm = Normalizer()
    idx = index.set_index("stay_id").loc[np.unique(stay_ids)]
    buf, size = [], 0
    for off, n in zip(idx["offset"].to_numpy(), idx["n_bins"].to_numpy(), strict=True):
        n = n if first is None else min(n, first)
        buf.append(inputs[off : off + n])
        size += n
        if size >= 1_000_000:
            norm.partial_fit(np.concatenate(buf), header() if norm.header is None else None)
            buf, size = [], 0
    if buf:
        norm.partial_fit(np.concatenate(buf), header() if norm.header is None else None)
    return norm


def prepare_ehr(
    mimic_iv_root: str | Path, out: str | Path, config: EHRConfig | None = None
) -> ProcessedEHR:
    """Run the EHR pipeline and write the processed folder (CONTRIBUTING layout).

    Args:
        mimic_iv_root: data root, ``mimiciv`` folder or release folder (v2.2/v3.x).
        out: processed folder to (re)write; must not overlap the raw data.
        config: pipeline settings.

    Returns:
        A :class:`ProcessedEHR` over ``out``.
    """
    config = config or EHRConfig()
    out = Path(out)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    skips = SkipLog()
    reader = MimicIVReader(mimic_iv_root, config.duckdb)
    _check_out(out, reader.root)
    out.mkdir(parents=True, exist_ok=True)
    files = {
        t: {"path": str(p), "bytes": p.stat().st_size}
        for t, p in input_files(reader, config).items()
    }
    try:
        for table in ("icustays", "chartevents"):  # an empty one would pass silently
            reader.require_rows(table)
        stays, flow = build_cohort(reader, config.cohort, skips)
        splits = assign_splits(stays["subject_id"], config.seed, config.split_fractions)
        stays = stays.merge(splits, on="subject_id", how="left")
        timings["cohort_s"] = time.perf_counter() - t0

        t = time.perf_counter()
        stats = extract_events(reader, stays, config.variables, skips)
        timings["extract_s"] = time.perf_counter() - t
        t = time.perf_counter()
        summary, index, n_ts_rows, counts = _events_pass(reader, stays, out, config)
        skips.add("events", "exact duplicate rows", counts.duplicates)
        skips.add(
            "events",
            "same-time values of one channel (benchmark: largest number or string)",
            counts.same_time,
        )
        stats.gcs_total_derived = counts.gcs_total_derived
        stats.events_per_channel = dict(
            zip(reference.channels(), counts.per_channel.tolist(), strict=True)
        )
        timings["discretize_s"] = time.perf_counter() - t
        no_events = int((summary.n_in_stay.reindex(stays["stay_id"]).fillna(0) == 0).sum())
        skips.add(
            "stays", "no events within the stay (kept in stays.parquet, no task samples)", no_events
        )
        diagnoses = reader.sql(
            f"""SELECT hadm_id, icd_code, icd_version FROM
            {reader.scan("diagnoses_icd", ["hadm_id", "icd_code", "icd_version"])}
            WHERE hadm_id IN (SELECT hadm_id FROM cohort)""",
            "diagnoses_icd",
        )
    finally:
        reader.close()

    # Events charted within the stay, (-eps, LOS + eps): cohorts that take stays
    # directly (radiology linked to EHR) drop and count the stays without any.
    stays["n_events"] = (
        summary.n_in_stay.reindex(stays["stay_id"]).fillna(0).astype("int64").to_numpy()
    )
    stays.to_parquet(out / "stays.parquet", index=False)
    splits.to_csv(out / "splits.csv", index=False)
    flow.to_csv(out / "cohort_flow.csv", index=False)

    t = time.perf_counter()
    inputs = np.load(out / "hourly" / "inputs.npy", mmap_mode="r")
    split_of = stays.set_index("stay_id")["split"]
    (out / "tasks").mkdir(exist_ok=True)
    task_counts: dict[str, dict[str, int]] = {}
    phenotypes: dict[str, object] = {}
    for name in tqdm(config.tasks, desc="tasks", unit="task"):
        task = Task.parse(name)
        samples = build_task(task, stays, summary, diagnoses, config.phenotype_map)
        if task == Task.PHENOTYPING:
            phenotypes = _phenotype_report(samples, stays, diagnoses, config, skips)
        samples.insert(2, "split", samples["stay_id"].map(split_of).to_numpy())
        samples.to_parquet(out / "tasks" / f"{task.value}.parquet", index=False)
        write_listfiles(task, samples, stays, out / "listfiles")
        task_counts[task.value] = {s: int((samples["split"] == s).sum()) for s in SPLITS}
        train = samples.loc[samples["split"] == "train", "stay_id"].to_numpy()
        first = int(IHM_HOURS) if task == Task.IN_HOSPITAL_MORTALITY else None
        if len(train):
            _fit_normalizer(inputs, index, train, first).save(
                out / "normalizers" / f"{task.value}.json"
            )
        else:
            skips.add(task.value, "no training samples: normalizer not written", 1)
    timings["tasks_s"] = time.perf_counter() - t
    timings["total_s"] = time.perf_counter() - t0

    manifest = {
        "kit_version": __version__,
        "source": {"mimic_iv": str(reader.root), "version": reader.version, "files": files},
        "parameters": json.loads(json.dumps(dataclasses.asdict(config), default=str)),
        "counts": {
            "cohort_stays": int(len(stays)),
            "cohort_subjects": int(stays["subject_id"].nunique()),
            "chartevents_rows_with_17var_itemids": stats.chartevents_rows,
            "labevents_rows_with_17var_itemids_of_cohort_subjects": stats.labevents_rows,
            "events_per_channel": stats.events_per_channel,
            "timeseries_rows": n_ts_rows,
            "hourly_bins": int(index["n_bins"].sum()),
            "samples": task_counts,
        },
        "variables": {
            "capillary_refill_itemids": stats.crr_itemids,
            "non_blood_lab_itemids_dropped": stats.non_blood_itemids,
            "gcs_total_derived": stats.gcs_total_derived,
            "range_dropped": stats.range_dropped,
            "unknown_values": stats.unknown_values,
        },
        "skips": skips.as_dict(),
        "phenotypes": phenotypes,
        "hourly": {"header": header(), "timestep": 1.0, "impute_strategy": "previous"},
        "timings": {k: round(v, 3) for k, v in timings.items()},
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))
    ehr = ProcessedEHR(out)
    print(summary_text(ehr, flow, skips, task_counts))
    return ehr


def _phenotype_report(
    samples: pd.DataFrame,
    stays: pd.DataFrame,
    diagnoses: pd.DataFrame,
    config: EHRConfig,
    skips: SkipLog,
) -> dict[str, object]:
    """Code mapping counts and label prevalence by ICD version (manifest ``phenotypes``)."""
    counts = phenotype_code_counts(diagnoses, config.phenotype_map)
    for version, c in counts.items():
        skips.add(
            "diagnoses_icd",
            f"ICD-{version} codes in no phenotype map group (unmapped; manifest 'phenotypes')",
            c["unmapped"],
        )
    prevalence = phenotype_prevalence_by_version(samples, stays, diagnoses)
    return {
        "map": config.phenotype_map,
        "icd10_source": "AHRQ CCS for ICD-10-CM v2019.1"
        if config.phenotype_map == "ccs"
        else "icd_9_10_definitions_2.yaml (MedFuse)",
        "codes_by_icd_version": counts,
        "prevalence_by_icd_version": json.loads(prevalence.round(4).to_json()),
    }


def summary_text(
    ehr: ProcessedEHR, flow: pd.DataFrame, skips: SkipLog, task_counts: dict[str, dict[str, int]]
) -> str:
    """The printed end-of-run summary."""
    lines = [f"Processed EHR folder: {ehr.root}", "Cohort flow:", flow.to_string(index=False)]
    lines.append("Samples (train / val / test):")
    for task, c in task_counts.items():
        lines.append(f"  {task:<24} {c['train']:>9,d} {c['val']:>9,d} {c['test']:>9,d}")
    prevalence = ehr.manifest.get("phenotypes", {}).get("prevalence_by_icd_version")
    if prevalence:
        table = pd.DataFrame(prevalence)
        lines.append(
            f"Phenotype prevalence by ICD version (map {ehr.manifest['phenotypes']['map']!r}):"
        )
        lines.append(table.to_string(float_format=lambda x: f"{x:.3f}"))
    lines += ["Skipped or filtered rows:", skips.summary()]
    lines.append(f"Timings: {ehr.manifest['timings']}")
    return "\n".join(lines)
