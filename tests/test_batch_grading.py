"""Batch grading: `nnlearn grade submissions/ --out grades/` — one JSON per submission, a gradebook, resumable.

Every grading here spawns real sandboxed children, so the folders are small (about ten notebooks).
"""
from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import pytest

from nnlearn.cli import main
from nnlearn.grading import GradingError
from nnlearn.grading import batch
from nnlearn.grading.batch import find_submissions, grade_folder, sha256_file, write_gradebook
from nnlearn.grading.notebook import cell_source, read_notebook
from nnlearn.grading.testfile import load_test_file

REPO = Path(__file__).resolve().parents[1]
SOLUTION = REPO / "solutions" / "02_perceptrons.ipynb"
TESTS = REPO / "solutions" / "tests" / "02_perceptrons.py"
SPEC = load_test_file(TESTS)
TIMEOUT = 20.0


def wrong_answer(path: Path, function: str = "xor_network") -> Path:
    """The solution with ``function``'s answer replaced by ``return None``."""
    nb = read_notebook(SOLUTION)
    for cell in nb["cells"]:
        source = cell_source(cell)
        if f"def {function}(" in source:
            cell["source"] = re.sub(r"(### BEGIN SOLUTION\n).*?(\n\s*### END SOLUTION)", r"\1    return None\2",
                                    source, flags=re.S)
    path.write_text(json.dumps(nb))
    return path


def lost_by(prefix: str) -> float:
    return sum(t.points for t in SPEC.tests if t.name.startswith(prefix))


@pytest.fixture
def submissions(tmp_path) -> Path:
    """Ten submissions: right, wrong, stub, not notebooks, and two students who used subfolders."""
    folder = tmp_path / "submissions"
    folder.mkdir()
    for name in ("ann", "ben", "cat"):
        shutil.copy(SOLUTION, folder / f"{name}.ipynb")
    wrong_answer(folder / "dan.ipynb")
    shutil.copy(REPO / "exercises" / "02_perceptrons.ipynb", folder / "eve.ipynb")  # the untouched stubs
    (folder / "fay.ipynb").write_text('{"cells": [')                                 # invalid JSON
    (folder / "gus.ipynb").write_text("")                                            # empty file
    (folder / "hal.ipynb").write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4,
                                                  "nbformat_minor": 5}))              # no cells at all
    (folder / "ivy").mkdir()
    shutil.copy(SOLUTION, folder / "ivy" / "02_perceptrons.ipynb")
    (folder / "jon").mkdir()
    wrong_answer(folder / "jon" / "my work.ipynb", "train_perceptron")
    (folder / ".ipynb_checkpoints").mkdir()
    shutil.copy(SOLUTION, folder / ".ipynb_checkpoints" / "ann-checkpoint.ipynb")  # never graded
    (folder / "notes.txt").write_text("not a notebook, not a submission")
    return folder


