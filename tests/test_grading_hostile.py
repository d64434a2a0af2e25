"""Hostile and broken submissions (issue 6, point 3): each ends with the right score, a clear status and
message, within its time limit — and grading goes on.

Every case grades a small exercise with two answers, ``add`` (3 points over two tests) and ``double``
(1 point), in a real child process with short limits. A hostile answer must lose exactly its own points.
"""
from __future__ import annotations

import json
import os
import textwrap
import time
from pathlib import Path

import pytest

from nnlearn.grading import grade_notebook, GradingError
from nnlearn.grading.notebook import read_notebook

REPO = Path(__file__).resolve().parents[1]
TIMEOUT = 4.0      # seconds per grading run: the cases that loop forever are killed at this limit
MEMORY_MB = 1024   # small, so that allocating "far more than allowed" is quick to refuse
SLACK = 6.0        # what a run may take beyond its limit (start-up, Numba import, cleanup) on a busy machine

TESTS = '''
import numpy as np
from nnlearn.grading import points

# SECRET-HIDDEN-TEST-MARKER: a student who can read this file would see this line.

@points(2)
def test_add_arrays(nb):
    got = nb.add(np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    np.testing.assert_allclose(got, [4.0, 6.0], err_msg="add on arrays")


@points(1)
def test_add_close(nb):
    assert np.allclose(nb.add(np.array([0.5]), np.array([0.25])), [0.75]), "add(0.5, 0.25)"


@points(1)
def test_double(nb):
    got = nb.double(3)
    assert isinstance(got, int), f"double(3) should be an int, got {type(got).__name__}"
    assert got == 6, f"double(3) should be 6, got {got}"
'''

GOOD_ADD = "def add(a, b):\n    return a + b\n"
GOOD_DOUBLE = "import numpy as np\n\ndef double(x):\n    return 2 * x\n"
ADD_TESTS = {"test_add_arrays": 2, "test_add_close": 1}


def notebook(path: Path, sources: list[str]) -> Path:
    cells = [{"cell_type": "code", "execution_count": None, "id": f"c{i}", "metadata": {}, "outputs": [],
              "source": textwrap.dedent(src)} for i, src in enumerate(sources)]
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    return path


def grade(tmp_path: Path, sources: list[str] | None = None, *, file: Path | None = None,
          timeout: float = TIMEOUT, memory_mb: int = MEMORY_MB) -> tuple[dict, float]:
    """Grade a notebook of ``sources`` (or ``file``) with TESTS; return the report as JSON data and the time."""
    tests = tmp_path / "hostile_tests.py"
    tests.write_text(TESTS)
    path = file if file is not None else notebook(tmp_path / "hostile.ipynb", sources or [])
    start = time.monotonic()
    report = grade_notebook(path, tests, timeout=timeout, memory_mb=memory_mb, strict=False)
    elapsed = time.monotonic() - start
    assert elapsed < timeout + SLACK, f"grading took {elapsed:.1f} s, limit {timeout} s"
    data = json.loads(report.to_json())  # what an instructor gets: plain JSON
    return data, elapsed


def statuses(report: dict) -> dict[str, str]:
    return {t["name"]: t["status"] for t in report["tests"]}


def messages(report: dict) -> dict[str, str]:
    return {t["name"]: t["message"] for t in report["tests"]}


def only_add_lost(report: dict, status: str) -> None:
    """The hostile ``add`` loses its 3 points with ``status``; the honest ``double`` keeps its point."""
    got = statuses(report)
    assert {name: got[name] for name in ADD_TESTS} == {name: status for name in ADD_TESTS}, report["tests"]
    assert got["test_double"] == "passed", messages(report)["test_double"]
    assert (report["score"], report["max_score"]) == (1, 4)


def alive_with(marker: str) -> list[str]:
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if marker.encode() in (proc / "cmdline").read_bytes():
                found.append(proc.name)
        except OSError:
            pass
    return found


