"""Feedback for a learner: one graded notebook as terminal text, Markdown or HTML.

A public test shows its status, points and failure message. A hidden test — ``@points(n, hidden=True,
hint="...")`` in the course's test file — shows only its name, passed or failed, and the hint: never its code
or its message, which could give the hidden inputs away. Which tests are hidden is read from the test file
itself (parsed, never run), so a report cannot be talked into showing more than the course allows.

    from nnlearn.grading import grade_notebook
    from nnlearn.grading.feedback import write_feedback

    write_feedback(grade_notebook("alice.ipynb", "private/02_perceptrons.py"), "alice.html")
"""
from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from .report import PASSED, GradeReport
from .testfile import TestFileError, load_test_file

FORMATS = ("text", "markdown", "html")
SUFFIXES = {".txt": "text", ".md": "markdown", ".markdown": "markdown", ".html": "html", ".htm": "html"}
DEFAULT_HINT = "This test is hidden. Re-read the exercise and try edge cases of your own."
MAX_MESSAGE_LINES = 12


@dataclass(frozen=True)
class FeedbackLine:
    """One test as a learner may see it: a hidden test carries its hint instead of its message."""

    name: str
    score: float
    max_score: float
    status: str
    hidden: bool
    text: str  # the failure message (public test) or the hint (hidden test); "" for a passed public test


def hidden_tests(report: GradeReport) -> dict[str, str]:
    """``{test name: hint}`` for the hidden tests of the report's test file (empty if it cannot be read)."""
    hidden: dict[str, str] = {}
    for test in report.tests:  # a report class that learned about hidden tests itself wins
        if getattr(test, "hidden", False):
            hidden[test.name] = str(getattr(test, "hint", "") or "")
    if report.tests_file:
        try:
            specs = load_test_file(report.tests_file).tests
        except TestFileError:
            specs = ()
        for spec in specs:
            if getattr(spec, "hidden", False):
                hidden[spec.name] = hidden.get(spec.name) or spec.hint
    return hidden


def public_hints(report: GradeReport) -> dict[str, str]:
    """``{test name: hint}`` for the public tests of the report's test file that have a hint."""
    if not report.tests_file:
        return {}
    try:
        specs = load_test_file(report.tests_file).tests
    except TestFileError:
        return {}
    return {spec.name: spec.hint for spec in specs if spec.hint and not getattr(spec, "hidden", False)}


def feedback_lines(report: GradeReport, hidden: dict[str, str] | None = None) -> list[FeedbackLine]:
    """The report's tests, with every hidden test's message replaced by its hint, and a public test's hint (if
    it has one) added below its failure message."""
    hidden = hidden_tests(report) if hidden is None else hidden
    hints = public_hints(report)
    lines = []
    for t in report.tests:
        if t.name in hidden:
            text = "" if t.status == PASSED else (hidden[t.name] or DEFAULT_HINT)
            lines.append(FeedbackLine(t.name, t.score, t.max_score, t.status, True, text))
        else:
            message = "\n".join(t.message.strip().splitlines()[:MAX_MESSAGE_LINES])
            if t.status != PASSED and hints.get(t.name):
                message = f"{message}\nHint: {hints[t.name]}".strip()
            lines.append(FeedbackLine(t.name, t.score, t.max_score, t.status, False, message))
    return lines


def _num(x: float) -> str:
    return f"{x:g}"


def _title(report: GradeReport) -> str:
    name = Path(report.notebook).name if report.notebook else "notebook"
    return f"Feedback on {name}"


def _status(line: FeedbackLine) -> str:
    # A hidden test says only passed or failed: "timeout" or "error" would already hint at its inputs.
    if line.hidden:
        return "passed" if line.status == PASSED else "failed"
    return line.status


def _cell_errors(report: GradeReport) -> list[str]:
    return [f"cell {n}: {m.strip().splitlines()[0] if m.strip() else ''}" for n, m in report.cell_errors]


def render_text(report: GradeReport, hidden: dict[str, str] | None = None) -> str:
    """Plain text for a terminal: one line per test, the message (or hint) indented below it."""
    lines = feedback_lines(report, hidden)
    width = max((len(f.name) for f in lines), default=0)
    out = [_title(report)]
    for f in lines:
        label = f"{_status(f).upper():<7} {f.name:<{width}}  {_num(f.score)}/{_num(f.max_score)}"
        out.append(f"  {label}{'  (hidden)' if f.hidden else ''}")
        prefix = "hint: " if f.hidden else ""
        out += [f"          {prefix if i == 0 else ''}{ln}" for i, ln in enumerate(f.text.splitlines())]
    if report.cell_errors:
        out.append("Cells that raised an error:")
        out += [f"  {e}" for e in _cell_errors(report)]
    out += [f"Note: {note}" for note in report.notes]
    out.append(f"Score: {_num(report.score)}/{_num(report.max_score)}")
    return "\n".join(out) + "\n"


