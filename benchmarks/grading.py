"""Batch grading: 100 submissions of chapter 2 (mostly right, some wrong, some broken) on a few cores.

    .venv/bin/python benchmarks/grading.py [--n 100] [--jobs 2]

The folder mixes: every 5th submission with one wrong answer (xor_network returns None), every 10th (offset 3)
invalid JSON, every 10th (offset 7) the untouched exercise stubs, every 25th (offset 12) an empty file; the rest
are copies of the solution. The script checks every score against what it should be, then prints the wall
time, the per-submission time, and the overhead per submission on top of the child's own run (the notebook
and its tests), as a Markdown table with the machine it ran on.
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.timing import machine_description  # noqa: E402
from nnlearn.grading.batch import grade_folder  # noqa: E402
from nnlearn.grading.notebook import cell_source, read_notebook  # noqa: E402
from nnlearn.grading.testfile import load_test_file  # noqa: E402

SOLUTION = ROOT / "solutions" / "02_perceptrons.ipynb"
EXERCISE = ROOT / "exercises" / "02_perceptrons.ipynb"
TESTS = ROOT / "solutions" / "tests" / "02_perceptrons.py"


def make_folder(folder: Path, n: int) -> dict[str, tuple[float, str]]:
    """Write ``n`` submissions; return {student: (expected score, expected status)}."""
    spec = load_test_file(TESTS)
    full = spec.max_score
    xor_points = sum(t.points for t in spec.tests if t.name.startswith("test_xor_"))
    wrong = read_notebook(SOLUTION)
    for cell in wrong["cells"]:
        if "def xor_network(" in cell_source(cell):
            cell["source"] = re.sub(r"(### BEGIN SOLUTION\n).*?(\n\s*### END SOLUTION)", r"\1    return None\2",
                                    cell_source(cell), flags=re.S)
    expected = {}
    for i in range(n):
        student = f"student{i:03d}"
        path = folder / f"{student}.ipynb"
        if i % 25 == 12:
            path.write_text("")
            expected[student] = (0, "unreadable")
        elif i % 10 == 3:
            path.write_text('{"cells": [')
            expected[student] = (0, "unreadable")
        elif i % 10 == 7:
            shutil.copy(EXERCISE, path)
            expected[student] = (0, "graded")
        elif i % 5 == 0:
            path.write_text(json.dumps(wrong))
            expected[student] = (full - xor_points, "graded")
        else:
            shutil.copy(SOLUTION, path)
            expected[student] = (full, "graded")
    return expected


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="nnlearn-bench-") as tmp:
        folder, out = Path(tmp) / "submissions", Path(tmp) / "grades"
        folder.mkdir()
        expected = make_folder(folder, args.n)
        start = time.perf_counter()
        result = grade_folder(folder, out, TESTS, jobs=args.jobs, timeout=60, progress=True)
        wall = time.perf_counter() - start
        got = {r["student"]: (r["score"], r["status"]) for r in result.graded}
        wrong = {s: (got.get(s), e) for s, e in expected.items() if got.get(s) != e}
        assert not wrong, f"scores differ from the expected ones: {wrong}"
        graded = [r for r in result.graded if r["status"] == "graded"]
        per_submission = sum(r["duration"] for r in result.graded) / len(result.graded)
        tests_time = sum(t.get("duration", 0.0) for r in graded for t in r["tests"]) / max(1, len(graded))
        # A rerun skips everything: the cost of checking hashes alone.
        start = time.perf_counter()
        again = grade_folder(folder, out, TESTS, jobs=args.jobs, timeout=60, progress=False)
        rerun = time.perf_counter() - start
        assert not again.graded and len(again.skipped) == args.n

    print(f"Machine: {machine_description()}\n")
    print("| submissions | jobs | wall (s) | wall per submission (ms) | grading one, in a worker (ms) "
          "| of which the tests (ms) | rerun, all skipped (s) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    print(f"| {args.n} | {args.jobs} | {wall:.1f} | {1000 * wall / args.n:.0f} | {1000 * per_submission:.0f} "
          f"| {1000 * tests_time:.0f} | {rerun:.2f} |")
    counts: dict[str, int] = {}
    for _, status in expected.values():
        counts[status] = counts.get(status, 0) + 1
    print(f"\nAll {args.n} scores as expected ({', '.join(f'{n} {s}' for s, n in sorted(counts.items()))}).")


if __name__ == "__main__":
    main()