def test_an_honest_notebook_scores_full_marks(tmp_path):
    report, _ = grade(tmp_path, [GOOD_ADD, GOOD_DOUBLE])
    assert set(statuses(report).values()) == {"passed"}
    assert report["score"] == report["max_score"] == 4


# --- exits ---------------------------------------------------------------------------------------------

def test_sys_exit_and_os_exit_in_top_level_cells_never_run(tmp_path):
    report, _ = grade(tmp_path, ["import sys\nsys.exit(0)\n", GOOD_ADD, "import os\nos._exit(0)\n",
                                 GOOD_DOUBLE, "raise SystemExit(1)\n"])
    assert report["score"] == 4 and set(statuses(report).values()) == {"passed"}


def test_sys_exit_in_an_answer_is_an_error_of_that_answer(tmp_path):
    report, _ = grade(tmp_path, ["import sys\ndef add(a, b):\n    sys.exit(0)\n", GOOD_DOUBLE])
    only_add_lost(report, "error")
    assert messages(report)["test_add_arrays"].startswith("SystemExit: 0 (cell 1, line 3")


def test_os_exit_in_an_answer_crashes_every_test_still_to_run(tmp_path):
    report, _ = grade(tmp_path, [GOOD_DOUBLE, "import os\ndef add(a, b):\n    os._exit(0)\n"])
    assert set(statuses(report).values()) == {"crashed"} and report["score"] == 0
    assert messages(report)["test_add_arrays"].startswith(
        "no result: the grading process ended (exit code 0) before this test finished")


# --- loops, memory, processes --------------------------------------------------------------------------

def test_an_endless_python_loop_in_an_answer_times_out(tmp_path):
    report, elapsed = grade(tmp_path, ["def add(a, b):\n    while True:\n        pass\n", GOOD_DOUBLE])
    assert set(statuses(report).values()) == {"timeout"} and report["score"] == 0
    assert messages(report)["test_add_arrays"] == f"did not finish within the time limit of {TIMEOUT:g} s"
    assert elapsed >= TIMEOUT


def test_an_endless_numba_loop_that_ignores_signals_is_killed(tmp_path):
    pytest.importorskip("numba")
    report, _ = grade(tmp_path, [GOOD_DOUBLE, """
        from numba import njit

        @njit
        def spin(n):
            i = 0
            while True:   # compiled: no Python bytecode runs, SIGINT is never looked at
                i += n
            return i

        def add(a, b):
            spin(1)
            return a + b
    """])
    assert statuses(report)["test_add_arrays"] == "timeout", messages(report)
    assert report["score"] == 0


def test_allocating_far_more_memory_than_allowed_is_a_memory_status(tmp_path):
    report, _ = grade(tmp_path, ["import numpy as np\ndef add(a, b):\n    big = np.ones(10 ** 11)\n"
                                 "    return a + b\n", GOOD_DOUBLE])
    only_add_lost(report, "memory")
    assert messages(report)["test_add_arrays"].startswith("out of memory: ")


def test_a_fork_bomb_is_stopped_by_the_process_limit_and_killed(tmp_path):
    # Bounded even if no limit were in force: at most 200 sleeping shells, all ended with the child.
    marker = f"nnlearn-forkbomb-{os.getpid()}-{time.monotonic_ns()}"
    report, _ = grade(tmp_path, [GOOD_DOUBLE, f"""
        import os

        def add(a, b):
            made = 0
            try:
                while made < 200:
                    if os.fork() == 0:
                        os.execv("/bin/sh", ["/bin/sh", "-c", "sleep 60; :", {marker!r}])
                    made += 1
            except OSError as exc:
                raise RuntimeError(f"fork refused after {{made}} processes: {{exc}}")
            return a + b
    """])
    if not report["isolation"].get("process_limit_in_force"):
        pytest.skip("RLIMIT_NPROC could not be put in force here")
    only_add_lost(report, "error")
    assert "fork refused after" in messages(report)["test_add_arrays"]
    for _ in range(40):
        if not alive_with(marker):
            break
        time.sleep(0.05)
    assert not alive_with(marker), "processes of the fork bomb survived grading"


