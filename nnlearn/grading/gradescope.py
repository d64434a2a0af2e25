"""Gradescope: build an autograder zip for one exercise, and the code that runs inside it.

``nnlearn gradescope-bundle 02_perceptrons --out autograder.zip`` writes a zip that Gradescope unpacks into
``/autograder/source``::

    setup.sh                run once when Gradescope builds the image: installs nnlearn from dist/ (or
                            nnlearn-src/), with its dependencies from PyPI or from a wheelhouse/ you add
    run_autograder          run for every submission: grades it, writes /autograder/results/results.json
    nnlearn_autograder.py   what run_autograder starts; standard library only, so it can still write a
                            results.json saying what went wrong when nnlearn itself cannot be imported
    autograder.json         the exercise, the test file, the time and memory limits
    tests/02_perceptrons.py the course's test file (the public one, or the private one given with --tests)
    dist/nnlearn-*.whl      this nnlearn, as a wheel (unless --no-wheel)
    nnlearn-src/            this nnlearn's source (a fallback to install, or to import)

``results.json`` is always written — a submission that is missing, not a notebook, or that breaks the grader
gets score 0 and an ``output`` that says why. The ``/autograder`` root can be moved with the environment
variable ``NNLEARN_AUTOGRADER_ROOT`` (the tests run the bundle against a fake tree in a temporary folder).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import traceback
import zipfile
from pathlib import Path
from typing import Any

from .grader import GradingError, grade_notebook
from .report import PASSED, GradeReport
from .runner import DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT
from .testfile import TestFileError, load_test_file

ROOT_ENV = "NNLEARN_AUTOGRADER_ROOT"
DEFAULT_ROOT = "/autograder"
CONFIG = "autograder.json"
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed timestamps: the same inputs give the same zip
_EXERCISE = re.compile(r"^\w[\w.-]*$")  # a file name, never a path


class BundleError(ValueError):
    """The autograder zip cannot be built (unknown exercise, missing test file, ...)."""


class SubmissionError(ValueError):
    """No gradable notebook among the submitted files."""


# --- results.json -------------------------------------------------------------------------------------------

def results_from_report(report: GradeReport) -> dict[str, Any]:
    """Gradescope's results for a graded notebook. Hidden tests show only pass/fail and their hint."""
    from .feedback import feedback_lines

    tests = []
    for line in feedback_lines(report):
        if line.hidden:
            output = "" if line.status == PASSED else f"Hint: {line.text}"
        else:
            output = f"{line.status}: {line.text}" if line.text else line.status
        tests.append({"name": line.name, "score": line.score, "max_score": line.max_score,
                      "status": "passed" if line.status == PASSED else "failed",
                      "output": output, "visibility": "visible"})
    summary = [f"Score: {report.score:g}/{report.max_score:g}"]
    summary += [f"Cell {n} raised an error: {m.strip().splitlines()[0] if m.strip() else ''}"
                for n, m in report.cell_errors]
    summary += [f"Note: {note}" for note in report.notes]
    return {"score": report.score, "output": "\n".join(summary), "visibility": "visible",
            "stdout_visibility": "hidden", "tests": tests}


def failure_results(message: str, tests_file: str | Path | None = None) -> dict[str, Any]:
    """Score 0 with ``message`` — and every test of ``tests_file`` at 0, so the student sees what it was."""
    tests = []
    if tests_file is not None:
        try:
            specs = load_test_file(tests_file).tests
        except TestFileError:
            specs = ()
        tests = [{"name": s.name, "score": 0, "max_score": s.points, "status": "failed",
                  "output": "not graded: see the message above", "visibility": "visible"} for s in specs]
    return {"score": 0, "output": message, "visibility": "visible", "stdout_visibility": "hidden",
            "tests": tests}


def write_results(results_dir: Path, results: dict[str, Any]) -> Path:
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / "results.json"
    tmp = results_dir / ".results.json.tmp"
    tmp.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


# --- inside Gradescope --------------------------------------------------------------------------------------

def find_submitted_notebook(folder: Path, exercise: str) -> Path:
    """The notebook to grade among the submitted files: ``<exercise>.ipynb`` if present, else the only one."""
    if not folder.is_dir():
        raise SubmissionError(f"no submission folder at {folder}")
    notebooks = sorted(p for p in folder.rglob("*.ipynb")
                       if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts))
    named = [p for p in notebooks if p.name == f"{exercise}.ipynb"]
    if named:
        return named[0]
    if len(notebooks) == 1:
        return notebooks[0]
    if not notebooks:
        found = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
        listing = ", ".join(found[:10]) if found else "nothing"
        raise SubmissionError(f"no notebook found in your submission (it holds: {listing}). "
                              f"Submit your {exercise}.ipynb file.")
    names = ", ".join(p.relative_to(folder).as_posix() for p in notebooks[:10])
    raise SubmissionError(f"your submission holds several notebooks ({names}) and none is named "
                          f"{exercise}.ipynb: submit only {exercise}.ipynb.")


