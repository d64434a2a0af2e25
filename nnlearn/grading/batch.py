"""Grading a folder of submissions: ``nnlearn grade submissions/ --out grades/``.

Layout of the folder (both may be mixed)::

    submissions/alice.ipynb              student "alice"
    submissions/bob/02_perceptrons.ipynb student "bob" (the subfolder's name)

Each submission is graded by :func:`~nnlearn.grading.grade_notebook` in a pool of worker processes (one per
core by default; each worker starts the sandboxed child for its notebook, so student code never runs in a
worker, let alone here). Each result is written at once, atomically (a temporary file, then a rename), as
``grades/<student>.json``: the grader's version, the sha256 of the submission and of the test file, the
isolation in force when the report says, and every test's result and duration. ``gradebook.csv`` is rebuilt
from those JSON files at the end.

Re-running the same command skips every submission whose JSON records the same submission and test-file
hashes, so an interrupted batch picks up where it stopped and loses nothing. A submission that cannot be read
or graded becomes a row with status ``unreadable`` or ``error`` and zero points; it never stops the batch.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import sys
import tempfile
import time
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .grader import GradingError, grade_notebook
from .notebook import NotebookError, read_notebook
from .paths import find_tests_file
from .runner import DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT
from .testfile import TestFileError, load_test_file

FORMAT = "nnlearn-grade/1"
GRADEBOOK = "gradebook.csv"
# Submission statuses: "graded" (it ran; the points say how well), a limit that was hit during grading
# ("timeout", "memory", "crashed"), or grading could not happen ("unreadable": not a notebook; "error").
GRADED, UNREADABLE, ERROR = "graded", "unreadable", "error"
LIMIT_STATUSES = ("timeout", "memory", "crashed")


def grader_version() -> str:
    from .. import __version__
    return f"nnlearn {__version__}"


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class Submission:
    """One notebook to grade: who handed it in, where it is, and the name of its JSON result."""

    student: str
    path: Path
    file: str  # the path relative to the submissions folder, with '/' separators
    key: str   # grades/<key>.json


def _visible(path: Path) -> bool:
    return not path.name.startswith(".")


def find_submissions(folder: str | Path) -> list[Submission]:
    """Every ``*.ipynb`` in ``folder`` and in its direct subfolders, sorted (hidden files skipped)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise GradingError(f"submissions folder not found: {folder}")
    found: list[tuple[str, Path]] = []
    for path in sorted(folder.iterdir()):
        if not _visible(path):
            continue
        if path.is_file() and path.suffix == ".ipynb":
            found.append((path.stem, path))
        elif path.is_dir():
            found += [(path.name, p) for p in sorted(path.glob("*.ipynb")) if p.is_file() and _visible(p)]
    per_student: dict[str, int] = {}
    for student, _ in found:
        per_student[student] = per_student.get(student, 0) + 1
    submissions, keys = [], set()
    for student, path in found:
        key = _safe_name(student if per_student[student] == 1 else f"{student}__{path.stem}")
        base, n = key, 2
        while key in keys:  # two names that differ only in characters a file name cannot hold
            key, n = f"{base}-{n}", n + 1
        keys.add(key)
        submissions.append(Submission(student, path, path.relative_to(folder).as_posix(), key))
    return submissions


