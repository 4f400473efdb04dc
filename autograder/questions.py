"""Coding questions in a notebook: find them, read their answers as data, score them.

One implementation serves both ways of grading: the nbgrader preprocessors (``nbgrader
autograde``) and the batch grader (``python -m autograder grade``).

A question is a test cell whose instructor-written hidden region carries a marker::

    # medcodelab-key: answer=enc_01 case=as-001 sha256=0123456789abcdef

The answer is the value the student's notebook assigns to ``enc_01``, read from source as
data: the last top-level assignment in notebook order (as Python itself would leave it), in
any code cell, so a duplicated, moved or metadata-stripped answer cell is still found.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

from nbformat import NotebookNode, v4

from medcodelab import answers, api
from medcodelab.cases.model import Encounter
from medcodelab.scoring.diagnoses import Score
from medcodelab.scoring.extract import assigns, extract

from . import keys, tasks
from .tasks import Task

MARKER = re.compile(r"#\s*medcodelab-key:\s*answer=(?P<answer>\w+)\s+(?P<kind>case|task)=(?P<case>[\w.-]+)"
                    r"(?:\s+sha256=(?P<digest>[0-9a-f]{16}))?(?:\s+variant=(?P<variant>[0-9a-f]{16}))?"
                    r"(?:\s+per=(?P<per>student))?(?:\s+system=(?P<system>icd11))?")


@dataclass
class Question:
    grade_id: str  # the test cell's grade id
    variable: str  # the answer variable, e.g. enc_01
    case: Encounter | Task  # an encounter to code, or a task (fix a claim, answer in SQL)
    points: float
    codes: list[str] | None = None
    answer: object = None  # a task's answer, read as data
    system: str = "icd10cm"  # the code system an encounter is coded in (icd10cm or icd11)
    problem: str | None = None
    answer_cell: int | None = None  # index of the cell the answer was read from
    notes: list[str] = field(default_factory=list)  # things the instructor may want to know
    earned: float = 0.0
    score: Score | None = None
    reason: str | None = None  # why it scored 0 without being scored


def is_grade_test(cell: NotebookNode) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return cell.get("cell_type") == "code" and meta.get("grade", False) and not meta.get("solution", False)


def find(nb: NotebookNode) -> list[tuple[int, re.Match]]:
    """(cell index, marker) for every coding question in a notebook whose test cells are trusted."""
    return [(i, m) for i, cell in enumerate(nb.cells) if is_grade_test(cell)
            for m in [MARKER.search(cell.source)] if m]


def _answer_cell(nb: NotebookNode, variable: str) -> tuple[int | None, int]:
    """The last code cell assigning ``variable`` at top level, and how many cells assign it."""
    found = [i for i, cell in enumerate(nb.cells)
             if cell.get("cell_type") == "code" and not is_grade_test(cell) and assigns(cell.source, variable)]
    return (found[-1] if found else None), len(found)


def read(nb: NotebookNode, folder: Path, answers_file: str, student: str | None = None) -> list[Question]:
    """Before any student code runs: each question's key (digest checked) and answer (as data).
    ``student`` is the submission's owner: a question marked ``per=student`` is graded against
    that student's own variant."""
    questions = []
    for index, match in find(nb):
        cell = nb.cells[index]
        meta = cell.metadata["nbgrader"]
        # the key is loaded now and checked against the digest the instructor's copy carries
        case = load_marked(match, student=student)
        question = Question(meta["grade_id"], match["answer"], case, float(meta["points"]),
                            system=match["system"] or "icd10cm")
        answer_index, count = _answer_cell(nb, question.variable)
        if answer_index is None:
            question.problem = f"no cell assigns `{question.variable}`; the answer cell is missing"
        else:
            question.answer_cell = answer_index
            if count > 1:
                question.notes.append(f"`{question.variable}` is assigned in {count} cells; the last one was graded")
            if isinstance(case, Task):
                question.answer, question.problem = case.read_answer(nb.cells[answer_index].source, question.variable)
                questions.append(question)
                continue
            got = extract(nb.cells[answer_index].source, question.variable)
            question.codes, question.problem = got.codes, got.problem
            if got.from_file is not None:
                question.codes, question.problem = _from_file(folder / answers_file, got.from_file)
        questions.append(question)
    return questions


def load_marked(match: re.Match, check_digest: bool = True, student: str | None = None) -> Encounter | Task:
    """What a marker grades: an encounter's key, or a task (digest checked unless told not to).
    A per-student question needs the submission's owner; without one its default variant is read."""
    digest = match["digest"] if check_digest else None
    if match["kind"] == "task":
        return tasks.load(match["case"], digest)
    return keys.load(match["case"], digest, match["variant"], student if match["per"] else None)