def run_autograder(root: str | Path | None = None, config: dict[str, Any] | None = None) -> dict[str, Any]:
    """Grade ``<root>/submission`` as ``<root>/source/autograder.json`` says; write and return
    ``<root>/results/results.json``. Never raises: every failure becomes a score of 0 with a message."""
    root = Path(root or os.environ.get(ROOT_ENV) or DEFAULT_ROOT)
    source = root / "source"
    tests_file: Path | None = None
    start = time.monotonic()
    try:
        config = config if config is not None else json.loads((source / CONFIG).read_text(encoding="utf-8"))
        exercise = str(config["exercise"])
        tests_file = source / str(config["tests"])
        notebook = find_submitted_notebook(root / "submission", exercise)
        report = grade_notebook(notebook, tests_file, timeout=float(config.get("timeout", DEFAULT_TIMEOUT)),
                                memory_mb=config.get("memory_mb", DEFAULT_MEMORY_MB))
        results = results_from_report(report)
    except SubmissionError as exc:
        results = failure_results(str(exc), tests_file)
    except GradingError as exc:
        results = failure_results(f"Your submission could not be graded: {exc}", tests_file)
    except Exception:  # noqa: BLE001 — the grader's own fault: still a results.json, and the details
        detail = traceback.format_exc(limit=5)
        results = failure_results("The autograder itself failed; please tell your instructor.\n" + detail,
                                  tests_file)
    results["execution_time"] = round(time.monotonic() - start, 3)
    write_results(root / "results", results)
    return results


# --- building the zip ---------------------------------------------------------------------------------------

SETUP_SH = """\
#!/usr/bin/env bash
# Gradescope runs this once, as root, while it builds the autograder image.
# It installs nnlearn from the wheel in dist/ (or from nnlearn-src/); the dependencies (NumPy, Numba, ...)
# come from PyPI, or, offline, from a wheelhouse/ folder you add to the zip (pip download -d wheelhouse ...).
set -euo pipefail
SOURCE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PYTHON="${NNLEARN_PYTHON:-python3}"
export PIP_BREAK_SYSTEM_PACKAGES=1 PIP_DISABLE_PIP_VERSION_CHECK=1
if ! "$PYTHON" -m pip --version >/dev/null 2>&1; then
    apt-get update && apt-get install -y python3-pip
fi
PIP_ARGS=()
if [ -d "$SOURCE/wheelhouse" ]; then
    PIP_ARGS=(--no-index --find-links "$SOURCE/wheelhouse")
fi
WHEEL="$(ls "$SOURCE"/dist/nnlearn-*.whl 2>/dev/null | head -n 1 || true)"
if [ -n "$WHEEL" ]; then
    "$PYTHON" -m pip install ${PIP_ARGS[@]+"${PIP_ARGS[@]}"} "$WHEEL"
else
    "$PYTHON" -m pip install ${PIP_ARGS[@]+"${PIP_ARGS[@]}"} "$SOURCE/nnlearn-src"
fi
"$PYTHON" -c "import nnlearn.grading; print('nnlearn', __import__('nnlearn').__version__, 'installed')"
"""

RUN_AUTOGRADER = """\
#!/usr/bin/env bash
# Gradescope runs this for every submission. It grades /autograder/submission/<exercise>.ipynb and writes
# /autograder/results/results.json — always: if even Python fails to start, the fallback below writes one.
# NNLEARN_AUTOGRADER_ROOT moves the /autograder root (to try the autograder locally on a fake tree).
ROOT="${NNLEARN_AUTOGRADER_ROOT:-/autograder}"
PYTHON="${NNLEARN_PYTHON:-python3}"
rm -f "$ROOT/results/results.json"
"$PYTHON" "$ROOT/source/nnlearn_autograder.py" --root "$ROOT"
status=$?
if [ ! -s "$ROOT/results/results.json" ]; then
    mkdir -p "$ROOT/results"
    printf '{"score": 0, "output": "The autograder could not start (exit status %s); please tell your instructor.", "tests": []}\\n' \\
        "$status" > "$ROOT/results/results.json"
fi
exit 0
"""

LAUNCHER = '''\
"""Start nnlearn's Gradescope autograder (standard library only, so that it can always report a failure)."""
import argparse
import json
import os
import sys
import traceback
from pathlib import Path


def fallback(root, message):
    results = root / "results"
    results.mkdir(parents=True, exist_ok=True)
    (results / "results.json").write_text(json.dumps({"score": 0, "output": message, "tests": []}, indent=2))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", default=os.environ.get("NNLEARN_AUTOGRADER_ROOT", "/autograder"))
    root = Path(parser.parse_args().root)
    try:
        try:
            from nnlearn.grading.gradescope import run_autograder
        except ImportError:  # setup.sh did not install nnlearn: use the copy in this zip
            sys.path.insert(0, str(root / "source" / "nnlearn-src"))
            from nnlearn.grading.gradescope import run_autograder
        results = run_autograder(root)
        print(results.get("output", ""))
    except BaseException:
        fallback(root, "The autograder could not run; please tell your instructor.\\n" + traceback.format_exc())


if __name__ == "__main__":
    main()
'''