def _safe_name(name: str) -> str:
    name = re.sub(r"[^\w.-]", "_", name).strip(".")
    return name or "_"


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` so that ``path`` is either the old file or the complete new one, never half of it."""
    text = json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False) + "\n"
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _tests_for(submission: Submission, tests: Path | None) -> Path | None:
    return tests if tests is not None else find_tests_file(submission.path)


def _zero_tests(tests_file: Path | None, status: str, message: str) -> list[dict[str, Any]]:
    """Every test of the test file at zero points (so the gradebook has all its columns), or none."""
    if tests_file is None:
        return []
    try:
        specs = load_test_file(tests_file).tests
    except TestFileError:
        return []
    return [{"name": s.name, "score": 0, "max_score": s.points, "status": status, "message": message,
             "duration": 0.0} for s in specs]


def _status_of(tests: list[dict[str, Any]]) -> str:
    seen = {t["status"] for t in tests}
    return next((s for s in LIMIT_STATUSES if s in seen), GRADED)


def grade_submission(submission: Submission, out: Path, tests: Path | None = None, *,
                     timeout: float = DEFAULT_TIMEOUT, memory_mb: int | None = DEFAULT_MEMORY_MB
                     ) -> dict[str, Any]:
    """Grade one submission, write ``out/<key>.json``, and return what was written. Never raises for a bad
    submission: whatever goes wrong becomes the record's ``status`` and ``message``."""
    start = time.monotonic()
    tests_file = _tests_for(submission, tests)
    record: dict[str, Any] = {
        "format": FORMAT, "student": submission.student, "file": submission.file,
        "sha256": sha256_file(submission.path), "grader": grader_version(),
        "tests_file": str(tests_file) if tests_file else "",
        "tests_sha256": sha256_file(tests_file) if tests_file and tests_file.is_file() else "",
    }
    try:
        read_notebook(submission.path)
    except NotebookError as exc:
        result = {"status": UNREADABLE, "message": str(exc),
                  "tests": _zero_tests(tests_file, UNREADABLE, "the submission could not be read")}
    else:
        try:
            report = grade_notebook(submission.path, tests_file, timeout=timeout, memory_mb=memory_mb)
        except GradingError as exc:
            result = {"status": ERROR, "message": str(exc),
                      "tests": _zero_tests(tests_file, ERROR, "grading could not run")}
        except Exception as exc:  # noqa: BLE001 — one submission must never stop the batch
            detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            result = {"status": ERROR, "message": f"the grader failed on this submission: {detail}",
                      "tests": _zero_tests(tests_file, ERROR, "grading could not run")}
        else:
            data = report.to_dict()  # may carry more than we know of (e.g. the isolation in force)
            for entry, test in zip(data["tests"], report.tests):
                entry.setdefault("duration", round(float(test.duration), 6))
            isolation = getattr(report, "isolation", None)
            if isolation is not None and "isolation" not in data:
                data["isolation"] = isolation.to_dict() if hasattr(isolation, "to_dict") else isolation
            data.pop("tests_file", None)
            result = {"status": _status_of(data["tests"]), "message": "", **data}
    record.update(result)
    record["score"] = sum(float(t["score"]) for t in record["tests"])
    record["max_score"] = sum(float(t["max_score"]) for t in record["tests"])
    record["duration"] = round(time.monotonic() - start, 6)
    write_json_atomic(out / f"{submission.key}.json", record)
    return record


def _load_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("format") == FORMAT else None


def is_up_to_date(submission: Submission, out: Path, tests: Path | None) -> bool:
    """True when ``out/<key>.json`` already grades these exact bytes with this exact test file."""
    old = _load_json(out / f"{submission.key}.json")
    if old is None or old.get("status") == ERROR:  # an error may be the grader's fault: try again
        return False
    tests_file = _tests_for(submission, tests)
    tests_sha = sha256_file(tests_file) if tests_file and tests_file.is_file() else ""
    return old.get("sha256") == sha256_file(submission.path) and old.get("tests_sha256") == tests_sha


def _num(x: Any) -> str:
    return f"{float(x):g}"


def write_gradebook(out: str | Path) -> Path:
    """Rebuild ``out/gradebook.csv`` from every grade JSON in ``out``: student, file, sha256, one column per
    test (in test-file order), total, max, status; rows sorted by student and file."""
    out = Path(out)
    records = [r for p in sorted(out.glob("*.json")) if _visible(p) and (r := _load_json(p)) is not None]
    records.sort(key=lambda r: (str(r.get("student", "")), str(r.get("file", ""))))
    columns: list[str] = []
    for r in records:
        for t in r.get("tests", []):
            if t["name"] not in columns:
                columns.append(t["name"])
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["student", "file", "sha256", *columns, "total", "max", "status"])
    for r in records:
        scores = {t["name"]: _num(t["score"]) for t in r.get("tests", [])}
        writer.writerow([r.get("student", ""), r.get("file", ""), r.get("sha256", ""),
                         *(scores.get(c, "") for c in columns),
                         _num(r.get("score", 0)), _num(r.get("max_score", 0)), r.get("status", "")])
    path = out / GRADEBOOK
    fd, tmp = tempfile.mkstemp(dir=out, prefix=f".{GRADEBOOK}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
        f.write(buffer.getvalue())
    os.replace(tmp, path)
    return path


@dataclass
class BatchResult:
    """What one ``grade_folder`` call did."""

    graded: list[dict[str, Any]] = field(default_factory=list)  # records written by this run
    skipped: list[Submission] = field(default_factory=list)     # already graded, unchanged
    gradebook: Path | None = None
    seconds: float = 0.0

    def summary(self) -> str:
        counts: dict[str, int] = {}
        for r in self.graded:
            counts[r["status"]] = counts.get(r["status"], 0) + 1
        parts = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
        return (f"graded {len(self.graded)} submission(s) in {self.seconds:.1f} s"
                f"{f' ({parts})' if parts else ''}; skipped {len(self.skipped)} already graded; "
                f"gradebook: {self.gradebook}")


def default_jobs() -> int:
    """One worker per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def grade_folder(folder: str | Path, out: str | Path, tests: str | Path | None = None, *,
                 jobs: int | None = None, timeout: float = DEFAULT_TIMEOUT,
                 memory_mb: int | None = DEFAULT_MEMORY_MB, progress: bool = True) -> BatchResult:
    """Grade every submission in ``folder`` into ``out`` (see the module docstring); return what was done.

    ``tests`` is the course test file (default: found from each notebook's name, as ``nnlearn grade`` does);
    ``jobs`` the number of worker processes (default: the number of cores).
    """
    start = time.monotonic()
    if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1):
        raise GradingError(f"jobs must be a positive whole number, got {jobs!r}")
    tests = Path(tests).resolve() if tests is not None else None
    if tests is not None:
        try:
            load_test_file(tests)  # a broken test file is the instructor's error: say so once, up front
        except TestFileError as exc:
            raise GradingError(str(exc)) from None
    submissions = find_submissions(folder)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    result = BatchResult()
    todo = []
    for s in submissions:
        (result.skipped if is_up_to_date(s, out, tests) else todo).append(s)

    bar = None
    if progress and todo:
        from tqdm import tqdm  # only when a batch actually runs: `import nnlearn` stays light
        bar = tqdm(total=len(todo), desc="grading", unit="nb", file=sys.stderr)
    jobs = min(jobs or default_jobs(), max(1, len(todo)))
    options = {"timeout": timeout, "memory_mb": memory_mb}
    retry: list[Submission] = []
    try:
        if jobs > 1:
            import multiprocessing

            # "spawn": fresh workers that inherit no threads or locks from this process (tqdm runs a thread).
            with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
                futures = {pool.submit(grade_submission, s, out, tests, **options): s for s in todo}
                for future in as_completed(futures):
                    try:
                        result.graded.append(future.result())
                    except Exception:  # noqa: BLE001 — a worker died (e.g. the pool broke): retry below
                        retry.append(futures[future])
                    if bar is not None:
                        bar.update(1)
        else:
            retry = todo
        # In this process, one at a time (still through the sandboxed child): the sequential path, and a
        # second chance for anything a broken worker lost.
        for s in sorted(retry, key=lambda s: s.key):
            try:
                result.graded.append(grade_submission(s, out, tests, **options))
            except Exception as exc:  # noqa: BLE001 — e.g. the out folder became unwritable
                print(f"nnlearn grade: could not grade {s.file}: {exc}", file=sys.stderr)
            if bar is not None and jobs == 1:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    result.graded.sort(key=lambda r: (r["student"], r["file"]))
    result.gradebook = write_gradebook(out)
    result.seconds = time.monotonic() - start
    return result