def _from_file(path: Path, question: str) -> tuple[list[str] | None, str | None]:
    if not path.exists() and not path.is_symlink():
        return None, f"saved(\"{question}\") was used, but {path.name} was not submitted"
    try:
        saved = answers.read_strict(path)
    except (answers.Unreadable, OSError) as exc:
        return None, f"the saved answers could not be read: {exc}"
    if question not in saved:
        return None, f"nothing is saved for {question} in {path.name}"
    return saved[question], None


def execution_failure(cell: NotebookNode) -> str | None:
    """Why an executed cell did not run cleanly, in words for the student, or None."""
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            name = output.get("ename", "Error")
            if name in {"CellTimeoutError", "KeyboardInterrupt", "CellStopped"}:
                return (output.get("evalue") or "the answer cell did not finish running before the time limit") + \
                    "; remove any long-running code from it"
            if name == "DeadKernelError":
                return "the answer cell stopped the notebook's kernel (" + output.get("evalue", "") + ")"
            return f"the answer cell stopped with {name}: {output.get('evalue', '')}; fix it so it runs cleanly"
    return None


def score(nb: NotebookNode, questions: list[Question]) -> None:
    """After execution: score each question and write its test cell's outputs (feedback, points)."""
    cells_by_id = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells if is_grade_test(c)}
    for question in questions:
        cell = cells_by_id[question.grade_id]
        failure = execution_failure(nb.cells[question.answer_cell]) if question.answer_cell is not None else None
        reason = question.problem or failure
        if reason:
            question.reason = reason[:1].upper() + reason[1:]
            question.earned = 0.0
            cell.outputs = [_display(f"0 of {question.points:g} points. {question.reason}",
                                     f"<p><b>0 of {question.points:g} points.</b> {escape(question.reason)}</p>"),
                            _result(0.0)]
            continue
        if isinstance(question.case, Task):
            question.score = question.case.score(question.answer)  # the library's scorer, as in practice
        else:
            # the same call practice feedback makes
            question.score = api.score(question.codes, question.case, system=question.system)
        question.earned = round(question.points * question.score.fraction, 2)
        cell.outputs = [_display(f"{question.earned:g} of {question.points:g} points\n"
                                 f"{question.score.as_text(summary=False)}",
                                 f"<p><b>{question.earned:g} of {question.points:g} points</b></p>"
                                 f"{question.score.as_html(summary=False)}"),
                        _result(question.earned)]


def mastery(questions: list[Question]) -> dict[str, tuple[float, float]]:
    """Points earned and possible by topic (a question counts toward each of its topics)."""
    table: dict[str, list[float]] = {}
    for question in questions:
        for topic in question.case.topics or ["untagged"]:
            earned, possible = table.setdefault(topic, [0.0, 0.0])
            table[topic] = [earned + question.earned, possible + question.points]
    return {topic: (e, p) for topic, (e, p) in sorted(table.items())}


def mastery_cell(questions: list[Question]) -> NotebookNode:
    """A closing markdown cell: how the student did on each topic, and what to reread."""
    rows = []
    for topic, (earned, possible) in mastery(questions).items():
        share = earned / possible if possible else 0.0
        rows.append(f"| {topic} | {earned:g} / {possible:g} | {share:.0%} | "
                    f"{'well done' if share >= 0.85 else 'review this topic' if share < 0.6 else 'nearly there'} |")
    guidelines = sorted({k.guideline for q in questions if q.score and isinstance(q.case, Encounter)
                         for v in q.score.verdicts if v.verdict in ("missing", "partial", "sequencing")
                         for k in q.case.diagnoses if k.code == v.key and k.guideline}
                        | {g for q in questions if isinstance(q.case, Task)
                           for g in q.case.feedback_guidelines(q.score.fraction if q.score else 0.0)})
    reread = ("\n\n**Guidelines to reread:** " + "; ".join(guidelines)) if guidelines else ""
    return v4.new_markdown_cell(
        "## Your results by topic\n\n| topic | points | share | |\n|---|---|---|---|\n" + "\n".join(rows) + reread,
        metadata={"medcodelab": {"role": "mastery"}})


def _display(text: str, html: str) -> NotebookNode:
    return v4.new_output("display_data", data={"text/plain": text, "text/html": html})


def _result(points: float) -> NotebookNode:
    return v4.new_output("execute_result", data={"text/plain": f"{points:g}"}, execution_count=None)