def read_gradebook(out: Path) -> list[dict[str, str]]:
    with open(out / "gradebook.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_a_folder_is_graded_in_parallel_into_jsons_and_a_gradebook(submissions, tmp_path):
    out = tmp_path / "grades"
    result = grade_folder(submissions, out, TESTS, jobs=2, timeout=TIMEOUT, progress=False)
    assert not result.skipped
    by_student = {r["student"]: r for r in result.graded}
    assert sorted(by_student) == ["ann", "ben", "cat", "dan", "eve", "fay", "gus", "hal", "ivy", "jon"]

    full = SPEC.max_score
    expected = {"ann": (full, "graded"), "ben": (full, "graded"), "cat": (full, "graded"),
                "dan": (full - lost_by("test_xor_"), "graded"), "eve": (0, "graded"),
                "fay": (0, "unreadable"), "gus": (0, "unreadable"), "hal": (0, "graded"),
                "ivy": (full, "graded"), "jon": (full - lost_by("test_train_"), "graded")}
    assert {s: (r["score"], r["status"]) for s, r in by_student.items()} == expected
    assert "invalid JSON" in by_student["fay"]["message"]

    ann = json.loads((out / "ann.json").read_text())
    assert ann["grader"].startswith("nnlearn ")
    assert ann["sha256"] == sha256_file(submissions / "ann.ipynb")
    assert ann["tests_sha256"] == sha256_file(TESTS)
    assert ann["max_score"] == full and ann["file"] == "ann.ipynb"
    assert [t["name"] for t in ann["tests"]] == [t.name for t in SPEC.tests]
    assert all(t["status"] == "passed" and t["duration"] >= 0 for t in ann["tests"])
    assert json.loads((out / "jon.json").read_text())["file"] == "jon/my work.ipynb"
    assert not list(out.glob(".*")), "no temporary files left behind"

    rows = read_gradebook(out)
    assert [r["student"] for r in rows] == sorted(by_student)
    header = list(rows[0].keys())
    assert header == ["student", "file", "sha256", *(t.name for t in SPEC.tests), "total", "max", "status"]
    dan = next(r for r in rows if r["student"] == "dan")
    assert float(dan["total"]) == full - lost_by("test_xor_") and float(dan["max"]) == full
    assert dan["test_xor_truth_table"] == "0" and dan["test_predict_and_gate"] == "1"
    fay = next(r for r in rows if r["student"] == "fay")
    assert (fay["status"], fay["total"], fay["test_predict_and_gate"]) == ("unreadable", "0", "0")


def test_a_rerun_skips_what_is_graded_and_regrades_what_changed(tmp_path):
    folder = tmp_path / "submissions"
    folder.mkdir()
    for name in ("ann", "ben"):
        shutil.copy(SOLUTION, folder / f"{name}.ipynb")
    (folder / "cy.ipynb").write_text("garbage")
    out = tmp_path / "grades"
    first = grade_folder(folder, out, TESTS, jobs=1, timeout=TIMEOUT, progress=False)
    assert len(first.graded) == 3
    before = {p.name: p.read_bytes() for p in out.glob("*.json")}

    again = grade_folder(folder, out, TESTS, jobs=1, timeout=TIMEOUT, progress=False)
    assert again.graded == [] and len(again.skipped) == 3
    assert {p.name: p.read_bytes() for p in out.glob("*.json")} == before, "skipped results are untouched"

    # An interrupted run: one result missing, a half-written temp file left over. Nothing else is redone.
    (out / "ben.json").unlink()
    (out / ".ben.json.abc.tmp").write_text('{"form')
    wrong_answer(folder / "ann.ipynb")  # ann resubmitted: new bytes, new grade
    third = grade_folder(folder, out, TESTS, jobs=1, timeout=TIMEOUT, progress=False)
    assert sorted(r["student"] for r in third.graded) == ["ann", "ben"]
    assert [s.student for s in third.skipped] == ["cy"]
    rows = {r["student"]: r for r in read_gradebook(out)}
    assert sorted(rows) == ["ann", "ben", "cy"]
    assert float(rows["ann"]["total"]) == SPEC.max_score - lost_by("test_xor_")
    assert rows["ann"]["sha256"] == sha256_file(folder / "ann.ipynb")

    # A changed test file changes the test-suite hash: everything is graded again.
    tests = tmp_path / "tests.py"
    tests.write_text(TESTS.read_text() + "\n\ndef test_extra(nb):\n    assert nb.xor_network is not None\n")
    fourth = grade_folder(folder, out, tests, jobs=1, timeout=TIMEOUT, progress=False)
    assert len(fourth.graded) == 3
    assert "test_extra" in read_gradebook(out)[0]


def test_grading_is_deterministic(tmp_path):
    folder = tmp_path / "submissions"
    folder.mkdir()
    shutil.copy(SOLUTION, folder / "ann.ipynb")
    wrong_answer(folder / "dan.ipynb")

    def outcome(out: Path) -> dict:
        grade_folder(folder, out, TESTS, jobs=2, timeout=TIMEOUT, progress=False)
        records = {p.name: json.loads(p.read_text()) for p in sorted(out.glob("*.json"))}
        return {name: (r["score"], r["status"], [(t["name"], t["score"], t["status"], t["message"])
                                                  for t in r["tests"]]) for name, r in records.items()}

    assert outcome(tmp_path / "one") == outcome(tmp_path / "two")
    assert (tmp_path / "one" / "gradebook.csv").read_text() == (tmp_path / "two" / "gradebook.csv").read_text()


def test_an_exception_while_grading_one_file_becomes_an_error_row(tmp_path, monkeypatch):
    folder = tmp_path / "submissions"
    folder.mkdir()
    for name in ("ann", "ben"):
        shutil.copy(SOLUTION, folder / f"{name}.ipynb")
    real = batch.grade_notebook

    def flaky(path, *args, **kwargs):
        if Path(path).stem == "ann":
            raise RuntimeError("disk on fire")
        return real(path, *args, **kwargs)

    monkeypatch.setattr(batch, "grade_notebook", flaky)
    out = tmp_path / "grades"
    result = grade_folder(folder, out, TESTS, jobs=1, timeout=TIMEOUT, progress=False)
    by_student = {r["student"]: r for r in result.graded}
    assert by_student["ann"]["status"] == "error" and "disk on fire" in by_student["ann"]["message"]
    assert by_student["ann"]["score"] == 0 and by_student["ann"]["max_score"] == SPEC.max_score
    assert by_student["ben"]["score"] == SPEC.max_score
    # An error may be the grader's fault, not the student's: the next run tries again.
    monkeypatch.setattr(batch, "grade_notebook", real)
    again = grade_folder(folder, out, TESTS, jobs=1, timeout=TIMEOUT, progress=False)
    assert [r["student"] for r in again.graded] == ["ann"] and again.graded[0]["score"] == SPEC.max_score


def test_submission_names_come_from_files_or_subfolders(tmp_path):
    folder = tmp_path / "s"
    (folder / "kim").mkdir(parents=True)
    (folder / "lee").mkdir()
    for path in (folder / "a b.ipynb", folder / "kim" / "x.ipynb", folder / "lee" / "p1.ipynb",
                 folder / "lee" / "p2.ipynb"):
        path.write_text("{}")
    found = [(s.student, s.file, s.key) for s in find_submissions(folder)]
    assert found == [("a b", "a b.ipynb", "a_b"), ("kim", "kim/x.ipynb", "kim"),
                     ("lee", "lee/p1.ipynb", "lee__p1"), ("lee", "lee/p2.ipynb", "lee__p2")]
    with pytest.raises(GradingError, match="submissions folder not found"):
        find_submissions(tmp_path / "missing")
    with pytest.raises(GradingError, match="jobs must be a positive whole number, got 0"):
        grade_folder(folder, tmp_path / "out", TESTS, jobs=0, progress=False)
    bad_tests = tmp_path / "bad.py"
    bad_tests.write_text("def test_a(nb) pass\n")
    with pytest.raises(GradingError, match="syntax error"):
        grade_folder(folder, tmp_path / "out", bad_tests, progress=False)


def test_the_gradebook_is_rebuilt_from_the_jsons_only(tmp_path):
    out = tmp_path / "grades"
    out.mkdir()
    (out / "stray.json").write_text('{"not": "ours"}')
    (out / "broken.json").write_text("{")
    assert write_gradebook(out).read_text() == "student,file,sha256,total,max,status\n"


def test_the_cli_grades_a_folder_and_explains_its_mistakes(submissions, tmp_path, capsys):
    for path in list(submissions.rglob("*.ipynb"))[3:]:
        if path.name != "ann.ipynb":
            path.unlink()  # keep the CLI test quick: a few notebooks are enough
    out = tmp_path / "grades"
    rc = main(["grade", str(submissions), "--out", str(out), "--tests", str(TESTS), "--jobs", "2",
               "--timeout", "20", "--no-progress", "--feedback", "md"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert "skipped 0 already graded" in captured.out and (out / "gradebook.csv").is_file()
    assert (out / "ann.feedback.md").read_text().startswith("# Feedback on ann.ipynb")

    assert main(["grade", str(submissions), "--tests", str(TESTS)]) == 2
    assert "is a folder: pass --out DIR" in capsys.readouterr().err
    assert main(["grade", str(submissions), "--out", str(out), "--json", "x.json"]) == 2
    assert "--json is for one notebook" in capsys.readouterr().err
    assert main(["grade", str(SOLUTION), "--out", str(out)]) == 2
    assert "--out is for grading a folder" in capsys.readouterr().err
