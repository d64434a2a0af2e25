"""The ``nnlearn`` command line.

    nnlearn grade NOTEBOOK [--tests FILE] [--json FILE] [--timeout SECONDS] [--memory-mb MB]
    nnlearn exercises build [--check] [--root DIR]

Exit codes: 0 — done (a notebook was graded, whatever its score; the exercises are built or up to date);
1 — ``--check`` found stale exercises; 2 — the command itself could not run (bad arguments, a file that is
not a notebook, a missing test file, a broken solution notebook).
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

    grade = sub.add_parser("grade", help="grade one exercise notebook in a sandboxed child process")
    grade.add_argument("notebook", type=Path, help="the .ipynb file to grade")
    grade.add_argument("--tests", type=Path, default=None,
                       help="the course test file (default: tests/<stem>.py next to the notebook, "
                            "else solutions/tests/<stem>.py in the course root)")
    grade.add_argument("--json", type=Path, default=None, metavar="FILE",
                       help="also write the report as JSON")
    grade.add_argument("--timeout", type=_positive_float, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                       help=f"wall-clock limit for the notebook and its tests (default {DEFAULT_TIMEOUT:g})")
    grade.add_argument("--memory-mb", type=_positive_int, default=DEFAULT_MEMORY_MB, metavar="MB",
                       help=f"memory limit of the child process (default {DEFAULT_MEMORY_MB})")

    exercises = sub.add_parser("exercises", help="generate exercises/ from solutions/")
    ex_sub = exercises.add_subparsers(dest="action", required=True)
    build = ex_sub.add_parser("build", help="write exercises/NN_slug.ipynb (stubs, no outputs) and tests")
    build.add_argument("--check", action="store_true",
                       help="write nothing; exit 1 and list the stale files if exercises/ differs "
                            "from a fresh build")
    build.add_argument("--root", type=Path, default=None,
                       help="the course root (default: the nearest directory up from here with solutions/)")
    return parser


def _grade(args: argparse.Namespace) -> int:
    from .grading import GradingError, grade_notebook

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
    return _build(args)


if __name__ == "__main__":
    sys.exit(main())
