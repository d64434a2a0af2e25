"""Scores and reports: turning raw test outcomes into points, a text table and JSON.

This runs in the parent only. The points come from the test file as the parent parsed it; the child's
outcomes only say which tests passed. A test with no outcome scores nothing.
"""
from __future__ import annotations

import json
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .runner import ChildRun
from .testfile import TestFile

PASSED, FAILED, ERROR, TIMEOUT = "passed", "failed", "error", "timeout"
MEMORY, CRASHED, UNREADABLE = "memory", "crashed", "unreadable"
# passed scores the test's points; every other status scores 0. A test with no result is never a pass.
STATUSES = (PASSED, FAILED, ERROR, TIMEOUT, MEMORY, CRASHED, UNREADABLE)


@dataclass(frozen=True)
class TestResult:
    """One graded test."""

    __test__ = False

    name: str
    score: float
    max_score: float
    status: str
    message: str = ""
    duration: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "score": self.score, "max_score": self.max_score,
                "status": self.status, "message": self.message}


@dataclass
class GradeReport:
    """The grade of one notebook: per-test results, and what went wrong while running its cells."""

    tests: list[TestResult]
    notebook: str = ""
    tests_file: str = ""
    cell_errors: list[tuple[int, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    isolation: dict[str, Any] = field(default_factory=dict)  # what fenced the child in (isolation.py)
    readable: bool = True  # False: the file was not a readable notebook (every test "unreadable")

    @property
    def score(self) -> float:
        return sum(t.score for t in self.tests)

    @property
    def max_score(self) -> float:
        return sum(t.max_score for t in self.tests)

    def to_dict(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "max_score": self.max_score,
            "tests": [t.to_dict() for t in self.tests],
            "notebook": self.notebook,
            "tests_file": self.tests_file,
            "cell_errors": [{"cell": n, "message": m} for n, m in self.cell_errors],
            "notes": list(self.notes),
            "readable": self.readable,
            "isolation": dict(self.isolation),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"

    def write_json(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json(), encoding="utf-8")

    def format_text(self, title: str | None = None) -> str:
        lines = [title or f"Grading {self.notebook} with {self.tests_file}"]
        lines += format_table(self.tests)
        if self.cell_errors:
            lines.append("Cells that raised an error (the cells after them still ran):")
            lines += [f"  cell {n}: {_first_line(m)}" for n, m in self.cell_errors]
        lines += [f"Note: {note}" for note in self.notes]
        lines.append(f"Score: {_num(self.score)}/{_num(self.max_score)}")
        return "\n".join(lines)


def _num(x: float) -> str:
    return f"{x:g}"


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def format_table(tests: list[TestResult]) -> list[str]:
    """One line per test — status, name, points — and the failure message indented below it."""
    width = max((len(t.name) for t in tests), default=0)
    lines = []
    for t in tests:
        lines.append(f"  {t.status.upper():<7} {t.name:<{width}}  {_num(t.score)}/{_num(t.max_score)}")
        for msg_line in t.message.strip().splitlines()[:12]:
            lines.append(f"          {msg_line}")
    return lines


def _ended(returncode: int | None) -> str:
    if returncode is not None and returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit code {returncode}"


def unreadable_report(test_file: TestFile, notebook: str, reason: str) -> GradeReport:
    """The report of a notebook that cannot be read (bad JSON, not a notebook): every test ``unreadable``."""
    tests = [TestResult(spec.name, 0, spec.points, UNREADABLE, f"not run: {reason}") for spec in test_file.tests]
    return GradeReport(tests, notebook=notebook, tests_file=str(test_file.path), notes=[reason],
                       readable=False)


def _died(run: ChildRun) -> tuple[str, str]:
    """Status and message for a test without a result when the child ended early (no timeout)."""
    ended = _ended(run.returncode)
    if run.returncode is not None and run.returncode < 0 and -run.returncode == getattr(signal, "SIGXCPU", -1):
        return TIMEOUT, "no result: the grading process used up its CPU-time limit"
    last = _first_line(run.stderr_tail.strip().splitlines()[-1]) if run.stderr_tail.strip() else ""
    if "MemoryError" in last:
        return MEMORY, f"no result: the grading process ran out of memory ({ended}); last error output: {last}"
    message = f"no result: the grading process ended ({ended}) before this test finished"
    return CRASHED, message + (f"; last error output: {last}" if last else "")


def score_run(test_file: TestFile, run: ChildRun, *, timeout: float) -> list[TestResult]:
    """Points for each test of ``test_file``, in file order, from the child's raw outcomes."""
    graded = []
    for spec in test_file.tests:
        outcome = run.results.get(spec.name)
        if outcome is not None:
            status, message = outcome["status"], outcome["message"]
            duration = outcome["duration"]
        elif run.timed_out:
            status, duration = TIMEOUT, 0.0
            if spec.name in run.started:
                message = f"did not finish within the time limit of {timeout:g} s"
            elif not run.cells_done:
                message = f"not run: the time limit of {timeout:g} s was reached while running the notebook"
            else:
                message = f"not run: the time limit of {timeout:g} s was reached during an earlier test"
        else:
            # No result scores nothing, whatever the reason: a crash, os._exit, a tampered results file.
            (status, message), duration = _died(run), 0.0
        score = spec.points if status == PASSED else 0
        graded.append(TestResult(spec.name, score, spec.points, status, message, duration))
    return graded
