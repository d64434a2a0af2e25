"""Exercises and grading: build exercises from solutions, self-check in a notebook, grade in a sandbox.

* ``points(n)`` — decorator for the tests in a course test file (``solutions/tests/NN_slug.py``).
* ``check("NN_slug")`` — the self-check cell at the end of every exercise notebook.
* ``grade_notebook(path)`` — what ``nnlearn grade`` does: run the notebook in a fenced-in child process,
  score the outcomes in this process, return a :class:`GradeReport`.
* ``build_exercises`` / ``write_exercises`` / ``stale_exercises`` — what ``nnlearn exercises build
  [--check]`` does.

Only the standard library is imported here, so test files can import ``points`` cheaply.
"""
from __future__ import annotations

from .builder import BuildError, build_exercises, stale_exercises, write_exercises
from .selfcheck import check, run_check
from .grader import GradingError, grade_notebook
from .notebook import NotebookError
from .report import GradeReport, TestResult
from .testfile import TestFileError, points

__all__ = [
    "BuildError", "GradeReport", "GradingError", "NotebookError", "TestFileError", "TestResult",
    "build_exercises", "check", "grade_notebook", "points", "run_check", "stale_exercises", "write_exercises",
]
