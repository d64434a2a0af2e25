"""Course test files: plain Python, one function per test, each worth some points.

A test file looks like this::

    import numpy as np
    from nnlearn.grading import points

    @points(2)
    def test_predict_and_gate(nb):
        got = nb.perceptron_predict(np.array([1.0, 1.0]), -1.5, X_AND)
        np.testing.assert_array_equal(got, [0, 0, 0, 1], err_msg="AND gate")

Every top-level function named ``test_*`` (or decorated with ``@points``) is a test; it takes ``nb``, the
learner's answers (``nb.perceptron_predict`` is the function the notebook defined), or no argument at all.
A test without ``@points`` is worth 1 point. ``@points(n, hidden=True, hint="...")`` marks a hidden test: a
learner's feedback report shows its name, pass/fail and the hint, never its code or failure message (keep hidden
tests in a test file of your own, outside ``solutions/tests/``, which ships to learners).

The grader reads the points with :mod:`ast` — it never imports the test file — and hands the child process a
copy of the source with the ``@points(...)`` lines blanked out, so the process that runs student code never
holds the points (the score is computed only from what is read here).
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, TypeVar

F = TypeVar("F", bound=Callable)

POINTS_ATTR = "__nnlearn_points__"


class TestFileError(ValueError):
    """A course test file that cannot be used (missing, syntax error, bad ``@points``)."""

    __test__ = False  # not a pytest test class, despite the name


def points(n: int | float, *, hidden: bool = False, hint: str = "") -> Callable[[F], F]:
    """Decorator: the test below is worth ``n`` points (a positive number), e.g. ``@points(2)``.

    ``hidden=True`` keeps the test's message out of learners' feedback; ``hint`` is what they see instead.
    """
    if isinstance(n, bool) or not isinstance(n, (int, float)) or not n > 0:
        raise ValueError(f"points(n): n must be a positive number, got {n!r}")
    if not isinstance(hidden, bool):
        raise TypeError(f"points(hidden=...): hidden must be True or False, got {hidden!r}")
    if not isinstance(hint, str):
        raise TypeError(f"points(hint=...): hint must be a string, got {type(hint).__name__}")

    def mark(func: F) -> F:
        setattr(func, POINTS_ATTR, n)
        return func

    return mark


@dataclass(frozen=True)
class TestSpec:
    """One test as the parent process knows it: its name, its worth and where it is defined."""

    __test__ = False

    name: str
    points: float
    lineno: int
    hidden: bool = False  # @points(n, hidden=True): feedback shows only name, pass/fail and the hint
    hint: str = ""


@dataclass(frozen=True)
class TestFile:
    """A parsed test file: the tests in file order, and the source the child may execute."""

    __test__ = False

    path: Path
    tests: tuple[TestSpec, ...]
    child_source: str  # the source with every @points(...) decorator blanked out

    @property
    def max_score(self) -> float:
        return sum(t.points for t in self.tests)

    def points_of(self, name: str) -> float:
        return next(t.points for t in self.tests if t.name == name)


def _is_points_decorator(node: ast.expr) -> bool:
    """``@points(...)``, ``@grading.points(...)`` or ``@nnlearn.grading.points(...)``."""
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    return (isinstance(func, ast.Name) and func.id == "points") or \
        (isinstance(func, ast.Attribute) and func.attr == "points")


_POINTS_OPTIONS = {"hidden": bool, "hint": str}  # the keywords @points accepts, and their literal types


def _points_options(node: ast.Call, where: str) -> dict[str, bool | str]:
    """The literal ``hidden=`` and ``hint=`` keywords of ``@points(n, ...)``."""
    options: dict[str, bool | str] = {}
    for kw in node.keywords:
        kind = _POINTS_OPTIONS.get(kw.arg or "")
        if kind is None:
            raise TestFileError(f"{where}: @points accepts only hidden= and hint= keywords, got {kw.arg}=")
        try:
            value = ast.literal_eval(kw.value)
        except ValueError:
            value = None
        if not isinstance(value, kind):
            raise TestFileError(f"{where}: @points({kw.arg}=...) needs a literal {kind.__name__}, "
                                f"got {ast.unparse(kw.value)!r}")
        options[kw.arg] = value
    return options


def _points_value(node: ast.Call, where: str) -> float:
    if len(node.args) != 1:
        raise TestFileError(f"{where}: write @points(n) with one number, e.g. @points(2)")
    try:
        value = ast.literal_eval(node.args[0])
    except ValueError:
        raise TestFileError(f"{where}: @points(n) needs a literal number (the grader reads it without "
                            f"running the file), got {ast.unparse(node.args[0])!r}") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise TestFileError(f"{where}: @points(n) needs a positive number, got {value!r}")
    return value


def load_test_file(path: str | Path) -> TestFile:
    """Parse ``path`` (without running it): the tests, their points, and the points-free child source."""
    path = Path(path)
    try:
        source = path.read_text(encoding="utf-8")
    except (FileNotFoundError, IsADirectoryError):
        raise TestFileError(f"test file not found: {path}") from None
    try:
        tree = ast.parse(source, filename=str(path))
    except SyntaxError as exc:
        raise TestFileError(f"test file {path} has a syntax error at line {exc.lineno}: {exc.msg}") from None

    tests: list[TestSpec] = []
    blank: list[ast.expr] = []  # the @points decorators to blank out in the child's copy
    for node in tree.body:
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        decorators = [d for d in node.decorator_list if _is_points_decorator(d)]
        if len(decorators) > 1:
            raise TestFileError(f"{path}:{node.lineno}: {node.name} has more than one @points decorator")
        if not decorators and not node.name.startswith("test_"):
            continue  # a helper function
        if isinstance(node, ast.AsyncFunctionDef):
            raise TestFileError(f"{path}:{node.lineno}: test {node.name} must be a plain function, not async")
        worth = _points_value(decorators[0], f"{path}:{node.lineno}") if decorators else 1
        options = _points_options(decorators[0], f"{path}:{node.lineno}") if decorators else {}
        if any(t.name == node.name for t in tests):
            raise TestFileError(f"{path}:{node.lineno}: test {node.name} is defined twice")
        tests.append(TestSpec(node.name, worth, node.lineno, **options))
        blank.extend(decorators)
    if not tests:
        raise TestFileError(f"test file {path} defines no tests (functions named test_* or with @points)")
    return TestFile(path, tuple(tests), _blank_decorators(source, blank))


def _blank_decorators(source: str, decorators: list[ast.expr]) -> str:
    """Remove the decorators' lines, keeping line numbers (so tracebacks point at the right line).

    A decorator that shares a line with other code (unusual) makes us fall back to re-printing the whole
    module without it: correct, only the line numbers in messages move.
    """
    lines = source.splitlines(keepends=True)
    for dec in decorators:
        first, last = dec.lineno - 1, dec.end_lineno - 1
        whole_lines = (lines[first][: dec.col_offset - 1].strip() == ""
                       and lines[first][dec.col_offset - 1] == "@"
                       and lines[last][dec.end_col_offset:].strip()[:1] in ("", "#"))
        if not whole_lines:
            return _unparse_without(source)
        for i in range(first, last + 1):
            lines[i] = "\n"
    return "".join(lines)


def _unparse_without(source: str) -> str:
    tree = ast.parse(source)
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            node.decorator_list = [d for d in node.decorator_list if not _is_points_decorator(d)]
    return ast.unparse(tree) + "\n"