def test_a_background_process_does_not_outlive_grading(tmp_path):
    marker = f"nnlearn-orphan-{os.getpid()}-{time.monotonic_ns()}"
    report, _ = grade(tmp_path, [GOOD_DOUBLE, f"""
        import os, subprocess, sys

        def add(a, b):
            # a new session escapes a process-group kill; a double fork escapes a parent that waits
            subprocess.Popen(["/bin/sh", "-c", "sleep 60; :", {marker!r}], start_new_session=True)
            if os.fork() == 0:
                os.setsid()
                if os.fork() == 0:
                    os.execv("/bin/sh", ["/bin/sh", "-c", "sleep 60; :", {marker!r}])
                os._exit(0)
            return a + b
    """])
    assert report["score"] == 4, report["tests"]
    for _ in range(40):
        if not alive_with(marker):
            return
        time.sleep(0.05)
    if not (report["isolation"].get("pid_namespace") or report["isolation"].get("own_user")):
        pytest.skip("neither a PID namespace nor a private user id was available to end escaped processes")
    raise AssertionError(f"background processes survived grading: {alive_with(marker)}")


# --- tampering with what the tests use -----------------------------------------------------------------

@pytest.mark.parametrize("patch", [
    "np.allclose = lambda *a, **k: True",
    "np.testing.assert_allclose = lambda *a, **k: None",
    "import numpy.testing._private.utils as u; u.assert_array_compare = lambda *a, **k: None",
    "import builtins; builtins.isinstance = lambda *a: True; builtins.AssertionError = KeyError",
    "import sys, types; fake = types.ModuleType('numpy'); fake.allclose = lambda *a, **k: True; "
    "sys.modules['numpy'] = fake",
], ids=["np.allclose", "np.testing", "numpy internals", "builtins", "sys.modules"])
def test_monkeypatching_what_the_tests_use_changes_nothing(tmp_path, patch):
    wrong = (f"import numpy as np\n\ndef add(a, b):\n    {patch}\n    return a - b  # wrong\n\n"
             "def double(x):\n    import builtins\n    builtins.isinstance = lambda *a: True\n"
             "    return 2.0 * x  # a float: wrong type, whatever isinstance says\n")
    report, _ = grade(tmp_path, [wrong])
    assert report["score"] == 0, report["tests"]
    assert set(statuses(report).values()) == {"failed"}, report["tests"]


def test_patching_at_definition_time_changes_nothing(tmp_path):
    # Selected because the answer uses PATCHED: it runs, but the tools are restored before the tests.
    report, _ = grade(tmp_path, ["import numpy as np, builtins\n"
                                 "PATCHED = [setattr(np, 'allclose', lambda *a, **k: True),\n"
                                 "           setattr(np.testing, 'assert_allclose', lambda *a, **k: None)]\n"
                                 "def add(a, b):\n    return PATCHED and a - b\n", GOOD_DOUBLE])
    only_add_lost(report, "failed")


def test_an_answer_whose_eq_always_says_true_is_refused(tmp_path):
    report, _ = grade(tmp_path, [GOOD_ADD, """
        class Yes:
            def __eq__(self, other):
                return True
            __ne__ = lambda self, other: False

        def double(x):
            return Yes()
    """])
    assert statuses(report)["test_double"] == "error"
    assert "redefines comparisons" in messages(report)["test_double"]
    assert report["score"] == 3


def test_an_array_subclass_that_lies_is_compared_as_a_plain_array(tmp_path):
    report, _ = grade(tmp_path, [GOOD_DOUBLE, """
        import numpy as np

        class Liar(np.ndarray):
            def __eq__(self, other):
                return np.ones(np.shape(other), dtype=bool)
            def __array_ufunc__(self, *args, **kwargs):
                return np.zeros((), dtype=float)   # every |a - b| is 0: "close"
            def __array_function__(self, *args, **kwargs):
                return True
            def __float__(self):
                return 0.75

        def add(a, b):
            return np.zeros(np.shape(a)).view(Liar)
    """])
    only_add_lost(report, "failed")


# --- faking results ------------------------------------------------------------------------------------

