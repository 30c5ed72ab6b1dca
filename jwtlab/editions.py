"""The two editions of the notebooks, and the tools that keep them honest.

``notebooks/`` is the instructor edition and the source of truth: every exercise is solved in
place, between nbgrader's markers, and the outputs are committed. ``student/`` is the student
edition, written by ``make student``: the same notebooks with each solution replaced by a stub
that raises ``NotImplementedError`` with the exercise's one-line hint, and no outputs.

An exercise, in the instructor edition, is a code cell tagged ``exercise``::

    # Hint: SET takes the TTL in seconds as ex=...
    ### BEGIN SOLUTION
    client.set("student:name", "Ada", ex=30)
    ### END SOLUTION

followed by a code cell tagged ``check`` that asserts the substance (the server's state, a
recomputed value) with a message saying what was expected, what was found and where to look.
The student edition of that exercise cell reads::

    # Hint: SET takes the TTL in seconds as ex=...
    # YOUR CODE HERE
    raise NotImplementedError("SET takes the TTL in seconds as ex=...")

The markers and the ``# YOUR CODE HERE`` / ``raise NotImplementedError`` stub are nbgrader's
(``ClearSolutions``). nbgrader itself is not used: it brings a database layer (SQLAlchemy,
Alembic), the classic Notebook server and its own JupyterLab extensions into a student's
install, and its stub cannot carry a per-exercise hint. This module honours the same markers.

Run it as ``python -m jwtlab.editions student`` (what ``make student`` does),
``... outputs`` (``make outputs``: re-execute the instructor edition in place) or ``... strip``
(drop per-cell execution timestamps, the pre-commit hook).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import shutil
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
HINT_PREFIX = "# Hint:"
STUB_COMMENT = "# YOUR CODE HERE"
EXERCISE_TAG = "exercise"
CHECK_TAG = "check"

#: Notebooks the editions are made of: ``NN-topic.ipynb``. ``_template.ipynb`` is for authors.
NOTEBOOK_GLOB = "[0-9][0-9]-*.ipynb"
#: Folders beside the notebooks that the notebooks read (keys, word lists); copied, not linked,
#: so that the student edition works wherever it is (a WSL checkout under /mnt/c, a zip file).
SHARED_FOLDERS = ("keys", "data")

Notebook = dict[str, Any]
Cell = dict[str, Any]


class ExerciseMarkupError(ValueError):
    """An exercise cell in the instructor edition is not marked up the way the tools need."""


# -- reading and writing notebooks -----------------------------------------------------------


def read_notebook(path: Path) -> Notebook:
    with path.open(encoding="utf-8") as file:
        notebook: Notebook = json.load(file)
    return notebook


def notebook_text(notebook: Notebook) -> str:
    """The file's text, laid out exactly as Jupyter and nbformat write it (so diffs stay small)."""
    return json.dumps(notebook, sort_keys=True, indent=1, ensure_ascii=False) + "\n"


def write_notebook(notebook: Notebook, path: Path) -> None:
    path.write_text(notebook_text(notebook), encoding="utf-8")


def cell_source(cell: Cell) -> str:
    source = cell.get("source", "")
    return source if isinstance(source, str) else "".join(source)


def set_cell_source(cell: Cell, text: str) -> None:
    cell["source"] = text.splitlines(keepends=True)


