"""``python -m autograder VERB``: the instructor's tasks.

    grade ASSIGNMENT         grade every submission in parallel, sandboxed (--jobs, --student, --course)
    export ASSIGNMENT        grades for Canvas and Moodle, and mastery by topic with a plot
    demo                     the whole nbgrader cycle on synthetic submissions (make demo)
    make-assignment [ID...]  regenerate nbgrader source notebooks from their specs and keys
                             (--seed for a course's own draw, --students ROSTER for a variant per student)
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in {"-h", "--help"}:
        print(__doc__)
        return 0 if argv else 2
    verb, rest = argv[0], argv[1:]
    if verb == "grade":
        from .grading.batch import main as grade

        return grade(rest)
    if verb == "export":
        from .export import main as export

        return export(rest)
    if verb == "demo":
        from .demo import main as demo

        return demo(rest)
    if verb == "make-assignment":
        import argparse
        import os
        from pathlib import Path

        from medcodelab.cases.model import CaseError

        from .keys import KeyError_
        from .make_assignment import SOURCE, specs, write

        parser = argparse.ArgumentParser(prog="python -m autograder make-assignment")
        parser.add_argument("assignments", nargs="*")
        parser.add_argument("--seed", default=os.environ.get("MEDCODELAB_COURSE_SEED"),
                            help="a course's secret: draws its own encounters from the spec's pool")
        parser.add_argument("--out", default=str(SOURCE), help="the course's source folder")
        parser.add_argument("--students", metavar="ROSTER",
                            help="a file of student ids (one per line): each student codes their own variant of "
                                 "every template: entry (needs --seed)")
        args = parser.parse_args(rest)
        roster = None
        if args.students:
            from .make_assignment import read_roster

            try:
                roster = read_roster(Path(args.students).read_text(encoding="utf-8"))
            except OSError as exc:
                print(f"cannot read the roster {args.students}: {exc}", file=sys.stderr)
                return 1
            if not roster:
                print(f"the roster {args.students} lists no student ids", file=sys.stderr)
                return 1
        for assignment in args.assignments or specs():
            try:
                print(f"wrote {write(assignment, Path(args.out), args.seed, roster)}")
            except (KeyError_, CaseError, FileNotFoundError, ValueError) as exc:
                print(f"cannot make {assignment}: {exc}", file=sys.stderr)
                return 1
        return 0
    print(f"unknown verb {verb!r}\n{__doc__}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
