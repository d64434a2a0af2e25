"""Learner feedback: public tests with their messages; hidden tests only as name, pass/fail and a hint."""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

import nnlearn
from nnlearn.cli import main
from nnlearn.grading import GradeReport, TestFileError, TestResult, points
from nnlearn.grading.feedback import (DEFAULT_HINT, feedback_lines, format_for, hidden_tests, render,
                                      report_from_dict, write_feedback)
from nnlearn.grading.testfile import load_test_file

REPO = Path(__file__).resolve().parents[1]
SOLUTION = REPO / "solutions" / "02_perceptrons.ipynb"
TESTS = REPO / "solutions" / "tests" / "02_perceptrons.py"

SECRET = "the secret input is 12345"
TEST_FILE = '''\
from nnlearn.grading import points

@points(2)
def test_public(nb):
    assert False, "expected <b>3</b> | got 4"

@points(3, hidden=True, hint="think about empty input")
def test_hidden_with_hint(nb):
    assert False, "{secret}"

@points(1, hidden=True)
def test_hidden_without_hint(nb):
    raise ValueError("{secret}")

@points(1, hidden=True, hint="never shown when it passes")
def test_hidden_passing(nb):
    pass

@points(1, hint="check the bias")
def test_public_with_hint(nb):
    assert False, "off by 0.5"

@points(1, hint="not shown: it passed")
def test_public_passing_with_hint(nb):
    pass
'''.format(secret=SECRET)


@pytest.fixture
def report(tmp_path) -> GradeReport:
    tests = tmp_path / "private.py"
    tests.write_text(TEST_FILE)
    return GradeReport([
        TestResult("test_public", 0, 2, "failed", "expected <b>3</b> | got 4"),
        TestResult("test_hidden_with_hint", 0, 3, "failed", SECRET),
        TestResult("test_hidden_without_hint", 0, 1, "error", f"ValueError: {SECRET}"),
        TestResult("test_hidden_passing", 1, 1, "passed", ""),
        TestResult("test_public_with_hint", 0, 1, "failed", "off by 0.5"),
        TestResult("test_public_passing_with_hint", 1, 1, "passed", ""),
    ], notebook="alice.ipynb", tests_file=str(tests), cell_errors=[(3, "NameError: x")],
        notes=["a <note>"])


def test_hidden_tests_are_read_from_the_test_file(report):
    assert hidden_tests(report) == {"test_hidden_with_hint": "think about empty input",
                                    "test_hidden_without_hint": "", "test_hidden_passing": "never shown when it passes"}
    specs = {t.name: t for t in load_test_file(report.tests_file).tests}
    assert (specs["test_public"].hidden, specs["test_hidden_with_hint"].hidden) == (False, True)
    lines = {f.name: f for f in feedback_lines(report)}
    assert lines["test_public"].text == "expected <b>3</b> | got 4"
    assert lines["test_hidden_with_hint"].text == "think about empty input"
    assert lines["test_hidden_without_hint"].text == DEFAULT_HINT
    assert lines["test_hidden_passing"].text == ""
    # A public test keeps its message and, when it fails, adds its hint below it.
    assert lines["test_public_with_hint"].text == "off by 0.5\nHint: check the bias"
    assert lines["test_public_passing_with_hint"].text == ""


@pytest.mark.parametrize("fmt", ["text", "markdown", "html"])
def test_no_format_leaks_a_hidden_message(report, fmt):
    out = render(report, fmt)
    assert SECRET not in out and "12345" not in out and "ValueError" not in out
    assert "think about empty input" in out and DEFAULT_HINT in out
    assert "never shown when it passes" not in out
    assert "test_hidden_with_hint" in out and "(hidden)" in out
    assert "Score: 2/9" in out
    # A hidden test says only passed or failed: its real status ("error") would hint at its inputs.
    line = next(ln for ln in out.splitlines() if "test_hidden_without_hint" in ln)
    assert "error" not in line.lower()


def test_text_markdown_and_html_show_public_messages_safely(report):
    text = render(report, "text")
    assert "FAILED  test_public" in text and "expected <b>3</b> | got 4" in text and "cell 3: NameError" in text
    markdown = render(report, "markdown")
    assert markdown.startswith("# Feedback on alice.ipynb")
    assert "| `test_public` | failed | 0/2 |" in markdown
    assert "```text\nexpected <b>3</b> | got 4\n```" in markdown
    assert "*Hint:* think about empty input" in markdown
    html = render(report, "html")
    assert html.startswith("<!DOCTYPE html>") and "<script" not in html
    assert "expected &lt;b&gt;3&lt;/b&gt; | got 4" in html and "a &lt;note&gt;" in html
    with pytest.raises(ValueError, match="format must be one of text, markdown, html, got 'pdf'"):
        render(report, "pdf")


def test_the_file_suffix_picks_the_format(report, tmp_path):
    assert (format_for("r.md"), format_for("r.HTML"), format_for("r.txt")) == ("markdown", "html", "text")
    with pytest.raises(ValueError, match=r"report file must end in .*, got 'r.pdf'"):
        format_for("r.pdf")
    path = write_feedback(report, tmp_path / "alice.html")
    assert path.read_text().startswith("<!DOCTYPE html>")


def test_a_report_round_trips_through_its_json(report):
    again = report_from_dict(json.loads(report.to_json()))
    assert render(again, "markdown") == render(report, "markdown")


def test_points_accepts_hidden_and_hint_and_checks_them(tmp_path):
    @points(2, hidden=True, hint="h")
    def test_x(nb):
        pass

    assert test_x.__nnlearn_points__ == 2
    with pytest.raises(TypeError, match="hidden must be True or False, got 'yes'"):
        points(1, hidden="yes")
    with pytest.raises(TypeError, match="hint must be a string, got int"):
        points(1, hint=3)
    for body, message in [("@points(1, secret=True)\ndef test_a(nb): pass\n", "only hidden= and hint= keywords"),
                          ("@points(1, hidden=maybe)\ndef test_a(nb): pass\n", "needs a literal bool"),
                          ("@points(1, hint=1)\ndef test_a(nb): pass\n", "needs a literal str")]:
        path = tmp_path / "t.py"
        path.write_text(body)
        with pytest.raises(TestFileError, match=message):
            load_test_file(path)
    # The child never sees the decorator, keywords included: hints stay out of the process that runs students.
    path = tmp_path / "t.py"
    path.write_text("@points(\n    1,\n    hidden=True,\n    hint='h',\n)\ndef test_a(nb):\n    pass\n")
    parsed = load_test_file(path)
    assert parsed.tests[0].hidden and "hint" not in parsed.child_source


def test_nnlearn_check_is_the_self_check():
    from nnlearn.grading import check

    assert nnlearn.check is check


def test_the_cli_writes_the_feedback_report(tmp_path, capsys):
    private = tmp_path / "private.py"
    private.write_text(TESTS.read_text() + textwrap.dedent(f'''

        @points(3, hidden=True, hint="look at the corners again")
        def test_hidden_secret(nb):
            assert nb.xor_network(CORNERS).sum() == 99, "{SECRET}"
    '''))
    for name in ("feedback.md", "feedback.html"):
        rc = main(["grade", str(SOLUTION), "--tests", str(private), "--timeout", "20",
                   "--report", str(tmp_path / name)])
        assert rc == 0, capsys.readouterr().err
        out = (tmp_path / name).read_text()
        assert "test_hidden_secret" in out and "look at the corners again" in out and SECRET not in out
    assert main(["grade", str(SOLUTION), "--report", str(tmp_path / "r.pdf")]) == 2
    assert "--report: report file must end in" in capsys.readouterr().err
