"""Write a processed folder in the mimic3-benchmarks or MedFuse layout (:mod:`.layout`).

Examples:
    >>> result = export_processed("outputs/processed", "outputs/export", flavour="medfuse")  # doctest: +SKIP
    >>> result.rows_per_second  # doctest: +SKIP
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from ..ehr.listfiles import episode_names
from ..ehr.processed import ProcessedEHR
from ..paths import check_output_location, mimic_cxr_root
from ..reference import Task
from . import extras
from .episodes import Target, write_episodes
from .layout import (
    EXPORT_TASKS,
    FOLDER_OF_SPLIT,
    IHM_HOURS,
    check_flavour,
    check_out,
    listfile_frame,
    write_listfile,
)

MANIFEST = "export.json"
SPLITS = ("train", "val", "test")


@dataclass
class ExportResult:
    """What :func:`export_processed` wrote (also saved as ``OUT/export.json``)."""

    out: str
    flavour: str
    source: str
    tasks: dict[str, dict] = field(default_factory=dict)
    episode_files: int = 0
    rows_read: int = 0
    rows_written: int = 0
    seconds: float = 0.0
    extras: list[str] = field(default_factory=list)
    skipped: dict[str, list[str]] = field(default_factory=dict)

    @property
    def rows_per_second(self) -> float:
        return self.rows_read / self.seconds if self.seconds > 0 else float("nan")

    def __repr__(self) -> str:
        tasks = ", ".join(f"{t}: {c['samples']}" for t, c in self.tasks.items())
        return (
            f"ExportResult(flavour={self.flavour!r}, out={self.out!r}, samples=[{tasks}], "
            f"episode_files={self.episode_files}, rows={self.rows_read}, "
            f"seconds={self.seconds:.1f})"
        )


def _prepare_out(out: Path) -> None:
    """Create ``out``; clear what an earlier export wrote there; refuse foreign folders."""
    if out.exists() and any(out.iterdir()):
        if not (out / MANIFEST).is_file():
            raise ValueError(
                f"--out {out} is not empty and holds no {MANIFEST}: it is not an earlier "
                "export. Choose an empty or new folder."
            )
        for name in [t.value for t in EXPORT_TASKS] + ["root", "mimic-cxr-jpg", "normalizers"]:
            if (out / name).is_symlink():
                (out / name).unlink()
            elif (out / name).exists():
                shutil.rmtree(out / name)
        (out / MANIFEST).unlink()
    out.mkdir(parents=True, exist_ok=True)


def _check_out(out: Path, ehr: ProcessedEHR, cxr_root: Path | None) -> None:
    """Refuse an ``out`` that overlaps the processed folder or any raw-data folder (the data
    root, the MIMIC-IV release the folder was built from, the CXR release)."""
    check_out(out, {"processed folder": ehr.root})
    check_output_location(out, ehr.manifest.get("source", {}).get("mimic_iv"), cxr_root)


def export_processed(
    processed: str | Path,
    out: str | Path,
    *,
    flavour: str = "medfuse",
    tasks: list[str] | None = None,
    cxr_root: str | Path | None = None,
    progress: bool = True,
) -> ExportResult:
    """Export ``processed`` to ``out`` in the ``flavour`` layout.

    Args:
        processed: a processed EHR folder (``python -m medmod_lib.prepare``).
        out: the export folder; new, empty, or an earlier export (overwritten).
        flavour: ``"medfuse"`` or ``"mimic3-benchmarks"``.
        tasks: tasks to export (default: those of the folder among the four EHR tasks).
        cxr_root: a MIMIC-CXR-JPG release folder; with it, ``out/mimic-cxr-jpg/`` is
            written for MedFuse's ``--cxr_data_dir`` (see :mod:`.extras`).
        progress: show progress bars.

    Raises:
        ValueError: ``out`` overlaps the processed or a raw folder, or is a foreign
            non-empty folder; unknown flavour or task; a sample has no events to write.
    """
    start = time.perf_counter()
    flavour = check_flavour(flavour)
    ehr = ProcessedEHR(processed)
    out = Path(out)
    if cxr_root is not None:
        cxr_root = mimic_cxr_root(cxr_root)
    _check_out(out, ehr, cxr_root)
    available = [t for t in EXPORT_TASKS if t.value in ehr.tasks]
    chosen = [Task.parse(t) for t in tasks] if tasks else available
    for task in chosen:
        if task not in EXPORT_TASKS or task not in available:
            raise ValueError(
                f"Cannot export {task.value!r}: the folder has {ehr.tasks}; the layouts "
                f"define {[t.value for t in EXPORT_TASKS]}."
            )
    _prepare_out(out)

    stays = ehr.stays
    names = episode_names(stays)
    ids = stays["stay_id"].to_numpy().tolist()
    los_h = dict(zip(ids, (stays["los"].to_numpy() * 24.0).tolist(), strict=True))
    split_of = dict(zip(ids, stays["split"].tolist(), strict=True))
    name_of = names.to_dict()
    result = ExportResult(out=str(out), flavour=flavour, source=str(ehr.root))
    targets: dict[int, list[Target]] = {}
    for task in chosen:
        samples = ehr.samples(task)
        samples = samples.assign(stay=samples["stay_id"].map(name_of).to_numpy())
        samples = samples.sort_values(["stay", "period_length"], kind="stable")
        for folder in ("train", "test"):
            (out / task.value / folder).mkdir(parents=True, exist_ok=True)
        folders = {f: out / task.value / f for f in ("train", "test")}
        for sid in samples["stay_id"].unique().tolist():
            end = IHM_HOURS if task == Task.IN_HOSPITAL_MORTALITY else los_h[sid]
            path = folders[FOLDER_OF_SPLIT[split_of[sid]]] / name_of[sid]
            targets.setdefault(sid, []).append(Target(path, end))
        frames = {s: listfile_frame(task, samples[samples["split"] == s], flavour) for s in SPLITS}
        for split, frame in frames.items():
            write_listfile(out / task.value / f"{split}_listfile.csv", frame)
        if flavour == "mimic3-benchmarks":  # the readers' default listfile of each folder
            write_listfile(
                out / task.value / "train" / "listfile.csv",
                pd.concat([frames["train"], frames["val"]], ignore_index=True),
            )
            write_listfile(out / task.value / "test" / "listfile.csv", frames["test"])
        result.tasks[task.value] = {
            "samples": len(samples),
            "stays": int(samples["stay_id"].nunique()),
            **{s: len(f) for s, f in frames.items()},
        }

    stats = write_episodes(ehr.root / "timeseries.parquet", targets, progress=progress)
    if stats.missing or stats.empty:
        bad = [str(p) for p in (stats.missing + stats.empty)[:5]]
        raise ValueError(
            f"{len(stats.missing)} episode(s) have no events in timeseries.parquet and "
            f"{len(stats.empty)} none inside their window (e.g. {bad}); the processed folder "
            "is inconsistent: re-run `python -m medmod_lib.prepare`."
        )
    result.episode_files = stats.files
    result.rows_read = stats.rows_read
    result.rows_written = stats.rows_written

    result.extras.append(str(extras.write_all_stays(stays, out)))
    for task in chosen:
        state = ehr.root / "normalizers" / f"{task.value}.json"
        if state.is_file():
            path = out / "normalizers" / f"{task.value}.normalizer"
            result.extras.append(str(extras.write_normalizer(state, path)))
        if flavour == "medfuse":
            stub = extras.write_header_stub(out / task.value / "train")
            if stub is not None:
                result.extras.append(str(stub))
    if cxr_root is not None:
        result.extras.append(str(extras.write_cxr_folder(cxr_root, ehr.splits, out)))
    else:
        result.skipped["mimic-cxr-jpg"] = ["no --cxr given: MedFuse's CXR files not written"]
    result.seconds = time.perf_counter() - start
    (out / MANIFEST).write_text(
        json.dumps({**asdict(result), "rows_per_second": result.rows_per_second}, indent=1)
    )
    return result
