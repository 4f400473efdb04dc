"""``python -m autograder export ASSIGNMENT``: grades for an LMS, and mastery by topic.

Writes to ``<course>/exports/``:
- ``grades.csv``: nbgrader's own export (every assignment, every student);
- ``canvas-<assignment>.csv``: for Canvas's gradebook import: the columns Canvas reads
  (Student, ID, SIS User ID, SIS Login ID, Section) and one column for the assignment, named
  after it. Students are matched on SIS Login ID (the nbgrader student id, normally the hub
  login) or ID (nbgrader's ``lms_user_id``, when you set it);
- ``moodle-<assignment>.csv``: for Moodle's CSV grade import: Username, Email address, ID
  number, the grade and a feedback column; choose the identifying column when importing;
- ``mastery-<assignment>.csv`` and ``.png``: each student's share of the points by topic (a
  question counts toward each topic of its encounter), with the class mean, and a plot of it.
Late penalties are already applied in the totals, as in nbgrader's export.
"""

from __future__ import annotations

import csv
from pathlib import Path

from nbgrader.api import Gradebook
from nbgrader.plugins import CsvExportPlugin

from .questions import MARKER, load_marked


def _topics(gb: Gradebook, assignment: str) -> dict[tuple[str, str], list[str]]:
    """(notebook, grade cell) -> the topics of the encounter the cell grades."""
    topics = {}
    for notebook in gb.find_assignment(assignment).notebooks:
        for cell in notebook.source_cells:
            match = MARKER.search(cell.source or "")
            if match:
                topics[(notebook.name, cell.name)] = load_marked(match, check_digest=False).topics or ["untagged"]
    return topics


def export(course_root: Path, assignment: str, out: Path | None = None, course_id: str = "medcodelab") -> dict[str, Path]:
    course_root = Path(course_root)
    out = Path(out or course_root / "exports")
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    with Gradebook(f"sqlite:///{course_root / 'gradebook.db'}", course_id) as gb:
        CsvExportPlugin(to=str(out / "grades.csv")).export(gb)
        written["nbgrader"] = out / "grades.csv"
        record = gb.find_assignment(assignment)
        max_score = record.max_score
        rows = []
        for student in sorted(gb.students, key=lambda s: s.id):
            try:
                submission = gb.find_submission(assignment, student.id)
                # as nbgrader's own export computes it
                score = round(max(0.0, submission.score - submission.late_submission_penalty), 2)
            except Exception:
                submission, score = None, None
            rows.append((student, submission, score))
        topic_of = _topics(gb, assignment)
        mastery: dict[str, dict[str, list[float]]] = {}
        for student, submission, _ in rows:
            if submission is None:
                continue
            for nb in submission.notebooks:
                for grade in nb.grades:
                    for topic in topic_of.get((nb.name, grade.name), []):
                        earned, possible = mastery.setdefault(student.id, {}).get(topic, [0.0, 0.0])
                        mastery[student.id][topic] = [earned + (grade.score or 0), possible + grade.max_score]

    canvas = out / f"canvas-{assignment}.csv"
    with canvas.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", f"{assignment} ({max_score:g} points)"])
        for student, _, score in rows:
            name = ", ".join(p for p in (student.last_name, student.first_name) if p) or student.id
            writer.writerow([name, student.lms_user_id or "", "", student.id, "", "" if score is None else f"{score:g}"])
    written["canvas"] = canvas

    moodle = out / f"moodle-{assignment}.csv"
    with moodle.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Username", "Email address", "ID number", assignment, f"{assignment} feedback"])
        for student, submission, score in rows:
            note = "" if submission is not None else "no submission"
            writer.writerow([student.id, student.email or "", student.lms_user_id or "",
                             "" if score is None else f"{score:g}", note])
    written["moodle"] = moodle

    topics = sorted({t for per in mastery.values() for t in per})
    table = out / f"mastery-{assignment}.csv"
    means = {}
    with table.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", *topics])
        for student_id in sorted(mastery):
            writer.writerow([student_id, *(_share(mastery[student_id].get(t)) for t in topics)])
        for topic in topics:
            shares = [mastery[s][t][0] / mastery[s][t][1] for s in mastery for t in [topic]
                      if t in mastery[s] and mastery[s][t][1]]
            means[topic] = sum(shares) / len(shares) if shares else 0.0
        writer.writerow(["class mean", *(f"{means[t]:.3f}" for t in topics)])
    written["mastery"] = table
    if topics:
        written["plot"] = _plot(means, assignment, out / f"mastery-{assignment}.png")
    return written


def _share(cell: list[float] | None) -> str:
    return "" if not cell or not cell[1] else f"{cell[0] / cell[1]:.3f}"


def _plot(means: dict[str, float], assignment: str, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ordered = sorted(means.items(), key=lambda kv: kv[1])
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(ordered) + 1.2))
    bars = ax.barh([t for t, _ in ordered], [100 * m for _, m in ordered],
                   color=["#b3261e" if m < 0.6 else "#a66a00" if m < 0.85 else "#1b7f3b" for _, m in ordered])
    ax.bar_label(bars, fmt="%.0f%%", padding=3)
    ax.set_xlim(0, 110)
    ax.set_xlabel("class mean share of the points (%)")
    ax.set_title(f"{assignment}: mastery by topic")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> int:
    import argparse

    from medcodelab import paths

    from .grading.batch import CourseInfo

    parser = argparse.ArgumentParser(prog="python -m autograder export", description=__doc__.split("\n\n")[0])
    parser.add_argument("assignment")
    parser.add_argument("--course", default=str(paths.PROJECT_ROOT / "assignments"))
    parser.add_argument("--out", help="folder to write to (default <course>/exports)")
    args = parser.parse_args(argv)
    course = CourseInfo.load(Path(args.course))
    for kind, path in export(course.root, args.assignment, Path(args.out) if args.out else None,
                             course.course_id).items():
        print(f"{kind:9} {path}")
    return 0
