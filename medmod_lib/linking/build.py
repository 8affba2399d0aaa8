"""Build every linked cohort from a processed EHR folder and a MIMIC-CXR-JPG release.

This is the step between :func:`medmod_lib.ehr.prepare_ehr` and the models::

    ehr = ProcessedEHR(out)
    linked = link_cohorts(ehr, data_root(), out=out / "linked")
    linked.cohort("in-hospital-mortality", "partial")

It derives the X-ray split from the EHR subject split (every image follows its
subject), applies the label policy, builds the cohort of each task and mode,
runs the leakage check, and writes the cohort-flow table, figure and a
generated data card next to the cohorts.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from ..ehr.processed import ProcessedEHR
from ..reference import Task
from .cohort import Cohort, CohortMode, build_cohort, check_no_leakage
from .report import flow_table, plot_flow, write_cohort_card
from .rules import LinkingRule

EHR_TASKS = (
    Task.IN_HOSPITAL_MORTALITY,
    Task.PHENOTYPING,
    Task.DECOMPENSATION,
    Task.LENGTH_OF_STAY,
)


@dataclass
class LinkConfig:
    """What to link and how.

    Args:
        tasks: tasks to link (default: all five).
        modes: cohort modes for the EHR tasks (radiology also gets its
            image-only ``radiology`` cohort).
        views: X-ray views to keep (benchmark: AP only).
        choice: ``latest`` (benchmark), ``first`` or ``all`` images per window.
        label_policy: uncertain/blank CheXpert labels -> ``zeros`` (benchmark,
            U-Zeros), ``ones`` or ``ignore``.
        labeler: ``chexpert`` or ``negbio``.
        data_ratio: share of unpaired training samples in ``partial`` cohorts.
        seed: seed of the partial sampling.
    """

    tasks: Sequence[str] = tuple(t.value for t in Task)
    modes: Sequence[str] = ("paired", "partial", "ehr_only")
    views: Sequence[str] = ("AP",)
    choice: str = "latest"
    label_policy: str = "zeros"
    labeler: str = "chexpert"
    data_ratio: float = 1.0
    seed: int = 0
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.tasks = tuple(Task.parse(t).value for t in self.tasks)
        self.modes = tuple(CohortMode.parse(m).value for m in self.modes)
        self.views = tuple(self.views)


@dataclass
class LinkedData:
    """The cohorts written by :func:`link_cohorts`, reloadable from ``root``."""

    root: Path
    config: dict
    images: pd.DataFrame
    cohorts: dict[str, Cohort]
    flow: pd.DataFrame

    def cohort(self, task: str, mode: str) -> Cohort:
        key = f"{Task.parse(task).value}/{CohortMode.parse(mode).value}"
        if key not in self.cohorts:
            raise KeyError(f"No cohort {key!r}; available: {sorted(self.cohorts)}")
        return self.cohorts[key]

    def sizes(self) -> pd.DataFrame:
        """Samples per task, mode and split (total / paired)."""
        rows = []
        for key, cohort in self.cohorts.items():
            for split, r in cohort.sizes().iterrows():
                rows.append(
                    {"cohort": key, "split": split, "total": r["total"], "paired": r["paired"]}
                )
        return (
            pd.DataFrame(rows)
            .pivot_table(index="cohort", columns="split", values=["total", "paired"])
            .astype(int)
        )

    def __repr__(self) -> str:
        return f"LinkedData(root={str(self.root)!r}, cohorts={sorted(self.cohorts)})"

    @classmethod
    def load(cls, root: str | Path) -> LinkedData:
        root = Path(root)
        if not (root / "linking.json").exists():
            raise FileNotFoundError(
                f"{root} holds no linked cohorts (no linking.json); run link_cohorts() first"
            )
        meta = json.loads((root / "linking.json").read_text())
        cohorts = {key: Cohort.load(root / "cohorts" / key) for key in meta["cohorts"]}
        return cls(
            root=root,
            config=meta["config"],
            images=pd.read_parquet(root / "images.parquet"),
            cohorts=cohorts,
            flow=pd.read_csv(root / "flow.csv"),
        )


def link_cohorts(
    ehr: ProcessedEHR | str | Path,
    cxr_root: str | Path,
    *,
    out: str | Path,
    config: LinkConfig | None = None,
    figure: bool = True,
) -> LinkedData:
    """Link every configured task and mode, write them under ``out``, and return them.

    Args:
        ehr: the processed EHR folder (or its path).
        cxr_root: data root or MIMIC-CXR-JPG release folder.
        out: output folder (never inside the raw data folders).
        config: what to link; default :class:`LinkConfig`.
        figure: also save ``flow.png``.
    """
    from .. import cxr  # lazily: keeps torch-free imports light
    from ..paths import check_output_location

    config = config or LinkConfig()
    check_output_location(out, cxr_root)
    ehr = ehr if isinstance(ehr, ProcessedEHR) else ProcessedEHR(ehr)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)

    images = cxr.load_metadata(cxr_root, views=None)
    images, unlisted = cxr.assign_split(images, ehr.splits, unlisted="train")
    labels = cxr.policy_table(
        cxr.read_study_labels(cxr_root, labeler=config.labeler), config.label_policy
    )
    check_no_leakage(ehr.stays, images)

    cohorts: dict[str, Cohort] = {}
    for task_name in config.tasks:
        task = Task.parse(task_name)
        rule = LinkingRule.for_task(task, views=config.views, choice=config.choice)
        if task == Task.RADIOLOGY:
            stays = ehr.stays.assign(period_length=ehr.stays["los"] * 24.0)
            cohorts[f"{task.value}/paired"] = build_cohort(
                task,
                "paired",
                samples=stays,
                images=images,
                image_labels=labels,
                rule=rule,
                seed=config.seed,
            )
            cohorts[f"{task.value}/radiology"] = build_cohort(
                task,
                "radiology",
                samples=stays,
                images=images,
                image_labels=labels,
                rule=rule,
                seed=config.seed,
            )
            continue
        samples = ehr.samples(task)
        for mode in config.modes:
            cohorts[f"{task.value}/{mode}"] = build_cohort(
                task,
                mode,
                samples=samples,
                images=images,
                rule=rule,
                data_ratio=config.data_ratio,
                seed=config.seed,
            )

    for key, cohort in cohorts.items():
        cohort.params = {"label_policy": config.label_policy, "labeler": config.labeler}
        cohort.save(out / "cohorts" / key)
    images.to_parquet(out / "images.parquet", index=False)
    flow = flow_table(ehr.cohort_flow, cohorts)
    flow.to_csv(out / "flow.csv", index=False)
    if figure:
        import matplotlib.pyplot as plt

        grid = plot_flow(flow)
        grid.savefig(out / "flow.png", dpi=110)
        plt.close(grid.figure)
    write_cohort_card(
        out / "data_card.md",
        title="linked EHR + X-ray cohort",
        source=f"{ehr.root} + {cxr_root}",
        ehr_flow=ehr.cohort_flow,
        cohorts=cohorts,
    )
    meta = {
        "config": asdict(config)
        | {"tasks": list(config.tasks), "modes": list(config.modes), "views": list(config.views)},
        "cohorts": sorted(cohorts),
        "images": {"rows": len(images), **unlisted, **images.attrs.get("report", {})},
    }
    (out / "linking.json").write_text(json.dumps(meta, indent=1, default=str))
    return LinkedData(root=out, config=meta["config"], images=images, cohorts=cohorts, flow=flow)
