"""The student edition (``make student``, ``jwtlab.editions``): stubs where the solutions were,
never a student's file overwritten, and two editions that cannot drift apart.

Which notebooks: every notebook under notebooks/ that has a cell tagged ``exercise`` (the
template always has one). A numbered notebook joins these tests by itself once its exercises are
tagged; ``test_notebook_structure.py`` holds the test that every numbered notebook has two.

The tests marked ``student_edition`` run each student notebook in a kernel (as long as nbval
takes for the instructor edition); ``make test`` leaves them out and ``make student-check`` (a
step of its own in .ci/run) runs them.
"""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from jwtlab import editions

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
TEMPLATE = NOTEBOOKS / "_template.ipynb"


def _has_exercises(path: Path) -> bool:
    return any(editions.is_exercise(c) for c in editions.read_notebook(path)["cells"])


#: The template plus every numbered notebook whose exercises are tagged already.
EXERCISE_NOTEBOOKS = [TEMPLATE] + [
    path for path in sorted(NOTEBOOKS.glob(editions.NOTEBOOK_GLOB)) if _has_exercises(path)
]
by_name = pytest.mark.parametrize("path", EXERCISE_NOTEBOOKS, ids=lambda path: path.name)

EXERCISE = """\
import math

# Hint: the area of a circle is pi r squared
### BEGIN SOLUTION
area = math.pi * radius**2
### END SOLUTION
print(area)"""


def _cell(source: str, cell_type: str = "code", tags: tuple[str, ...] = ()) -> dict:
    cell = {"cell_type": cell_type, "metadata": {"tags": list(tags)} if tags else {}}
    cell["source"] = source.splitlines(keepends=True)
    if cell_type == "code":
        cell.update(outputs=[{"output_type": "stream", "text": "x"}], execution_count=3)
    return cell


