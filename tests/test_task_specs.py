"""One specification per task: every layer reads the same facts."""

from __future__ import annotations

import pytest

from medmod_lib.linking.rules import LinkingRule
from medmod_lib.metrics.los import N_LOS_CLASSES
from medmod_lib.reference import CHEXPERT_LABELS, Task, phenotypes
from medmod_lib.tasks import LOS_CLASSES, TASK_SPECS, TaskSpec, of_kind, task_spec


def test_every_task_has_one_spec_and_names_parse_to_it():
    assert set(TASK_SPECS) == set(Task)
    for task, s in TASK_SPECS.items():
        assert task_spec(task.value) is s and task_spec(task) is s and task_spec(s) is s
        assert s.monitor == s.headline[0]  # the selection metric is the first headline
    with pytest.raises(ValueError):
        task_spec("mortality-in-5-years")


def test_kinds_label_columns_and_outputs():
    assert of_kind("binary") == (Task.IN_HOSPITAL_MORTALITY, Task.DECOMPENSATION)
    assert set(of_kind("multilabel")) == {Task.PHENOTYPING, Task.RADIOLOGY}
    assert task_spec(Task.RADIOLOGY).label_columns == list(CHEXPERT_LABELS)
    assert task_spec(Task.PHENOTYPING).num_outputs() == len(phenotypes()) == 25
    assert task_spec(Task.IN_HOSPITAL_MORTALITY).num_outputs() == 1
    assert LOS_CLASSES == N_LOS_CLASSES == task_spec(Task.LENGTH_OF_STAY).num_outputs(["x"])
    # data with its own labels (an imported folder) sizes the head by them
    assert task_spec(Task.PHENOTYPING).num_outputs(["a", "b"]) == 2


def test_linking_reads_the_window_end_from_the_spec():
    for task, s in TASK_SPECS.items():
        assert LinkingRule.for_task(task).window_end == s.window_end
    with pytest.raises(AttributeError):  # frozen
        TASK_SPECS[Task.RADIOLOGY].monitor = "kappa"  # type: ignore[misc]
    assert isinstance(task_spec("radiology"), TaskSpec)
