"""medmod_lib.viz.reference_tables: the task and variable tables are read from the code."""

from __future__ import annotations

from medmod_lib.ehr import tasks
from medmod_lib.ehr.discretizer import header
from medmod_lib.reference import CHEXPERT_LABELS, Task, channels, phenotypes
from medmod_lib.viz.reference_tables import task_table, variable_table

HR, GCS_EYE = "Heart Rate", "Glascow coma scale eye opening"


def test_task_table_reads_the_code():
    table = task_table()
    assert list(table.index) == [t.value for t in Task]
    assert table.loc["phenotyping", "outputs"] == len(phenotypes())
    assert table.loc["radiology", "outputs"] == len(CHEXPERT_LABELS)
    assert "retrospective" in table.loc["phenotyping", "prediction time"]
    assert f"{tasks.IHM_HOURS:g} h" in table.loc["in-hospital-mortality", "prediction time"]
    assert "intime + 48 h" in table.loc["in-hospital-mortality", "X-ray linked"]
    assert table["acted on by"].str.len().min() > 10


def test_variable_table_matches_the_discretizer_layout():
    table = variable_table()
    assert list(table.index) == channels()
    n_value_cols = (table["one-hot columns"] + (table["type"] == "continuous")).sum()
    assert n_value_cols + len(table) == len(header()) == 76
    assert table.loc[GCS_EYE, "one-hot columns"] == 8 and table.loc[HR, "normal value"] == "86"
    assert table.loc["Temperature", "unit"] == "degC"
    assert (
        table.loc[HR, "input columns"]
        == f"{header().index(HR)} + mask {header().index('mask->' + HR)}"
    )
