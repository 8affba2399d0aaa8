"""Linking rules: which X-rays belong to which EHR sample, one documented object per task.

An ICU stay (or one of its hourly samples) is linked to the X-ray images of the
same subject whose study time falls inside the task's window:

=======================  =====================================  ==================
task                     window (both ends inclusive)            why
=======================  =====================================  ==================
in-hospital-mortality    intime .. intime + 48 h                 the prediction is made at 48 h
phenotyping              intime .. outtime                       labels describe the whole stay
radiology                intime .. outtime                       one labelled image of the stay
decompensation           intime .. the sample's prediction time  never an image from the future
length-of-stay           intime .. the sample's prediction time  never an image from the future
=======================  =====================================  ==================

Only the chosen views are used (default ``AP``, as the benchmark), and among
the images in a window the rule keeps the ``latest`` (default), the ``first``,
or ``all`` of them.

MedFuse-derived code got two of these wrong in ways that changed cohort sizes
silently (a task-name typo that reverted the mortality window to outtime, and
a decompensation end time taken from the subject's first stay); here each rule
is data, printed in the cohort's ``repr`` and saved with it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np
import pandas as pd

from ..reference import Task
from ..tasks import task_spec

WindowEnd = Literal["intime+48h", "outtime", "prediction_time"]
Choice = Literal["latest", "first", "all"]


@dataclass(frozen=True)
class LinkingRule:
    """How samples of one task are linked to X-ray images.

    Args:
        task: the task this rule serves.
        window_end: where the window closes: ``"intime+48h"``, ``"outtime"``
            or ``"prediction_time"`` (intime + the sample's ``period_length``).
        views: ``ViewPosition`` values to keep (``("AP",)`` as the benchmark).
        choice: ``"latest"``, ``"first"`` or ``"all"`` images in the window.
    """

    task: Task
    window_end: WindowEnd
    views: tuple[str, ...] = ("AP",)
    choice: Choice = "latest"

    def __post_init__(self) -> None:
        object.__setattr__(self, "task", Task.parse(self.task))
        if self.window_end not in ("intime+48h", "outtime", "prediction_time"):
            raise ValueError(f"Unknown window_end {self.window_end!r}")
        if self.choice not in ("latest", "first", "all"):
            raise ValueError(f"choice must be 'latest', 'first' or 'all', got {self.choice!r}")
        object.__setattr__(self, "views", tuple(self.views))

    @classmethod
    def for_task(cls, task: str | Task, **overrides) -> LinkingRule:
        """The default rule of a task, with optional overrides (``views``, ``choice``)."""
        task = Task.parse(task)
        unknown = set(overrides) - {"views", "choice", "window_end"}
        if unknown:
            raise TypeError(f"Unknown LinkingRule parameters: {sorted(unknown)}")
        return cls(
            task=task,
            window_end=overrides.pop("window_end", task_spec(task).window_end),
            **overrides,
        )

    def to_dict(self) -> dict:
        d = asdict(self)
        d["task"] = self.task.value
        d["views"] = list(self.views)
        return d

    def describe(self) -> str:
        end = {
            "intime+48h": "intime + 48 h",
            "outtime": "outtime",
            "prediction_time": "prediction time",
        }
        return (
            f"{self.task.value}: images with intime <= study time <= {end[self.window_end]}, "
            f"views {'/'.join(self.views)}, keep {self.choice}"
        )

    def window(self, samples: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
        """Start and end timestamps of each sample's window.

        Args:
            samples: needs ``intime``; ``outtime`` for outtime windows;
                ``period_length`` (hours) for prediction-time windows.
        """
        start = samples["intime"]
        if self.window_end == "intime+48h":
            end = start + pd.Timedelta(hours=48)
        elif self.window_end == "outtime":
            end = samples["outtime"]
        else:
            end = start + pd.to_timedelta(samples["period_length"].astype(float), unit="h")
        return start, end

    def link(self, samples: pd.DataFrame, images: pd.DataFrame) -> pd.DataFrame:
        """Pair samples with images.

        Args:
            samples: one row per sample with ``stay_id``, ``subject_id``, ``intime`` and
                the columns :meth:`window` needs. Its index identifies samples.
            images: one row per image with ``dicom_id``, ``subject_id``,
                ``study_id``, ``ViewPosition`` and ``study_datetime``.

        Returns:
            One row per (sample, image) kept: ``sample`` (the samples index),
            ``dicom_id``, ``study_id``, ``study_datetime``,
            ``hours_from_intime``. Samples without an image are absent.
        """
        start, end = self.window(samples)
        left = pd.DataFrame(
            {
                "sample": samples.index.to_numpy(),
                "stay_id": samples["stay_id"].to_numpy(np.int64),
                "subject_id": samples["subject_id"].to_numpy(np.int64),
                "start": start.to_numpy(),
                "end": end.to_numpy(),
            }
        )
        imgs = images[images["ViewPosition"].isin(self.views)]
        imgs = imgs[["dicom_id", "subject_id", "study_id", "study_datetime"]].dropna(
            subset=["study_datetime"]
        )
        # Two steps keep memory linear in the number of samples: images are first
        # matched to each stay's widest window, then to each sample's own window
        # (hourly tasks have hundreds of samples per stay).
        stays = left.groupby("stay_id").agg(
            subject_id=("subject_id", "first"), lo=("start", "min"), hi=("end", "max")
        )
        candidates = stays.reset_index().merge(imgs, on="subject_id", how="inner")
        candidates = candidates[
            (candidates["study_datetime"] >= candidates["lo"])
            & (candidates["study_datetime"] <= candidates["hi"])
        ]
        pairs = left.merge(
            candidates.drop(columns=["subject_id", "lo", "hi"]), on="stay_id", how="inner"
        )
        inside = (pairs["study_datetime"] >= pairs["start"]) & (
            pairs["study_datetime"] <= pairs["end"]
        )
        pairs = pairs[inside]
        # Ties in time are broken by dicom_id so the choice is deterministic.
        pairs = pairs.sort_values(["sample", "study_datetime", "dicom_id"], kind="stable")
        if self.choice == "latest":
            pairs = pairs.drop_duplicates("sample", keep="last")
        elif self.choice == "first":
            pairs = pairs.drop_duplicates("sample", keep="first")
        pairs = pairs.assign(
            hours_from_intime=(pairs["study_datetime"] - pairs["start"]).dt.total_seconds() / 3600.0
        )
        return pairs[
            ["sample", "dicom_id", "study_id", "study_datetime", "hours_from_intime"]
        ].reset_index(drop=True)