def _md_cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def render_markdown(report: GradeReport, hidden: dict[str, str] | None = None) -> str:
    """Markdown: a summary table, then a section per test that did not pass."""
    lines = feedback_lines(report, hidden)
    out = [f"# {_title(report)}", "", f"**Score: {_num(report.score)}/{_num(report.max_score)}**", "",
           "| test | status | points |", "| --- | --- | --- |"]
    for f in lines:
        name = f"`{f.name}`" + (" (hidden)" if f.hidden else "")
        out.append(f"| {_md_cell(name)} | {_status(f)} | {_num(f.score)}/{_num(f.max_score)} |")
    failing = [f for f in lines if f.status != PASSED]
    if failing:
        out += ["", "## What to look at"]
        for f in failing:
            out += ["", f"### `{f.name}`", ""]
            if f.hidden:
                out.append(f"*Hint:* {f.text}")
            elif f.text:
                fence = "````" if "```" in f.text else "```"
                out += [fence + "text", f.text, fence]
    if report.cell_errors:
        out += ["", "## Cells that raised an error", ""] + [f"- {_md_cell(e)}" for e in _cell_errors(report)]
    if report.notes:
        out += ["", "## Notes", ""] + [f"- {_md_cell(n)}" for n in report.notes]
    return "\n".join(out) + "\n"


_CSS = ("body{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}"
        ".passed{color:#1a7f37}.failed,.error,.timeout{color:#cf222e}pre{background:#f6f8fa;padding:.5rem;"
        "white-space:pre-wrap}")


def render_html(report: GradeReport, hidden: dict[str, str] | None = None) -> str:
    """A self-contained HTML page (inline style, no scripts); every piece of text is escaped."""
    esc = html.escape
    lines = feedback_lines(report, hidden)
    rows = []
    for f in lines:
        detail = ""
        if f.text:
            detail = (f"<p><em>Hint:</em> {esc(f.text)}</p>" if f.hidden else f"<pre>{esc(f.text)}</pre>")
        hidden_mark = " (hidden)" if f.hidden else ""
        status = _status(f)
        rows.append(f"<tr><td><code>{esc(f.name)}</code>{hidden_mark}</td>"
                    f"<td class=\"{esc(status)}\">{esc(status)}</td>"
                    f"<td>{_num(f.score)}/{_num(f.max_score)}</td><td>{detail}</td></tr>")
    extra = ""
    if report.cell_errors:
        extra += "<h2>Cells that raised an error</h2><ul>" + \
            "".join(f"<li>{esc(e)}</li>" for e in _cell_errors(report)) + "</ul>"
    if report.notes:
        extra += "<h2>Notes</h2><ul>" + "".join(f"<li>{esc(n)}</li>" for n in report.notes) + "</ul>"
    title = esc(_title(report))
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>"
            f"<style>{_CSS}</style></head><body>\n<h1>{title}</h1>\n"
            f"<p><strong>Score: {_num(report.score)}/{_num(report.max_score)}</strong></p>\n"
            "<table><tr><th>test</th><th>status</th><th>points</th><th>feedback</th></tr>\n"
            + "\n".join(rows) + f"\n</table>\n{extra}\n</body></html>\n")


_RENDERERS = {"text": render_text, "markdown": render_markdown, "html": render_html}


def render(report: GradeReport, format: str = "text", hidden: dict[str, str] | None = None) -> str:
    """The report in ``format``: ``"text"``, ``"markdown"`` or ``"html"``."""
    if format not in _RENDERERS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {format!r}")
    return _RENDERERS[format](report, hidden)


def format_for(path: str | Path) -> str:
    """The format a file name asks for: ``.md`` → markdown, ``.html`` → html, ``.txt`` → text."""
    suffix = Path(path).suffix.lower()
    if suffix not in SUFFIXES:
        raise ValueError(f"report file must end in {', '.join(sorted(SUFFIXES))}, got {str(path)!r}")
    return SUFFIXES[suffix]


def write_feedback(report: GradeReport, path: str | Path, hidden: dict[str, str] | None = None) -> Path:
    """Write the feedback report to ``path``, in the format its suffix names; return the path."""
    path = Path(path)
    path.write_text(render(report, format_for(path), hidden), encoding="utf-8")
    return path


def report_from_dict(data: dict[str, Any]) -> GradeReport:
    """A :class:`GradeReport` back from its JSON form (as written by ``--json`` or the batch grader)."""
    from .report import TestResult

    tests = [TestResult(str(t["name"]), float(t["score"]), float(t["max_score"]), str(t["status"]),
                        str(t.get("message", "")), float(t.get("duration", 0.0) or 0.0))
             for t in _as_list(data.get("tests"))]
    errors = [(int(e["cell"]), str(e["message"])) for e in _as_list(data.get("cell_errors"))]
    return GradeReport(tests, notebook=str(data.get("notebook", "")), tests_file=str(data.get("tests_file", "")),
                       cell_errors=errors, notes=[str(n) for n in _as_list(data.get("notes"))])


def _as_list(value: Any) -> Iterable[Any]:
    return value if isinstance(value, list) else []
