"""Read a mimic3-benchmarks / MedFuse task folder into a kit processed folder.

For users who already ran the MIMIC-IV port of the benchmark (MedFuse's
``mimic4extract``): the folder with ``root/all_stays.csv`` and ``<task>/{train,test}/``
episodes plus ``<task>/{train,val,test}_listfile.csv`` (layout: :mod:`.layout`) becomes a
folder :class:`~medmod_lib.ehr.processed.ProcessedEHR` opens: ``stays.parquet``,
``splits.csv``, ``timeseries.parquet``, ``hourly/``, ``tasks/``, ``normalizers/`` and
``listfiles/``, so cohorts can be linked (:func:`medmod_lib.linking.link_cohorts`) and
models trained on the benchmark's own extraction. :func:`compare_labels` checks its
labels against a kit-built folder where both have the sample. With
``MEDMOD_PROCESSED_DIR`` pointing at it, the notebooks run on it
(:func:`medmod_lib.workflow.ensure_processed` uses it as is).

Rules:

* Listfile flavour per file: MedFuse's when its third column is ``stay_id``; otherwise the
  stay comes from the episode name, numbering the subject's ``all_stays.csv`` stays by
  ``intime`` as the benchmark does.
* Splits from the listfiles (train / val / test); a subject in two splits is an error.
* One episode per stay is read, from the task whose window is the whole stay
  (phenotyping, length-of-stay, decompensation; in-hospital mortality files end at 48 h and
  are used only for stays no other task has; ``manifest.json`` counts them).
* Hourly inputs are discretized to the stay's LOS (``los`` x 24), normalizers fitted on the
  train split, as ``prepare`` does.

Examples:
    python -m medmod_lib.export.importer --benchmark data/mimic4extract --out outputs/imported \
        --compare outputs/processed
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from .. import __version__, artifacts, reference
from ..ehr.cohort import STAY_COLUMNS, number_episodes
from ..ehr.discretizer import Normalizer, discretize_events, header
from ..ehr.listfiles import write_listfiles
from ..ehr.processed import ProcessedEHR
from ..ehr.tasks import los_bucket
from ..ehr.windows import long_events
from ..paths import check_output_location
from ..reference import Task
from .layout import EPS, EXPORT_TASKS, FOLDER_OF_SPLIT, IHM_HOURS, check_out, episode_header

SPLITS = ("train", "val", "test")
#: Tasks whose episode files hold the whole stay, preferred in this order.
WHOLE_STAY = (Task.PHENOTYPING, Task.LENGTH_OF_STAY, Task.DECOMPENSATION)


def read_all_stays(path: Path) -> pd.DataFrame:
    """``root/all_stays.csv`` (MedFuse lower-case or mimic3-benchmarks upper-case) as kit stays."""
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} does not exist. The import needs the benchmark's root/all_stays.csv "
            "(written by `mimic3benchmark.scripts.extract_subjects_iv`); pass --all-stays PATH."
        )
    raw = pd.read_csv(path)
    raw.columns = [c.lower() for c in raw.columns]
    raw = raw.rename(columns={"icustay_id": "stay_id", "ethnicity": "race"})
    missing = {"subject_id", "stay_id", "intime", "outtime", "los"} - set(raw.columns)
    if missing:
        raise ValueError(f"{path} lacks the columns {sorted(missing)}; found {list(raw.columns)}")
    if "mortality_inhospital" not in raw and "mortality" in raw:
        raw["mortality_inhospital"] = raw["mortality"]
    if "first_careunit" not in raw and "last_careunit" in raw:
        raw["first_careunit"] = raw["last_careunit"]  # the cohort keeps no transfers
    for c in STAY_COLUMNS:
        if c not in raw:
            raw[c] = pd.NA
    for c in ("intime", "outtime", "admittime", "dischtime", "deathtime", "dod"):
        raw[c] = pd.to_datetime(raw[c])
    for c in ("subject_id", "stay_id"):
        raw[c] = raw[c].astype("int64")
    return raw[STAY_COLUMNS].drop_duplicates("stay_id")


def _read_listfile(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype={"stay": str})
    if frame.columns[0] != "stay":
        raise ValueError(f"{path} is not a benchmark listfile (first column {frame.columns[0]!r})")
    return frame


def read_task(folder: Path, task: Task, stay_of_name: dict[str, int]) -> pd.DataFrame:
    """Every listfile row of ``task``: ``stay`` (episode file), ``stay_id``, ``split``,
    ``period_length`` (48 for in-hospital mortality) and the labels."""
    parts = []
    for split in SPLITS:
        path = folder / task.value / f"{split}_listfile.csv"
        if not path.is_file():
            raise FileNotFoundError(
                f"{path} does not exist; run mimic3-benchmarks' `mimic3models.split_train_val` "
                "on the task folder first."
            )
        rows = _read_listfile(path).assign(split=split)
        by_name = rows["stay"].map(stay_of_name)
        if "stay_id" in rows:
            clash = by_name.notna() & (by_name != rows["stay_id"])
            if clash.any():
                raise ValueError(
                    f"{path}: stay_id disagrees with the episode name for "
                    f"{rows.loc[clash, 'stay'].head(3).tolist()} (all_stays.csv numbering)"
                )
        else:
            if by_name.isna().any():
                bad = rows.loc[by_name.isna(), "stay"].head(3).tolist()
                raise ValueError(f"{path}: episodes {bad} match no stay of all_stays.csv")
            rows["stay_id"] = by_name.astype("int64")
        parts.append(rows)
    rows = pd.concat(parts, ignore_index=True)
    if task == Task.IN_HOSPITAL_MORTALITY or "period_length" not in rows:
        rows["period_length"] = IHM_HOURS
    rows["period_length"] = rows["period_length"].astype(float)
    rows["stay_id"] = rows["stay_id"].astype("int64")
    return rows


def _read_episode(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    if list(frame.columns) != episode_header():
        if frame.columns[0] != "Hours" or set(frame.columns) != set(episode_header()):
            raise ValueError(
                f"{path}: header {list(frame.columns)[:4]}... is not Hours + the 17 channels"
            )
        frame = frame[episode_header()]
    frame["Hours"] = frame["Hours"].astype(float)
    return frame


def import_benchmark(
    folder: str | Path,
    out: str | Path,
    *,
    all_stays: str | Path | None = None,
    tasks: list[str] | None = None,
    progress: bool = True,
) -> ProcessedEHR:
    """Write the kit's processed folder ``out`` from a benchmark task folder.

    Args:
        folder: holds ``<task>/`` folders (and ``root/all_stays.csv``).
        out: the processed folder to write (must not overlap ``folder``).
        all_stays: ``all_stays.csv`` if not at ``folder/root/all_stays.csv``.
        tasks: tasks to read (default: every task folder present).
        progress: show a progress bar over episodes.

    The folder is written into a temporary sibling and renamed into place when
    complete (:mod:`medmod_lib.artifacts`); an earlier import at ``out`` is replaced whole.

    Raises:
        FileNotFoundError, ValueError: missing or inconsistent files (named in the message).
    """
    folder, out = Path(folder), Path(out)
    check_out(out, {"benchmark folder": folder})
    check_output_location(out)
    if out.is_dir() and any(out.iterdir()):
        manifest = out / "manifest.json"
        if not manifest.is_file() or not json.loads(manifest.read_text())["source"].get("imported"):
            raise ValueError(
                f"--out {out} is not empty and is not an earlier import; choose a new folder."
            )
    chosen = (
        [Task.parse(t) for t in tasks]
        if tasks
        else [t for t in EXPORT_TASKS if (folder / t.value).is_dir()]
    )
    if not chosen:
        raise FileNotFoundError(f"{folder} holds none of the task folders {EXPORT_TASKS}")
    all_rows = read_all_stays(Path(all_stays) if all_stays else folder / "root" / "all_stays.csv")
    names = (
        all_rows["subject_id"].astype(str)
        + "_episode"
        + number_episodes(all_rows).astype(str)
        + "_timeseries.csv"
    )
    stay_of_name = dict(zip(names, all_rows["stay_id"], strict=True))
    samples = {task: read_task(folder, task, stay_of_name) for task in chosen}

    in_any = pd.concat([s[["stay_id", "split"]] for s in samples.values()]).drop_duplicates()
    stays = all_rows[all_rows["stay_id"].isin(in_any["stay_id"])].copy()
    unknown = set(in_any["stay_id"]) - set(stays["stay_id"])
    if unknown:
        raise ValueError(f"listfiles name stays absent from all_stays.csv: {sorted(unknown)[:5]}")
    split_of = in_any.drop_duplicates("stay_id").set_index("stay_id")["split"]
    stays["split"] = stays["stay_id"].map(split_of).to_numpy()
    per_subject = stays.groupby("subject_id")["split"].nunique()
    if (per_subject > 1).any():
        raise ValueError(
            f"subjects {per_subject[per_subject > 1].index[:5].tolist()} appear in more than one "
            "split of the listfiles; the kit needs a subject-level split."
        )
    if in_any.groupby("stay_id")["split"].nunique().max() > 1:
        raise ValueError("a stay appears in more than one split across the task listfiles")

    # One episode file per stay: the first whole-stay task that has it.
    source: dict[int, tuple[Task, str]] = {}
    for task in [t for t in WHOLE_STAY if t in samples] + [
        t for t in chosen if t not in WHOLE_STAY
    ]:
        for sid, name in samples[task][["stay_id", "stay"]].drop_duplicates().to_numpy():
            source.setdefault(int(sid), (task, name))
    frames = []
    for sid in tqdm(sorted(source), desc="episodes", unit="stay", disable=not progress):
        task, name = source[sid]
        path = folder / task.value / FOLDER_OF_SPLIT[split_of[sid]] / name
        frames.append(_read_episode(path).assign(stay_id=sid))
    ts = pd.concat(frames, ignore_index=True)[["stay_id", *episode_header()]]
    ts = ts.sort_values(["stay_id", "Hours"], kind="stable").reset_index(drop=True)

    los_h = pd.Series(stays["los"].to_numpy(np.float64) * 24.0, index=stays["stay_id"].to_numpy())
    hours, ids = ts["Hours"].to_numpy(), ts["stay_id"].to_numpy()
    in_stay = (hours > -EPS) & (hours < los_h.reindex(ids).to_numpy() + EPS)
    counts = pd.Series(in_stay).groupby(ids).sum()
    stays["n_events"] = stays["stay_id"].map(counts).fillna(0).astype("int64").to_numpy()
    stays = stays.sort_values("stay_id").reset_index(drop=True)

    # Written into a temporary sibling and renamed into place when complete
    # (medmod_lib.artifacts): a stopped import leaves the earlier one (or nothing), and a
    # new import replaces every file of the earlier one (no stale task left behind).
    return artifacts.get_or_build(
        out,
        kind="imported-ehr",
        settings={"benchmark_folder": str(folder.resolve()), "tasks": [t.value for t in chosen]},
        build=lambda dest: _write(dest, folder, chosen, stays, ts, los_h, samples, source),
        load=ProcessedEHR,
        force=True,
        markers=("manifest.json",),
    )


def _write(
    dest: Path,
    folder: Path,
    chosen: list[Task],
    stays: pd.DataFrame,
    ts: pd.DataFrame,
    los_h: pd.Series,
    samples: dict[Task, pd.DataFrame],
    source: dict[int, tuple[Task, str]],
) -> None:
    """The processed folder's files, written into ``dest``; ``manifest.json`` last."""
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "hourly").mkdir(exist_ok=True)
    (dest / "tasks").mkdir(exist_ok=True)
    ts.to_parquet(dest / "timeseries.parquet", index=False)
    stays.to_parquet(dest / "stays.parquet", index=False)
    splits = stays[["subject_id", "split"]].drop_duplicates().sort_values("subject_id")
    splits.to_csv(dest / "splits.csv", index=False)
    pd.DataFrame(
        [
            {
                "step": f"imported from {folder}",
                "subjects": stays["subject_id"].nunique(),
                "admissions": stays["hadm_id"].nunique(),
                "stays": len(stays),
            }
        ]
    ).to_csv(dest / "cohort_flow.csv", index=False)

    inputs, index = discretize_events(long_events(ts), los_h.sort_index())
    np.save(dest / "hourly" / "inputs.npy", inputs)
    index.to_parquet(dest / "hourly" / "index.parquet", index=False)

    task_counts = {}
    for task, rows in samples.items():
        labels = reference.phenotypes() if task == Task.PHENOTYPING else ["y_true"]
        frame = rows[["stay_id"]].assign(
            subject_id=rows["stay_id"].map(stays.set_index("stay_id")["subject_id"]).to_numpy(),
            split=rows["split"].to_numpy(),
            period_length=rows["period_length"].to_numpy(),
        )
        for c in labels:
            kind = "float64" if task == Task.LENGTH_OF_STAY else "int64"
            frame[c] = rows[c].astype(kind).to_numpy()
        if task == Task.LENGTH_OF_STAY:
            frame["los_bucket"] = los_bucket(frame["y_true"].to_numpy())
        frame = frame.sort_values(["stay_id", "period_length"], kind="stable")
        frame = frame.reset_index(drop=True)
        frame.to_parquet(dest / "tasks" / f"{task.value}.parquet", index=False)
        write_listfiles(task, frame, stays, dest / "listfiles")
        task_counts[task.value] = {s: int((frame["split"] == s).sum()) for s in SPLITS}
        train = frame.loc[frame["split"] == "train", "stay_id"].unique()
        if len(train):
            first = int(IHM_HOURS) if task == Task.IN_HOSPITAL_MORTALITY else None
            _fit(inputs, index, train, first).save(dest / "normalizers" / f"{task.value}.json")

    events_from = pd.Series([t.value for t, _ in source.values()]).value_counts().to_dict()
    manifest = {
        "kit_version": __version__,
        "source": {"benchmark_folder": str(folder.resolve()), "imported": True},
        "parameters": {"tasks": [t.value for t in chosen]},
        "counts": {
            "cohort_stays": len(stays),
            "cohort_subjects": int(stays["subject_id"].nunique()),
            "timeseries_rows": len(ts),
            "hourly_bins": int(index["n_bins"].sum()),
            "samples": task_counts,
            "events_from_task": events_from,
        },
        "skips": {},
        "hourly": {"header": header(), "timestep": 1.0, "impute_strategy": "previous"},
    }
    (dest / "manifest.json").write_text(json.dumps(manifest, indent=1))


