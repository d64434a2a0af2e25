"""Where things live in a course: its root, the solutions, the exercises, the test files.

The course root is the directory that holds ``_toc.yml`` (the book) or ``solutions/``. Test files are named
after the notebook: ``02_perceptrons.ipynb`` is tested by ``tests/02_perceptrons.py`` — next to the notebook
(``exercises/tests/`` ships with the exercises) or under ``solutions/tests/`` in the course root.
"""
from __future__ import annotations

import os
from pathlib import Path

SOLUTIONS, EXERCISES, TESTS = "solutions", "exercises", "tests"


def is_course_root(path: Path) -> bool:
    return (path / "_toc.yml").is_file() or (path / SOLUTIONS).is_dir()


def find_course_root(start: str | Path) -> Path | None:
    """The nearest directory at or above ``start`` that is a course root, or None."""
    start = Path(start).resolve()
    for path in (start, *start.parents):
        if is_course_root(path):
            return path
    return None


def package_course_root() -> Path | None:
    """The course root this copy of nnlearn sits in (a source checkout / editable install), or None."""
    root = Path(__file__).resolve().parents[2]
    return root if is_course_root(root) else None


def tests_file_candidates(name: str, start: str | Path) -> list[Path]:
    """Where the test file for notebook ``name`` (a stem like ``02_perceptrons``) may be, best first.

    ``start`` is the notebook's directory: first ``start/tests/``, then, in the course root above it,
    ``solutions/tests/`` (the source) and ``exercises/tests/`` (the copy that ships to learners).
    """
    start = Path(start).resolve()
    filename = f"{name}.py"
    candidates = [start / TESTS / filename]
    root = find_course_root(start)
    if root is not None:
        candidates += [root / SOLUTIONS / TESTS / filename, root / EXERCISES / TESTS / filename]
    return candidates


def find_tests_file(notebook: str | Path) -> Path | None:
    """The default test file for ``notebook``: ``tests/<stem>.py`` beside it, else in the course root."""
    notebook = Path(notebook)
    for path in tests_file_candidates(notebook.stem, notebook.resolve().parent):
        if path.is_file():
            return path
    return None


def notebook_dir_hint() -> Path | None:
    """The directory of the notebook this kernel runs, when Jupyter tells us (JupyterLab >= 4.1 sets
    ``JPY_SESSION_NAME`` to the notebook's path); None otherwise."""
    session = os.environ.get("JPY_SESSION_NAME", "")
    if session.endswith(".ipynb") and Path(session).is_file():
        return Path(session).resolve().parent
    return None
