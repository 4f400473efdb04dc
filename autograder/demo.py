"""``make demo``: an instructor's whole nbgrader cycle, headless, on embedded defaults.

nbgrader generate_assignment -> release_assignment -> four synthetic submissions -> autograde
(this lab's sandboxed batch grader, which records into nbgrader's gradebook) -> nbgrader
generate_feedback -> export (nbgrader's CSV, plus Canvas, Moodle and mastery by topic), then
the gradebook is printed. The four students:

- ``perfect``: every answer is the key;
- ``partial``: some answers right, some with the wrong specificity, order or a missing code;
- ``untouched``: submits the notebook exactly as released;
- ``looper``: perfect answers, but one answer cell never finishes (an infinite loop). That
  question times out and scores 0; the rest of the notebook is still graded.

The course lives in ``data/build/demo-course/`` (recreated each run) so it never touches the
instructor's own gradebook; look around it afterwards.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from medcodelab import paths

ASSIGNMENT = "ps01-icd10cm"
STUDENTS = ["perfect", "partial", "untouched", "looper"]
LOOP_QUESTION = "enc_02"


@dataclass
class DemoResult:
    root: Path
    scores: dict[str, float] = field(default_factory=dict)  # student -> total
    max_score: float = 0.0
    questions: dict[str, dict[str, float]] = field(default_factory=dict)  # student -> grade id -> score
    question_max: dict[str, float] = field(default_factory=dict)
    autograde_ok: dict[str, bool] = field(default_factory=dict)
    feedback: dict[str, Path] = field(default_factory=dict)
    csv_path: Path | None = None
    release_path: Path | None = None
    exports: dict[str, Path] = field(default_factory=dict)
    report: object = None


def _say(message: str) -> None:
    print(message, flush=True)


def _answer_sets(nb: nbformat.NotebookNode) -> dict[str, dict[str, list[str]]]:
    """Each synthetic student's answers, derived from the keys."""
    from . import keys
    from .preprocessors import MARKER

    key_codes: dict[str, list[str]] = {}
    for cell in nb.cells:
        match = MARKER.search(cell.source)
        if match:
            case = keys.load(match["case"])
            if match["system"] == "icd11":
                from medcodelab.scoring.icd11 import key_of

                key_codes[match["answer"]] = [c for c, optional, *_ in key_of(case) if not optional]
            else:
                key_codes[match["answer"]] = [k.code for k in case.diagnoses if not k.optional]
    perfect = dict(key_codes)
    partial: dict[str, list[str]] = {}
    for i, (question, codes) in enumerate(sorted(key_codes.items())):
        if i % 2 == 0:
            partial[question] = list(codes)  # right
        elif len(codes) > 1:
            partial[question] = list(reversed(codes))[:-1] if i % 4 == 1 else list(codes)[:-1]  # order or missing
        else:
            partial[question] = [codes[0][:3]]  # the category heading: partial credit by hierarchy
    return {"perfect": perfect, "partial": partial, "looper": perfect}


def key_answers(course_root: Path, assignment: str = ASSIGNMENT) -> dict[str, list[str]]:
    """The key's required codes for each question of the course's source notebook (ps01 unless told)."""
    source = nbformat.read(Path(course_root) / "source" / assignment / f"{assignment}.ipynb", as_version=4)
    return _answer_sets(source)["perfect"]


def set_answer_source(question: str, source: str):
    """An ``edit`` for ``write_submission``: the answer cell of ``question`` holds ``source``."""
    def edit(nb: nbformat.NotebookNode) -> None:
        for cell in nb.cells:
            if cell.metadata.get("nbgrader", {}).get("grade_id") == f"answer_{question}":
                cell.source = source
    return edit


