"""Grading one notebook: read it, find its tests, run them in a child process, score what comes back.

Nothing here executes student code: the notebook is read as JSON and the test file is parsed with ``ast``.
"""
from __future__ import annotations

from pathlib import Path

from .notebook import NotebookError, gradable_cells, read_notebook
from .paths import find_tests_file
from .report import GradeReport, score_run, unreadable_report
from .runner import DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT, run_child
from .testfile import TestFileError, load_test_file


class GradingError(ValueError):
    """Grading could not run at all (as opposed to a notebook that scores badly)."""


def grade_notebook(notebook: str | Path, tests: str | Path | None = None, *,
                   timeout: float = DEFAULT_TIMEOUT,
                   memory_mb: int | None = DEFAULT_MEMORY_MB, strict: bool = True) -> GradeReport:
    """Grade ``notebook`` with the test file ``tests`` (default: ``tests/<stem>.py`` next to the notebook,
    else ``solutions/tests/<stem>.py`` in the course root). Raise :class:`GradingError` when grading
    cannot run; a notebook that crashes, loops or exits only loses points.

    With ``strict=False`` (batch grading), a file that is not a readable notebook is not an error but a
    report whose status, and every test's, is ``"unreadable"`` (score 0)."""
    notebook = Path(notebook)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise GradingError(f"timeout must be a positive number of seconds, got {timeout!r}")
    try:
        nb, unreadable = read_notebook(notebook), ""
    except NotebookError as exc:
        if strict:
            raise GradingError(str(exc)) from None
        nb, unreadable = None, str(exc)
    if tests is None:
        tests = find_tests_file(notebook)
        if tests is None:
            raise GradingError(f"no test file for {notebook}: looked for tests/{notebook.stem}.py next to "
                               f"it and solutions/tests/{notebook.stem}.py in the course root; "
                               "pass --tests FILE")
    try:
        test_file = load_test_file(tests)
    except TestFileError as exc:
        raise GradingError(str(exc)) from None

    if nb is None:
        return unreadable_report(test_file, str(notebook), unreadable)
    cells, _skipped = gradable_cells(nb)
    run = run_child(cells, test_file, timeout=timeout, memory_mb=memory_mb)
    report = GradeReport(score_run(test_file, run, timeout=timeout), notebook=str(notebook),
                         tests_file=str(test_file.path), cell_errors=run.cell_errors, isolation=run.isolation)
    if run.timed_out:
        report.notes.append(f"grading stopped at the time limit of {timeout:g} s")
    if run.answers_missing and not run.answers_found and run.isolation.get("limits") is not None:
        report.notes.append("the notebook defines none of the answers the tests look for "
                            f"({', '.join(run.answers_missing)}): is it the notebook of another exercise?")
    elif run.answers_missing:
        report.notes.append(f"the notebook does not define: {', '.join(run.answers_missing)}")
    return report
