"""Export task samples as mimic3-benchmarks / MedFuse listfiles.

Formats of YerevaNN/mimic3-benchmarks ``mimic3benchmark/scripts/create_*.py`` and
MedFuse's copies (nyuad-cai/MedFuse ``mimic4extract/mimic3benchmark/scripts/``), which
add a ``stay_id`` column.

``listfiles/<task>/{train,val,test}_listfile.csv`` with the MedFuse header
``stay,period_length,stay_id,<labels>``; ``stay`` is
``{subject_id}_episode{i}_timeseries.csv`` with episodes numbered 1-based by
``intime`` within the subject's cohort stays. As in MedFuse, in-hospital
mortality writes ``period_length`` 0 (its loaders substitute 48).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .. import reference
from ..reference import Task
from .cohort import number_episodes
from .splits import SPLITS


def episode_names(stays: pd.DataFrame) -> pd.Series:
    """``{subject}_episode{i}_timeseries.csv`` per stay, indexed by ``stay_id``."""
    episode = number_episodes(stays)
    names = stays["subject_id"].astype(str) + "_episode" + episode.astype(str) + "_timeseries.csv"
    return pd.Series(names.to_numpy(), index=stays["stay_id"].to_numpy(), name="stay")


def listfile_frame(task: Task | str, samples: pd.DataFrame, stays: pd.DataFrame) -> pd.DataFrame:
    """The listfile rows of ``samples`` (all splits), in the MedFuse column order."""
    task = Task.parse(task)
    out = pd.DataFrame({"stay": samples["stay_id"].map(episode_names(stays))})
    if task == Task.IN_HOSPITAL_MORTALITY:
        out["period_length"] = 0
    else:
        out["period_length"] = samples["period_length"].map("{:.6f}".format)
    out["stay_id"] = samples["stay_id"].to_numpy()
    if task == Task.PHENOTYPING:
        for name in reference.phenotypes():
            out[name] = samples[name].to_numpy()
    elif task == Task.LENGTH_OF_STAY:
        out["y_true"] = samples["y_true"].map("{:.6f}".format)
    else:
        out["y_true"] = samples["y_true"].to_numpy()
    return out


def write_listfiles(
    task: Task | str, samples: pd.DataFrame, stays: pd.DataFrame, out_dir: str | Path
) -> list[Path]:
    """Write ``out_dir/<task>/{train,val,test}_listfile.csv``; returns the paths."""
    task = Task.parse(task)
    folder = Path(out_dir) / task.value
    folder.mkdir(parents=True, exist_ok=True)
    frame = listfile_frame(task, samples, stays)
    paths = []
    for split in SPLITS:
        rows = frame[(samples["split"] == split).to_numpy()]
        path = folder / f"{split}_listfile.csv"
        rows.to_csv(path, index=False)
        paths.append(path)
    return paths
