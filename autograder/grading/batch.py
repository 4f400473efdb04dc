"""``python -m autograder grade ASSIGNMENT``: grade every submission, in parallel, in one process.

For each submission, a pipeline of named steps:
    read        the submitted notebook, defensively (size, JSON, shape)
    assemble    the notebook to run: instructor cells restored, answers and the student's cells kept
    questions   each key loaded and checked, each answer read as data: before any student code runs
    execute     the notebook in a sandboxed kernel, with time, memory and output limits; skipped
                when the submission holds nothing but data (answers written as literals), which
                running could not change (--always-execute runs it anyway)
    score       each question with medcodelab.score; the test cells' outputs written by the grader
    record      the autograded notebook and the gradebook, through nbgrader's own steps
Up to ``jobs`` submissions run at once. Whatever happens to one submission is caught, reported
and flagged in the gradebook; it never stops the others, and a grade already recorded is kept
when a regrade cannot be done. The report lists every student.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sys
import time
import traceback
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import nbformat
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.utils import parse_utc
from traitlets.config import Config

from medcodelab import paths
from medcodelab.scoring.extract import is_plain_data

from .. import keys, questions, tasks
from . import assemble, execute, record
from .report import GRADED, KEPT, NOT_GRADED, NOT_SUBMITTED, Report, StudentResult
from .sandbox import Limits, Sandbox


class GradingError(RuntimeError):
    """The run cannot start (no release, unknown assignment, a key that changed); says what to do."""


@dataclass
class CourseInfo:
    root: Path
    course_id: str
    config: Config
    answers_file: str = "{notebook}.answers.json"

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.root / 'gradebook.db'}"

    @staticmethod
    def load(root: Path) -> "CourseInfo":
        """The course whose nbgrader_config.py is in ``root`` (or this lab's defaults)."""
        from traitlets.config.loader import PyFileConfigLoader

        from ..course import course_config

        root = Path(root).resolve()
        config_file = root / "nbgrader_config.py"
        if config_file.exists():
            config = PyFileConfigLoader(config_file.name, path=str(root)).load_config()
        else:
            config = course_config(root)
        config.CourseDirectory.root = str(root)
        course_id = config.CourseDirectory.get("course_id") or "medcodelab"
        answers_file = config.ReadCodingAnswers.get("answers_file", "{notebook}.answers.json")
        return CourseInfo(root, course_id, config, answers_file)


def _timestamp(folder: Path) -> tuple[dt.datetime | None, str | None]:
    path = folder / "timestamp.txt"
    if not path.exists():
        return None, None
    try:
        return parse_utc(path.read_text(encoding="utf-8", errors="replace").strip()[:100]), None
    except Exception:
        return None, "timestamp.txt could not be read as a time; the submission was treated as on time"


def discover(course: CourseInfo, assignment: str, only: list[str] | None) -> list[tuple[str, Path]]:
    """(student id, submission folder) for every submission, read without globbing the ids."""
    submitted = course.root / "submitted"
    found = []
    if submitted.is_dir():
        for entry in sorted(os.scandir(submitted), key=lambda e: e.name):
            folder = Path(entry.path) / assignment
            if entry.is_dir(follow_symlinks=False) and folder.is_dir() and not folder.is_symlink():
                found.append((entry.name, folder))
    if only:
        wanted = set(only)
        missing = wanted - {s for s, _ in found}
        found = [(s, f) for s, f in found if s in wanted]
        found += [(s, submitted / s / assignment) for s in sorted(missing)]
    return found


def _has_code_to_run(nb: nbformat.NotebookNode) -> bool:
    """Does the submission hold student code beyond data (answers written as literals)?

    Instructor cells never count: they are the instructor's own code. Answer cells and cells the
    student added count unless they are plain data (see ``is_plain_data``).
    """
    for cell in nb.cells:
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("locked") and not meta.get("solution"):
            continue
        if not is_plain_data(cell.source):
            return True
    return False


class Grader:
    def __init__(self, course: CourseInfo, assignment: str, jobs: int, limits: Limits, isolate: bool = True,
                 progress: Callable[[str], None] = print, always_execute: bool = False) -> None:
        self.course, self.assignment, self.limits, self.progress = course, assignment, limits, progress
        self.always_execute = always_execute
        self.jobs = max(1, jobs)
        release = course.root / "release" / assignment
        if not release.is_dir():
            raise GradingError(f"no release of {assignment!r} in {course.root}: run "
                               f"`nbgrader generate_assignment {assignment}` first")
        self.notebooks = {p.stem: nbformat.read(p, as_version=4) for p in sorted(release.glob("*.ipynb"))}
        try:
            self.sources = {name: record.source_cells(course.db_url, course.course_id, assignment, name)
                            for name in self.notebooks}
        except MissingEntry:
            raise GradingError(f"{assignment!r} is not in the gradebook: run "
                               f"`nbgrader generate_assignment {assignment}` first") from None
        self._check_keys()
        os.environ.setdefault("MEDCODELAB_DB", str(paths.db_path()))  # the kernels' code-set database
        hidden = [course.root, paths.assessment_cases_dir(), tasks.tasks_dir(),
                  Path(course.config.Exchange.get("root", "/nonexistent"))]
        self.sandbox = Sandbox(self.jobs, limits, hide=hidden, isolate=isolate)
        self.lock = asyncio.Lock()

    def _check_keys(self) -> None:
        """Every key the assignment names must match its digest before anyone is graded."""
        for name, cells in self.sources.items():
            for source in cells.values():
                match = questions.MARKER.search(source)
                if match:
                    try:
                        key = questions.load_marked(match)
                        if isinstance(key, tasks.Task):
                            key.check()
                    except (keys.KeyError_, Exception) as exc:
                        raise GradingError(f"cannot grade {self.assignment}: {exc}") from None

    async def grade_all(self, students: list[tuple[str, Path]]) -> Report:
        report = Report(self.assignment, dt.datetime.now().isoformat(timespec="seconds"), self.sandbox.describe(),
                        self.jobs, self.limits.cell_timeout)
        started = time.perf_counter()
        slots: asyncio.Queue[int] = asyncio.Queue()
        for slot in range(self.jobs):
            slots.put_nowait(slot)
        done = 0

        async def one(student: str, folder: Path) -> StudentResult:
            nonlocal done
            slot = await slots.get()
            try:
                result = await self.grade_one(student, folder, slot)
            finally:
                slots.put_nowait(slot)
            done += 1
            score = "" if result.score is None else f" {result.score:g}/{result.max_score:g}"
            self.progress(f"[{done}/{len(students)}] {student}: {result.status}{score}"
                          + (f" ({result.reason})" if result.reason else "") + f" ({result.seconds:.1f} s)")
            return result

        try:
            report.students = list(await asyncio.gather(*(one(s, f) for s, f in students)))
        finally:
            self.sandbox.close()
        report.seconds = time.perf_counter() - started
        return report

    async def grade_one(self, student: str, folder: Path, slot: int) -> StudentResult:
        result = StudentResult(student)
        started = time.perf_counter()
        try:
            await self._grade(student, folder, slot, result)
        except Exception as exc:  # never let one submission stop the batch
            result.status, result.reason = NOT_GRADED, f"grader error: {exc.__class__.__name__}: {exc}"
            result.notes.append(traceback.format_exc(limit=3).strip().splitlines()[-1])
        if result.status != GRADED:
            await self._keep_or_flag(student, folder, result)
        result.seconds = time.perf_counter() - started
        return result

    async def _grade(self, student: str, folder: Path, slot: int, result: StudentResult) -> None:
        timestamp, note = _timestamp(folder)
        if note:
            result.notes.append(note)
        total = possible = 0.0
        for name, release_nb in self.notebooks.items():
            path = folder / f"{name}.ipynb"
            if not path.exists():
                result.reason = f"{name}.ipynb was not submitted"
                return
            try:
                submitted = assemble.read_submission(path, self.limits.notebook_bytes)                 # read
            except assemble.Unreadable as exc:
                result.reason = str(exc)
                return
            built = assemble.assemble(release_nb, self.sources[name], submitted)                      # assemble
            result.notes += built.notes
            nb = built.nb
            answers_file = self.course.answers_file.format(notebook=name)
            found = questions.read(nb, folder, answers_file, student)                                 # questions
            for q in found:
                result.notes += [f"{q.variable}: {n}" for n in q.notes]
            if self.always_execute or _has_code_to_run(nb):                                           # execute
                workdir = self.sandbox.fresh_workdir(slot, [p for p in folder.iterdir() if p.suffix != ".ipynb"])
                run = await execute.run_notebook(nb, self.sandbox, slot, workdir)
                result.notes += run.events
                result.ran = "kernel"
            else:  # nothing but data: running it could change nothing, so no kernel is started
                result.ran = "data only"
            questions.score(nb, found)                                                                 # score
            result.notes += [f"{q.variable}: scored 0: {q.reason}" for q in found if q.reason]
            nb.cells.append(questions.mastery_cell(found))
            async with self.lock:                                                                      # record
                await asyncio.get_running_loop().run_in_executor(None, lambda: record.save(
                    self.course.config, self.course.db_url, self.course.course_id, self.assignment, student, name,
                    nb, timestamp, folder, self.course.root / "autograded" / student / self.assignment))
            for q in found:
                result.questions[q.variable] = q.earned
                total += q.earned
                possible += q.points
        result.status = GRADED
        with Gradebook(self.course.db_url, self.course.course_id) as gb:
            submission = gb.find_submission(self.assignment, student)
            result.score, result.max_score = submission.score, submission.max_score

    async def _keep_or_flag(self, student: str, folder: Path, result: StudentResult) -> None:
        previous = record.previous_score(self.course.db_url, self.course.course_id, self.assignment, student)
        if previous is not None:
            result.status = KEPT
            result.score, result.max_score = previous
            return
        timestamp, _ = _timestamp(folder)
        async with self.lock:
            for name in self.notebooks:
                try:
                    record.flag_ungraded(self.course.db_url, self.course.course_id, self.assignment, student, name,
                                         timestamp, result.reason or "unknown")
                except Exception as exc:  # the report still names the student
                    result.notes.append(f"could not flag in the gradebook: {exc}")


def _enrolled(course: CourseInfo) -> list[str]:
    """The students in the course's gradebook (none if it cannot be read)."""
    try:
        with Gradebook(course.db_url, course.course_id) as gb:
            return sorted(s.id for s in gb.students)
    except Exception:  # a report without the roster beats no report
        return []


def grade(course_root: Path, assignment: str, jobs: int | None = None, students: list[str] | None = None,
          limits: Limits | None = None, isolate: bool = True, progress: Callable[[str], None] = print,
          always_execute: bool = False) -> Report:
    """Grade every (or the named) submission of ``assignment``; writes and returns the report."""
    # nbgrader's gradebook warns (SAWarning) on each student's first submission; it is harmless
    warnings.filterwarnings("ignore", message="Object of type <Submitted")
    course = CourseInfo.load(course_root)
    limits = limits or Limits(cell_timeout=float(course.config.Execute.get("timeout", 30)))
    grader = Grader(course, assignment, jobs or os.cpu_count() or 1, limits, isolate=isolate, progress=progress,
                    always_execute=always_execute)
    found = discover(course, assignment, students)
    if not found:
        progress(f"no submissions of {assignment} in {course.root / 'submitted'}")
    report = asyncio.run(grader.grade_all(found))
    if not students:  # the report names everyone enrolled, submitted or not
        submitted = {s.student for s in report.students}
        for student in _enrolled(course):
            if student not in submitted:
                report.students.append(StudentResult(student, NOT_SUBMITTED,
                                                     reason=f"enrolled, but nothing in submitted/{student}/{assignment}"))
    as_json, as_md = report.write(course.root / "reports" / assignment)
    progress(report.summary())
    progress(f"report: {as_md}")
    return report


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m autograder grade", description=__doc__.split("\n\n")[0])
    parser.add_argument("assignment")
    parser.add_argument("--course", default=str(paths.PROJECT_ROOT / "assignments"), help="the nbgrader course folder")
    parser.add_argument("--jobs", type=int, default=None, help="submissions graded at once (default: all cores)")
    parser.add_argument("--student", action="append", help="grade only this student (repeatable)")
    parser.add_argument("--timeout", type=float, help="seconds a cell may run (default: the course's Execute.timeout)")
    parser.add_argument("--memory", type=int, help="memory per kernel, in MB")
    parser.add_argument("--no-sandbox", action="store_true", help="run kernels without bubblewrap (not recommended)")
    parser.add_argument("--always-execute", action="store_true",
                        help="start a kernel for every submission, even one holding nothing but data")
    args = parser.parse_args(argv)
    course = CourseInfo.load(Path(args.course))
    limits = Limits(cell_timeout=args.timeout or float(course.config.Execute.get("timeout", 30)),
                    **({"memory": args.memory << 20} if args.memory else {}))
    try:
        report = grade(Path(args.course), args.assignment, args.jobs, args.student, limits, not args.no_sandbox,
                       always_execute=args.always_execute)
    except GradingError as exc:
        print(f"grading did not start: {exc}", file=sys.stderr)
        return 2
    return 0 if not report.problems else 1
