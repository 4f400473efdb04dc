"""``make demo``: an instructor's whole nbgrader cycle, headless, on embedded defaults.

generate_assignment -> release_assignment -> four synthetic submissions -> autograde ->
generate_feedback -> export (CSV), then the gradebook is printed. The four students:

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


def _write_submission(release_nb: Path, target: Path, answers: dict[str, list[str]] | None,
                      loop_in: str | None = None) -> None:
    nb = nbformat.read(release_nb, as_version=4)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
        if answers is not None and grade_id.startswith("answer_"):
            question = grade_id[len("answer_"):]
            cell.source = f"{question} = {json.dumps(answers.get(question, []))}"
            if question == loop_in:
                cell.source += "\nwhile True:  # a student's runaway loop\n    pass"
    target.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, target / release_nb.name)
    (target / "timestamp.txt").write_text(
        dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f %Z"))


def run(root: Path | None = None, timeout: int = 10, quiet_nbgrader: bool = True) -> DemoResult:
    from nbgrader.apps import NbGraderAPI
    from nbgrader.api import Gradebook
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.plugins import CsvExportPlugin

    from .course import course_config

    # nbgrader's gradebook warns on every student's first autograde; harmless (STACK-NOTES)
    warnings.filterwarnings("ignore", message="Object of type <Submitted")
    started = time.perf_counter()
    root = Path(root or paths.build_dir() / "demo-course").resolve()
    if root.exists():
        shutil.rmtree(root)
    (root / "source").mkdir(parents=True)
    shutil.copytree(paths.PROJECT_ROOT / "assignments" / "source" / ASSIGNMENT, root / "source" / ASSIGNMENT)
    config = course_config(root, course_id="medcodelab-demo", exchange=root / "exchange", timeout=timeout)
    if quiet_nbgrader:
        config.Application.log_level = "WARN"
    api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
    result = DemoResult(root=root)

    def step(n: int, text: str) -> None:
        _say(f"[{n}/7] {text} ({time.perf_counter() - started:.1f} s)")

    step(1, f"nbgrader generate_assignment {ASSIGNMENT}")
    out = api.generate_assignment(ASSIGNMENT)
    if not out["success"]:
        raise RuntimeError(f"generate_assignment failed:\n{out['log']}\n{out.get('error', '')}")
    step(2, f"nbgrader release_assignment {ASSIGNMENT}")
    out = api.release_assignment(ASSIGNMENT)
    if not out["success"]:
        raise RuntimeError(f"release_assignment failed:\n{out['log']}\n{out.get('error', '')}")
    release_nb = root / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    result.release_path = release_nb

    step(3, f"writing submissions for {', '.join(STUDENTS)}")
    answer_sets = _answer_sets(nbformat.read(root / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4))
    for student in STUDENTS:
        _write_submission(release_nb, root / "submitted" / student / ASSIGNMENT, answer_sets.get(student),
                          loop_in=LOOP_QUESTION if student == "looper" else None)

    step(4, f"nbgrader autograde (per-cell time limit {timeout} s)")
    for student in STUDENTS:
        t0 = time.perf_counter()
        out = api.autograde(ASSIGNMENT, student)
        result.autograde_ok[student] = bool(out["success"])
        status = "graded" if out["success"] else f"FAILED: {out.get('error') or out['log'][-400:]}"
        _say(f"      {student:10} {status} ({time.perf_counter() - t0:.1f} s)")

    step(5, "nbgrader generate_feedback")
    for student in STUDENTS:
        out = api.generate_feedback(ASSIGNMENT, student)
        if out["success"]:
            result.feedback[student] = root / "feedback" / student / ASSIGNMENT / f"{ASSIGNMENT}.html"

    step(6, "nbgrader export (CSV)")
    result.csv_path = root / "grades.csv"
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", "medcodelab-demo") as gb:
        CsvExportPlugin(to=str(result.csv_path)).export(gb)
        assignment = gb.find_assignment(ASSIGNMENT)
        result.max_score = assignment.max_score
        for notebook in assignment.notebooks:
            for cell in notebook.grade_cells:
                result.question_max[cell.name] = cell.max_score
        for student in STUDENTS:
            submission = gb.find_submission(ASSIGNMENT, student)
            result.scores[student] = submission.score
            result.questions[student] = {
                grade.name: grade.score for nb_sub in submission.notebooks for grade in nb_sub.grades
            }

    step(7, f"done in {time.perf_counter() - started:.1f} s")
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
    for student, path in result.feedback.items():
        print(f"feedback for {student}: {path}")
    failed = [s for s, ok in result.autograde_ok.items() if not ok]
    if failed:
        print(f"not graded: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0
