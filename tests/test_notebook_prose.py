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

Any notebook can use the marker; `make test` checks every notebook under notebooks/.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("[0-9][0-9]-*.ipynb"))

MARKER = re.compile(r"<!--\s*output:\s*(?P<pattern>.*?)\s*-->")
# The number just before a marker: digits with separators, then Markdown marks or spaces.
NUMBER_BEFORE = re.compile(r"(?P<number>\d[\d,_]*(?:\.\d+)?)[*_`\s]*$")


def _text(source) -> str:
    return "".join(source) if isinstance(source, list) else source


def _compared_outputs(notebook: dict) -> list[str]:
    """The text of every output nbval compares, white space collapsed."""
    texts = []
    for cell in notebook["cells"]:
        if cell["cell_type"] != "code":
            continue
        if "nbval-ignore-output" in cell.get("metadata", {}).get("tags", []):
            continue
        for output in cell.get("outputs", []):
            text = _text(output.get("text", "")) + _text(
                output.get("data", {}).get("text/plain", "")
            )
            texts.append(" ".join(text.split()))
    return texts


def marked_numbers(notebook: dict) -> list[tuple[str, str]]:
    """(number, pattern) for every marker in the notebook's Markdown cells."""
    found = []
    for cell in notebook["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        source = _text(cell["source"])
        for marker in MARKER.finditer(source):
            before = NUMBER_BEFORE.search(source[: marker.start()])
            number = before.group("number") if before else ""
            found.append((number, marker.group("pattern")))
    return found


def prose_mismatches(notebook: dict) -> list[str]:
    """What a reader of the prose would be told wrongly: one line per marked number."""
    outputs = _compared_outputs(notebook)
    problems = []
    for number, pattern in marked_numbers(notebook):
        if not number:
            problems.append(f"a marker <!-- output: {pattern} --> follows no number")
            continue
        if "{}" not in pattern:
            problems.append(f"the marker after {number} has no {{}} for the number: {pattern!r}")
            continue
        expected = " ".join(pattern.replace("{}", number.replace(",", "").replace("_", "")).split())
        if not any(expected in text for text in outputs):
            problems.append(
                f"the prose says {number}, but no compared output contains {expected!r}: "
                "re-run the cell, or correct the prose"
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
    assert marked_numbers(notebook) == [("455", "at offset {}")]
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
