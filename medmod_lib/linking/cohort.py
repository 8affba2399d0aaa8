"""Cohorts: the samples of one task, linked to X-rays, in one of four modes.

========  ===========================================================  =================
mode      samples                                                       image
========  ===========================================================  =================
paired    task samples with at least one linked image                   always
partial   all task samples; in train, a ``data_ratio`` share of the     where linked
          unpaired ones (chosen deterministically by hashing)
ehr_only  all task samples                                              never
radiology every image of the chosen views with labels (no EHR)          always
========  ===========================================================  =================

Decisions (documented in the README):

* ``data_ratio`` thins only the *training* split of a partial cohort.
  Validation and test keep every sample, so model selection sees the same
  mix as the test set (MedFuse validated on paired samples only and tested
  on partial ones).
* One subject-level split serves both modalities: every image follows its
  subject's EHR split; :func:`check_no_leakage` fails loudly otherwise.
* For the radiology task linked to EHR, a sample is (stay, image) and its EHR
  window ends at the image's study time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import numpy as np
import pandas as pd

from ..reference import CHEXPERT_LABELS, Task
from ..tasks import task_spec
from .rules import LinkingRule

SPLITS = ("train", "val", "test")


class CohortMode(StrEnum):
    PAIRED = "paired"
    PARTIAL = "partial"
    EHR_ONLY = "ehr_only"
    RADIOLOGY = "radiology"

    @classmethod
    def parse(cls, name: str | CohortMode) -> CohortMode:
        try:
            return cls(name)
        except ValueError:
            valid = ", ".join(m.value for m in cls)
            raise ValueError(f"Unknown cohort mode {name!r}; expected one of: {valid}") from None


class LeakageError(RuntimeError):
    """A subject appears in more than one split."""


def hash_uniform(keys: pd.DataFrame | pd.Series, seed: int) -> np.ndarray:
    """A uniform number in [0, 1) per row, stable across runs, machines and row orders.

    Uses pandas' SipHash of the row values keyed by the seed, so a row keeps
    its number when other rows are added or removed.
    """
    frame = keys.to_frame() if isinstance(keys, pd.Series) else keys
    hashed = pd.util.hash_pandas_object(
        frame.astype(str), index=False, hash_key=f"{int(seed) % 10**16:016d}"
    )
    return (hashed.to_numpy(np.uint64) >> np.uint64(11)).astype(np.float64) / 2.0**53


def check_no_leakage(samples: pd.DataFrame, images: pd.DataFrame | None = None) -> None:
    """Raise :class:`LeakageError` if a subject appears in two splits.

    Args:
        samples: needs ``subject_id`` and ``split``.
        images: optional image table with ``subject_id`` and ``split`` (the
            X-ray side); checked on its own and against ``samples``.
    """
    tables = {"EHR samples": samples}
    if images is not None:
        tables["X-ray images"] = images
    both = pd.concat([t[["subject_id", "split"]] for t in tables.values()], ignore_index=True)
    for name, table in {**tables, "EHR and X-ray together": both}.items():
        n_splits = table.groupby("subject_id")["split"].nunique()
        leaked = n_splits[n_splits > 1].index.tolist()
        if leaked:
            raise LeakageError(
                f"{len(leaked)} subject(s) appear in more than one split of {name}, "
                f"e.g. {leaked[:5]}. Derive every split from the one subject-level "
                "split (splits.csv) instead of mixing split files."
            )


@dataclass
class Cohort:
    """The linked samples of one task in one mode, with the rule that made them."""

    task: Task
    mode: CohortMode
    rule: LinkingRule
    samples: pd.DataFrame
    label_columns: list[str]
    flow: pd.DataFrame
    data_ratio: float = 1.0
    seed: int = 0
    params: dict = field(default_factory=dict)

    def split(self, name: str) -> pd.DataFrame:
        if name not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {name!r}")
        return self.samples[self.samples["split"] == name]

    def sizes(self) -> pd.DataFrame:
        """Samples per split, paired and unpaired."""
        table = (
            self.samples.groupby(["split", "paired"])
            .size()
            .unstack(fill_value=0)
            .reindex(SPLITS, fill_value=0)
        )
        table = table.rename(columns={True: "paired", False: "unpaired"})
        for col in ("paired", "unpaired"):
            if col not in table:
                table[col] = 0
        table["total"] = table["paired"] + table["unpaired"]
        return table[["total", "paired", "unpaired"]]

    def __repr__(self) -> str:
        sizes = self.sizes()
        lines = [
            f"Cohort(task={self.task.value!r}, mode={self.mode.value!r}, data_ratio={self.data_ratio}, seed={self.seed})",
            f"  rule: {self.rule.describe()}",
        ]
        for split, row in sizes.iterrows():
            lines.append(
                f"  {split:5s}: {row['total']:6d} samples ({row['paired']} paired, {row['unpaired']} unpaired)"
            )
        return "\n".join(lines)

    def save(self, folder: str | Path) -> Path:
        """Write samples, flow and parameters (rule included) to ``folder``."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.samples.to_parquet(folder / "samples.parquet", index=False)
        self.flow.to_csv(folder / "flow.csv", index=False)
        meta = {
            "task": self.task.value,
            "mode": self.mode.value,
            "rule": self.rule.to_dict(),
            "label_columns": self.label_columns,
            "data_ratio": self.data_ratio,
            "seed": self.seed,
            "params": self.params,
        }
        (folder / "cohort.json").write_text(json.dumps(meta, indent=1))
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> Cohort:
        folder = Path(folder)
        meta_path = folder / "cohort.json"
        if not meta_path.exists():
            raise FileNotFoundError(
                f"No cohort at {folder} (missing cohort.json); build it with build_cohort()"
            )
        meta = json.loads(meta_path.read_text())
        rule = meta["rule"]
        return cls(
            task=Task.parse(meta["task"]),
            mode=CohortMode.parse(meta["mode"]),
            rule=LinkingRule(
                task=rule["task"],
                window_end=rule["window_end"],
                views=tuple(rule["views"]),
                choice=rule["choice"],
            ),
            samples=pd.read_parquet(folder / "samples.parquet"),
            label_columns=list(meta["label_columns"]),
            flow=pd.read_csv(folder / "flow.csv"),
            data_ratio=meta["data_ratio"],
            seed=meta["seed"],
            params=meta.get("params", {}),
        )