def _fit(inputs: np.ndarray, index: pd.DataFrame, stay_ids, first: int | None) -> Normalizer:
    """Train-split statistics as ``prepare`` fits them (whole stays; 48 h for mortality)."""
    idx = index.set_index("stay_id").loc[np.unique(stay_ids)]
    rows = [
        inputs[o : o + (n if first is None else min(n, first))]
        for o, n in zip(idx["offset"], idx["n_bins"], strict=True)
    ]
    return Normalizer().fit(np.concatenate(rows), header())


def compare_labels(imported: ProcessedEHR, kit: ProcessedEHR) -> pd.DataFrame:
    """Per task: samples in each folder, in both, and how many of those disagree on a label.

    Samples are matched on ``(stay_id, period_length)`` (rounded to 1e-6 h).
    """
    rows = []
    for task in sorted(set(imported.tasks) & set(kit.tasks)):
        labels = reference.phenotypes() if task == Task.PHENOTYPING.value else ["y_true"]
        a, b = (e.samples(task) for e in (imported, kit))
        for s in (a, b):
            s["key"] = s["period_length"].round(6)
        both = a.merge(b, on=["stay_id", "key"], suffixes=("_imported", "_kit"))
        differ = np.zeros(len(both), bool)
        for c in labels:
            x, y = both[f"{c}_imported"].to_numpy(float), both[f"{c}_kit"].to_numpy(float)
            differ |= ~np.isclose(x, y, rtol=0, atol=5e-7)
        rows.append(
            {
                "task": task,
                "imported": len(a),
                "kit": len(b),
                "both": len(both),
                "label_mismatches": int(differ.sum()),
                "split_mismatches": int((both["split_imported"] != both["split_kit"]).sum()),
            }
        )
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> ProcessedEHR:
    parser = argparse.ArgumentParser(
        prog="python -m medmod_lib.export.importer", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--benchmark", required=True, help="mimic3-benchmarks/MedFuse folder")
    parser.add_argument("--out", required=True, help="processed folder to write")
    parser.add_argument("--all-stays", default=None, help="all_stays.csv if not in root/")
    parser.add_argument("--tasks", nargs="+", default=None, help="tasks to read")
    parser.add_argument("--compare", default=None, help="a kit processed folder to check against")
    args = parser.parse_args(argv)
    ehr = import_benchmark(args.benchmark, args.out, all_stays=args.all_stays, tasks=args.tasks)
    print(ehr)
    if args.compare:
        table = compare_labels(ehr, ProcessedEHR(args.compare))
        print(table.to_string(index=False))
    return ehr


if __name__ == "__main__":
    main()
