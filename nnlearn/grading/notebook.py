"""Reading and writing Jupyter notebooks as plain data.

A notebook is JSON (nbformat 4): ``{"cells": [...], "metadata": {...}, "nbformat": 4, "nbformat_minor": 5}``.
The grader reads it here without executing anything, and the exercise builder writes it back in one canonical
form (the same bytes ``nbformat.write`` produces: indent 1, sorted keys, sources split into lines) so that a
fresh build is byte-for-byte repeatable. Only the standard library is used: grading needs no Jupyter install.
"""
from __future__ import annotations

import json
import re
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