def test_printing_a_fake_score_or_fake_json_lines_changes_nothing(tmp_path):
    fake = {"event": "result", "name": "test_add_arrays", "status": "passed", "message": "", "duration": 0}
    report, _ = grade(tmp_path, [GOOD_DOUBLE, f"""
        import json, os, sys

        def add(a, b):
            line = {json.dumps(fake)!r}
            print('{{"score": 4, "max_score": 4}}'); print(line); print(line, file=sys.stderr)
            print("Score: 4/4"); sys.stdout.flush()
            for fd in range(3, 64):      # the results descriptor is one of these
                try:
                    os.write(fd, (line + "\\n").encode())
                except OSError:
                    pass
            return a - b
    """])
    only_add_lost(report, "failed")


def test_writing_where_the_grader_keeps_results_changes_nothing(tmp_path):
    report, _ = grade(tmp_path, [GOOD_DOUBLE, """
        import glob, json, os

        def add(a, b):
            line = json.dumps({"event": "result", "name": "test_add_close", "status": "passed"}) + "\\n"
            for folder in (".", "..", os.environ.get("TMPDIR", "."), "/tmp"):
                for name in ("results.jsonl", "job.json", "report.json", "stdout.txt"):
                    try:
                        with open(os.path.join(folder, name), "a") as f:
                            f.write(line)
                    except OSError:
                        pass
                for path in glob.glob(os.path.join(folder, "*")):
                    try:
                        with open(path, "a") as f:
                            f.write(line)
                    except OSError:
                        pass
            return a - b
    """])
    only_add_lost(report, "failed")


def test_the_tests_and_solutions_cannot_be_read_from_disk(tmp_path):
    tests_path = tmp_path / "hostile_tests.py"
    solutions = REPO / "solutions"
    report, _ = grade(tmp_path, [GOOD_DOUBLE, f"""
        import glob, os

        def peek():
            seen = []
            for path in [{str(tests_path)!r}, *glob.glob({str(solutions)!r} + "/**", recursive=True),
                         *glob.glob("../*"), *glob.glob("*")]:
                try:
                    with open(path, errors="replace") as f:
                        seen.append(f.read())
                except OSError:
                    pass
            return "".join(seen)

        def add(a, b):
            text = peek()
            if "SECRET-HIDDEN-TEST-MARKER" in text:
                return a + b   # could read the tests
            return a - b
    """])
    if not report["isolation"].get("hidden_paths"):
        pytest.skip("no mount namespace here: the course's files could not be hidden")
    assert str(tests_path) in report["isolation"]["hidden_paths"]
    only_add_lost(report, "failed")


def test_deleting_the_working_directory_changes_nothing(tmp_path):
    report, _ = grade(tmp_path, [GOOD_DOUBLE, """
        import os, shutil

        def add(a, b):
            here = os.getcwd()
            shutil.rmtree(here, ignore_errors=True)
            for path in os.listdir(".."):
                shutil.rmtree(os.path.join("..", path), ignore_errors=True)
                try:
                    os.remove(os.path.join("..", path))
                except OSError:
                    pass
            return a + b
    """])
    assert report["score"] == 4 and set(statuses(report).values()) == {"passed"}, report["tests"]


def test_a_huge_output_is_cut_and_grading_goes_on(tmp_path):
    report, _ = grade(tmp_path, [GOOD_DOUBLE, """
        import sys

        def add(a, b):
            chunk = "x" * (1 << 20)
            for _ in range(200):          # 200 MiB, more than the grader lets the child write
                sys.stdout.write(chunk)
            return a + b
    """])
    only_add_lost(report, "error")
    assert "File too large" in messages(report)["test_add_arrays"], messages(report)
    assert len(json.dumps(report)) < 100_000


def test_huge_outputs_stored_in_the_notebook_are_ignored(tmp_path):
    path = notebook(tmp_path / "big.ipynb", [GOOD_ADD, GOOD_DOUBLE])
    nb = json.loads(path.read_text())
    nb["cells"][0]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "y" * (20 << 20)}]
    nb["cells"][0]["metadata"] = {"tags": ["whatever"], "deletable": False, "nbgrader": {"points": 999}}
    path.write_text(json.dumps(nb))
    report, _ = grade(tmp_path, file=path)
    assert report["score"] == 4


