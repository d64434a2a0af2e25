"""What runs inside the grading child process: the notebook's answers, then the tests, results out as data.

The parent (:mod:`nnlearn.grading.runner`) starts ``python -m nnlearn.grading.child`` in a fresh session,
namespaces and temp directory, and writes the token and the job to its stdin: the notebook's code cells, the
test file's source *without* its ``@points`` lines, the test names, the results file descriptor and the
isolation to apply. This process

1. applies the isolation (:func:`nnlearn.grading.isolation.apply_in_child`: hidden course files, resource
   limits, its own user) and reports what is in force — all before any student code runs,
2. loads the tests and snapshots the tools they use (:class:`nnlearn.grading.guard.ModuleGuard`),
3. runs only the statements that define the answers the tests use
   (:func:`nnlearn.grading.notebook.select_answers`); a cell that raises is recorded and the next still runs,
4. runs every test, restoring the tools before each and after every call through ``nb``, with answers made
   plain data (:func:`nnlearn.grading.guard.plain`), and appends one JSON line per event to the results.

It knows nothing of points and computes no score: that happens in the parent, which never runs student code.
The same helpers (:func:`run_test`, :class:`Answers`) serve the in-notebook self-check.
"""
from __future__ import annotations

import inspect
import json
import linecache
import os
import sys
import time
import traceback
from dataclasses import dataclass
from types import FunctionType, TracebackType
from typing import Any, Callable

MAX_MESSAGE = 2000  # characters of a failure message worth keeping

PASSED, FAILED, ERROR, MEMORY = "passed", "failed", "error", "memory"


class Answers:
    """The learner's notebook namespace, read by attribute: ``nb.perceptron_predict``.

    A name the notebook never defined raises a ``NameError`` that says so, instead of a bare ``KeyError``.
    """

    def __init__(self, namespace: dict[str, Any]):
        object.__setattr__(self, "_namespace", namespace)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._namespace[name]
        except KeyError:
            raise NameError(f"the notebook does not define {name!r} (the grader looks for a top-level "
                            f"def, class, import or {name} = ... that ran without errors)") from None

    def __getitem__(self, name: str) -> Any:
        return self.__getattr__(name)

    def __contains__(self, name: str) -> bool:
        return name in self._namespace

    def __repr__(self) -> str:
        names = sorted(k for k in self._namespace if not k.startswith("_"))
        return f"Answers({', '.join(names)})"


@dataclass(frozen=True)
class Outcome:
    """The raw result of one test: no points, no score."""

    status: str  # passed | failed | error
    message: str
    duration: float


def register_source(filename: str, source: str) -> None:
    """Let tracebacks show lines of code that came from a string (a cell, the test file)."""
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)


def _shorten(text: str) -> str:
    text = text.strip()
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 20] + "\n... (message cut)"


def _where(tb: TracebackType | None, tests_filename: str) -> str:
    """Where a student's code raised: ' (cell 5, line 3)' from the deepest frame in a notebook cell."""
    frames = traceback.extract_tb(tb)
    cells = [f for f in frames if f.filename.startswith("<cell ")]
    if cells:
        f = cells[-1]
        return f" ({f.filename[1:-1]}, line {f.lineno}: {(f.line or '').strip()})"
    tests = [f for f in frames if f.filename == tests_filename]
    if tests:
        return f" ({tests_filename}, line {tests[-1].lineno})"
    return ""


def describe(exc: BaseException, tests_filename: str = "") -> tuple[str, str]:
    """The status and a helpful message for an exception raised by a test."""
    tb = exc.__traceback__
    if isinstance(exc, AssertionError):
        message = str(exc)
        if not message.strip():
            # A bare `assert x == y`: show the assert line of the test itself.
            lines = [f for f in traceback.extract_tb(tb) if f.filename == tests_filename]
            message = f"assertion failed: {lines[-1].line.strip()}" if lines and lines[-1].line \
                else "assertion failed"
        return FAILED, _shorten(message)
    if isinstance(exc, MemoryError):
        return MEMORY, _shorten(f"out of memory: {type(exc).__name__}: {exc}{_where(tb, tests_filename)}; "
                                "the grader allows a limited amount of memory")
    if isinstance(exc, NotImplementedError):
        # The exercise stub: the learner has not written this answer yet.
        return FAILED, _shorten(f"not implemented yet: {exc}" if str(exc) else "not implemented yet")
    name = type(exc).__name__
    text = str(exc)
    return ERROR, _shorten(f"{name}: {text}{_where(tb, tests_filename)}" if text
                           else f"{name}{_where(tb, tests_filename)}")


def run_test(func: Callable, answers: Answers, tests_filename: str = "", *,
             catch_interrupt: bool = True) -> Outcome:
    """Call one test with the answers (or with nothing, if it takes no argument) and classify what happened.

    In the child a ``KeyboardInterrupt`` is just another student fault; in a live kernel
    (``catch_interrupt=False``) it is the learner pressing stop, so it propagates.
    """
    start = time.perf_counter()
    try:
        takes_answers = len(inspect.signature(func).parameters) > 0
        func(answers) if takes_answers else func()
    except KeyboardInterrupt:
        if not catch_interrupt:
            raise
        return Outcome(ERROR, "KeyboardInterrupt", time.perf_counter() - start)
    except BaseException as exc:  # noqa: BLE001 — SystemExit is a student fault too
        status, message = describe(exc, tests_filename)
        return Outcome(status, message, time.perf_counter() - start)
    return Outcome(PASSED, "", time.perf_counter() - start)


