"""One specification per prediction task: what it predicts, how it is scored and linked.

The five MedMod tasks differ in a handful of facts that many layers need: the kind of
target (one probability, several independent ones, or one of 10 classes), the label
columns and the number of model outputs, the end of the window in which an X-ray may
be linked, the metric that picks the best epoch and the two headline metrics. They
live here, once, as a frozen :class:`TaskSpec` per task; the linking rules, the
training loop, the metrics and the report read them from :data:`TASK_SPECS` (or
:func:`task_spec`) instead of keeping their own tables.

Examples:
    >>> task_spec("in-hospital-mortality").monitor
    'auroc'
    >>> task_spec(Task.LENGTH_OF_STAY).num_outputs()
    10
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from .reference import CHEXPERT_LABELS, LOS_BIN_MEANS_HOURS, Task, phenotypes

Kind = Literal["binary", "multilabel", "multiclass"]
#: Length-of-stay buckets of the benchmark (remaining hours: <1 day, 1..7 days, 1-2 weeks,
#: > 2 weeks; bounds in ``reference.LOS_BIN_EDGES_DAYS``).
LOS_CLASSES = len(LOS_BIN_MEANS_HOURS)


@dataclass(frozen=True)
class TaskSpec:
    """The facts of one task.

    Attributes:
        task: the task.
        kind: ``binary`` (one sigmoid output), ``multilabel`` (one sigmoid per label,
            macro-averaged metrics) or ``multiclass`` (softmax over ``LOS_CLASSES``).
        window_end: end of the window an X-ray must fall in to be linked
            (``intime+48h``, ``outtime`` or ``prediction_time``; see
            :mod:`medmod_lib.linking.rules`).
        monitor: the validation metric that picks the best epoch (higher is better).
        headline: the two test metrics every table reports first.
        labels_from: where the labels are computed (module and function).
    """

    task: Task
    kind: Kind
    window_end: str
    monitor: str
    headline: tuple[str, str]
    labels_from: str

    @property
    def name(self) -> str:
        """The task's name as written in files and parameters."""
        return self.task.value

    @property
    def label_columns(self) -> list[str]:
        """The target columns of the task's samples, in model-output order.

        Length of stay trains on the 10-class ``los_bucket``; its ``y_true`` (remaining
        hours) stays in the samples for the MAD metric.
        """
        if self.task == Task.PHENOTYPING:
            return phenotypes()
        if self.task == Task.RADIOLOGY:
            return list(CHEXPERT_LABELS)
        if self.task == Task.LENGTH_OF_STAY:
            return ["los_bucket"]
        return ["y_true"]

    @property
    def loss(self) -> str:
        """``cross_entropy`` over the 10 bins, or ``binary_cross_entropy`` per label.

        Computed by :func:`medmod_lib.evaluation.heads.task_loss` over the labels that
        the batch's ``label_mask`` keeps.
        """
        return "cross_entropy" if self.kind == "multiclass" else "binary_cross_entropy"

    def num_outputs(self, label_columns: Sequence[str] | None = None) -> int:
        """Logits of a model for this task: 10 length-of-stay bins, else one per label.

        Args:
            label_columns: the labels of the data at hand (an imported benchmark
                folder may carry its own); default :attr:`label_columns`.
        """
        if self.kind == "multiclass":
            return LOS_CLASSES
        return len(self.label_columns if label_columns is None else label_columns)


TASK_SPECS: dict[Task, TaskSpec] = {
    s.task: s
    for s in (
        TaskSpec(
            Task.IN_HOSPITAL_MORTALITY,
            kind="binary",
            window_end="intime+48h",
            monitor="auroc",
            headline=("auroc", "auprc"),
            labels_from="medmod_lib/ehr/tasks.py: in_hospital_mortality "
            "(the death flag from medmod_lib/ehr/cohort.py: mortality_between)",
        ),
        TaskSpec(
            Task.DECOMPENSATION,
            kind="binary",
            window_end="prediction_time",
            monitor="auroc",
            headline=("auroc", "auprc"),
            labels_from="medmod_lib/ehr/tasks.py: decompensation",
        ),
        TaskSpec(
            Task.PHENOTYPING,
            kind="multilabel",
            window_end="outtime",
            monitor="auroc_macro",
            headline=("auroc_macro", "auprc_macro"),
            labels_from="medmod_lib/ehr/tasks.py: phenotyping (discharge ICD codes)",
        ),
        TaskSpec(
            Task.LENGTH_OF_STAY,
            kind="multiclass",
            window_end="prediction_time",
            monitor="kappa",
            headline=("kappa", "mad"),
            labels_from="medmod_lib/ehr/tasks.py: length_of_stay",
        ),
        TaskSpec(
            Task.RADIOLOGY,
            kind="multilabel",
            window_end="outtime",
            monitor="auroc_macro",
            headline=("auroc_macro", "auprc_macro"),
            labels_from="medmod_lib/cxr/labels.py: read_study_labels (CheXpert labels)",
        ),
    )
}


def task_spec(task: str | Task | TaskSpec) -> TaskSpec:
    """The :class:`TaskSpec` of a task name, :class:`Task` or spec.

    Raises:
        ValueError: an unknown task name (the message lists the known ones).
    """
    if isinstance(task, TaskSpec):
        return task
    return TASK_SPECS[Task.parse(task)]


def of_kind(kind: Kind) -> tuple[Task, ...]:
    """The tasks of one kind, in :class:`Task` order."""
    return tuple(t for t in Task if TASK_SPECS[t].kind == kind)
