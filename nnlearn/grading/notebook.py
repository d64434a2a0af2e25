"""Reading and writing Jupyter notebooks as plain data.

A notebook is JSON (nbformat 4): ``{"cells": [...], "metadata": {...}, "nbformat": 4, "nbformat_minor": 5}``.
The grader reads it here without executing anything, and the exercise builder writes it back in one canonical
form (the same bytes ``nbformat.write`` produces: indent 1, sorted keys, sources split into lines) so that a
fresh build is byte-for-byte repeatable. Only the standard library is used: grading needs no Jupyter install.
"""
from __future__ import annotations

import ast
import json
import re
import symtable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Notebook = dict[str, Any]
Cell = dict[str, Any]


class NotebookError(ValueError):
    """A file that cannot be read as a Jupyter notebook (bad JSON, wrong structure, wrong nbformat)."""


def read_notebook(path: str | Path) -> Notebook:
    """Read ``path`` as an nbformat-4 notebook; raise :class:`NotebookError` saying what is wrong."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotebookError(f"notebook not found: {path}") from None
    except IsADirectoryError:
        raise NotebookError(f"notebook must be a .ipynb file, got a directory: {path}") from None
    except UnicodeDecodeError as exc:
        raise NotebookError(f"{path} is not a notebook: not UTF-8 text ({exc.reason})") from None
    try:
        nb = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NotebookError(f"{path} is not a notebook: invalid JSON at line {exc.lineno}, "
                            f"column {exc.colno}: {exc.msg}") from None
    validate_notebook(nb, str(path))
    return nb


def validate_notebook(nb: Any, where: str = "notebook") -> None:
    """Check the structure the grader and builder rely on (not a full nbformat schema validation)."""
    if not isinstance(nb, dict):
        raise NotebookError(f"{where} is not a notebook: expected a JSON object at the top, "
                            f"got {type(nb).__name__}")
    if nb.get("nbformat") != 4:
        raise NotebookError(f"{where} is not a notebook: expected \"nbformat\": 4, "
                            f"got {nb.get('nbformat')!r}")
    cells = nb.get("cells")
    if not isinstance(cells, list):
        raise NotebookError(f"{where} is not a notebook: expected a \"cells\" list, "
                            f"got {type(cells).__name__}")
    for i, cell in enumerate(cells, start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") not in ("code", "markdown", "raw"):
            raise NotebookError(f"{where}: cell {i} is not a code, markdown or raw cell")
        source = cell.get("source", "")
        if not (isinstance(source, str) or (isinstance(source, list)
                                            and all(isinstance(s, str) for s in source))):
            raise NotebookError(f"{where}: cell {i} has a source that is neither a string nor a list "
                                "of strings")


def cell_source(cell: Cell) -> str:
    """The cell's source as one string (nbformat allows a string or a list of lines)."""
    source = cell.get("source", "")
    return source if isinstance(source, str) else "".join(source)


