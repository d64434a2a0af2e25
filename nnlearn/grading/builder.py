"""Building the exercises from the solutions: ``solutions/NN_slug.ipynb`` → ``exercises/NN_slug.ipynb``.

In a solution notebook every answer sits inside a function, between two marker lines::

    def perceptron_predict(w, b, X):
        \"\"\"Labels in {0, 1} ... X: (N, D) -> (N,)\"\"\"
        ### BEGIN SOLUTION
        return (X @ w + b > 0).astype(np.int64)
        ### END SOLUTION

The builder replaces each region by one line, ``raise NotImplementedError("...")``, at the marker's
indentation (the ``def`` line and the docstring stay), strips outputs and volatile metadata, and writes the
notebook in canonical form, so a build is a pure function of ``solutions/``. The public test files
``solutions/tests/*.py`` are copied to ``exercises/tests/`` for self-checking. ``--check`` compares a fresh
build with what is committed and names the stale files.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from .notebook import (Notebook, NotebookError, cell_source, is_check_cell, read_notebook, split_lines,
                       strip_magics)
from .notebook import canonical, notebook_bytes
from .paths import EXERCISES, SOLUTIONS, TESTS

# Any number of '#' (a '## END SOLUTION' typo still counts, so it cannot leak an answer), then the keyword.
MARKER = re.compile(r"^(?P<indent>[ \t]*)#+\s*(?P<kind>BEGIN|END)\s+SOLUTION\s*$")
_DEF = re.compile(r"^(?P<indent>[ \t]*)(?:async\s+)?(?P<kind>def|class)\s+(?P<name>\w+)")

# The metadata an exercise keeps; the rest (execution times, widget state, ...) is volatile or personal.
NOTEBOOK_METADATA = ("kernelspec", "language_info")
CELL_METADATA = ("tags", "jupyter", "editable", "deletable")


class BuildError(ValueError):
    """A solution notebook the builder cannot turn into an exercise (unbalanced markers, ...)."""


def stub_message(name: str) -> str:
    return f"{name}: replace this line with your answer"


def _enclosing_function(lines: list[str], indent: str, where: str) -> str:
    """The name of the ``def`` that a marker at ``indent`` sits in (walking up past nested blocks)."""
    bound = len(indent)
    for line in reversed(lines):
        if not line.strip():
            continue
        width = len(line) - len(line.lstrip())
        if width >= bound:
            continue
        match = _DEF.match(line)
        if match:
            if match["kind"] == "def":
                return match["name"]
            break  # directly in a class body: a stub there would raise while the class is defined
        bound = width
        if bound == 0:
            break
    raise BuildError(f"{where}: a solution region must be inside a function body (def ...): "
                     "each answer is a named function, or a method of a class")


def stub_solutions(source: str, where: str = "cell") -> tuple[str, int]:
    """Replace every solution region of one cell's ``source`` by a stub; return (new source, region count)."""
    lines = split_lines(source)
    out: list[str] = []
    begin: int | None = None
    regions = 0
    for lineno, line in enumerate(lines, start=1):
        match = MARKER.match(line.rstrip("\r\n"))
        if match and match["kind"] == "BEGIN":
            if begin is not None:
                raise BuildError(f"{where}, line {lineno}: BEGIN SOLUTION inside the region opened at "
                                 f"line {begin} (missing END SOLUTION?)")
            begin = lineno
            name = _enclosing_function(lines[: lineno - 1], match["indent"], f"{where}, line {lineno}")
            out.append(f'{match["indent"]}raise NotImplementedError({json.dumps(stub_message(name))})\n')
            regions += 1
        elif match:  # END
            if begin is None:
                raise BuildError(f"{where}, line {lineno}: END SOLUTION without a BEGIN SOLUTION before it")
            begin = None
            if not line.endswith("\n"):  # the region ended the cell: so does the stub
                out[-1] = out[-1].rstrip("\n")
        elif begin is None:
            out.append(line)
    if begin is not None:
        raise BuildError(f"{where}, line {begin}: BEGIN SOLUTION has no matching END SOLUTION")
    return "".join(out), regions


def _compiles(source: str, where: str) -> None:
    try:
        compile(strip_magics(source), where, "exec")
    except SyntaxError as exc:
        raise BuildError(f"{where}: does not compile (line {exc.lineno}: {exc.msg})") from None


def _cell_id(stem: str, index: int, cell: dict) -> str:
    """Keep the solution's cell id; give a cell without one an id that depends only on its position."""
    cid = cell.get("id")
    if isinstance(cid, str) and re.fullmatch(r"[A-Za-z0-9_-]{1,64}", cid):
        return cid
    return hashlib.sha1(f"{stem}:{index}".encode()).hexdigest()[:12]


