"""Spawning the grading child: the one place where student code gets to run, and how it is fenced in.

The child (:mod:`nnlearn.grading.child`) runs

* in its own session and process group, so a wall-clock timeout kills it *and* anything it started,
* in a fresh temporary working directory (also its ``HOME`` and ``TMPDIR``), with a small environment,
* with one BLAS/OpenMP/Numba thread, under CPU-time, memory and file-size limits it sets on itself
  before the first cell runs.

It receives the cells, the test source without points and the test names; it answers with JSON lines in a
results file chosen here. Its stdout and stderr are kept only as text for the report — never parsed — so
printing a fake score changes nothing. Each run also has a random token, sent on the child's stdin (not on
disk, in argv or in the environment) and read before any student code runs; result lines without it are
ignored, so a cell that simply appends "passed" lines to the results file fakes nothing. (Student code that
digs the token out of the interpreter's memory could still forge lines: the tests run in the student's
process. The parent never trusts more than "test X passed" from it.)
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .testfile import TestFile

DEFAULT_TIMEOUT = 60.0      # seconds of wall-clock time for a whole notebook and its tests
DEFAULT_MEMORY_MB = 4096    # address-space limit of the child
FILE_LIMIT_BYTES = 64 << 20  # largest file the child may write (stops a print loop from filling the disk)
MAX_RESULTS_BYTES = 16 << 20
TAIL_CHARS = 4000
STATUSES_FROM_CHILD = ("passed", "failed", "error")

# Single-threaded numerics: grading is many small jobs side by side, and results must not depend on cores.
_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS",
                "VECLIB_MAXIMUM_THREADS", "NUMBA_NUM_THREADS")


@dataclass
class ChildRun:
    """What came back from one child process (raw outcomes, no points)."""

    results: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> status, message, duration
    started: list[str] = field(default_factory=list)                  # tests that began, in order
    cell_errors: list[tuple[int, str]] = field(default_factory=list)
    cells_done: bool = False
    timed_out: bool = False
    returncode: int | None = None
    duration: float = 0.0
    stdout_tail: str = ""
    stderr_tail: str = ""


def build_job(cells: list[tuple[int, str]], test_file: TestFile, results_path: str | Path,
              *, timeout: float, memory_mb: int | None) -> dict[str, Any]:
    """The child's whole input. It deliberately holds no points: only test names and points-free source."""
    return {
        "cells": [[int(n), str(src)] for n, src in cells],
        "tests_source": test_file.child_source,
        "tests_filename": test_file.path.name,
        "tests": [t.name for t in test_file.tests],
        "results": str(results_path),
        "limits": {
            "cpu_seconds": int(timeout) + 2,  # a backstop: the parent's wall clock normally fires first
            "memory_bytes": memory_mb * (1 << 20) if memory_mb else None,
            "file_bytes": FILE_LIMIT_BYTES,
        },
    }


def child_environment(workdir: Path) -> dict[str, str]:
    """A small, explicit environment: nothing of the grader's own secrets or settings leaks through."""
    package_parent = str(Path(__file__).resolve().parents[2])  # so the child imports this same nnlearn
    env = {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": str(workdir), "TMPDIR": str(workdir),
        "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "PYTHONIOENCODING": "utf-8",
        "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": package_parent,
        "MPLBACKEND": "Agg",
        **{var: "1" for var in _THREAD_VARS},
    }
    for var in ("SYSTEMROOT", "NUMBA_CACHE_DIR"):  # Windows needs SYSTEMROOT; share a warm Numba cache
        if var in os.environ:
            env[var] = os.environ[var]
    return env


def _kill_group(proc: subprocess.Popen) -> None:
    """Kill the child and everything in its process group (on Unix); only the child elsewhere."""
    if os.name == "posix":
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass  # the group is already gone
    else:
        proc.kill()


def _tail(path: Path) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - TAIL_CHARS))
            return f.read().decode("utf-8", errors="replace")
    except OSError:
        return ""


def read_results(path: Path, run: ChildRun, expected: set[str], token: str) -> None:
    """Parse the child's JSON lines into ``run``. Lines without this run's token, malformed or unexpected
    lines are ignored, and the first result for a test wins (the child is not trusted to behave)."""
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_RESULTS_BYTES)
    except OSError:
        return
    for line in raw.decode("utf-8", errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if not isinstance(record, dict) or record.get("token") != token:
            continue
        event, name = record.get("event"), record.get("name")
        if event == "cell_error" and isinstance(record.get("cell"), int):
            run.cell_errors.append((record["cell"], str(record.get("message", ""))))
        elif event == "cells_done":
            run.cells_done = True
        elif event == "start" and name in expected and name not in run.started:
            run.started.append(name)
        elif event == "result" and name in expected and name not in run.results \
                and record.get("status") in STATUSES_FROM_CHILD:
            duration = record.get("duration")
            run.results[name] = {
                "status": record["status"],
                "message": str(record.get("message", "")),
                "duration": float(duration) if isinstance(duration, (int, float)) else 0.0,
            }


def _force_rmtree(path: Path) -> None:
    def retry(func, p, _exc):  # the student may have made files or folders read-only
        try:
            os.chmod(p, stat.S_IRWXU)
            func(p)
        except OSError:
            pass
    if sys.version_info >= (3, 12):
        shutil.rmtree(path, onexc=retry)
    else:
        shutil.rmtree(path, onerror=retry)


def run_child(cells: list[tuple[int, str]], test_file: TestFile, *, timeout: float = DEFAULT_TIMEOUT,
              memory_mb: int | None = DEFAULT_MEMORY_MB, python: str | None = None) -> ChildRun:
    """Run ``cells`` and then the tests of ``test_file`` in a fenced-in child process; return raw outcomes."""
    if not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    tmp = Path(tempfile.mkdtemp(prefix="nnlearn-grade-"))
    try:
        workdir = tmp / "work"
        workdir.mkdir()
        results_path, job_path = tmp / "results.jsonl", tmp / "job.json"
        job = build_job(cells, test_file, results_path, timeout=timeout, memory_mb=memory_mb)
        job_path.write_text(json.dumps(job), encoding="utf-8")

        run = ChildRun()
        token = secrets.token_hex(16)
        start = time.monotonic()
        with open(tmp / "stdout.txt", "wb") as out, open(tmp / "stderr.txt", "wb") as err:
            proc = subprocess.Popen(
                [python or sys.executable, "-m", "nnlearn.grading.child", str(job_path)],
                cwd=workdir, env=child_environment(workdir), stdin=subprocess.PIPE, stdout=out,
                stderr=err, start_new_session=(os.name == "posix"), close_fds=True)
            try:
                try:
                    proc.stdin.write(f"{token}\n".encode())
                    proc.stdin.close()
                except OSError:  # BrokenPipeError: the child died at once; its missing results say so
                    pass
                run.returncode = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                run.timed_out = True
                _kill_group(proc)
                run.returncode = proc.wait()
            finally:
                _kill_group(proc)  # also ends anything the student left running in the background
        run.duration = time.monotonic() - start
        read_results(results_path, run, {t.name for t in test_file.tests}, token)
        run.stdout_tail, run.stderr_tail = _tail(tmp / "stdout.txt"), _tail(tmp / "stderr.txt")
        return run
    finally:
        _force_rmtree(tmp)
