"""The file contracts of the two external layouts the export writes and the import reads.

Both layouts come from mimic3-benchmarks (Harutyunyan et al., Sci Data 2019); MedFuse
(Hayat et al., MLHC 2022) adds a ``stay_id`` column to every listfile. Each rule below
names the upstream line it re-states (YerevaNN/mimic3-benchmarks at ea0314c,
nyuad-cai/MedFuse at 3f8b54e).

Per task folder ``OUT/<task>/``:

* ``train/`` holds the episodes of train and val samples, ``test/`` those of test samples
  (YerevaNN/mimic3-benchmarks ``mimic3models/split_train_val.py`` l. 18-38 splits
  ``train/listfile.csv`` into ``train_listfile.csv`` and ``val_listfile.csv`` and copies
  ``test/listfile.csv``; nyuad-cai/MedFuse ``datasets/ehr_dataset.py::get_datasets``
  l. 110-114 reads val episodes from ``train/``).
* One ``{subject_id}_episode{i}_timeseries.csv`` per stay: header ``Hours`` + the 17
  channels in ``discretizer_config.json`` order (MedFuse's ``EHRdataset`` discretizes
  without passing the header, so the order is part of the contract), rows sorted by
  ``Hours``, empty cell = not measured, values as the benchmark stores them (GCS text,
  capillary refill ``0.0``/``1.0``). Rows are those with ``-1e-6 < Hours < end + 1e-6``,
  ``end`` = 48 for in-hospital mortality and the LOS in hours otherwise
  (``mimic3benchmark/scripts/create_in_hospital_mortality.py`` l. 43-44,
  ``create_phenotyping.py`` l. 41-42, ``create_decompensation.py`` l. 54-57). The columns
  are sorted by name as ``extract_episodes_from_subjects.py`` writes them, which is the
  discretizer's order.
* Listfiles ``{train,val,test}_listfile.csv`` next to the two folders (what the
  benchmark's ``main.py`` scripts and MedFuse open), and for mimic3-benchmarks also
  ``train/listfile.csv`` (train + val) and ``test/listfile.csv`` (the readers' default).

Listfile headers (values are split on ``,`` and parsed by position):

======================  ==================================  ======================================
task                    mimic3-benchmarks                   MedFuse
======================  ==================================  ======================================
in-hospital-mortality   ``stay,y_true``                     ``stay,period_length,stay_id,y_true``
                                                            (period_length 0: the loader uses 48)
decompensation          ``stay,period_length,y_true``       ``stay,period_length,stay_id,y_true``
length-of-stay          ``stay,period_length,y_true``       ``stay,period_length,stay_id,y_true``
phenotyping             ``stay,period_length,<25 labels>``  ``stay,period_length,stay_id,<25>``
======================  ==================================  ======================================

``period_length`` and the LOS target are written ``%.6f``, binary labels as ``0``/``1``
(the benchmark readers call ``int()`` on them; ``create_in_hospital_mortality.py`` l. 66-68,
``create_decompensation.py`` l. 91-93, ``create_phenotyping.py`` l. 84-87).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .. import reference
from ..reference import Task

FLAVOURS = ("medfuse", "mimic3-benchmarks")
#: The tasks both layouts define (radiology is image-only; MedFuse reads the CXR files).
EXPORT_TASKS = (
    Task.IN_HOSPITAL_MORTALITY,
    Task.DECOMPENSATION,
    Task.LENGTH_OF_STAY,
    Task.PHENOTYPING,
)
IHM_HOURS = 48.0
EPS = 1e-6
#: Kit split -> episode folder (val episodes live in ``train/``).
FOLDER_OF_SPLIT = {"train": "train", "val": "train", "test": "test"}


def check_flavour(flavour: str) -> str:
    if flavour not in FLAVOURS:
        raise ValueError(f"Unknown export format {flavour!r}; expected one of {FLAVOURS}")
    return flavour


def episode_header() -> list[str]:
    """``Hours`` + the 17 channels in the discretizer's order."""
    return ["Hours", *reference.channels()]


def episode_name(subject_id: int, episode: int) -> str:
    return f"{int(subject_id)}_episode{int(episode)}_timeseries.csv"


def label_columns(task: Task | str) -> list[str]:
    task = Task.parse(task)
    return reference.phenotypes() if task == Task.PHENOTYPING else ["y_true"]


def listfile_header(task: Task | str, flavour: str) -> list[str]:
    """The listfile columns of ``task`` in ``flavour`` (see the module table)."""
    task, flavour = Task.parse(task), check_flavour(flavour)
    if flavour == "medfuse":
        return ["stay", "period_length", "stay_id", *label_columns(task)]
    if task == Task.IN_HOSPITAL_MORTALITY:
        return ["stay", "y_true"]
    return ["stay", "period_length", *label_columns(task)]


def listfile_frame(task: Task | str, samples: pd.DataFrame, flavour: str) -> pd.DataFrame:
    """Listfile rows as strings, in ``listfile_header`` order.

    Args:
        samples: the task's samples with ``stay`` (episode file name), ``stay_id``,
            ``period_length`` (hours) and the label columns.
    """
    task = Task.parse(task)
    out = pd.DataFrame({"stay": samples["stay"].to_numpy()})
    if task == Task.IN_HOSPITAL_MORTALITY:
        out["period_length"] = "0"
    else:
        out["period_length"] = samples["period_length"].map("{:.6f}".format).to_numpy()
    out["stay_id"] = samples["stay_id"].astype("int64").astype(str).to_numpy()
    if task == Task.LENGTH_OF_STAY:
        out["y_true"] = samples["y_true"].map("{:.6f}".format).to_numpy()
    else:
        for name in label_columns(task):
            out[name] = samples[name].astype("int64").astype(str).to_numpy()
    return out[listfile_header(task, flavour)]


def write_listfile(path: Path, frame: pd.DataFrame) -> None:
    """Write ``frame`` (all strings) with ``\\n`` line ends and no quoting.

    Raises:
        ValueError: a header or ``stay`` value holds a comma (the readers split on ',').
    """
    if any("," in c for c in frame.columns) or frame["stay"].str.contains(",").any():
        raise ValueError(f"{path}: a listfile name contains a comma; the readers split on ','")
    path.parent.mkdir(parents=True, exist_ok=True)
    cols = [pa.array(frame[c].to_numpy(dtype=object), pa.string()) for c in frame.columns]
    body = pc.binary_join_element_wise(*cols, ",").to_pylist() if len(frame) else []
    with open(path, "w", newline="\n") as f:
        f.write(",".join(frame.columns) + "\n")
        if body:
            f.write("\n".join(body) + "\n")


def check_out(out: Path, forbidden: dict[str, Path]) -> None:
    """Refuse an output folder inside (or equal to, or above) a raw-data or processed folder.

    Args:
        forbidden: ``{what: folder}``, e.g. ``{"processed folder": ...}``.

    Raises:
        ValueError: naming the folder and the fix.
    """
    o = out.expanduser().resolve()
    for what, folder in forbidden.items():
        f = Path(folder).expanduser().resolve()
        if o == f or f in o.parents or o in f.parents:
            raise ValueError(
                f"--out {out} overlaps the {what} {folder}; the export never writes inside raw "
                "data or the processed folder. Choose --out elsewhere (e.g. outputs/export)."
            )