def exercise_notebook(solution: Notebook, name: str) -> Notebook:
    """The exercise version of a solution notebook (``name`` is its file name, used in messages)."""
    cells, regions, ids = [], 0, set()
    for index, cell in enumerate(solution["cells"]):
        where = f"{name}, cell {index + 1}"
        source = cell_source(cell)
        new = {"cell_type": cell["cell_type"], "id": _cell_id(Path(name).stem, index, cell),
               "metadata": {k: cell["metadata"][k] for k in CELL_METADATA if k in cell.get("metadata", {})}}
        if new["id"] in ids:
            raise BuildError(f"{where}: duplicate cell id {new['id']!r}")
        ids.add(new["id"])
        if cell["cell_type"] == "code":
            _compiles(source, f"{where} (solution)")
            source, count = stub_solutions(source, where)
            _compiles(source, f"{where} (exercise)")
            regions += count
            new.update(execution_count=None, outputs=[])
        elif "attachments" in cell:
            new["attachments"] = cell["attachments"]
        new["source"] = split_lines(source)
        cells.append(new)
    if regions == 0:
        raise BuildError(f"{name}: no '### BEGIN SOLUTION' region: nothing for the learner to do")
    if not cells or cells[-1]["cell_type"] != "code" or not is_check_cell(cells[-1]):
        raise BuildError(f"{name}: the last cell must be the self-check cell, e.g. "
                         f"from nnlearn.grading import check; check({Path(name).stem!r})")
    metadata = {k: solution["metadata"][k] for k in NOTEBOOK_METADATA if k in solution.get("metadata", {})}
    return {"cells": cells, "metadata": metadata, "nbformat": 4,
            "nbformat_minor": max(5, int(solution.get("nbformat_minor", 5)))}


@dataclass(frozen=True)
class BuiltFile:
    path: Path       # relative to the course root
    content: bytes


def build_exercises(root: str | Path) -> list[BuiltFile]:
    """Build every exercise file in memory (nothing is written): notebooks and public test files."""
    root = Path(root)
    solutions = root / SOLUTIONS
    if not solutions.is_dir():
        raise BuildError(f"no {SOLUTIONS}/ directory in {root}: is this the course root?")
    built = []
    for path in sorted(solutions.glob("*.ipynb")):
        try:
            nb = read_notebook(path)
        except NotebookError as exc:
            raise BuildError(str(exc)) from None
        if not (solutions / TESTS / f"{path.stem}.py").is_file():
            raise BuildError(f"{path}: no test file {SOLUTIONS}/{TESTS}/{path.stem}.py")
        built.append(BuiltFile(Path(EXERCISES) / path.name, notebook_bytes(exercise_notebook(nb, path.name))))
    for path in sorted((solutions / TESTS).glob("*.py")):
        built.append(BuiltFile(Path(EXERCISES) / TESTS / path.name, path.read_bytes()))
    return built


def _generated(root: Path) -> set[Path]:
    """The files in exercises/ that the builder owns (so an orphan of a removed solution is found)."""
    found = set(root.glob(f"{EXERCISES}/*.ipynb")) | set(root.glob(f"{EXERCISES}/{TESTS}/*.py"))
    return {p.relative_to(root) for p in found}


def _same(path: Path, content: bytes) -> bool:
    if not path.is_file():
        return False
    old = path.read_bytes()
    if path.suffix != ".ipynb":
        return old == content
    try:  # notebooks: compare content, not formatting
        return canonical(json.loads(old)) == canonical(json.loads(content))
    except ValueError:
        return False


def stale_exercises(root: str | Path) -> list[str]:
    """The exercise files that differ from a fresh build, are missing, or have no solution any more."""
    root = Path(root)
    built = build_exercises(root)
    stale = [str(f.path) for f in built if not _same(root / f.path, f.content)]
    stale += sorted(str(p) for p in _generated(root) - {f.path for f in built})
    return stale


def write_exercises(root: str | Path) -> list[str]:
    """Build and write exercises/; remove generated files whose solution is gone. Return what changed."""
    root = Path(root)
    built = build_exercises(root)  # build everything first: an error leaves exercises/ untouched
    changed = []
    for f in built:
        target = root / f.path
        if not target.is_file() or target.read_bytes() != f.content:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(f.content)
            changed.append(str(f.path))
    for orphan in sorted(_generated(root) - {f.path for f in built}):
        (root / orphan).unlink()
        changed.append(f"{orphan} (removed)")
    return changed