def tags(cell: Cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def is_exercise(cell: Cell) -> bool:
    return cell.get("cell_type") == "code" and EXERCISE_TAG in tags(cell)


def is_check(cell: Cell) -> bool:
    return cell.get("cell_type") == "code" and CHECK_TAG in tags(cell)


# -- one exercise cell ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SolutionRegion:
    """Where the solution sits in an exercise cell's lines, and the hint above it."""

    hint: str
    begin: int  # index of the BEGIN line
    end: int  # index of the END line
    indent: str


def find_solution(source: str, where: str) -> SolutionRegion:
    """Find the hint and the one solution region of an exercise cell, or say what is wrong.

    ``where`` names the cell in error messages (``notebooks/02-ttl.ipynb, cell 31``).
    """
    lines = source.split("\n")
    stripped = [line.strip() for line in lines]
    begins = [i for i, line in enumerate(stripped) if line == BEGIN_SOLUTION]
    ends = [i for i, line in enumerate(stripped) if line == END_SOLUTION]
    if len(begins) != 1 or len(ends) != 1 or ends[0] < begins[0]:
        raise ExerciseMarkupError(
            f"{where}: an exercise cell needs exactly one {BEGIN_SOLUTION!r} line and, below it, "
            f"one {END_SOLUTION!r} line; found {len(begins)} and {len(ends)}. "
            "Put the whole solution between the two markers."
        )
    # The hint line as written (only its indentation dropped): a control character at its
    # end, which strip() would hide, stays in the student's comment line all the same.
    hints = [
        line.lstrip(" \t")
        for line, bare in zip(lines[: begins[0]], stripped, strict=False)
        if bare.startswith(HINT_PREFIX)
    ]
    hint_line = hints[-1][len(HINT_PREFIX) :] if hints else ""
    hint = hint_line.strip()
    if not hint:
        raise ExerciseMarkupError(
            f"{where}: no hint above {BEGIN_SOLUTION!r}. Add a line like "
            f"'{HINT_PREFIX} SET takes the TTL in seconds as ex=...' before the marker: the "
            "student edition raises NotImplementedError with that text."
        )
    if any(_is_control(char) for char in hint_line):
        raise ExerciseMarkupError(
            f"{where}: the hint {hint_line!r} holds a control character; write it as plain text on "
            "one line (the student edition puts it in a Python string and a comment)"
        )
    begin_line = lines[begins[0]]
    indent = begin_line[: len(begin_line) - len(begin_line.lstrip())]
    return SolutionRegion(hint=hint, begin=begins[0], end=ends[0], indent=indent)


def _is_control(char: str) -> bool:
    """A character that has no place in a one-line hint (a tab is fine; a carriage return
    would end the comment it sits in, for Python)."""
    return (ord(char) < 32 and char != "\t") or ord(char) == 127


def stub_for(region: SolutionRegion) -> list[str]:
    """nbgrader's stub, with the exercise's hint as the exception's message."""
    return [
        f"{region.indent}{STUB_COMMENT}",
        f"{region.indent}raise NotImplementedError({json.dumps(region.hint, ensure_ascii=False)})",
    ]


def clear_solution(source: str, where: str) -> str:
    """The student's version of an exercise cell: the solution region replaced by the stub."""
    region = find_solution(source, where)
    lines = source.split("\n")
    kept = [*lines[: region.begin], *stub_for(region), *lines[region.end + 1 :]]
    return "\n".join(kept)


def restore_solution(student_source: str, instructor_source: str, where: str) -> str:
    """Put the instructor's solution back into a student's exercise cell (the inverse of
    :func:`clear_solution`, used by the tests that keep the editions from drifting)."""
    region = find_solution(instructor_source, where)
    solution = instructor_source.split("\n")[region.begin : region.end + 1]
    stub = stub_for(region)
    lines = student_source.split("\n")
    for start in range(len(lines) - len(stub) + 1):
        if lines[start : start + len(stub)] == stub:
            return "\n".join([*lines[:start], *solution, *lines[start + len(stub) :]])
    raise ExerciseMarkupError(f"{where}: the student cell has no stub for hint {region.hint!r}")


# -- whole notebooks -----------------------------------------------------------------------------


def check_markup(notebook: Notebook, name: str) -> None:
    """Every solution marker in a code cell sits in a cell tagged ``exercise``, and every such
    cell is well formed: otherwise a solution could reach the student edition. (Markdown may
    mention the markers: only code cells are edited.)"""
    for index, cell in enumerate(notebook["cells"]):
        where = f"{name}, cell {index}"
        source = cell_source(cell)
        if is_exercise(cell):
            find_solution(source, where)
        elif cell.get("cell_type") == "code" and _has_marker_line(source):
            raise ExerciseMarkupError(
                f"{where}: solution markers in a code cell that is not tagged "
                f'{EXERCISE_TAG!r}. Tag it (cell metadata "tags": ["{EXERCISE_TAG}"]) or '
                "remove the markers."
            )


def _has_marker_line(source: str) -> bool:
    return any(line.strip() in (BEGIN_SOLUTION, END_SOLUTION) for line in source.splitlines())


def clear_outputs(cell: Cell) -> None:
    if cell.get("cell_type") == "code":
        cell["outputs"] = []
        cell["execution_count"] = None
    cell.get("metadata", {}).pop("execution", None)


def student_edition(notebook: Notebook, name: str) -> Notebook:
    """The student edition of one instructor notebook: solutions stubbed, outputs cleared."""
    check_markup(notebook, name)
    student = copy.deepcopy(notebook)
    for index, cell in enumerate(student["cells"]):
        clear_outputs(cell)
        if is_exercise(cell):
            set_cell_source(cell, clear_solution(cell_source(cell), f"{name}, cell {index}"))
    return student


# -- make student --------------------------------------------------------------------------------


@dataclass
class EditionReport:
    written: list[Path] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)
    #: kept files whose instructor notebook has changed since (or that the student edited)
    differs: list[Path] = field(default_factory=list)

    def lines(self, target: Path) -> Iterator[str]:
        """What to tell the student: each notebook by name, the shared folders by count."""

        def shown(path: Path) -> str:
            inside = target.parent in path.parents
            return str(path.relative_to(target.parent)) if inside else str(path)

        for verb, paths in (("wrote", self.written), ("kept ", self.kept)):
            folders: dict[Path, int] = {}
            for path in paths:
                if path.parent == target:
                    note = (
                        "  (yours differs from the current edition)" if path in self.differs else ""
                    )
                    yield f"{verb}  {shown(path)}{note}"
                else:
                    folder = target / path.relative_to(target).parts[0]
                    folders[folder] = folders.get(folder, 0) + 1
            for folder, count in folders.items():
                yield f"{verb}  {shown(folder)}/ ({count} file{'s' if count != 1 else ''})"
        yield (
            f"{len(self.written)} written, {len(self.kept)} kept: a file already in "
            f"{target.name}/ is never overwritten."
        )
        if self.differs:
            yield (
                "To get the current edition of a notebook you changed, rename yours "
                "(e.g. 02-mine.ipynb) and run `make student` again."
            )