def _notebook(*cells: dict) -> dict:
    return {"cells": list(cells), "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


# -- one exercise cell ---------------------------------------------------------------------------


def test_the_solution_becomes_a_stub_that_raises_the_hint():
    student = editions.clear_solution(EXERCISE, "ex")
    assert student.splitlines() == [
        "import math",
        "",
        "# Hint: the area of a circle is pi r squared",
        "# YOUR CODE HERE",
        'raise NotImplementedError("the area of a circle is pi r squared")',
        "print(area)",
    ]


def test_the_stub_keeps_the_indentation_of_the_markers():
    source = (
        "def area(r):\n    # Hint: pi r squared\n    ### BEGIN SOLUTION\n"
        "    return 3.14 * r * r\n    ### END SOLUTION\n"
    )
    student = editions.clear_solution(source, "ex")
    assert student.splitlines()[-1] == '    raise NotImplementedError("pi r squared")'
    namespace: dict = {}
    exec(student, namespace)  # still valid Python
    with pytest.raises(NotImplementedError, match="pi r squared"):
        namespace["area"](2)


def test_a_hint_with_quotes_and_korean_stays_a_valid_string():
    source = '# Hint: use "ex=" — 초 단위\n### BEGIN SOLUTION\nx = 1\n### END SOLUTION'
    student = editions.clear_solution(source, "ex")
    with pytest.raises(NotImplementedError) as raised:
        exec(student, {})
    assert str(raised.value) == 'use "ex=" — 초 단위'


@pytest.mark.parametrize(
    ("source", "says"),
    [
        ("### BEGIN SOLUTION\nx = 1\n### END SOLUTION", "no hint"),
        ("# Hint:   \n### BEGIN SOLUTION\nx = 1\n### END SOLUTION", "no hint"),
        ("# Hint: h\n### BEGIN SOLUTION\nx = 1", "found 1 and 0"),
        ("# Hint: h\n### END SOLUTION\nx = 1\n### BEGIN SOLUTION", "below it"),
        ("# Hint: h\n### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION", "found 2 and 1"),
        ("# Hint: h\nx = 1", "found 0 and 0"),
        ("### BEGIN SOLUTION\n# Hint: h\nx = 1\n### END SOLUTION", "no hint"),
    ],
)
def test_bad_markup_is_refused_with_a_message_that_says_what_to_do(source, says):
    with pytest.raises(editions.ExerciseMarkupError, match=says) as raised:
        editions.clear_solution(source, "notebooks/99-x.ipynb, cell 7")
    assert "notebooks/99-x.ipynb, cell 7" in str(raised.value)


@given(
    hint=st.text(min_size=1).filter(
        lambda t: t.strip() and not any(editions._is_control(char) for char in t)
    ),
    solution=st.lists(st.text().map(lambda t: t.replace("\r", "")), max_size=5),
)
def test_restoring_the_solution_gives_back_the_instructor_cell(hint, solution):
    body = [line for text in solution for line in text.splitlines()]
    body = [
        line
        for line in body
        if line.strip() not in (editions.BEGIN_SOLUTION, editions.END_SOLUTION)
    ]
    source = "\n".join(
        ["x = 1", f"# Hint: {hint}", "### BEGIN SOLUTION", *body, "### END SOLUTION", "y = 2"]
    )
    student = editions.clear_solution(source, "ex")
    assert editions.restore_solution(student, source, "ex") == source


@given(hint=st.text(min_size=1).filter(lambda t: t.strip() and len(t.split("\n")) == 1))
@example(hint="0\r\x0b")  # found by the fuzz: a CR ends the comment, strip() hid it
def test_any_hint_becomes_the_exact_message_of_the_stub_or_is_refused(hint):
    source = f"# Hint: {hint}\n### BEGIN SOLUTION\nx = 1\n### END SOLUTION"
    try:
        expected = editions.find_solution(source, "ex").hint
    except editions.ExerciseMarkupError as refused:
        assert "control character" in str(refused)
        assert any(editions._is_control(char) for char in hint)
        return
    with pytest.raises(NotImplementedError) as raised:
        exec(editions.clear_solution(source, "ex"), {})
    assert str(raised.value) == expected


def test_markers_outside_an_exercise_cell_are_refused():
    notebook = _notebook(_cell("# Hint: h\n### BEGIN SOLUTION\nx = 1\n### END SOLUTION"))
    with pytest.raises(editions.ExerciseMarkupError, match="not tagged 'exercise'"):
        editions.student_edition(notebook, "nb")


def test_the_student_edition_has_no_outputs_and_no_timestamps():
    shown = _cell("x = 1")
    shown["metadata"]["execution"] = {"iopub.execute_input": "2026-01-01T00:00:00Z"}
    notebook = _notebook(shown, _cell(EXERCISE, tags=("exercise",)), _cell("# Title", "markdown"))
    student = editions.student_edition(notebook, "nb")
    code = [c for c in student["cells"] if c["cell_type"] == "code"]
    assert all(c["outputs"] == [] and c["execution_count"] is None for c in code)
    assert all("execution" not in c["metadata"] for c in student["cells"])
    assert notebook["cells"][0]["outputs"], "the instructor notebook itself is left alone"


# -- make student: never overwrite ---------------------------------------------------------------


@pytest.fixture
def course(tmp_path: Path) -> tuple[Path, Path]:
    source, target = tmp_path / "notebooks", tmp_path / "student"
    (source / "keys").mkdir(parents=True)
    (source / "data").mkdir()
    (source / "keys" / "hs256.key").write_text("secret")
    (source / "data" / "words.txt").write_text("password\n")
    for name in ("01-one.ipynb", "02-two.ipynb"):
        notebook = _notebook(_cell(f"# {name}", "markdown"), _cell(EXERCISE, tags=("exercise",)))
        editions.write_notebook(notebook, source / name)
    editions.write_notebook(_notebook(_cell("x", "markdown")), source / "_template.ipynb")
    return source, target


def test_make_student_writes_every_notebook_and_the_shared_folders(course):
    source, target = course
    report = editions.build_student_edition(source, target)
    names = sorted(str(p.relative_to(target)) for p in report.written)
    assert names == ["01-one.ipynb", "02-two.ipynb", "data/words.txt", "keys/hs256.key"]
    assert report.kept == []
    student = editions.read_notebook(target / "01-one.ipynb")
    assert "raise NotImplementedError" in editions.cell_source(student["cells"][1])
    assert (target / "keys" / "hs256.key").read_text() == "secret"


def test_make_student_never_overwrites_a_students_work(course):
    source, target = course
    editions.build_student_edition(source, target)
    mine = target / "01-one.ipynb"
    mine.write_text("my own work, not even JSON", encoding="utf-8")
    (target / "keys" / "hs256.key").write_text("my key")
    (target / "02-two.ipynb").unlink()  # deleted: written fresh

    report = editions.build_student_edition(source, target)

    assert mine.read_text(encoding="utf-8") == "my own work, not even JSON"
    assert (target / "keys" / "hs256.key").read_text() == "my key"
    assert [p.name for p in report.written] == ["02-two.ipynb"]
    assert sorted(p.name for p in report.kept) == ["01-one.ipynb", "hs256.key", "words.txt"]
    assert report.differs == [mine]


@pytest.mark.parametrize(
    "content",
    [b"", b"{}", b"[]", b'{"cells": 3}', b'{"cells": [1]}', b"\xff\xfe not text", b"null"],
    ids=["empty", "no-cells", "a-list", "cells-not-a-list", "cell-not-a-dict", "binary", "null"],
)
def test_a_broken_student_notebook_is_kept_and_reported(course, content):
    source, target = course
    editions.build_student_edition(source, target)
    mine = target / "01-one.ipynb"
    mine.write_bytes(content)
    report = editions.build_student_edition(source, target)
    assert mine.read_bytes() == content
    assert report.differs == [mine]


def test_an_untouched_student_notebook_is_kept_without_a_warning(course):
    source, target = course
    editions.build_student_edition(source, target)
    report = editions.build_student_edition(source, target)
    assert report.written == [] and report.differs == []


def test_a_markup_error_writes_nothing(course):
    source, target = course
    broken = _notebook(_cell("### BEGIN SOLUTION\nx\n### END SOLUTION", tags=("exercise",)))
    editions.write_notebook(broken, source / "03-broken.ipynb")
    with pytest.raises(editions.ExerciseMarkupError, match=r"03-broken\.ipynb, cell 0"):
        editions.build_student_edition(source, target)
    assert not target.exists()


def test_the_command_says_what_it_wrote_and_what_it_kept(course, capsys):
    source, target = course
    assert editions.main(["student", "--source", str(source), "--target", str(target)]) == 0
    editions.write_notebook(_notebook(), target / "01-one.ipynb")
    assert editions.main(["student", "--source", str(source), "--target", str(target)]) == 0
    out = capsys.readouterr().out
    assert "wrote  student/02-two.ipynb" in out
    assert "kept   student/01-one.ipynb  (yours differs from the current edition)" in out
    assert "never overwritten" in out


def test_the_command_reports_bad_markup_without_a_traceback(course, capsys):
    source, target = course
    editions.write_notebook(
        _notebook(_cell("### BEGIN SOLUTION", tags=("exercise",))), source / "03-broken.ipynb"
    )
    assert editions.main(["student", "--source", str(source), "--target", str(target)]) == 1
    assert "error: " in capsys.readouterr().err


def test_a_file_where_the_student_folder_should_be_is_reported(course, capsys):
    source, target = course
    target.write_text("not a folder")
    assert editions.main(["student", "--source", str(source), "--target", str(target)]) == 1
    assert "Nothing you had was overwritten" in capsys.readouterr().err
    assert target.read_text() == "not a folder"


def test_strip_drops_execution_timestamps_and_nothing_else(tmp_path):
    cell = _cell("x = 1")
    cell["metadata"].update(execution={"shell.execute_reply": "2026"}, tags=["check"])
    path = tmp_path / "01-x.ipynb"
    editions.write_notebook(_notebook(cell), path)
    assert editions.main(["strip", str(path)]) == 0
    stripped = editions.read_notebook(path)["cells"][0]
    assert stripped["metadata"] == {"tags": ["check"]}
    assert stripped["outputs"] == cell["outputs"]


def test_notebooks_are_written_as_jupyter_writes_them():
    text = TEMPLATE.read_text(encoding="utf-8")
    assert editions.notebook_text(json.loads(text)) == text


# -- the real notebooks --------------------------------------------------------------------------


@by_name
def test_the_editions_cannot_drift(path):
    """Outside the exercise regions the two editions are the same cells; with the solutions put
    back, the student edition is the instructor edition (which nbval runs, strictly)."""
    instructor = editions.read_notebook(path)
    student = editions.student_edition(instructor, path.name)
    assert len(student["cells"]) == len(instructor["cells"])
    for index, (theirs, ours) in enumerate(zip(student["cells"], instructor["cells"], strict=True)):
        where = f"{path.name}, cell {index}"
        assert theirs["cell_type"] == ours["cell_type"], where
        assert theirs["metadata"].get("tags") == ours["metadata"].get("tags"), where
        source, expected = editions.cell_source(theirs), editions.cell_source(ours)
        if editions.is_exercise(ours):
            assert editions.BEGIN_SOLUTION not in source, f"{where}: a solution leaked"
            source = editions.restore_solution(source, expected, where)
        assert source.rstrip("\n") == expected.rstrip("\n"), where


def _run(notebook: dict, folder: Path) -> dict:
    import nbformat
    from nbclient import NotebookClient

    for attempt in range(3):
        client = NotebookClient(
            nbformat.reads(json.dumps(notebook), as_version=4),
            timeout=600,
            kernel_name="python3",
            allow_errors=True,
            record_timing=False,
            resources={"metadata": {"path": str(folder)}},
        )
        try:
            return client.execute()
        except RuntimeError as exc:
            # one of the kernel's five ports taken before it bound it (see ../conftest.py)
            if "Kernel died before replying" not in str(exc) or attempt == 2:
                raise
    raise AssertionError("unreachable")


def _names_a_solution_defines(cell: dict) -> set[str]:
    """The names an exercise's solution binds (assignments, defs, imports), read with ast."""
    import ast

    lines = editions.cell_source(cell).splitlines()
    region = editions.find_solution("\n".join(lines), "exercise")
    body = textwrap.dedent("\n".join(lines[region.begin + 1 : region.end]))
    names: set[str] = set()
    for node in ast.walk(ast.parse(body)):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).split(".")[0])
    return names


