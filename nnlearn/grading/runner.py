"""Spawning the grading child: the one place where student code gets to run, and how it is fenced in.

The child (:mod:`nnlearn.grading.child`) runs

* in its own session and process group, so a wall-clock timeout kills it *and* anything it started (a Numba
  loop ignores SIGINT: the group gets SIGKILL),
* where the OS allows it (see :mod:`nnlearn.grading.isolation`), in its own PID, network and mount
  namespaces — no network, the course's tests and solutions covered by empty mounts, every process it
  started killed by the kernel when it ends — and, when the grader runs as root, as a fresh user id,
* in a fresh temporary working directory that holds nothing (also its ``HOME``, ``TMPDIR`` and
  ``NUMBA_CACHE_DIR``), with a small environment and one BLAS/OpenMP/Numba thread,
* under limits on CPU time, address space, processes, file size and open files, set before any student code.

Its whole input — a random token, the cells, the test source without points, the test names — arrives on
stdin, never on disk. It answers with JSON lines on a file descriptor it inherits; the file has no name, so
student code cannot find it by path, and lines without this run's token are ignored (a cell that writes
"passed" lines fakes nothing). Its stdout and stderr are kept only as text for the report — never parsed —
so printing a fake score changes nothing. The parent trusts nothing from the child but "test X passed"; all
scoring happens in :mod:`nnlearn.grading.report`, in the parent, which never runs student code.
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

from . import isolation
from .testfile import TestFile

DEFAULT_TIMEOUT = 60.0      # seconds of wall-clock time for a whole notebook and its tests
DEFAULT_MEMORY_MB = 4096    # address-space limit of the child
FILE_LIMIT_BYTES = 64 << 20  # largest file the child may write (stops a print loop from filling the disk)
MAX_RESULTS_BYTES = 16 << 20
TAIL_CHARS = 4000
STATUSES_FROM_CHILD = ("passed", "failed", "error", "memory")

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
    isolation: dict[str, Any] = field(default_factory=dict)  # what was in force (parent's and child's view)
    answers_found: list[str] = field(default_factory=list)
    answers_missing: list[str] = field(default_factory=list)


def build_job(cells: list[tuple[int, str]], test_file: TestFile, results: int | str | Path,
              *, timeout: float, memory_mb: int | None,
              isolation_spec: dict[str, Any] | None = None) -> dict[str, Any]:
    """The child's whole input. It deliberately holds no points: only test names and points-free source.

    ``results`` is the file descriptor the child writes its JSON lines to (a path in older callers)."""
    spec = dict(isolation_spec or {})
    spec["limits"] = {
        "cpu_seconds": int(timeout) + 2,  # a backstop: the parent's wall clock normally fires first
        "memory_bytes": memory_mb * (1 << 20) if memory_mb else None,
        "file_bytes": FILE_LIMIT_BYTES,
        "open_files": isolation.OPEN_FILES,
        **spec.get("limits", {}),
    }
    return {
        "cells": [[int(n), str(src)] for n, src in cells],
        "tests_source": test_file.child_source,
        "tests_filename": test_file.path.name,
        "tests": [t.name for t in test_file.tests],
        "results_fd": results if isinstance(results, int) else None,
        "results": None if isinstance(results, int) else str(results),
        "limits": spec["limits"],
        "isolation": spec,
    }


def child_environment(workdir: Path) -> dict[str, str]:
    """A small, explicit environment: nothing of the grader's own secrets or settings leaks through."""
    package_parent = str(Path(__file__).resolve().parents[2])  # so the child imports this same nnlearn
    env = {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": str(workdir), "TMPDIR": str(workdir), "NUMBA_CACHE_DIR": str(workdir / ".numba_cache"),
        "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "PYTHONIOENCODING": "utf-8",
        "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": package_parent,
        "MPLBACKEND": "Agg",
        **{var: "1" for var in _THREAD_VARS},
    }
    if "SYSTEMROOT" in os.environ:  # Windows needs it
        env["SYSTEMROOT"] = os.environ["SYSTEMROOT"]
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


