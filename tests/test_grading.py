"""The grader: `nnlearn grade` scores solutions full, exercises zero, and survives hostile notebooks.

Every grading run here spawns a real child process, so the limits are short (a few seconds).
"""
from __future__ import annotations

import json
import tempfile
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from nnlearn.cli import main
from nnlearn.grading import TestFileError, run_check
from nnlearn.grading.builder import write_exercises
from nnlearn.grading.selfcheck import check, locate_tests
from nnlearn.grading.notebook import cell_source, gradable_cells, read_notebook
from nnlearn.grading.runner import build_job
from nnlearn.grading.testfile import load_test_file

REPO = Path(__file__).resolve().parents[1]
SOLUTION_NOTEBOOKS = sorted((REPO / "solutions").glob("*.ipynb"))
PERCEPTRONS = REPO / "solutions" / "02_perceptrons.ipynb"
PERCEPTRON_TESTS = REPO / "solutions" / "tests" / "02_perceptrons.py"
TIMEOUT = "20"  # generous for a notebook that takes about a second; the timeout tests use 2 s


def grade(capsys, notebook: Path, *args: str) -> tuple[int, dict | None, str, str]:
    """Run `nnlearn grade` in-process (the parent never runs student code); return rc, JSON, out, err."""
    # The report goes to a temporary folder, never beside the notebook: that may be the course's own solutions.
    with tempfile.TemporaryDirectory() as folder:
        report_path = Path(folder) / "report.json"
        rc = main(["grade", str(notebook), "--json", str(report_path), *args])
        captured = capsys.readouterr()
        report = json.loads(report_path.read_text()) if report_path.exists() else None
    return rc, report, captured.out, captured.err


def write_notebook(path: Path, sources: list[str]) -> Path:
    cells = [{"cell_type": "code", "execution_count": None, "id": f"c{i}", "metadata": {}, "outputs": [],
              "source": textwrap.dedent(src)} for i, src in enumerate(sources)]
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    return path


def write_tests(path: Path, source: str) -> Path:
    path.write_text(textwrap.dedent(source))
    return path


def perceptrons_with(tmp_path: Path, edit) -> Path:
    """A copy of the perceptron solution notebook with `edit(cells)` applied to its list of cells."""
    nb = read_notebook(PERCEPTRONS)
    edit(nb["cells"])
    path = tmp_path / "02_perceptrons.ipynb"
    path.write_text(json.dumps(nb))
    return path