def _errors(notebook: dict) -> dict[int, dict]:
    return {
        index: output
        for index, cell in enumerate(notebook["cells"])
        for output in cell.get("outputs", [])
        if output["output_type"] == "error"
    }


@pytest.mark.student_edition
@by_name
def test_a_student_notebook_fails_only_at_its_exercises_and_checks(path, tmp_path):
    """Run top to bottom from its own folder (keys/ and data/ beside it), errors allowed: each
    exercise stops with its hint, each check with an assertion that says what to do, and every
    other cell (the clean-up too) runs."""
    editions.build_student_edition(NOTEBOOKS, tmp_path, notebooks=[path])
    executed = _run(editions.read_notebook(tmp_path / path.name), tmp_path)
    cells = executed["cells"]
    errors = _errors(executed)
    exercises = {i for i, c in enumerate(cells) if editions.is_exercise(c)}
    checks = {i for i, c in enumerate(cells) if editions.is_check(c)}
    unexpected = {
        i: f"{e['ename']}: {e['evalue']}" for i, e in errors.items() if i not in exercises | checks
    }
    assert not unexpected, f"{path.name}: cells outside the exercises failed: {unexpected}"
    for index in sorted(exercises):
        hint = editions.find_solution(
            editions.cell_source(editions.read_notebook(path)["cells"][index]), path.name
        ).hint
        error = errors.get(index)
        assert error is not None, f"{path.name}, cell {index}: the stub did not raise"
        assert (error["ename"], error["evalue"]) == ("NotImplementedError", hint)
    instructor_cells = editions.read_notebook(path)["cells"]
    exercise_names = set().union(
        *(_names_a_solution_defines(instructor_cells[i]) for i in exercises)
    )
    for index in sorted(checks):
        error = errors.get(index)
        assert error is not None, (
            f"{path.name}, cell {index}: this check passes before the exercise is done; make it "
            "verify the substance (the server's state, a recomputed value)"
        )
        if error["ename"] == "NameError":
            # The check reads a name the student has not written yet: the stub above already
            # stopped with the hint, and the NameError names what the exercise should define.
            missing = error["evalue"].split("'")[1] if "'" in error["evalue"] else ""
            assert missing in exercise_names, (
                f"{path.name}, cell {index}: NameError for {missing!r}, which no exercise of this "
                "notebook defines: the check depends on something outside the exercises"
            )
            continue
        assert error["ename"] == "AssertionError" and len(error["evalue"]) >= 20, (
            f"{path.name}, cell {index}: a check should fail with an AssertionError that says "
            f"what was expected and where to look, not {error['ename']}: {error['evalue']!r}"
        )


@pytest.mark.student_edition
def test_the_template_with_its_solutions_put_back_runs_clean(tmp_path):
    """The restoring half of the drift test, run for real once (the numbered notebooks are the
    instructor edition once restored, and nbval runs those)."""
    instructor = editions.read_notebook(TEMPLATE)
    student = editions.student_edition(instructor, TEMPLATE.name)
    for index, cell in enumerate(student["cells"]):
        if editions.is_exercise(cell):
            restored = editions.restore_solution(
                editions.cell_source(cell), editions.cell_source(instructor["cells"][index]), "t"
            )
            editions.set_cell_source(cell, restored)
    for folder in editions.SHARED_FOLDERS:
        shutil.copytree(NOTEBOOKS / folder, tmp_path / folder)
    assert _errors(_run(student, tmp_path)) == {}
