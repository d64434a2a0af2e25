"""Execution time of every chapter notebook, one after another, as `make book` runs them.

Each notebook runs in a fresh kernel with one BLAS thread (as the Makefile sets), from its own folder; the
table gives the wall time of the whole notebook, kernel start included, and the number of exercises of the
chapter (code cells with answer regions in its solutions notebook). Run it with a warm Numba cache (any earlier run) and on a
quiet machine:

    .venv/bin/python benchmarks/chapters.py
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


def exercise_count(slug: str) -> int:
    path = ROOT / "solutions" / f"{slug}.ipynb"
    if not path.exists():
        return 0
    notebook = nbformat.read(path, as_version=4)
    # one exercise per code cell with an answer region (an exercise may have several regions in its cell)
    return sum("### BEGIN SOLUTION" in cell.source for cell in notebook.cells if cell.cell_type == "code")


def main() -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    chapters = sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb"))
    if len(sys.argv) > 1:
        chapters = [c for c in chapters if any(a in c.name for a in sys.argv[1:])]
    print("| chapter | execution time (s) | exercises |")
    print("| --- | --- | --- |")
    for path in chapters:
        notebook = nbformat.read(path, as_version=4)
        start = time.perf_counter()
        NotebookClient(notebook, timeout=600, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
        seconds = time.perf_counter() - start
        print(f"| {path.stem} | {seconds:.1f} | {exercise_count(path.stem)} |", flush=True)


if __name__ == "__main__":
    main()