def _flow_counts(step: str, frame: pd.DataFrame, key: str = "sample") -> dict:
    row = {"step": step, "all": int(frame[key].nunique())}
    for split in SPLITS:
        row[split] = int(frame.loc[frame["split"] == split, key].nunique())
    return row


def build_cohort(
    task: str | Task,
    mode: str | CohortMode,
    *,
    samples: pd.DataFrame,
    images: pd.DataFrame,
    image_labels: pd.DataFrame | None = None,
    rule: LinkingRule | None = None,
    data_ratio: float = 1.0,
    seed: int = 0,
) -> Cohort:
    """Link a task's samples to images and assemble the cohort of one mode.

    Args:
        task: task name.
        mode: ``paired``, ``partial``, ``ehr_only`` or ``radiology``.
        samples: the task's EHR samples with ``stay_id``, ``subject_id``,
            ``split``, ``intime``, ``outtime``, ``period_length`` and label
            columns (for radiology: the cohort stays; labels come from images).
        images: image metadata with ``dicom_id``, ``subject_id``,
            ``study_id``, ``ViewPosition``, ``study_datetime`` and ``split``
            (the subject-level split, already derived from the EHR split).
        image_labels: radiology labels per ``study_id`` (14 CheXpert columns;
            NaN = unknown under the ignore policy). Needed for radiology.
        rule: the linking rule; default :meth:`LinkingRule.for_task`.
        data_ratio: share of unpaired training samples kept in ``partial``.
        seed: seed of the deterministic unpaired-sample choice.
    """
    task = Task.parse(task)
    mode = CohortMode.parse(mode)
    rule = rule or LinkingRule.for_task(task)
    if rule.task != task:
        raise ValueError(f"rule is for {rule.task.value!r}, cohort is for {task.value!r}")
    if not 0.0 <= data_ratio <= 1.0:
        raise ValueError(f"data_ratio must be in [0, 1], got {data_ratio}")
    if task == Task.RADIOLOGY and image_labels is None:
        raise ValueError("The radiology task needs image_labels (CheXpert labels per study_id)")
    check_no_leakage(samples, images)

    if mode == CohortMode.RADIOLOGY:
        return _radiology_images(task, rule, images, image_labels, seed)

    base = samples.reset_index(drop=True).rename_axis("sample").reset_index()
    label_columns = task_spec(task).label_columns
    if task != Task.RADIOLOGY:
        missing = [c for c in label_columns if c not in samples.columns]
        if missing:
            raise ValueError(f"{task.value} samples lack the label columns {missing}")
    pairs = rule.link(base.set_index("sample"), images) if mode != CohortMode.EHR_ONLY else None

    flow = [_flow_counts(f"{task.value} samples", base)]
    if pairs is not None:
        with_subject = base[base["subject_id"].isin(images["subject_id"])]
        flow.append(_flow_counts("subject has any X-ray", with_subject))
        any_view = LinkingRule(
            task=task,
            window_end=rule.window_end,
            views=tuple(images["ViewPosition"].dropna().unique()),
            choice="all",
        )
        in_window = base[
            base["sample"].isin(any_view.link(base.set_index("sample"), images)["sample"])
        ]
        flow.append(_flow_counts("X-ray in window (any view)", in_window))
        flow.append(
            _flow_counts(
                f"X-ray in window, view {'/'.join(rule.views)}",
                base[base["sample"].isin(pairs["sample"])],
            )
        )

    if pairs is None:
        out = base.assign(
            dicom_id=pd.NA, study_id=pd.NA, study_datetime=pd.NaT, hours_from_intime=np.nan
        )
    else:
        out = base.merge(pairs, on="sample", how="left")
    out["paired"] = out["dicom_id"].notna()
    if task == Task.RADIOLOGY:
        out = out[out["paired"]].drop(columns=[c for c in CHEXPERT_LABELS if c in out.columns])
        labels = image_labels.set_index("study_id")[list(CHEXPERT_LABELS)]
        # A study without a labeller row has no targets at all: dropped and counted.
        out = out[out["study_id"].isin(labels.index)].join(labels, on="study_id")
        flow.append(_flow_counts("study has labels", out))
        if "n_events" in out:  # stays.parquet of the pipeline: events within the stay
            out = out[out["n_events"] > 0]
            flow.append(_flow_counts("stay has events", out))
        # The EHR window of a radiology sample ends at the image.
        out["period_length"] = out["hours_from_intime"]

    if mode == CohortMode.PAIRED:
        out = out[out["paired"]]
    elif mode == CohortMode.PARTIAL:
        unpaired_train = ~out["paired"] & (out["split"] == "train")
        keep_key = out[["stay_id", "period_length"]]
        u = hash_uniform(keep_key, seed) if len(out) else np.zeros(0)
        out = out[~unpaired_train | (u < data_ratio)]
    if pairs is not None:
        flow.append(_flow_counts(f"cohort ({mode.value}, keep {rule.choice})", out))
    out = out.reset_index(drop=True)
    check_no_leakage(out)
    return Cohort(
        task=task,
        mode=mode,
        rule=rule,
        samples=out,
        label_columns=label_columns,
        flow=pd.DataFrame(flow),
        data_ratio=data_ratio,
        seed=seed,
    )


def _radiology_images(task, rule, images, image_labels, seed) -> Cohort:
    imgs = images.rename_axis("sample").reset_index()
    flow = [_flow_counts("images", imgs)]
    imgs = imgs[imgs["ViewPosition"].isin(rule.views)]
    flow.append(_flow_counts(f"view {'/'.join(rule.views)}", imgs))
    if image_labels is not None:
        labels = image_labels.set_index("study_id")[list(CHEXPERT_LABELS)]
        imgs = imgs[imgs["study_id"].isin(labels.index)].join(labels, on="study_id")
        flow.append(_flow_counts("study has labels", imgs))
    out = imgs.assign(paired=True, stay_id=pd.NA).reset_index(drop=True)
    return Cohort(
        task=Task.RADIOLOGY if task is None else task,
        mode=CohortMode.RADIOLOGY,
        rule=rule,
        samples=out,
        label_columns=list(CHEXPERT_LABELS),
        flow=pd.DataFrame(flow),
        seed=seed,
    )
