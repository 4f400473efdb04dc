"""nbgrader preprocessors that grade coding answers as data, in the grader's own process.

Stock nbgrader decides a test cell's score from what the student's kernel printed, so a
student who controls the kernel controls the score. Here the kernel's output for a coding
question is discarded and replaced:

1. ``ReadCodingAnswers`` runs first in the autograde stage, before any student code: for each
   test cell carrying a ``medcodelab-key`` marker (in its hidden-test region, restored from
   the instructor's copy by nbgrader's OverwriteCells), it parses the student's answer cell as
   data and reads the key.
2. nbgrader's ``Execute`` runs the notebook as usual (timeouts and all).
3. ``ScoreCodingAnswers`` runs after execution: it scores each answer with
   ``medcodelab.scoring`` (the same code as practice feedback) and writes the test cell's
   outputs: the feedback, then the points as the cell's result, which nbgrader records as
   partial credit. It calls ``medcodelab.score``, exactly what practice feedback calls. An answer cell that errored or timed out scores 0, with the reason.
"""

from __future__ import annotations

import re
from pathlib import Path

from nbformat import NotebookNode
from traitlets import Unicode

from nbgrader.preprocessors import NbGraderPreprocessor, OverwriteCells

from . import questions
from .questions import MARKER  # noqa: F401  (the marker's home is questions.py)

RESOURCE = "medcodelab"


_HIDDEN = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS[ \t]*\n?", re.S | re.M)


class OverwriteReleasedCells(OverwriteCells):
    """nbgrader's OverwriteCells, quiet about the one change every submission has.

    A test cell with hidden tests is released without them, so its checksum always differs
    from the instructor's copy and stock nbgrader warns for every cell of every student.
    This warns only when a locked cell differs from what was *released*: a real edit.
    """

    def preprocess_cell(self, cell: NotebookNode, resources: dict, cell_index: int):
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        self._as_released = False
        if grade_id is not None:
            try:
                source = self.gradebook.find_source_cell(grade_id, self.notebook_id, self.assignment_id).source
                self._as_released = _HIDDEN.sub("", source).strip() == cell.source.strip()
            except Exception:  # unknown cell: let nbgrader decide and report
                pass
        return super().preprocess_cell(cell, resources, cell_index)

    def missing_cell_transform(self, source_cell, max_score, is_solution=False, is_task=False):
        cell = super().missing_cell_transform(source_cell, max_score, is_solution=is_solution, is_task=is_task)
        cell["id"] = f"restored-{source_cell.name}".replace("_", "-")  # nbformat 5 wants an id
        return cell

    def report_change(self, name: str, attr: str, old, new) -> None:
        if attr == "checksum" and self._as_released:
            return
        super().report_change(name, attr, old, new)


class ReadCodingAnswers(NbGraderPreprocessor):
    """Before execution: load every question's key and read every answer from the notebook as data."""

    answers_file = Unicode(
        "{notebook}.answers.json",
        help="The file the coding widget saves answers to, beside the notebook; {notebook} is the notebook's name.",
    ).tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        folder = Path(resources.get("metadata", {}).get("path") or ".")
        name = resources.get("unique_key") or resources.get("metadata", {}).get("name") or "notebook"
        student = resources.get("nbgrader", {}).get("student")  # the submission's owner, set by autograde
        resources[RESOURCE] = questions.read(nb, folder, self.answers_file.format(notebook=name), student)
        return nb, resources


class ScoreCodingAnswers(NbGraderPreprocessor):
    """After execution: score each coding answer and write its test cell's outputs."""

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        questions.score(nb, resources.get(RESOURCE, []))
        return nb, resources
