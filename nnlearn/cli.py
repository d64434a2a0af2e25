"""The ``nnlearn`` command line.

    nnlearn grade NOTEBOOK [--tests FILE] [--json FILE] [--report FILE.md|.html|.txt] [--timeout S] [--memory-mb MB]
    nnlearn grade FOLDER --out DIR [--tests FILE] [--jobs N] [--timeout S] [--memory-mb MB]
    nnlearn gradescope-bundle EXERCISE [--out ZIP] [--tests FILE] [--root DIR] [--no-wheel]
    nnlearn exercises build [--check] [--root DIR]

Exit codes: 0 — done (a notebook or folder was graded, whatever the scores; the exercises are built or up
to date; the bundle is written); 1 — ``--check`` found stale exercises; 2 — the command itself could not run
(bad arguments, a file that is not a notebook, a missing test file, a broken solution notebook).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_OK, EXIT_STALE, EXIT_ERROR = 0, 1, 2


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def _parser() -> argparse.ArgumentParser:
    from .grading.runner import DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT

    parser = argparse.ArgumentParser(prog="nnlearn",
                                     description="nnlearn course tools: exercises and grading.")
    sub = parser.add_subparsers(dest="command", required=True)

    grade = sub.add_parser("grade", help="grade one exercise notebook, or a folder of submissions, in "
                                         "sandboxed child processes")
    grade.add_argument("notebook", type=Path, metavar="NOTEBOOK|FOLDER",
                       help="the .ipynb file to grade, or a folder of submissions (FOLDER/<student>.ipynb or "
                            "FOLDER/<student>/<file>.ipynb) to grade with --out")
    grade.add_argument("--tests", type=Path, default=None,
                       help="the course test file (default: tests/<stem>.py next to the notebook, "
                            "else solutions/tests/<stem>.py in the course root)")
    grade.add_argument("--json", type=Path, default=None, metavar="FILE",
                       help="also write the report as JSON")
    grade.add_argument("--timeout", type=_positive_float, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                       help=f"wall-clock limit for the notebook and its tests (default {DEFAULT_TIMEOUT:g})")
    grade.add_argument("--memory-mb", type=_positive_int, default=DEFAULT_MEMORY_MB, metavar="MB",
                       help=f"memory limit of the child process (default {DEFAULT_MEMORY_MB})")
    grade.add_argument("--report", type=Path, default=None, metavar="FILE",
                       help="one notebook: also write the learner's feedback (.md, .html or .txt; "
                            "hidden tests show only pass/fail and a hint)")
    grade.add_argument("--out", type=Path, default=None, metavar="DIR",
                       help="a folder: where to write one JSON per submission and gradebook.csv")
    grade.add_argument("--jobs", type=_positive_int, default=None, metavar="N",
                       help="a folder: worker processes grading side by side (default: the number of cores)")
    grade.add_argument("--feedback", choices=("md", "html", "txt"), default=None,
                       help="a folder: also write each submission's feedback as DIR/<student>.feedback.EXT")
    grade.add_argument("--no-progress", action="store_true", help="a folder: no progress bar")

    bundle = sub.add_parser("gradescope-bundle", help="build a Gradescope autograder zip for one exercise")
    bundle.add_argument("exercise", help="the exercise notebook's name, e.g. 02_perceptrons")
    bundle.add_argument("--out", type=Path, default=None, metavar="ZIP",
                        help="where to write the zip (default: EXERCISE-autograder.zip)")
    bundle.add_argument("--tests", type=Path, default=None, metavar="FILE",
                        help="the test file to grade with (default: solutions/tests/EXERCISE.py; pass a "
                             "private one for hidden tests)")
    bundle.add_argument("--root", type=Path, default=None,
                        help="the course root (default: the nearest directory up from here with solutions/)")
    bundle.add_argument("--no-wheel", action="store_true",
                        help="ship nnlearn only as source (setup.sh installs from it) instead of as a wheel")
    bundle.add_argument("--timeout", type=_positive_float, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                        help=f"wall-clock limit per submission on Gradescope (default {DEFAULT_TIMEOUT:g})")
    bundle.add_argument("--memory-mb", type=_positive_int, default=DEFAULT_MEMORY_MB, metavar="MB",
                        help=f"memory limit of the grading child on Gradescope (default {DEFAULT_MEMORY_MB})")

    exercises = sub.add_parser("exercises", help="generate exercises/ from solutions/")
    ex_sub = exercises.add_subparsers(dest="action", required=True)
    build = ex_sub.add_parser("build", help="write exercises/NN_slug.ipynb (stubs, no outputs) and tests")
    build.add_argument("--check", action="store_true",
                       help="write nothing; exit 1 and list the stale files if exercises/ differs "
                            "from a fresh build")
    build.add_argument("--root", type=Path, default=None,
                       help="the course root (default: the nearest directory up from here with solutions/)")
    return parser


def _error(command: str, message: str) -> int:
    print(f"nnlearn {command}: error: {message}", file=sys.stderr)
    return EXIT_ERROR


def _grade(args: argparse.Namespace) -> int:
    from .grading import GradingError, grade_notebook

    if args.notebook.is_dir():
        return _grade_folder(args)
    for option in ("out", "jobs", "feedback"):
        if getattr(args, option) is not None:
            return _error("grade", f"--{option} is for grading a folder, but {args.notebook} is not a folder")
    if args.report is not None:
        from .grading.feedback import format_for
        try:
            format_for(args.report)
        except ValueError as exc:
            return _error("grade", f"--report: {exc}")
    try:
        report = grade_notebook(args.notebook, args.tests, timeout=args.timeout, memory_mb=args.memory_mb)
    except GradingError as exc:
        print(f"nnlearn grade: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    print(report.format_text())
    if args.json is not None:
        try:
            report.write_json(args.json)
        except OSError as exc:
            print(f"nnlearn grade: error: cannot write {args.json}: {exc.strerror}", file=sys.stderr)
            return EXIT_ERROR
    if args.report is not None:
        from .grading.feedback import write_feedback
        try:
            write_feedback(report, args.report)
        except OSError as exc:
            return _error("grade", f"cannot write {args.report}: {exc.strerror}")
    return EXIT_OK


def _grade_folder(args: argparse.Namespace) -> int:
    from .grading import GradingError
    from .grading.batch import grade_folder

    if args.out is None:
        return _error("grade", f"{args.notebook} is a folder: pass --out DIR for the grades")
    for option in ("json", "report"):
        if getattr(args, option) is not None:
            return _error("grade", f"--{option} is for one notebook; a folder's grades go to --out "
                                   "(and --feedback for the learners' reports)")
    try:
        result = grade_folder(args.notebook, args.out, args.tests, jobs=args.jobs, timeout=args.timeout,
                              memory_mb=args.memory_mb, progress=not args.no_progress)
    except GradingError as exc:
        return _error("grade", str(exc))
    except OSError as exc:
        return _error("grade", f"cannot write to {args.out}: {exc.strerror}")
    if args.feedback is not None:
        _write_folder_feedback(args.out, args.feedback)
    print(result.summary())
    return EXIT_OK


def _write_folder_feedback(out: Path, extension: str) -> None:
    """``DIR/<student>.feedback.EXT`` for every grade JSON in ``out`` (what each learner may be sent)."""
    import json

    from .grading.batch import FORMAT
    from .grading.feedback import report_from_dict, write_feedback

    for path in sorted(out.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            continue
        report = report_from_dict(data)
        if data.get("status") in ("unreadable", "error"):
            report.notes.insert(0, f"not graded ({data['status']}): {data.get('message', '')}")
        write_feedback(report, out / f"{path.stem}.feedback.{extension}")


def _bundle(args: argparse.Namespace) -> int:
    from .grading.gradescope import BundleError, build_bundle

    try:
        path = build_bundle(args.exercise, args.out, tests=args.tests, root=args.root, wheel=not args.no_wheel,
                            timeout=args.timeout, memory_mb=args.memory_mb)
    except BundleError as exc:
        return _error("gradescope-bundle", str(exc))
    except OSError as exc:
        return _error("gradescope-bundle", f"cannot write {args.out}: {exc.strerror}")
    print(f"wrote {path}: upload it as the autograder of a Gradescope programming assignment")
    return EXIT_OK


def _build(args: argparse.Namespace) -> int:
    from .grading import BuildError, stale_exercises, write_exercises
    from .grading.paths import SOLUTIONS, find_course_root

    root = args.root if args.root is not None else find_course_root(Path.cwd())
    if root is None or not (root / SOLUTIONS).is_dir():
        where = args.root if args.root is not None else Path.cwd()
        print(f"nnlearn exercises build: error: no {SOLUTIONS}/ directory found at or above {where}; "
              "run from the course root or pass --root", file=sys.stderr)
        return EXIT_ERROR
    try:
        if args.check:
            stale = stale_exercises(root)
            if stale:
                print("Stale exercise files (run `nnlearn exercises build` and commit the result):")
                print("\n".join(f"  {path}" for path in stale))
                return EXIT_STALE
            print("exercises/ is up to date with solutions/.")
            return EXIT_OK
        changed = write_exercises(root)
    except BuildError as exc:
        print(f"nnlearn exercises build: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    print("\n".join(f"wrote {path}" for path in changed) if changed else "exercises/ was already up to date.")
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "grade":
        return _grade(args)
    if args.command == "gradescope-bundle":
        return _bundle(args)
    return _build(args)


if __name__ == "__main__":
    sys.exit(main())