def load_tests(source: str, filename: str) -> dict[str, Any]:
    """Execute a test file's source as a fresh module; return its namespace."""
    register_source(filename, source)
    namespace: dict[str, Any] = {"__name__": "nnlearn_course_tests", "__file__": filename}
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102 — the course's own test code
    return namespace


def _display(*objects: Any, **_: Any) -> None:
    """Stand-in for IPython's ``display`` so notebooks that call it still run outside Jupyter."""
    for obj in objects:
        print(repr(obj))


def execute_cells(cells: list[tuple[int, str]], namespace: dict[str, Any],
                  on_error: Callable[[int, str], None]) -> None:
    """Run the cells in order in ``namespace``; report each failing cell; stop after ``sys.exit()``."""
    for number, source in cells:
        filename = f"<cell {number}>"
        register_source(filename, source)
        try:
            exec(compile(source, filename, "exec"), namespace)  # noqa: S102 — this is the sandboxed child
        except BaseException as exc:  # noqa: BLE001
            on_error(number, describe(exc)[1])
            if isinstance(exc, (SystemExit, KeyboardInterrupt)):
                on_error(number, "the notebook asked to stop: the remaining cells were not run")
                return


def run_answer_code(code: Any, sources: dict[int, str], namespace: dict[str, Any],
                    on_error: Callable[[int, str], None]) -> None:
    """Run the chosen statements (:func:`nnlearn.grading.notebook.select_answers`) cell by cell.

    A cell that raises is reported and the next still runs; ``sys.exit()`` stops the rest."""
    for number, module in code.cells:
        filename = f"<cell {number}>"
        register_source(filename, sources.get(number, ""))
        try:
            exec(compile(module, filename, "exec"), namespace)  # noqa: S102 — this is the sandboxed child
        except BaseException as exc:  # noqa: BLE001
            on_error(number, describe(exc)[1])
            if isinstance(exc, (SystemExit, KeyboardInterrupt)):
                on_error(number, "the notebook asked to stop: the remaining cells were not run")
                return


def read_job() -> tuple[str, dict[str, Any]]:
    """The token and the job, both from stdin (never on disk, in argv or in the environment); then stdin
    is pointed at /dev/null, so student code reads nothing from the parent."""
    data = sys.stdin.buffer.read()
    token, _, job = data.partition(b"\n")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    sys.stdin = open(0, encoding="utf-8", closefd=False)
    return token.decode().strip(), json.loads(job)


def main(argv: list[str] | None = None) -> None:
    from . import isolation
    from .guard import ModuleGuard, guarded
    from .notebook import answer_names, select_answers

    token, job = read_job()
    fd = int(job["results_fd"])
    # Keep our own references: student code may rebind os.write or json.dumps; these stay ours.
    write, dumps, clock, exit_now = os.write, json.dumps, time.perf_counter, os._exit

    def emit(**record: Any) -> None:
        write(fd, (dumps({**record, "token": token}) + "\n").encode("utf-8"))

    emit(event="isolation", facts=isolation.apply_in_child(job.get("isolation", {})))

    # The tests are loaded, and the tools they use snapshotted, before any student code runs.
    # numpy loads some submodules lazily: import them now, so that the snapshot holds the real ones.
    import math  # noqa: F401
    import numpy.fft  # noqa: F401
    import numpy.linalg  # noqa: F401
    import numpy.random  # noqa: F401
    import numpy.testing  # noqa: F401
    import nnlearn.testing  # noqa: F401
    tests_filename = job["tests_filename"]
    try:
        tests = load_tests(job["tests_source"], tests_filename)
        load_error = ""
    except BaseException as exc:  # noqa: BLE001 — the test file may import something the child lacks
        tests, load_error = {}, f"the test file could not be loaded: {describe(exc, tests_filename)[1]}"
    guard = ModuleGuard()

    cells = [(int(n), str(s)) for n, s in job["cells"]]
    code = select_answers(cells, answer_names(job["tests_source"]))
    for number, message in code.errors:
        emit(event="cell_error", cell=number, message=message)
    emit(event="answers", found=code.found, missing=code.missing)
    namespace: dict[str, Any] = {"__name__": "__main__", "display": _display}
    start = clock()
    emit(event="cells_started")
    run_answer_code(code, dict(cells), namespace,
                    lambda number, message: emit(event="cell_error", cell=number, message=message))
    guard.restore()
    emit(event="cells_done", duration=clock() - start)

    answers = Answers({name: guarded(value, guard) if isinstance(value, FunctionType) else value
                       for name, value in namespace.items()})
    for name in job["tests"]:
        guard.restore()
        emit(event="start", name=name)
        func = tests.get(name)
        if load_error or not callable(func):
            outcome = Outcome(ERROR, load_error or f"test {name} not found in the test file", 0.0)
        else:
            outcome = run_test(func, answers, tests_filename)
        guard.restore()
        emit(event="result", name=name, status=outcome.status, message=outcome.message,
             duration=outcome.duration)
    emit(event="done")
    # Leave at once: no student atexit handlers, no waiting on threads the student started.
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:  # noqa: BLE001 — the student may have closed or replaced it
            pass
    exit_now(0)


if __name__ == "__main__":
    main()