def cell_tags(cell: Cell) -> list[str]:
    tags = cell.get("metadata", {}).get("tags", [])
    return [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []


def split_lines(text: str) -> list[str]:
    """Split like nbformat does on write: every line keeps its newline, the last one may lack it."""
    return text.splitlines(keepends=True)


def notebook_bytes(nb: Notebook) -> bytes:
    """The canonical on-disk form: what ``nbformat.write`` writes (indent 1, sorted keys, UTF-8)."""
    nb = json.loads(json.dumps(nb))  # a deep copy we may normalise
    for cell in nb["cells"]:
        if isinstance(cell.get("source"), str):
            cell["source"] = split_lines(cell["source"])
    return (json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def canonical(nb: Notebook) -> str:
    """A string that is equal for two notebooks exactly when their content is (formatting ignored)."""
    nb = json.loads(json.dumps(nb))
    for cell in nb.get("cells", []):
        cell["source"] = cell_source(cell)
    return json.dumps(nb, sort_keys=True, ensure_ascii=False)


# --- which cells the grader runs -------------------------------------------------------------------------

# The self-check cell (``from nnlearn.grading import check; check("02_perceptrons")``) is feedback for the
# learner's kernel; the grader skips it. ``(?<![\w.])`` keeps ``x.check(`` and ``my_check(`` from matching.
_CHECK_CALL = re.compile(r"(?<![\w.])check\s*\(")
_CHECK_IMPORT = re.compile(r"from\s+nnlearn\.grading\s+import\s+[^\n]*\bcheck\b")
SKIP_TAG = "skip-grading"


def is_check_cell(cell: Cell) -> bool:
    """True for the in-notebook self-check cell (it imports or calls ``check``)."""
    source = cell_source(cell)
    return bool(_CHECK_IMPORT.search(source) or _CHECK_CALL.search(source))


def _is_magic(line: str) -> bool:
    return line.lstrip().startswith(("%", "!"))


def is_magic_only(cell: Cell) -> bool:
    """True for a cell that only runs IPython magics or shell commands (``%pip``, ``!ls``, ``%%bash``)."""
    source = cell_source(cell)
    if source.lstrip().startswith("%%"):  # a cell magic: the body is not plain Python
        return True
    lines = [ln for ln in source.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    return bool(lines) and all(_is_magic(ln) for ln in lines)


def strip_magics(source: str) -> str:
    """Replace line magics and shell escapes by ``pass`` (same indentation, same line numbers)."""
    lines = source.splitlines()
    out = [ln[: len(ln) - len(ln.lstrip())] + "pass" if _is_magic(ln) else ln for ln in lines]
    return "\n".join(out) + ("\n" if source.endswith("\n") else "")


def gradable_cells(nb: Notebook) -> tuple[list[tuple[int, str]], list[int]]:
    """The code the grader runs, as ``[(cell number, source), ...]``, and the numbers of the skipped cells.

    Cell numbers count every cell from 1, as a reader counts them in Jupyter. Skipped: the self-check cell,
    cells tagged ``skip-grading``, and cells that only run magics or shell commands.
    """
    run, skipped = [], []
    for number, cell in enumerate(nb["cells"], start=1):
        if cell.get("cell_type") != "code":
            continue
        if is_check_cell(cell) or SKIP_TAG in cell_tags(cell) or is_magic_only(cell):
            skipped.append(number)
            continue
        run.append((number, strip_magics(cell_source(cell))))
    return run, skipped


# --- which statements the grader runs: the answers, found by name ----------------------------------------
#
# The rule. From the gradable cells the grader runs only what defines the answers the tests use: for every
# name a test reads from ``nb`` (``nb.NAME``, ``nb["NAME"]``, ``getattr(nb, "NAME")``), the *last* top-level
# statement that binds it — ``def``, ``class``, ``import`` or a plain ``NAME = ...`` assignment — and, in turn,
# for every global name that statement uses (in its body, decorators, default values or base classes), the
# last statement binding it before that statement and the last one in the notebook. The chosen statements run in notebook order, each cell compiled on its own (tracebacks
# keep cell numbers and lines). Everything else — example calls, prints, plots, loops, a ``sys.exit()`` or an
# endless loop at top level — never runs while grading, so deleting, reordering or duplicating cells, or
# editing metadata and outputs, changes the score only through the answers themselves.

@dataclass
class AnswerCode:
    """The statements to run, per cell, and what the selection found."""

    cells: list[tuple[int, ast.Module]] = field(default_factory=list)  # (cell number, chosen statements)
    errors: list[tuple[int, str]] = field(default_factory=list)        # cells that do not parse
    found: list[str] = field(default_factory=list)                     # answer names the notebook defines
    missing: list[str] = field(default_factory=list)                   # answer names it does not define


def _is_test(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """A test function: named ``test*``, or decorated with ``@points(...)``."""
    return fn.name.startswith("test") or any(
        isinstance(d, ast.Call) and getattr(d.func, "attr", getattr(d.func, "id", None)) == "points"
        for d in fn.decorator_list)


def answer_names(test_source: str) -> list[str]:
    """The names tests read from their ``nb`` argument, in order of first use."""
    tree = ast.parse(test_source)
    # Only the tests' own first parameter is the notebook: a helper's first parameter (``ctx`` of an autograd
    # Function, an array) would make its attributes look like answers.
    params = {fn.args.args[0].arg for fn in ast.walk(tree)
              if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)) and fn.args.args and _is_test(fn)}
    names: list[str] = []
    for node in ast.walk(tree):
        name = None
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in params:
            name = node.attr
        elif isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) \
                and node.value.id in params and isinstance(node.slice, ast.Constant):
            name = node.slice.value
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr" \
                and len(node.args) >= 2 and isinstance(node.args[0], ast.Name) \
                and node.args[0].id in params and isinstance(node.args[1], ast.Constant):
            name = node.args[1].value
        if isinstance(name, str) and name.isidentifier() and not name.startswith("__") and name not in names:
            names.append(name)
    return names


def _bound_names(stmt: ast.stmt) -> list[str] | None:
    """Names a definition statement binds; None for a statement that is not a definition."""
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [stmt.name]
    if isinstance(stmt, ast.Import):
        return [(a.asname or a.name.split(".")[0]) for a in stmt.names]
    if isinstance(stmt, ast.ImportFrom):
        if stmt.module == "__future__":
            return None
        return [("*" if a.name == "*" else a.asname or a.name) for a in stmt.names]
    targets = stmt.targets if isinstance(stmt, ast.Assign) else \
        [stmt.target] if isinstance(stmt, ast.AnnAssign) and stmt.value is not None else None
    if targets is None:
        return None
    names = []
    for target in targets:
        elts = target.elts if isinstance(target, (ast.Tuple, ast.List)) else [target]
        if not all(isinstance(e, ast.Name) for e in elts):
            return None  # x[0] = ..., obj.attr = ...: not a plain definition
        names += [e.id for e in elts]
    return names


def _globals_used(stmt: ast.stmt) -> set[str]:
    """The global names a statement reads: at its own top level and, through ``symtable``, in nested
    scopes (so a function's local variables never count as uses of a top-level name)."""
    table = symtable.symtable(ast.unparse(stmt), "<answer>", "exec")
    used = {s.get_name() for s in table.get_symbols() if s.is_referenced()}
    stack = list(table.get_children())
    while stack:
        child = stack.pop()
        used |= {s.get_name() for s in child.get_symbols() if s.is_global()}
        stack += child.get_children()
    return used


def select_answers(cells: list[tuple[int, str]], names: list[str]) -> AnswerCode:
    """The statements that define ``names`` and what they need (the rule is stated above)."""
    code = AnswerCode()
    statements: list[tuple[int, int, ast.stmt]] = []  # (cell, position, statement), in notebook order
    future: dict[int, list[ast.stmt]] = {}
    for number, source in cells:
        try:
            tree = ast.parse(source, filename=f"<cell {number}>")
        except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
            code.errors.append((number, f"{type(exc).__name__}: {exc} (this cell was not run)"))
            continue
        for stmt in tree.body:
            if isinstance(stmt, ast.ImportFrom) and stmt.module == "__future__":
                future.setdefault(number, []).append(stmt)
            statements.append((number, len(statements), stmt))

    bindings: dict[str, list[int]] = {}  # name -> positions of the statements that bind it, in order
    stars: list[int] = []
    for number, position, stmt in statements:
        for name in _bound_names(stmt) or []:
            if name == "*":
                stars.append(position)
            else:
                bindings.setdefault(name, []).append(position)
    chosen: set[int] = set(stars)
    code.found = [n for n in names if n in bindings]
    code.missing = [n for n in names if n not in bindings]
    todo = [bindings[n][-1] for n in code.found]
    while todo:
        position = todo.pop()
        if position in chosen:
            continue
        chosen.add(position)
        try:
            used = _globals_used(statements[position][2])
        except (SyntaxError, RecursionError, MemoryError, ValueError):
            continue
        for name in used & bindings.keys():
            # The last binding overall (what a call sees at test time) and the last one before this
            # statement (what its decorators, default values or assigned value see when it runs).
            todo.append(bindings[name][-1])
            earlier = [p for p in bindings[name] if p < position]
            if earlier:
                todo.append(earlier[-1])
    by_cell: dict[int, list[ast.stmt]] = {}
    for number, position, stmt in statements:
        if position in chosen:
            by_cell.setdefault(number, []).append(stmt)
    for number, body in by_cell.items():
        code.cells.append((number, ast.Module(body=future.get(number, []) + body, type_ignores=[])))
    return code
