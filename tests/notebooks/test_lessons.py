"""The lesson skeleton of the numbered notebooks: objectives up front, exercises at the end.

Each lesson (every numbered notebook but the ``05_report`` summary) opens, right
after its title cell, with a markdown cell giving its learning objectives,
prerequisites and time, and ends, after ``## Takeaways``, with ``## Exercises``:
2-4 exercises, each a ``### Exercise N: ...`` question cell followed by a
markdown ``<details><summary>Answer</summary> ... </details>`` cell and, where
the answer is computed, a code cell tagged ``exercise-answer``.

These tests read the ``.py`` sources (no execution). The answer cells are executed
by the smoke-mode notebook test (``test_smoke.py`` runs every code cell of the
``.ipynb``), so here it is enough that each of them is in the paired ``.ipynb``.
"""

from __future__ import annotations

import re
from pathlib import Path

import jupytext
import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
#: The summary notebook collects results; it teaches nothing new, so it has no exercises.
NOT_LESSONS = {"05_report"}
LESSONS = sorted(p for p in NOTEBOOKS.glob("[0-9][0-9]_*.py") if p.stem not in NOT_LESSONS)
ANSWER_TAG = "exercise-answer"
ANSWER = re.compile(r"<details>\s*<summary>\s*Answer\s*</summary>.*?</details>", re.S)


def _read(py: Path) -> nbformat.NotebookNode:
    return jupytext.read(py, fmt="py:percent")


def _headings(nb: nbformat.NotebookNode, level: str = "## ") -> list[tuple[int, str]]:
    """(cell index, heading text) of every markdown heading at ``level``."""
    return [
        (i, line[len(level) :].strip())
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "markdown"
        for line in cell.source.splitlines()
        if line.startswith(level)
    ]


def _exercise_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    """The cells after the ``## Exercises`` heading (its own cell excluded)."""
    start = [i for i, text in _headings(nb) if text == "Exercises"]
    assert start, "no `## Exercises` heading"
    return nb.cells[start[0] + 1 :]


def _tagged(cell: nbformat.NotebookNode) -> bool:
    return cell.cell_type == "code" and ANSWER_TAG in cell.metadata.get("tags", [])


def test_the_lessons_are_found():
    assert [p.stem[:2] for p in LESSONS] == ["00", "01", "02", "03", "04", "06"]


@pytest.mark.parametrize("py", LESSONS, ids=[p.stem for p in LESSONS])
def test_objectives_cell_follows_the_title(py):
    nb = _read(py)
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    cell = nb.cells[1]
    assert cell.cell_type == "markdown", "the cell after the title must be the objectives cell"
    text = cell.source
    for part in ("Learning objectives", "Prerequisites", "Time"):
        assert f"**{part}" in text, f"the objectives cell lacks a bold **{part}** paragraph"
    assert "After this notebook you can" in text
    objectives = text.split("Learning objectives", 1)[1].split("Prerequisites", 1)[0]
    bullets = [ln for ln in objectives.splitlines() if ln.startswith("- ")]
    assert 3 <= len(bullets) <= 5, f"{len(bullets)} learning objectives; write 3 to 5"
    time = text.split("**Time", 1)[1]
    assert re.search(r"\d+(\.\d+)?(-\d+)?\s*(s|min)\b", time), "state the run time (s or min)"
    assert "read" in time, "state the reading time"


@pytest.mark.parametrize("py", LESSONS, ids=[p.stem for p in LESSONS])
def test_exercises_come_after_the_takeaways(py):
    titles = [text for _, text in _headings(_read(py))]
    assert "Takeaways" in titles and "Exercises" in titles
    assert titles[-2:] == ["Takeaways", "Exercises"], (
        f"`## Exercises` must be the last section, right after `## Takeaways`: {titles[-3:]}"
    )


@pytest.mark.parametrize("py", LESSONS, ids=[p.stem for p in LESSONS])
def test_each_exercise_has_a_question_and_a_hidden_answer(py):
    cells = _exercise_cells(_read(py))
    questions = [
        i
        for i, c in enumerate(cells)
        if c.cell_type == "markdown" and re.match(r"### Exercise \d+: \S", c.source)
    ]
    assert 2 <= len(questions) <= 4, f"{len(questions)} exercises; write 2 to 4"
    answers = [c for c in cells if c.cell_type == "markdown" and ANSWER.search(c.source)]
    assert len(answers) >= 2
    for i in questions:
        answer = cells[i + 1] if i + 1 < len(cells) else None
        assert answer is not None and answer.cell_type == "markdown", (
            f"`{cells[i].source.splitlines()[0]}` needs an answer cell right after it"
        )
        assert ANSWER.search(answer.source), (
            f"the answer to `{cells[i].source.splitlines()[0]}` must be a "
            "<details><summary>Answer</summary> ... </details> block"
        )
        body = ANSWER.search(answer.source).group(0)
        assert len(body.split()) > 20, "an answer explains, not just states"


@pytest.mark.parametrize("py", LESSONS, ids=[p.stem for p in LESSONS])
def test_answer_cells_follow_an_answer_and_stay_cheap(py):
    nb = _read(py)
    cells = nb.cells
    tagged = [i for i, c in enumerate(cells) if _tagged(c)]
    assert tagged, "at least one exercise's answer should be computed (tag it exercise-answer)"
    exercises_at = [i for i, text in _headings(nb) if text == "Exercises"][0]
    for i in tagged:
        assert i > exercises_at, "exercise-answer cells belong to the Exercises section"
        before = cells[i - 1]
        assert before.cell_type == "markdown" and ANSWER.search(before.source), (
            "an exercise-answer cell comes right after its <details> answer"
        )
        source = cells[i].source
        # answers read the notebook's objects; they never train or rerun the pipeline
        for slow in ("pretrain_linked(", "evaluate_task(", "supervised(", "linear_eval("):
            assert slow not in source, f"answer cell calls {slow!r}: answers must be cheap"
        assert "ensure_" not in source, "answer cells reuse the notebook's objects"


@pytest.mark.parametrize("py", LESSONS, ids=[p.stem for p in LESSONS])
def test_answer_cells_are_in_the_paired_ipynb(py):
    ipynb = nbformat.read(py.with_suffix(".ipynb"), as_version=4)
    stored = [c.source for c in ipynb.cells if _tagged(c)]
    expected = [c.source for c in _read(py).cells if _tagged(c)]
    assert stored == expected, (
        f"{py.with_suffix('.ipynb').name} lacks or differs in its `{ANSWER_TAG}` cells; "
        "run `make notebooks`"
    )