def read_results(path: Path | int, run: ChildRun, expected: set[str], token: str) -> None:
    """Parse the child's JSON lines (a path, or a file descriptor read from its start) into ``run``. Lines
    without this run's token, malformed or unexpected lines are ignored, and the first record of each kind
    wins (the child is not trusted to behave)."""
    try:
        if isinstance(path, int):
            raw = os.pread(path, MAX_RESULTS_BYTES, 0)
        else:
            with open(path, "rb") as f:
                raw = f.read(MAX_RESULTS_BYTES)
    except OSError:
        return
    seen_isolation = seen_answers = False
    for line in raw.decode("utf-8", errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if not isinstance(record, dict) or record.get("token") != token:
            continue
        event, name = record.get("event"), record.get("name")
        if event == "isolation" and not seen_isolation and isinstance(record.get("facts"), dict):
            seen_isolation = True  # sent before any student code ran: the first one is the child's own
            run.isolation.update(record["facts"])
        elif event == "answers" and not seen_answers:
            seen_answers = True
            run.answers_found = [str(n) for n in record.get("found", []) if isinstance(n, str)]
            run.answers_missing = [str(n) for n in record.get("missing", []) if isinstance(n, str)]
        elif event == "cell_error" and isinstance(record.get("cell"), int):
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


def _tail_fd(f) -> str:
    try:
        f.seek(0, os.SEEK_END)
        f.seek(max(0, f.tell() - TAIL_CHARS))
        return f.read().decode("utf-8", errors="replace")
    except (OSError, ValueError):
        return ""


def run_child(cells: list[tuple[int, str]], test_file: TestFile, *, timeout: float = DEFAULT_TIMEOUT,
              memory_mb: int | None = DEFAULT_MEMORY_MB, python: str | None = None) -> ChildRun:
    """Run the answers in ``cells`` and then the tests of ``test_file`` in a fenced-in child process; return
    the raw outcomes (no points) and the isolation that was in force."""
    if not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    prefix, namespaces = isolation.namespace_prefix()
    root = os.name == "posix" and os.geteuid() == 0
    uid = isolation.fresh_uid()
    tmp = Path(tempfile.mkdtemp(prefix="nnlearn-grade-"))
    results_fd = -1
    try:
        workdir = tmp / "work"
        workdir.mkdir()
        if uid is not None:
            os.chmod(tmp, 0o711)  # the fresh user may pass through, but not list or write here
            os.chown(workdir, uid, uid)
        # The results file has no name once both ends are open: nothing in the child can find it by path.
        read_fd, results_path = tempfile.mkstemp(dir=tmp)
        results_fd = os.open(results_path, os.O_WRONLY | os.O_APPEND)
        os.unlink(results_path)

        processes = isolation.PROCESS_MARGIN
        if not root and os.name == "posix":  # RLIMIT_NPROC counts all of this user's tasks
            processes += isolation.tasks_of_user(os.getuid())
        spec = {"namespaces": list(namespaces), "uid": uid, "parent_is_root": root,
                "hide": isolation.paths_to_hide(test_file.path, [Path(__file__).resolve().parents[2],
                                                                 Path(sys.prefix), Path(sys.executable),
                                                                 Path(sys.base_prefix), tmp]),
                "limits": {"processes": processes}}
        job = build_job(cells, test_file, results_fd, timeout=timeout, memory_mb=memory_mb,
                        isolation_spec=spec)
        token = secrets.token_hex(16)
        run = ChildRun()
        run.isolation = {
            "process_group_killed_at_timeout": os.name == "posix",
            "wall_clock_seconds": timeout,
            "fresh_working_directory": True,
            "single_threaded_blas": True,
            "namespaces_requested": list(namespaces),
        }
        start = time.monotonic()
        with tempfile.TemporaryFile(dir=tmp) as out, tempfile.TemporaryFile(dir=tmp) as err:
            proc = subprocess.Popen(
                [*prefix, python or sys.executable, "-m", "nnlearn.grading.child"],
                cwd=workdir, env=child_environment(workdir), stdin=subprocess.PIPE, stdout=out,
                stderr=err, start_new_session=(os.name == "posix"), close_fds=True, pass_fds=(results_fd,))
            os.close(results_fd)
            results_fd = -1
            try:
                try:
                    proc.communicate((token + "\n" + json.dumps(job)).encode("utf-8"), timeout=timeout)
                except BrokenPipeError:  # the child died at once; its missing results say so
                    proc.wait(timeout=timeout)
                run.returncode = proc.returncode
            except subprocess.TimeoutExpired:
                run.timed_out = True
                _kill_group(proc)
                run.returncode = proc.wait()
            finally:
                _kill_group(proc)  # also ends anything the student left running in the background
                if uid is not None:
                    isolation.kill_user(uid)  # and what escaped the group (setsid) without a PID namespace
            run.duration = time.monotonic() - start
            read_results(read_fd, run, {t.name for t in test_file.tests}, token)
            os.close(read_fd)
            run.stdout_tail, run.stderr_tail = _tail_fd(out), _tail_fd(err)
        return run
    finally:
        if results_fd >= 0:
            os.close(results_fd)
        _force_rmtree(tmp)