# --- cells deleted, reordered, duplicated --------------------------------------------------------------

def test_reordered_and_duplicated_cells_grade_by_the_last_definition(tmp_path):
    report, _ = grade(tmp_path, [
        "def add(a, b):\n    return a - b  # a first, wrong try\n",
        "print(add(1, 2))\n",
        "def double(x):\n    return 2 * x\n",
        GOOD_ADD,                      # the final answer: the last definition wins
        "import numpy as np\n",        # imports after the definitions: still found
        GOOD_ADD,                      # duplicated
    ])
    assert report["score"] == 4, report["tests"]


def test_deleting_an_answers_cell_loses_only_that_answer(tmp_path):
    report, _ = grade(tmp_path, [GOOD_DOUBLE])
    only_add_lost(report, "error")
    assert "does not define 'add'" in messages(report)["test_add_arrays"]
    assert any("does not define: add" in note for note in report["notes"])


# --- not a notebook, or not this exercise's --------------------------------------------------------------

@pytest.mark.parametrize("content, reason", [("{not json", "invalid JSON"), ("", "invalid JSON"),
                                             ('{"cells": []}', '"nbformat": 4')])
def test_an_unreadable_notebook_gets_the_unreadable_status(tmp_path, content, reason):
    path = tmp_path / "broken.ipynb"
    path.write_text(content)
    report, elapsed = grade(tmp_path, file=path)
    assert report["readable"] is False and report["score"] == 0
    assert set(statuses(report).values()) == {"unreadable"}
    assert reason in messages(report)["test_add_arrays"]
    assert elapsed < 1.0  # nothing is run for it
    with pytest.raises(GradingError, match=reason.replace('"', '.')):  # the strict default still raises
        grade_notebook(path, tmp_path / "hostile_tests.py")


def test_an_empty_notebook_scores_zero_with_clear_messages(tmp_path):
    report, _ = grade(tmp_path, [])
    assert report["score"] == 0 and set(statuses(report).values()) == {"error"}
    assert "does not define 'add'" in messages(report)["test_add_arrays"]
    assert any("another exercise" in note for note in report["notes"])


def test_a_notebook_for_another_exercise_scores_zero(tmp_path):
    report, _ = grade(tmp_path, file=REPO / "solutions" / "03_activation_functions.ipynb")
    assert report["score"] == 0 and set(statuses(report).values()) == {"error"}
    assert any("another exercise" in note for note in report["notes"])


def test_a_batch_goes_on_after_every_kind_of_bad_notebook(tmp_path):
    bad = [["import os\ndef add(a, b):\n    os._exit(3)\n"], ["def add(a, b):\n    while True: pass\n"],
           ["def add(a, b):\n    return bytearray(1 << 40)\n"]]
    scores = []
    for i, sources in enumerate([*bad, [GOOD_ADD, GOOD_DOUBLE]]):
        folder = tmp_path / str(i)
        folder.mkdir()
        report, _ = grade(folder, sources, timeout=2.0)
        scores.append(report["score"])
    assert scores == [0, 0, 0, 4]


def test_the_real_course_notebook_grades_the_same_after_its_cells_are_shuffled(tmp_path):
    nb = read_notebook(REPO / "solutions" / "02_perceptrons.ipynb")
    nb["cells"] = nb["cells"][::-1] + nb["cells"][:3]
    for cell in nb["cells"]:
        cell["metadata"] = {"tags": ["solution"], "editable": False}
        if cell["cell_type"] == "code":
            cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "Score: 16/16"}]
    path = tmp_path / "02_perceptrons.ipynb"
    path.write_text(json.dumps(nb))
    report = grade_notebook(path, REPO / "solutions" / "tests" / "02_perceptrons.py", timeout=20)
    assert report.score == report.max_score > 0, report.format_text()