def build_student_edition(
    source: Path, target: Path, notebooks: Sequence[Path] | None = None
) -> EditionReport:
    """Write the student edition of every notebook in ``source`` (or of ``notebooks``, which
    live there) into ``target``.

    A file that already exists in ``target`` is never overwritten: it is the student's work.
    Missing notebooks (new ones, or ones the student deleted) are written fresh; the shared
    folders (keys, data) are copied file by file under the same rule.
    """
    report = EditionReport()
    if notebooks is None:
        notebooks = sorted(source.glob(NOTEBOOK_GLOB))
    if not notebooks:
        raise FileNotFoundError(f"no notebooks matching {NOTEBOOK_GLOB} in {source}")
    # Check every notebook before writing any, so a markup error leaves nothing half done.
    editions = {path.name: student_edition(read_notebook(path), str(path)) for path in notebooks}
    target.mkdir(parents=True, exist_ok=True)
    for name, edition in editions.items():
        destination = target / name
        if destination.exists():
            report.kept.append(destination)
            if _differs(destination, edition):
                report.differs.append(destination)
            continue
        write_notebook(edition, destination)
        report.written.append(destination)
    for folder in SHARED_FOLDERS:
        if not (source / folder).is_dir():
            continue
        for file in sorted((source / folder).rglob("*")):
            if not file.is_file():
                continue
            destination = target / file.relative_to(source)
            if destination.exists():
                report.kept.append(destination)
                continue
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(file, destination)
            report.written.append(destination)
    return report


def _differs(path: Path, edition: Notebook) -> bool:
    """Whether a kept notebook's cells differ from the current edition's (outputs aside)."""
    try:
        mine = [cell_source(cell) for cell in read_notebook(path)["cells"]]
    except (OSError, ValueError, LookupError, TypeError, AttributeError):
        return True  # not even a notebook any more: certainly not the current edition
    return mine != [cell_source(cell) for cell in edition["cells"]]


# -- make outputs / strip --------------------------------------------------------------------


def strip_churn(notebook: Notebook) -> bool:
    """Drop what changes on every run without meaning anything (per-cell execution
    timestamps). Returns whether anything was dropped."""
    changed = False
    for cell in notebook["cells"]:
        if cell.get("metadata", {}).pop("execution", None) is not None:
            changed = True
    return changed


def execute_in_place(path: Path, timeout: int = 600) -> None:
    """Re-execute one instructor notebook top to bottom and save it with its new outputs.

    Deterministic where we can make it so: a fixed hash seed, no timing metadata, the
    notebook's own folder as the working directory. A cell that raises stops the run and
    nothing is written.
    """
    import nbformat  # the lab/test extras bring these; a student never runs `make outputs`
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    os.environ.setdefault("PYTHONHASHSEED", "0")
    client = NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        record_timing=False,
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    plain: Notebook = json.loads(nbformat.writes(notebook))
    strip_churn(plain)
    write_notebook(plain, path)


def _instructor_notebooks(paths: Sequence[str], source: Path) -> list[Path]:
    if paths:
        return [Path(p) for p in paths]
    return [*sorted(source.glob(NOTEBOOK_GLOB)), source / "_template.ipynb"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jwtlab.editions", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    student = sub.add_parser("student", help="write the student edition (never overwrites)")
    student.add_argument("--source", type=Path, default=Path("notebooks"))
    student.add_argument("--target", type=Path, default=Path("student"))
    outputs = sub.add_parser("outputs", help="re-execute instructor notebooks in place")
    outputs.add_argument("notebooks", nargs="*", help="default: every notebook and the template")
    outputs.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    strip = sub.add_parser("strip", help="drop per-cell execution timestamps, in place")
    strip.add_argument("notebooks", nargs="*")
    args = parser.parse_args(argv)

    try:
        if args.command == "student":
            report = build_student_edition(args.source, args.target)
            for line in report.lines(args.target):
                print(line)
        elif args.command == "outputs":
            for path in _instructor_notebooks(args.notebooks, Path("notebooks")):
                print(f"executing {path} ...", flush=True)
                execute_in_place(path, timeout=args.timeout)
        else:
            for path in _instructor_notebooks(args.notebooks, Path("notebooks")):
                notebook = read_notebook(path)
                if strip_churn(notebook):
                    write_notebook(notebook, path)
                    print(f"stripped execution timestamps from {path}")
    except ExerciseMarkupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # a missing folder, a file where a folder should be, a full disk
        print(f"error: {exc}. Nothing you had was overwritten.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
