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

from nbformat import NotebookNode, v4
from traitlets import Unicode

from nbgrader.preprocessors import NbGraderPreprocessor, OverwriteCells

from medcodelab import answers, api
from medcodelab.scoring.extract import extract

from . import keys

MARKER = re.compile(r"#\s*medcodelab-key:\s*answer=(?P<answer>\w+)\s+case=(?P<case>[\w.-]+)"
                    r"(?:\s+sha256=(?P<digest>[0-9a-f]{16}))?")
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


def _is_grade_test(cell: NotebookNode) -> bool:
    meta = cell.metadata.get("nbgrader", {})
    return cell.cell_type == "code" and meta.get("grade", False) and not meta.get("solution", False)


def _answer_cells(nb: NotebookNode) -> dict[str, NotebookNode]:
    """Solution cells by grade id (the answer cell for question ``enc_01`` is ``answer_enc_01``)."""
    found: dict[str, NotebookNode] = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("solution") and meta.get("grade_id"):
            found.setdefault(meta["grade_id"], cell)
    return found


class ReadCodingAnswers(NbGraderPreprocessor):
    """Before execution: read every coding answer from the notebook as data."""

    answers_file = Unicode(
        "{notebook}.answers.json",
        help="The file the coding widget saves answers to, beside the notebook; {notebook} is the notebook's name.",
    ).tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        folder = Path(resources.get("metadata", {}).get("path") or ".")
        name = resources.get("unique_key") or resources.get("metadata", {}).get("name") or "notebook"
        saved_path = folder / self.answers_file.format(notebook=name)
        cells = _answer_cells(nb)
        questions: dict[str, dict] = {}
        for cell in nb.cells:
            if not _is_grade_test(cell):
                continue
            match = MARKER.search(cell.source)
            if not match:
                continue
            grade_id = cell.metadata["nbgrader"]["grade_id"]
            question = match["answer"]
            # the key is loaded now, before any student code runs, and checked against the digest
            # the instructor's copy of the notebook carries
            case = keys.load(match["case"], match["digest"])
            entry = {"question": question, "case": case, "codes": None, "problem": None}
            answer_cell = cells.get(f"answer_{question}")
            if answer_cell is None:
                entry["problem"] = f"the answer cell for {question} is missing from the notebook"
            else:
                got = extract(answer_cell.source, question)
                entry["codes"], entry["problem"] = got.codes, got.problem
                if got.from_file is not None:
                    entry["codes"], entry["problem"] = self._from_file(saved_path, got.from_file)
            questions[grade_id] = entry
        resources[RESOURCE] = {"questions": questions}
        return nb, resources

    def _from_file(self, path: Path, question: str) -> tuple[list[str] | None, str | None]:
        if not path.exists() and not path.is_symlink():
            return None, f"saved(\"{question}\") was used, but {path.name} was not submitted"
        try:
            saved = answers.read_strict(path)
        except (answers.Unreadable, OSError) as exc:
            return None, f"the saved answers could not be read: {exc}"
        if question not in saved:
            return None, f"nothing is saved for {question} in {path.name}"
        return saved[question], None


class ScoreCodingAnswers(NbGraderPreprocessor):
    """After execution: score each coding answer and write its test cell's outputs."""

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        questions = resources.get(RESOURCE, {}).get("questions", {})
        cells = _answer_cells(nb)
        for cell in nb.cells:
            if not _is_grade_test(cell):
                continue
            entry = questions.get(cell.metadata["nbgrader"]["grade_id"])
            if entry is None:
                continue
            points = float(cell.metadata["nbgrader"]["points"])
            answer_cell = cells.get(f"answer_{entry['question']}")
            failure = _execution_failure(answer_cell) if answer_cell is not None else None
            if entry["problem"] or failure:
                reason = entry["problem"] or failure
                reason = reason[:1].upper() + reason[1:]
                cell.outputs = [_display(f"0 of {points:g} points. {reason}",
                                         f"<p><b>0 of {points:g} points.</b> {_escape(reason)}</p>"),
                                _result(0.0)]
                continue
            score = api.score(entry["codes"], entry["case"])  # the same call practice feedback makes
            earned = round(points * score.fraction, 2)
            cell.outputs = [_display(f"{earned:g} of {points:g} points\n{score.as_text(summary=False)}",
                                     f"<p><b>{earned:g} of {points:g} points</b></p>{score.as_html(summary=False)}"),
                            _result(earned)]
        return nb, resources


def _execution_failure(cell: NotebookNode) -> str | None:
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            name = output.get("ename", "Error")
            if name in {"CellTimeoutError", "KeyboardInterrupt"}:
                return ("the answer cell did not finish running before the time limit, so it could not be "
                        "graded; remove any long-running code from it")
            return f"the answer cell stopped with {name}: {output.get('evalue', '')}; fix it so it runs cleanly"
    return None


def _escape(text: str) -> str:
    from html import escape

    return escape(text)


def _display(text: str, html: str) -> NotebookNode:
    return v4.new_output("display_data", data={"text/plain": text, "text/html": html})


def _result(points: float) -> NotebookNode:
    return v4.new_output("execute_result", data={"text/plain": f"{points:g}"}, execution_count=None)
