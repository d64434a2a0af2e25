"""The in-notebook self-check: ``from nnlearn.grading import check; check("02_perceptrons")``.

It runs the public tests on the live namespace of the learner's kernel and prints one line per test. This is
feedback, not grading: it runs in the learner's own process, without a time limit, and may be fooled by the
learner's own code; the grade comes from ``nnlearn grade``, which runs the notebook in a separate process.

The test file is found from the notebook's directory when Jupyter says where the notebook is, else from the
working directory (Jupyter, nbval and Jupyter Book start the kernel in the notebook's directory), else from
the course this copy of nnlearn belongs to — so the check cell works from any working directory.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from .child import Answers, load_tests, run_test
from .paths import EXERCISES, SOLUTIONS, TESTS, notebook_dir_hint, package_course_root, tests_file_candidates
from .report import PASSED, GradeReport, TestResult
from .testfile import load_test_file


def locate_tests(name: str) -> Path:
    """The public test file for the exercise notebook ``name`` (e.g. ``"02_perceptrons"``)."""
    candidates: list[Path] = []
    hint = notebook_dir_hint()
    if hint is not None:
        candidates += tests_file_candidates(name, hint)
    candidates += tests_file_candidates(name, Path.cwd())
    root = package_course_root()
    if root is not None:
        candidates += [root / SOLUTIONS / TESTS / f"{name}.py", root / EXERCISES / TESTS / f"{name}.py"]
    for path in candidates:
        if path.is_file():
            return path
    looked = "\n  ".join(dict.fromkeys(str(p) for p in candidates))
    raise FileNotFoundError(f"no tests for {name!r}; looked in:\n  {looked}")


def _notebook_name() -> str:
    hint = notebook_dir_hint()
    if hint is not None:
        return Path(os.environ["JPY_SESSION_NAME"]).stem
    raise TypeError("check(name): pass the notebook's name, e.g. check('02_perceptrons')")


def run_check(name: str, namespace: dict[str, Any], tests: str | Path | None = None) -> GradeReport:
    """Run the tests for ``name`` on ``namespace`` in this process; return the report (nothing printed)."""
    if not isinstance(name, str) or not name:
        raise TypeError(f"check(name): name must be a notebook name such as '02_perceptrons', got {name!r}")
    path = Path(tests) if tests is not None else locate_tests(name)
    test_file = load_test_file(path)
    filename = str(path)
    module = load_tests(test_file.child_source, filename)
    answers = Answers(namespace)
    results = []
    for spec in test_file.tests:
        outcome = run_test(module[spec.name], answers, filename, catch_interrupt=False)
        score = spec.points if outcome.status == PASSED else 0
        results.append(TestResult(spec.name, score, spec.points, outcome.status, outcome.message,
                                  outcome.duration))
    return GradeReport(results, notebook=name, tests_file=filename)


def check(name: str | None = None, *, namespace: dict[str, Any] | None = None,
          tests: str | Path | None = None) -> None:
    """Run the public tests of exercise notebook ``name`` on your answers and print a table.

    ``namespace`` defaults to the caller's globals (the notebook's variables); ``tests`` overrides where the
    test file is looked for.
    """
    if namespace is None:
        namespace = sys._getframe(1).f_globals  # the kernel's user namespace, where the answers live
    name = _notebook_name() if name is None else name
    report = run_check(name, namespace, tests)
    print(report.format_text(title=f"Self-check of {name} (public tests: {Path(report.tests_file).name})"))
    if report.score == report.max_score:
        print("All public tests pass. Your grade comes from `nnlearn grade`, which may run more tests.")