def _course_root(root: str | Path | None) -> Path:
    from .paths import SOLUTIONS, find_course_root

    found = Path(root) if root is not None else find_course_root(Path.cwd())
    if found is None or not (found / SOLUTIONS).is_dir():
        raise BundleError(f"no {SOLUTIONS}/ directory found at or above {root or Path.cwd()}; "
                          "run from the course root or pass --root")
    return found


def _package_files() -> list[tuple[Path, str]]:
    """This nnlearn's source files as (path on disk, path in nnlearn-src/): the package's .py files and the
    project files pip needs to install it."""
    package = Path(__file__).resolve().parents[1]
    files = [(p, f"nnlearn/{p.relative_to(package).as_posix()}") for p in sorted(package.rglob("*.py"))
             if "__pycache__" not in p.parts]
    project = package.parent
    for name in ("pyproject.toml", "README.md"):
        if (project / name).is_file():
            files.append((project / name, name))
    if not any(arc == "pyproject.toml" for _, arc in files):
        raise BundleError(f"cannot bundle nnlearn: no pyproject.toml beside the package in {project} "
                          "(bundle from a source checkout of the course)")
    return files


def build_wheel(dest: Path) -> Path:
    """Build this nnlearn's wheel into ``dest`` with pip, offline (no build isolation, no index)."""
    with tempfile.TemporaryDirectory(prefix="nnlearn-wheel-") as tmp:
        src = Path(tmp) / "src"
        for path, arc in _package_files():
            (src / arc).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, src / arc)
        done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                               "--no-index", "--quiet", str(src), "-w", str(dest)],
                              capture_output=True, text=True, timeout=300)
        wheels = sorted(dest.glob("nnlearn-*.whl"))
        if done.returncode != 0 or not wheels:
            raise BundleError(f"building the nnlearn wheel failed:\n{done.stderr.strip()[-2000:]}")
        return wheels[0]


def _add(zf: zipfile.ZipFile, arcname: str, data: bytes, executable: bool = False) -> None:
    info = zipfile.ZipInfo(arcname, ZIP_DATE)
    info.external_attr = ((0o755 if executable else 0o644) | stat.S_IFREG) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    zf.writestr(info, data)


def build_bundle(exercise: str, out: str | Path | None = None, *, tests: str | Path | None = None,
                 root: str | Path | None = None, wheel: bool = True, timeout: float = DEFAULT_TIMEOUT,
                 memory_mb: int | None = DEFAULT_MEMORY_MB) -> Path:
    """Write the Gradescope autograder zip for ``exercise`` (e.g. ``"02_perceptrons"``); return its path.

    ``tests`` defaults to ``solutions/tests/<exercise>.py`` in the course ``root``; pass a private test file
    to grade with hidden tests. ``wheel=False`` ships only the source (setup.sh then installs from it).
    """
    if not isinstance(exercise, str) or not exercise:
        raise BundleError(f"exercise must be a notebook name such as '02_perceptrons', got {exercise!r}")
    name = exercise.removesuffix(".ipynb")
    if not _EXERCISE.match(name):
        raise BundleError(f"exercise must be a notebook name such as '02_perceptrons', got {exercise!r}")
    exercise = name
    if tests is None:
        from .paths import SOLUTIONS, TESTS

        tests = _course_root(root) / SOLUTIONS / TESTS / f"{exercise}.py"
    tests = Path(tests)
    try:
        load_test_file(tests)
    except TestFileError as exc:
        raise BundleError(f"exercise {exercise!r}: {exc}") from None
    out = Path(out) if out is not None else Path(f"{exercise}-autograder.zip")
    config = {"exercise": exercise, "tests": f"tests/{exercise}.py", "timeout": timeout, "memory_mb": memory_mb}

    with tempfile.TemporaryDirectory(prefix="nnlearn-bundle-") as tmp:
        wheel_path = build_wheel(Path(tmp)) if wheel else None
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_name(f".{out.name}.tmp")
        with zipfile.ZipFile(partial, "w") as zf:
            _add(zf, "setup.sh", SETUP_SH.encode(), executable=True)
            _add(zf, "run_autograder", RUN_AUTOGRADER.encode(), executable=True)
            _add(zf, "nnlearn_autograder.py", LAUNCHER.encode())
            _add(zf, CONFIG, (json.dumps(config, indent=2) + "\n").encode())
            _add(zf, config["tests"], tests.read_bytes())
            if wheel_path is not None:
                _add(zf, f"dist/{wheel_path.name}", wheel_path.read_bytes())
            for path, arc in _package_files():
                _add(zf, f"nnlearn-src/{arc}", path.read_bytes())
        os.replace(partial, out)
    return out


def main(argv: list[str] | None = None) -> int:
    """``python -m nnlearn.grading.gradescope [--root DIR]``: run the autograder (what run_autograder does)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m nnlearn.grading.gradescope")
    parser.add_argument("--root", default=None, help=f"the autograder root (default ${ROOT_ENV} or /autograder)")
    results = run_autograder(parser.parse_args(argv).root)
    print(results.get("output", ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
