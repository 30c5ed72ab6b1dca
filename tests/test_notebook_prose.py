"""Numbers in a notebook's prose agree with the outputs its cells computed.

A Markdown cell marks a number it took from an output with an HTML comment right after it
(invisible when rendered):

    the server cut the file at offset **455**<!-- output: at offset {} -->

The number is the last one before the comment (digits, with `,` or `_` separators and an
optional decimal part; Markdown emphasis and code marks in between are fine). `{}` in the
pattern stands for it, without separators. The check passes when some code cell of the same
notebook has an output containing the pattern with the number filled in (runs of white space
count as one space). Outputs of cells tagged `nbval-ignore-output` do not count: nbval does not
compare them, so they could drift. Since nbval compares every other output with a fresh run,
prose, committed output and the running code agree.

When the cell below a Markdown cell answers just the number (`PUBLISH` answering `2`), a pattern
`{}` would match any output holding that digit. The marker `<!-- next output: {} -->` is checked
against that one cell instead: the first code cell after the Markdown cell must have an output
*equal* to the pattern.

A pattern holds no `$`: JupyterLab's math pass reads a pair of them as TeX, comments included.

Any notebook can use the marker; `make test` checks every notebook under notebooks/.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("[0-9][0-9]-*.ipynb"))

MARKER = re.compile(r"<!--\s*(?P<next>next )?output:\s*(?P<pattern>.*?)\s*-->")
# Any comment that speaks of an output: one that MARKER does not read is a typo to report.
COMMENT_ON_OUTPUT = re.compile(r"<!--(?:(?!-->).)*?\boutput\b(?:(?!-->).)*-->", re.DOTALL)
# The number just before a marker: digits with separators, then Markdown marks or spaces.
NUMBER_BEFORE = re.compile(r"(?P<number>\d[\d,_]*(?:\.\d+)?)[*_`\s]*$")


def _text(source) -> str:
    return "".join(source) if isinstance(source, list) else source


def _cell_outputs(cell: dict) -> list[str]:
    """The text of each output of a code cell that nbval compares, white space collapsed."""
    if cell["cell_type"] != "code":
        return []
    if "nbval-ignore-output" in cell.get("metadata", {}).get("tags", []):
        return []
    texts = []
    for output in cell.get("outputs", []):
        text = _text(output.get("text", "")) + _text(output.get("data", {}).get("text/plain", ""))
        texts.append(" ".join(text.split()))
    return texts


def _compared_outputs(notebook: dict) -> list[str]:
    """The text of every output nbval compares, white space collapsed."""
    return [text for cell in notebook["cells"] for text in _cell_outputs(cell)]


def marked_numbers(notebook: dict) -> list[tuple[str, str, int | None]]:
    """(number, pattern, next_code_cell) for every marker in the notebook's Markdown cells.

    `next_code_cell` is the index of the code cell a `next output` marker is checked against
    (-1 when there is none); None for an `output` marker, checked against every output.
    """
    found: list[tuple[str, str, int | None]] = []
    cells = notebook["cells"]
    for index, cell in enumerate(cells):
        if cell["cell_type"] != "markdown":
            continue
        source = _text(cell["source"])
        for marker in MARKER.finditer(source):
            before = NUMBER_BEFORE.search(source[: marker.start()])
            number = before.group("number") if before else ""
            next_code_cell = None
            if marker.group("next"):
                later = (i for i in range(index + 1, len(cells)) if cells[i]["cell_type"] == "code")
                next_code_cell = next(later, -1)
            found.append((number, marker.group("pattern"), next_code_cell))
    return found


def prose_mismatches(notebook: dict) -> list[str]:
    """What a reader of the prose would be told wrongly: one line per marked number."""
    outputs = _compared_outputs(notebook)
    problems = [
        f"a comment that is no marker (write <!-- output: ... --> or <!-- next output: ... -->): "
        f"{comment!r}"
        for cell in notebook["cells"]
        if cell["cell_type"] == "markdown"
        for comment in COMMENT_ON_OUTPUT.findall(_text(cell["source"]))
        if not MARKER.fullmatch(comment)
    ]
    for number, pattern, next_code_cell in marked_numbers(notebook):
        if not number:
            problems.append(f"a marker <!-- output: {pattern} --> follows no number")
            continue
        if "$" in pattern:
            problems.append(f"the marker after {number} holds a $, which JupyterLab reads as TeX")
            continue
        if "{}" not in pattern:
            problems.append(f"the marker after {number} has no {{}} for the number: {pattern!r}")
            continue
        expected = " ".join(pattern.replace("{}", number.replace(",", "").replace("_", "")).split())
        if next_code_cell is None:
            if not any(expected in text for text in outputs):
                problems.append(
                    f"the prose says {number}, but no compared output contains {expected!r}: "
                    "re-run the cell, or correct the prose"
                )
        elif next_code_cell == -1:
            problems.append(f"the next-output marker after {number} has no code cell below it")
        elif expected not in _cell_outputs(notebook["cells"][next_code_cell]):
            problems.append(
                f"the prose says {number}, but the code cell below it (cell {next_code_cell}) "
                f"has no compared output equal to {expected!r}: re-run it, or correct the prose"
            )
    return problems


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_marked_numbers_in_the_prose_match_the_committed_outputs(path):
    notebook = json.loads(path.read_text(encoding="utf-8"))
    assert prose_mismatches(notebook) == []


def _notebook(markdown: str, output: str, tags=()) -> dict:
    return {
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": [markdown]},
            {
                "cell_type": "code",
                "metadata": {"tags": list(tags)},
                "source": ["x"],
                "outputs": [{"output_type": "stream", "name": "stdout", "text": [output]}],
            },
        ]
    }


def test_a_number_that_matches_its_output_passes():
    notebook = _notebook(
        "cut at offset **455**<!-- output: at offset {} -->.", "at  offset 455 !!!"
    )
    assert marked_numbers(notebook) == [("455", "at offset {}", None)]
    assert prose_mismatches(notebook) == []


def test_a_number_that_drifted_from_its_output_is_reported():
    notebook = _notebook("All 50,000<!-- output: keys: {} --> keys.", "keys: 49999")
    [problem] = prose_mismatches(notebook)
    assert "says 50,000" in problem and "'keys: 50000'" in problem


def test_an_output_nbval_ignores_is_no_evidence():
    notebook = _notebook(
        "`7`<!-- output: retry_after={}.0 -->", "retry_after=7.0", tags=["nbval-ignore-output"]
    )
    assert len(prose_mismatches(notebook)) == 1


def test_a_marker_without_a_number_or_placeholder_is_reported():
    assert "follows no number" in prose_mismatches(_notebook("none<!-- output: {} -->", "1"))[0]
    assert "no {}" in prose_mismatches(_notebook("8<!-- output: eight -->", "eight"))[0]


def test_a_next_output_marker_is_checked_against_the_cell_below_only():
    markdown = "`PUBLISH` answers 2<!-- next output: {} -->"
    below = _notebook(markdown, "2")
    assert marked_numbers(below) == [("2", "{}", 1)]
    assert prose_mismatches(below) == []
    elsewhere = _notebook(markdown, "1")
    elsewhere["cells"].append(_notebook("", "2")["cells"][1])
    assert "cell 1" in prose_mismatches(elsewhere)[0]
    assert "equal to '2'" in prose_mismatches(_notebook(markdown, "12"))[0]


def test_a_next_output_marker_below_the_last_code_cell_is_reported():
    notebook = _notebook("x", "2")
    notebook["cells"].append(_notebook("it was 2<!-- next output: {} -->", "")["cells"][0])
    assert "no code cell below" in prose_mismatches(notebook)[0]


def test_a_dollar_sign_in_a_marker_is_reported():
    [problem] = prose_mismatches(_notebook("costs 5<!-- output: ${} -->", "$5"))
    assert "TeX" in problem


def test_a_misspelled_marker_is_reported_not_skipped():
    [problem] = prose_mismatches(_notebook("2<!-- whole output: {} -->", "2"))
    assert "no marker" in problem and "whole output" in problem
