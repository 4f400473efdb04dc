"""Record a graded notebook exactly where nbgrader keeps it, so nbgrader's own tools work on.

The autograded notebook goes to ``autograded/<student>/<assignment>/`` beside a copy of the
submission's other files, and scores go into the gradebook through nbgrader's own
``SaveAutoGrades`` and ``AssignLatePenalties``: formgrader, ``generate_feedback``,
``export`` and late penalties see what a stock ``nbgrader autograde`` would have left.
Manual scores and extra credit an instructor entered are kept (nbgrader's rule), and a
notebook that could not be graded is flagged for manual grading with the reason, never
left silently empty or zeroed.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import nbformat
from nbformat import NotebookNode
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import AssignLatePenalties, SaveAutoGrades
from traitlets.config import Config


def source_cells(db_url: str, course_id: str, assignment: str, notebook: str) -> dict[str, str]:
    """The instructor's cells as the gradebook holds them (with hidden tests), by grade id."""
    with Gradebook(db_url, course_id) as gb:
        return {cell.name: cell.source for cell in gb.find_notebook(notebook, assignment).source_cells}


def previous_score(db_url: str, course_id: str, assignment: str, student: str) -> tuple[float, float] | None:
    with Gradebook(db_url, course_id) as gb:
        try:
            submission = gb.find_submission(assignment, student)
        except MissingEntry:
            return None
        if all(g.auto_score is None and g.manual_score is None for nb in submission.notebooks for g in nb.grades):
            return None
        return submission.score, submission.max_score


def save(config: Config, db_url: str, course_id: str, assignment: str, student: str, notebook: str,
         nb: NotebookNode, timestamp: dt.datetime | None, submitted: Path, autograded: Path) -> None:
    """Write the autograded notebook and its scores, the way nbgrader autograde does."""
    if autograded.exists():
        shutil.rmtree(autograded)
    autograded.mkdir(parents=True)
    for path in submitted.iterdir():
        if path.is_file() and not path.is_symlink() and path.suffix != ".ipynb":
            shutil.copyfile(path, autograded / path.name)
    nbformat.write(nb, autograded / f"{notebook}.ipynb")
    with Gradebook(db_url, course_id) as gb:
        gb.update_or_create_student(student)
        gb.update_or_create_submission(assignment, student, timestamp=timestamp)
    resources = {"nbgrader": {"notebook": notebook, "assignment": assignment, "student": student, "db_url": db_url}}
    SaveAutoGrades(config=config).preprocess(nb, resources)
    AssignLatePenalties(config=config).preprocess(nb, resources)


def flag_ungraded(db_url: str, course_id: str, assignment: str, student: str, notebook: str,
                  timestamp: dt.datetime | None, reason: str) -> None:
    """A submission that could not be graded: it appears in the gradebook, needing a person."""
    with Gradebook(db_url, course_id) as gb:
        gb.update_or_create_student(student)
        submission = gb.update_or_create_submission(assignment, student, timestamp=timestamp)
        for nb in submission.notebooks:
            if nb.name != notebook:
                continue
            for grade in nb.grades:
                grade.auto_score = None
                grade.needs_manual_grade = True
            for comment in nb.comments:
                comment.auto_comment = f"Not graded automatically: {reason}"
        gb.db.commit()
