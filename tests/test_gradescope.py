"""The Gradescope autograder zip: built offline, and its `run_autograder` run locally on a fake /autograder tree.

Gradescope unpacks the zip into /autograder/source, puts the student's files in /autograder/submission and
reads /autograder/results/results.json. Here the root is a temporary folder (NNLEARN_AUTOGRADER_ROOT) and
the Python is this one, which already has nnlearn's dependencies (what setup.sh installs on Gradescope).
"""
from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from nnlearn.cli import main
from nnlearn.grading.gradescope import BundleError, build_bundle, run_autograder
from nnlearn.grading.testfile import load_test_file

REPO = Path(__file__).resolve().parents[1]
SOLUTION = REPO / "solutions" / "02_perceptrons.ipynb"
EXERCISE = REPO / "exercises" / "02_perceptrons.ipynb"
TESTS = REPO / "solutions" / "tests" / "02_perceptrons.py"
MAX = load_test_file(TESTS).max_score


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    """The zip, built once with its wheel (pip, offline) by the console command."""
    out = tmp_path_factory.mktemp("bundle") / "autograder.zip"
    assert main(["gradescope-bundle", "02_perceptrons", "--out", str(out), "--root", str(REPO),
                 "--timeout", "20"]) == 0
    return out


def autograde(bundle: Path, tmp_path: Path, files: dict[str, bytes], python: str = sys.executable) -> dict:
    """Unpack ``bundle`` into a fake /autograder, submit ``files``, run ``run_autograder``, read results.json."""
    root = tmp_path / "autograder"
    source = root / "source"
    with zipfile.ZipFile(bundle) as zf:
        zf.extractall(source)
    (root / "submission").mkdir()
    for name, data in files.items():
        (root / "submission" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "submission" / name).write_bytes(data)
    env = {**os.environ, "NNLEARN_AUTOGRADER_ROOT": str(root), "NNLEARN_PYTHON": python}
    done = subprocess.run(["bash", str(source / "run_autograder")], env=env, capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    return json.loads((root / "results" / "results.json").read_text())


def test_the_zip_holds_the_scripts_the_tests_and_nnlearn(bundle):
    with zipfile.ZipFile(bundle) as zf:
        names = zf.namelist()
        modes = {info.filename: info.external_attr >> 16 for info in zf.infolist()}
        config = json.loads(zf.read("autograder.json"))
        assert zf.read("tests/02_perceptrons.py") == TESTS.read_bytes()
    assert {"setup.sh", "run_autograder", "nnlearn_autograder.py", "autograder.json",
            "tests/02_perceptrons.py", "nnlearn-src/pyproject.toml", "nnlearn-src/nnlearn/grading/grader.py"} \
        <= set(names)
    assert any(n.startswith("dist/nnlearn-") and n.endswith(".whl") for n in names)
    assert not any("__pycache__" in n for n in names)
    assert modes["setup.sh"] & stat.S_IXUSR and modes["run_autograder"] & stat.S_IXUSR
    assert config == {"exercise": "02_perceptrons", "tests": "tests/02_perceptrons.py", "timeout": 20.0,
                      "memory_mb": 4096}


def test_setup_and_run_scripts_are_valid_bash(bundle, tmp_path):
    with zipfile.ZipFile(bundle) as zf:
        zf.extractall(tmp_path)
    for script in ("setup.sh", "run_autograder"):
        done = subprocess.run(["bash", "-n", str(tmp_path / script)], capture_output=True, text=True)
        assert done.returncode == 0, f"{script}: {done.stderr}"


def test_the_solution_gets_full_marks(bundle, tmp_path):
    results = autograde(bundle, tmp_path, {"02_perceptrons.ipynb": SOLUTION.read_bytes()})
    assert results["score"] == MAX > 0
    assert len(results["tests"]) == len(load_test_file(TESTS).tests)
    for test in results["tests"]:
        assert {"name", "score", "max_score", "status", "output", "visibility"} <= test.keys()
        assert test["status"] == "passed" and test["score"] == test["max_score"]


def test_the_untouched_exercise_gets_zero_and_says_why(bundle, tmp_path):
    # Any name works when it is the only notebook; a folder inside the submission is searched too.
    results = autograde(bundle, tmp_path, {"hw/mine.ipynb": EXERCISE.read_bytes()})
    assert results["score"] == 0
    assert {t["status"] for t in results["tests"]} == {"failed"}
    assert "not implemented yet" in results["tests"][0]["output"]


@pytest.mark.parametrize("files, message", [
    ({"02_perceptrons.ipynb": b"\x00garbage"}, "not a notebook"),
    ({"answers.txt": b"42"}, "no notebook found in your submission (it holds: answers.txt)"),
    ({"a.ipynb": b"{}", "b.ipynb": b"{}"}, "several notebooks"),
], ids=["garbage", "no-notebook", "two-notebooks"])
def test_a_bad_submission_still_gets_a_results_file_with_a_message(bundle, tmp_path, files, message):
    results = autograde(bundle, tmp_path, files)
    assert results["score"] == 0 and message in results["output"]
    assert [t["score"] for t in results["tests"]] == [0] * len(load_test_file(TESTS).tests)


def test_results_are_written_even_when_python_cannot_start(bundle, tmp_path):
    results = autograde(bundle, tmp_path, {"02_perceptrons.ipynb": SOLUTION.read_bytes()},
                        python=str(tmp_path / "no-such-python"))
    assert results["score"] == 0 and "could not start" in results["output"]


def test_a_broken_autograder_tree_is_reported_not_raised(tmp_path):
    (tmp_path / "source").mkdir()  # no autograder.json
    results = run_autograder(tmp_path)
    assert results["score"] == 0 and "autograder itself failed" in results["output"]
    assert json.loads((tmp_path / "results" / "results.json").read_text())["score"] == 0


def test_hidden_tests_show_only_their_hint(tmp_path):
    private = tmp_path / "private.py"
    private.write_text(TESTS.read_text() + '''

@points(3, hidden=True, hint="think about (0, 0)")
def test_hidden_secret(nb):
    assert nb.xor_network(CORNERS).sum() == 99, "the secret input is 12345"
''')
    bundle = build_bundle("02_perceptrons", tmp_path / "ag.zip", tests=private, wheel=False, timeout=20)
    results = autograde(bundle, tmp_path, {"02_perceptrons.ipynb": SOLUTION.read_bytes()})
    secret = next(t for t in results["tests"] if t["name"] == "test_hidden_secret")
    assert secret == {"name": "test_hidden_secret", "score": 0, "max_score": 3, "status": "failed",
                      "output": "Hint: think about (0, 0)", "visibility": "visible"}
    assert "12345" not in json.dumps(results)
    assert results["score"] == MAX


def test_bundle_errors_name_the_problem(tmp_path, capsys):
    with pytest.raises(BundleError, match="notebook name such as '02_perceptrons', got '../x y'"):
        build_bundle("../x y", tmp_path / "a.zip", root=REPO, wheel=False)
    assert main(["gradescope-bundle", "99_nothing", "--root", str(REPO), "--out", str(tmp_path / "a.zip"),
                 "--no-wheel"]) == 2
    assert "test file not found" in capsys.readouterr().err
    assert main(["gradescope-bundle", "02_perceptrons", "--root", str(tmp_path), "--no-wheel"]) == 2
    assert "no solutions/ directory" in capsys.readouterr().err
    assert not (tmp_path / "a.zip").exists()


def test_the_zip_is_reproducible_without_the_wheel(tmp_path):
    one = build_bundle("02_perceptrons", tmp_path / "one.zip", root=REPO, wheel=False)
    two = build_bundle("02_perceptrons", tmp_path / "two.zip", root=REPO, wheel=False)
    assert one.read_bytes() == two.read_bytes()
    shutil.rmtree(tmp_path, ignore_errors=True)