def code(source: str) -> dict:
    return {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": source}


def statuses(report: dict) -> dict[str, str]:
    return {t["name"]: t["status"] for t in report["tests"]}


# --- both ways: full marks and zero ------------------------------------------------------------------------

@pytest.mark.parametrize("notebook", SOLUTION_NOTEBOOKS, ids=lambda p: p.name)
def test_every_solution_scores_full_marks(notebook, capsys):
    rc, report, out, _ = grade(capsys, notebook, "--timeout", "60")
    assert rc == 0
    failing = {t["name"]: t["message"] for t in report["tests"] if t["status"] != "passed"}
    assert not failing, f"{notebook.name}: {failing}"
    assert report["score"] == report["max_score"] > 0
    assert f"Score: {report['score']:g}/{report['max_score']:g}" in out


def test_every_fresh_exercise_scores_zero(tmp_path, capsys):
    root = tmp_path / "course"
    shutil.copytree(REPO / "solutions", root / "solutions")
    write_exercises(root)
    exercises = sorted((root / "exercises").glob("*.ipynb"))
    assert len(exercises) == len(SOLUTION_NOTEBOOKS)
    for notebook in exercises:  # tests found in exercises/tests/, next to the notebook
        rc, report, _, _ = grade(capsys, notebook, "--timeout", "60")
        assert rc == 0
        assert report["score"] == 0 and report["max_score"] > 0, notebook.name
        assert report["tests_file"] == str(root / "exercises" / "tests" / f"{notebook.stem}.py")
        assert set(statuses(report).values()) <= {"failed", "error"}


def test_the_console_script_grades_and_writes_the_json_report(tmp_path):
    script = shutil.which("nnlearn", path=str(Path(sys.executable).parent))
    command = [script] if script else [sys.executable, "-m", "nnlearn.cli"]
    report_path = tmp_path / "report.json"
    done = subprocess.run([*command, "grade", str(PERCEPTRONS), "--json", str(report_path),
                           "--timeout", TIMEOUT], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    report = json.loads(report_path.read_text())
    assert {"score", "max_score", "tests"} <= report.keys()
    for test in report["tests"]:
        assert {"name", "score", "max_score", "status", "message"} <= test.keys()
        assert test["status"] == "passed" and test["score"] == test["max_score"] > 0
    assert report["max_score"] == load_test_file(PERCEPTRON_TESTS).max_score
    assert "PASSED" in done.stdout and "Score:" in done.stdout


@pytest.mark.parametrize("function, group", [("train_perceptron", "test_train_"),
                                             ("xor_network", "test_xor_")])
def test_one_wrong_answer_loses_exactly_its_tests(function, group, tmp_path, capsys):
    def break_answer(cells):
        for cell in cells:
            source = cell_source(cell)
            if f"def {function}(" in source:
                cell["source"] = re.sub(r"(### BEGIN SOLUTION\n).*?(\n\s*### END SOLUTION)",
                                        r"\1    return None\2", source, flags=re.S)
                return
        raise AssertionError(f"no cell defines {function}")

    rc, report, _, _ = grade(capsys, perceptrons_with(tmp_path, break_answer),
                             "--tests", str(PERCEPTRON_TESTS), "--timeout", TIMEOUT)
    assert rc == 0
    spec = load_test_file(PERCEPTRON_TESTS)
    lost = sum(t.points for t in spec.tests if t.name.startswith(group))
    assert lost > 0
    assert report["score"] == spec.max_score - lost
    for name, status in statuses(report).items():
        assert (status == "passed") != name.startswith(group), (name, status)


# --- hostile and broken notebooks ------------------------------------------------------------------------

def test_an_infinite_loop_in_a_top_level_cell_never_runs(tmp_path, capsys):
    # Deliberate change (issue 6): the grader runs only the statements that define the answers, so a loop in
    # an example cell costs nothing. A loop inside an answer times out (tests/test_grading_hostile.py).
    def add_loop(cells):
        cells.insert(2, code("while True:\n    pass\n"))

    start = time.monotonic()
    rc, report, out, _ = grade(capsys, perceptrons_with(tmp_path, add_loop), "--tests", str(PERCEPTRON_TESTS),
                               "--timeout", "5")
    assert time.monotonic() - start < 5 + 5
    assert rc == 0 and report["score"] == report["max_score"] > 0
    assert set(statuses(report).values()) == {"passed"}


def test_a_test_that_never_returns_times_out_and_earlier_results_count(tmp_path, capsys):
    notebook = write_notebook(tmp_path / "spin.ipynb", ["def good():\n    return 1\n",
                                                        "def spin():\n    while True:\n        pass\n"])
    tests = write_tests(tmp_path / "spin_tests.py", """
        from nnlearn.grading import points

        @points(1)
        def test_good(nb):
            assert nb.good() == 1

        @points(2)
        def test_spin(nb):
            nb.spin()

        @points(3)
        def test_after(nb):
            pass
    """)
    rc, report, _, _ = grade(capsys, notebook, "--tests", str(tests), "--timeout", "2")
    assert rc == 0
    assert statuses(report) == {"test_good": "passed", "test_spin": "timeout", "test_after": "timeout"}
    assert (report["score"], report["max_score"]) == (1, 6)
    assert "did not finish" in report["tests"][1]["message"]
    assert "not run" in report["tests"][2]["message"]


def test_statuses_and_messages_for_failures_errors_and_exits_inside_tests(tmp_path, capsys):
    notebook = write_notebook(tmp_path / "mixed.ipynb", [
        "import sys\n\ndef good():\n    return 1\n\ndef quits():\n    sys.exit(3)\n",
        "def raises():\n    raise ValueError('bad input')\n",
        "def too_big():\n    return bytearray(64 * 1024 ** 3)  # over the memory limit: a MemoryError\n",
    ])
    tests = write_tests(tmp_path / "mixed_tests.py", """
        def test_good(nb):
            assert nb.good() == 1

        def test_wrong(nb):
            assert nb.good() == 2

        def test_quits(nb):
            nb.quits()

        def test_raises(nb):
            nb.raises()

        def test_missing(nb):
            nb.never_defined()

        def test_too_big(nb):
            nb.too_big()

        def test_after_all_that(nb):
            assert nb.good() == 1, "the child survived the earlier tests"
    """)
    rc, report, _, _ = grade(capsys, notebook, "--tests", str(tests), "--timeout", TIMEOUT)
    assert rc == 0
    assert statuses(report) == {"test_good": "passed", "test_wrong": "failed", "test_quits": "error",
                                "test_raises": "error", "test_missing": "error", "test_too_big": "memory",
                                "test_after_all_that": "passed"}
    messages = {t["name"]: t["message"] for t in report["tests"]}
    assert messages["test_wrong"] == "assertion failed: assert nb.good() == 2"
    assert messages["test_quits"].startswith("SystemExit: 3")
    assert messages["test_raises"].startswith("ValueError: bad input (cell 2, line 2")
    assert "does not define 'never_defined'" in messages["test_missing"]
    assert report["score"] == 2  # tests without @points are worth 1
    assert messages["test_too_big"].startswith("out of memory: MemoryError")
    assert report["cell_errors"] == []


def test_sys_exit_in_a_cell_stops_the_answers_that_follow(tmp_path, capsys):
    # Deliberate change (issue 6): only definitions run, so the exit must sit where an answer needs it.
    def exit_first(cells):
        cells.insert(1, code("import sys\nEXIT = sys.exit(0)\n"))
        for cell in cells:
            if "def perceptron_predict(" in cell_source(cell):
                cell["source"] = cell_source(cell).replace("scores = X @ w + b", "scores = X @ w + b + 0 * EXIT")

    rc, report, out, _ = grade(capsys, perceptrons_with(tmp_path, exit_first),
                               "--tests", str(PERCEPTRON_TESTS), "--timeout", TIMEOUT)
    assert rc == 0 and report["score"] == 0
    assert set(statuses(report).values()) <= {"failed", "error"}
    assert report["cell_errors"][0]["cell"] == 2
    assert report["cell_errors"][0]["message"].startswith("SystemExit: 0 (cell 2, line 2: EXIT = sys.exit(0))")
    assert "the remaining cells were not run" in report["cell_errors"][1]["message"]
    assert "Score: 0/" in out


def test_os_exit_in_an_answer_leaves_no_result_and_every_test_crashes(tmp_path, capsys):
    # Deliberate change (issue 6): a test without a result is now "crashed" (still 0 points), not "failed".
    def hard_exit(cells):
        cells.insert(1, code("import os\nGONE = os._exit(0)\n"))
        for cell in cells:
            if "def perceptron_predict(" in cell_source(cell):
                cell["source"] = cell_source(cell).replace("scores = X @ w + b", "scores = X @ w + b + GONE")

    rc, report, _, _ = grade(capsys, perceptrons_with(tmp_path, hard_exit), "--tests", str(PERCEPTRON_TESTS),
                             "--timeout", TIMEOUT)
    assert rc == 0 and report["score"] == 0
    assert set(statuses(report).values()) == {"crashed"}
    assert all(t["message"].startswith("no result") for t in report["tests"])


def test_printing_or_appending_a_fake_score_changes_nothing(tmp_path, capsys):
    spec = load_test_file(PERCEPTRON_TESTS)
    fake_report = {"score": spec.max_score, "max_score": spec.max_score,
                   "tests": [{"name": t.name, "score": t.points, "max_score": t.points, "status": "passed",
                              "message": ""} for t in spec.tests]}
    fake_lines = "\n".join(json.dumps({"event": "result", "name": t.name, "status": "passed", "message": "",
                                       "duration": 0.0}) for t in spec.tests)

    def stub_and_boast(cells):
        for cell in cells:  # the fresh exercise: every answer a stub
            cell["source"] = re.sub(r"### BEGIN SOLUTION\n.*?### END SOLUTION", "raise NotImplementedError",
                                    cell_source(cell), flags=re.S)
        boast = f"import sys\nprint({json.dumps(fake_report)!r})\nprint({fake_lines!r})\n" \
                f"print({fake_lines!r}, file=sys.stderr)\n" \
                f"with open('../results.jsonl', 'a') as f:\n    f.write({fake_lines!r} + '\\n')\n"
        cells.insert(len(cells) - 1, code(boast))

    rc, report, out, _ = grade(capsys, perceptrons_with(tmp_path, stub_and_boast), "--tests",
                               str(PERCEPTRON_TESTS), "--timeout", TIMEOUT)
    assert rc == 0
    assert report["score"] == 0 and set(statuses(report).values()) == {"failed"}
    assert f"Score: 0/{spec.max_score:g}" in out


def test_background_processes_are_killed_with_the_child(tmp_path, capsys):
    # The grandchild carries a unique marker in its command line; after grading, no process may hold it.
    # (Its pid is useless here: in the child's own PID namespace it differs from the pid we see.)
    marker = f"nnlearn-bg-{os.getpid()}-{time.monotonic_ns()}"
    notebook = write_notebook(tmp_path / "bg.ipynb", [f"""
        import subprocess, sys
        def good():
            subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", {marker!r}])
            return 1
    """])
    tests = write_tests(tmp_path / "bg_tests.py", "def test_good(nb):\n    assert nb.good() == 1\n")
    rc, report, _, _ = grade(capsys, notebook, "--tests", str(tests), "--timeout", TIMEOUT)
    assert rc == 0 and report["score"] == 1
    if not Path("/proc").is_dir():
        pytest.skip("needs /proc to look for the grandchild")
    for _ in range(40):  # killed at once; give the reaper a moment
        alive = [p for p in Path("/proc").glob("[0-9]*") if _cmdline_has(p, marker)]
        if not alive:
            return
        time.sleep(0.05)
    raise AssertionError(f"the grandchild survived grading: {alive}")


def _cmdline_has(proc: Path, marker: str) -> bool:
    try:
        return marker.encode() in (proc / "cmdline").read_bytes()
    except OSError:
        return False


# --- the child never sees the points ---------------------------------------------------------------------

def test_the_child_never_receives_the_points(tmp_path, capsys):
    tests = write_tests(tmp_path / "spy_tests.py", """
        import json, os, sys
        from nnlearn.grading import points

        @points(7919)
        def test_spy(nb):
            secret, decorator = str(7000 + 919), "points" + "("  # spelled so this source holds neither
            frame = sys._getframe()  # the job arrives on stdin (never on disk): find it in the child's main()
            while frame is not None and "job" not in frame.f_locals:
                frame = frame.f_back
            job = json.dumps(frame.f_locals["job"])
            assert secret not in job, "the job holds the points"
            assert decorator not in json.loads(job)["tests_source"], "the test source holds @points"
            assert not hasattr(test_spy, "__nnlearn_points__"), "the test function carries its points"
            assert not any(secret in v for v in os.environ.values()), "the environment holds the points"
    """)
    notebook = write_notebook(tmp_path / "spy.ipynb", ["x = 1\n"])
    rc, report, _, _ = grade(capsys, notebook, "--tests", str(tests), "--timeout", TIMEOUT)
    assert rc == 0
    assert report["tests"][0]["status"] == "passed", report["tests"][0]["message"]
    assert report["score"] == 7919  # the points came from the parent's own reading of the file

    # The same, structurally, for the real course tests: the job holds names and points-free source only.
    spec = load_test_file(PERCEPTRON_TESTS)
    job = build_job([(1, "x = 1")], spec, tmp_path / "results.jsonl", timeout=10, memory_mb=512)
    assert job["tests"] == [t.name for t in spec.tests]
    assert "points(" not in job["tests_source"] and "points" not in json.dumps(
        {k: v for k, v in job.items() if k != "tests_source"})
    assert job["tests_source"].count("\n") == PERCEPTRON_TESTS.read_text().count("\n"), "line numbers kept"


# --- grading that cannot run: exit code 2 and a clear message --------------------------------------------

@pytest.mark.parametrize("content, message", [
    ("{not json", "is not a notebook: invalid JSON at line 1"),
    ('{"cells": []}', 'expected "nbformat": 4'),
    ("[1, 2]", "expected a JSON object at the top, got list"),
])
def test_a_file_that_is_not_a_notebook_is_a_clear_error(content, message, tmp_path, capsys):
    path = tmp_path / "02_perceptrons.ipynb"
    path.write_text(content)
    rc, report, _, err = grade(capsys, path, "--tests", str(PERCEPTRON_TESTS))
    assert rc == 2 and report is None
    assert message in err


def test_missing_notebook_or_tests_are_clear_errors(tmp_path, capsys):
    rc, _, _, err = grade(capsys, tmp_path / "nope.ipynb", "--tests", str(PERCEPTRON_TESTS))
    assert rc == 2 and "notebook not found" in err
    notebook = write_notebook(tmp_path / "99_unknown.ipynb", ["x = 1\n"])
    rc, _, _, err = grade(capsys, notebook)
    assert rc == 2 and "no test file for" in err and "tests/99_unknown.py" in err
    with pytest.raises(SystemExit):
        main(["grade", str(notebook), "--timeout", "-1"])
    assert "positive number of seconds" in capsys.readouterr().err


def test_test_files_are_read_without_running_them(tmp_path):
    good = write_tests(tmp_path / "good.py", """
        import this_module_does_not_exist  # never imported by the parent
        from nnlearn.grading import points

        @points(2.5)  # a comment after the decorator
        def test_a(nb):
            pass

        def helper():
            pass

        def test_b(nb):
            pass
    """)
    spec = load_test_file(good)
    assert [(t.name, t.points) for t in spec.tests] == [("test_a", 2.5), ("test_b", 1)]
    assert spec.max_score == 3.5
    assert "points(" not in spec.child_source
    assert spec.child_source.count("\n") == good.read_text().count("\n")

    for body, message in [("@points(x)\ndef test_a(nb): pass\n", "needs a literal number"),
                          ("@points(0)\ndef test_a(nb): pass\n", "needs a positive number"),
                          ("def helper(): pass\n", "defines no tests"),
                          ("def test_a(nb):\n  pass\ndef test_a(nb):\n  pass\n", "defined twice"),
                          ("def test_a(nb) pass\n", "syntax error at line 1")]:
        bad = write_tests(tmp_path / "bad.py", body)
        with pytest.raises(TestFileError, match=message):
            load_test_file(bad)


def test_the_grader_skips_the_check_cell_tagged_cells_and_shell_magics():
    nb = {"nbformat": 4, "cells": [
        code("!pip install something\n%matplotlib inline\n"),
        code("%%bash\necho hi\n"),
        code("import numpy as np\n%time x = 1\nif True:\n    !ls\n"),
        {**code("slow_demo()\n"), "metadata": {"tags": ["skip-grading"]}},
        {"cell_type": "markdown", "metadata": {}, "source": "check('x')"},
        code("from nnlearn.grading import check\n\ncheck('02_perceptrons')\n"),
        code("result = model.check(x)\nmy_check(1)\n"),
    ]}
    run, skipped = gradable_cells(nb)
    assert skipped == [1, 2, 4, 6]
    assert run == [(3, "import numpy as np\npass\nif True:\n    pass\n"),
                   (7, "result = model.check(x)\nmy_check(1)\n")]


# --- the in-notebook self-check --------------------------------------------------------------------------

def _namespace_of(notebook: Path) -> dict:
    """Run a notebook's gradable cells here, in the test process (our own notebooks only)."""
    namespace: dict = {"__name__": "__main__"}
    for _, source in gradable_cells(read_notebook(notebook))[0]:
        try:
            exec(compile(source, "<cell>", "exec"), namespace)
        except NotImplementedError:
            pass  # an exercise's "try it" cell
    return namespace


def test_self_check_reports_every_test_on_the_live_namespace(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    monkeypatch.chdir(tmp_path)  # an unrelated working directory: found through the course root
    assert locate_tests("02_perceptrons") == PERCEPTRON_TESTS

    solved = _namespace_of(PERCEPTRONS)
    report = run_check("02_perceptrons", solved)
    assert report.score == report.max_score == load_test_file(PERCEPTRON_TESTS).max_score
    capsys.readouterr()
    exec("from nnlearn.grading import check\ncheck('02_perceptrons')\n", solved)  # as in the last cell
    out = capsys.readouterr().out
    assert "Self-check of 02_perceptrons" in out
    assert f"Score: {report.max_score:g}/{report.max_score:g}" in out

    root = tmp_path / "course"
    shutil.copytree(REPO / "solutions", root / "solutions")
    write_exercises(root)
    monkeypatch.chdir(root / "exercises")  # Jupyter's working directory is the notebook's
    assert locate_tests("02_perceptrons") == root / "exercises" / "tests" / "02_perceptrons.py"
    fresh = _namespace_of(root / "exercises" / "02_perceptrons.ipynb")
    capsys.readouterr()
    report = run_check("02_perceptrons", fresh)
    assert report.score == 0 and {t.status for t in report.tests} == {"failed"}
    with pytest.raises(FileNotFoundError, match="no tests for '99_nothing'"):
        check("99_nothing", namespace={})


def test_the_check_cell_runs_in_a_real_kernel_from_another_directory(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    nb = nbformat.read(PERCEPTRONS, as_version=4)
    nbclient.NotebookClient(nb, timeout=60, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    output = "".join(o.get("text", "") for o in nb.cells[-1].outputs)
    total = load_test_file(PERCEPTRON_TESTS).max_score
    assert f"Score: {total:g}/{total:g}" in output, output
