"""Every notebook follows the house outline of notebooks/_template.ipynb: a title and what you
will learn, set-up, sections, exercises with checks, a recap that says what comes next, and a
clean-up; and its code cells stay short.

These read the notebooks' JSON only (no kernel), so they take well under a second.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from jwtlab import editions

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
TEMPLATE = NOTEBOOKS / "_template.ipynb"
NUMBERED = sorted(NOTEBOOKS.glob(editions.NOTEBOOK_GLOB))

MAX_CODE_LINES = 25
LONG_CELL_PREFIX = "# long cell:"
#: The headings every notebook has, in this order (sections of its own go between them).
OUTLINE = ("## Setup", "## Exercises", "## Recap", "## Clean up")

every_notebook = pytest.mark.parametrize("path", [TEMPLATE, *NUMBERED], ids=lambda path: path.name)


def _cells(path: Path) -> list[dict]:
    cells: list[dict] = editions.read_notebook(path)["cells"]
    return cells


def _headings(cells: list[dict]) -> list[tuple[int, str]]:
    return [
        (index, line.strip())
        for index, cell in enumerate(cells)
        if cell["cell_type"] == "markdown"
        for line in editions.cell_source(cell).splitlines()
        if line.startswith("#")
    ]


@every_notebook
def test_it_opens_with_a_title_and_what_you_will_learn(path):
    first = _cells(path)[0]
    text = editions.cell_source(first)
    assert first["cell_type"] == "markdown" and text.startswith("# "), (
        f"{path.name}: the first cell should be markdown starting with the title, '# NN · Topic'"
    )
    assert "What you will learn" in text, (
        f"{path.name}: the first cell should list **What you will learn** (see _template.ipynb)"
    )


@every_notebook
def test_it_follows_the_house_outline(path):
    cells = _cells(path)
    headings = _headings(cells)
    found = [heading for _, heading in headings if heading in OUTLINE]
    assert found == list(OUTLINE), (
        f"{path.name}: expected the headings {list(OUTLINE)} once each and in that order; "
        f"found {found}. Copy the outline from notebooks/_template.ipynb."
    )
    recap = next(index for index, heading in headings if heading == "## Recap")
    after_recap = "\n".join(editions.cell_source(c) for c in cells[recap:])
    assert any(line.startswith("Next") for line in after_recap.splitlines()), (
        f"{path.name}: the recap should end with a line 'Next: **NN · the next notebook**'"
    )
    clean_up = next(index for index, heading in headings if heading == "## Clean up")
    assert any(c["cell_type"] == "code" for c in cells[clean_up:]), (
        f"{path.name}: '## Clean up' needs a code cell that stops what the notebook started"
    )


@every_notebook
def test_no_code_cell_is_longer_than_25_lines_unless_it_says_why(path):
    too_long = {
        index: len(source.splitlines())
        for index, cell in enumerate(_cells(path))
        if cell["cell_type"] == "code"
        for source in [editions.cell_source(cell).strip("\n")]
        if len(source.splitlines()) > MAX_CODE_LINES and not source.startswith(LONG_CELL_PREFIX)
    }
    assert not too_long, (
        f"{path.name}: code cells over {MAX_CODE_LINES} lines (cell index: lines): {too_long}. "
        f"Split them, one idea per cell, or make the first line '{LONG_CELL_PREFIX} <why>'."
    )


@every_notebook
def test_every_exercise_is_followed_by_a_check_that_explains_itself(path):
    cells = _cells(path)
    editions.check_markup({"cells": cells}, path.name)  # markers only in exercise cells
    for index, cell in enumerate(cells):
        if editions.is_exercise(cell):
            following = cells[index + 1] if index + 1 < len(cells) else {}
            assert editions.is_check(following), (
                f"{path.name}, cell {index}: an exercise cell must be followed by a code cell "
                "tagged 'check' that verifies the substance"
            )
        if editions.is_check(cell):
            asserts = [
                node
                for node in ast.walk(ast.parse(editions.cell_source(cell)))
                if isinstance(node, ast.Assert)
            ]
            assert asserts, f"{path.name}, cell {index}: a check cell asserts something"
            silent = [node.lineno for node in asserts if node.msg is None]
            assert not silent, (
                f"{path.name}, cell {index}: assert without a message on line(s) {silent}; say "
                "what was expected, what was found and where to look: assert cond, f'...'"
            )


# The lead enables this once the notebooks of issue 13 are merged (every numbered notebook then
# has its exercises tagged): delete the skip line below.
@pytest.mark.parametrize("path", NUMBERED, ids=lambda path: path.name)
def test_every_numbered_notebook_has_at_least_two_exercises(path):
    exercises = [c for c in _cells(path) if editions.is_exercise(c)]
    assert len(exercises) >= 2, (
        f"{path.name}: {len(exercises)} cell(s) tagged 'exercise'; every notebook has at least "
        "two, one beyond copying a line from above (see CONTRIBUTING.md, 'Exercises')"
    )