def write_submission(release_nb: Path, target: Path, answers: dict[str, list[str]] | None = None,
                     loop_in: str | None = None, edit=None) -> Path:
    """Write a submission the way ``nbgrader submit`` leaves it: the notebook and a timestamp.

    ``answers`` fills the answer cells; ``loop_in`` adds a runaway loop to one answer cell;
    ``edit(nb)`` may change anything else (tests use it to write hostile submissions).
    """
    nb = nbformat.read(release_nb, as_version=4)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
        if answers is not None and grade_id.startswith("answer_"):
            question = grade_id[len("answer_"):]
            cell.source = f"{question} = {json.dumps(answers.get(question, []))}"
            if question == loop_in:
                cell.source += "\nwhile True:  # a student's runaway loop\n    pass"
    if edit is not None:
        edit(nb)
    target.mkdir(parents=True, exist_ok=True)
    path = target / release_nb.name
    nbformat.write(nb, path)
    (target / "timestamp.txt").write_text(
        dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f %Z"))
    return path


class Course:
    """A throwaway nbgrader course for one problem set (ps01 unless told), driven through
    nbgrader's own API in one process."""

    def __init__(self, root: Path, timeout: int = 10, quiet: bool = True, assignment: str = ASSIGNMENT,
                 source: Path | None = None) -> None:
        from nbgrader.apps import NbGraderAPI
        from nbgrader.coursedir import CourseDirectory

        from .course import course_config

        # nbgrader's gradebook warns (SAWarning) on each student's first autograde; it is harmless
        warnings.filterwarnings("ignore", message="Object of type <Submitted")
        self.assignment = assignment
        self.root = Path(root).resolve()
        self.course_id = "medcodelab-demo"
        if self.root.exists():
            shutil.rmtree(self.root)
        (self.root / "source").mkdir(parents=True)
        shutil.copytree(source or paths.PROJECT_ROOT / "assignments" / "source" / self.assignment,
                        self.root / "source" / self.assignment)
        config = course_config(self.root, course_id=self.course_id, exchange=self.root / "exchange", timeout=timeout)
        if quiet:
            config.Application.log_level = "WARN"
        self.api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
        self.release_nb = self.root / "release" / self.assignment / f"{self.assignment}.ipynb"

    def _check(self, out: dict, what: str) -> dict:
        if not out["success"]:
            raise RuntimeError(f"{what} failed:\n{out['log']}\n{out.get('error', '')}")
        return out

    def generate_and_release(self) -> None:
        self._check(self.api.generate_assignment(self.assignment), "generate_assignment")
        self._check(self.api.release_assignment(self.assignment), "release_assignment")

    def submit(self, student: str, answers: dict[str, list[str]] | None = None, **kwargs) -> Path:
        return write_submission(self.release_nb, self.root / "submitted" / student / self.assignment, answers, **kwargs)

    def key_answers(self) -> dict[str, list[str]]:
        return key_answers(self.root, self.assignment)

    def autograde(self, student: str) -> dict:
        return self.api.autograde(self.assignment, student)

    def feedback(self, student: str) -> Path | None:
        out = self.api.generate_feedback(self.assignment, student)
        return self.root / "feedback" / student / self.assignment / f"{self.assignment}.html" if out["success"] else None

    def scores(self, student: str) -> tuple[float, dict[str, float]]:
        """The student's total and per-question scores, as the gradebook holds them."""
        from nbgrader.api import Gradebook

        with Gradebook(f"sqlite:///{self.root / 'gradebook.db'}", self.course_id) as gb:
            submission = gb.find_submission(self.assignment, student)
            return submission.score, {g.name: g.score for nb in submission.notebooks for g in nb.grades}

    def maxima(self) -> tuple[float, dict[str, float]]:
        from nbgrader.api import Gradebook

        with Gradebook(f"sqlite:///{self.root / 'gradebook.db'}", self.course_id) as gb:
            assignment = gb.find_assignment(self.assignment)
            return assignment.max_score, {c.name: c.max_score for nb in assignment.notebooks for c in nb.grade_cells}

    def export_csv(self) -> Path:
        from nbgrader.api import Gradebook
        from nbgrader.plugins import CsvExportPlugin

        target = self.root / "grades.csv"
        with Gradebook(f"sqlite:///{self.root / 'gradebook.db'}", self.course_id) as gb:
            CsvExportPlugin(to=str(target)).export(gb)
        return target


def run(root: Path | None = None, timeout: int = 10, quiet_nbgrader: bool = True) -> DemoResult:
    started = time.perf_counter()
    course = Course(Path(root or paths.build_dir() / "demo-course"), timeout=timeout, quiet=quiet_nbgrader)
    result = DemoResult(root=course.root, release_path=course.release_nb)

    def step(n: int, text: str) -> None:
        _say(f"[{n}/7] {text} (at {time.perf_counter() - started:.1f} s)")

    step(1, f"nbgrader generate_assignment and release_assignment {ASSIGNMENT}")
    course.generate_and_release()
    step(2, f"writing submissions for {', '.join(STUDENTS)}")
    answer_sets = _answer_sets(nbformat.read(course.root / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
                                             as_version=4))
    for student in STUDENTS:
        course.submit(student, answer_sets.get(student), loop_in=LOOP_QUESTION if student == "looper" else None)
    step(3, f"autograde: python -m autograder grade {ASSIGNMENT} (sandboxed, per-cell time limit {timeout} s)")
    from .grading import batch
    from .grading.sandbox import Limits

    report = batch.grade(course.root, ASSIGNMENT, limits=Limits(cell_timeout=timeout),
                         progress=lambda message: _say(f"      {message}"))
    result.autograde_ok = {s.student: s.status == "graded" for s in report.students}
    result.report = report
    step(4, "nbgrader generate_feedback")
    for student in STUDENTS:
        path = course.feedback(student)
        if path is not None:
            result.feedback[student] = path
    step(5, "export: nbgrader's CSV, Canvas and Moodle CSVs, mastery by topic")
    from .export import export

    result.exports = export(course.root, ASSIGNMENT, course_id=course.course_id)
    result.csv_path = result.exports["nbgrader"]
    step(6, "reading the gradebook")
    result.max_score, result.question_max = course.maxima()
    for student in STUDENTS:
        result.scores[student], result.questions[student] = course.scores(student)
    _say(f"[7/7] done in {time.perf_counter() - started:.1f} s")
    return result


def gradebook_table(result: DemoResult) -> str:
    questions = sorted(result.question_max)
    short = [q.replace("test_", "") for q in questions]
    head = f"{'student':10} {'total':>13}  " + " ".join(f"{s:>6}" for s in short)
    lines = [head, "-" * len(head)]
    lines.append(f"{'(max)':10} {result.max_score:>13g}  " + " ".join(f"{result.question_max[q]:>6g}" for q in questions))
    for student in STUDENTS:
        marks = " ".join(f"{result.questions[student].get(q, 0):>6g}" for q in questions)
        total = f"{result.scores[student]:g} / {result.max_score:g}"
        lines.append(f"{student:10} {total:>13}  {marks}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m autograder demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", help="course folder to (re)create (default data/build/demo-course)")
    parser.add_argument("--timeout", type=int, default=10, help="per-cell time limit in seconds")
    args = parser.parse_args(argv)
    result = run(Path(args.root) if args.root else None, timeout=args.timeout)
    print()
    print(gradebook_table(result))
    print()
    with open(result.csv_path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    print(f"exported {len(rows)} row(s) to {result.csv_path}")
    for kind, path in result.exports.items():
        if kind != "nbgrader":
            print(f"{kind:9} {path}")
    for student, path in result.feedback.items():
        print(f"feedback for {student}: {path}")
    failed = [s for s, ok in result.autograde_ok.items() if not ok]
    if failed:
        print(f"not graded: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0
