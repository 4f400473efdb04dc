"""Helpers an assignment notebook calls in the student's kernel.

They help the student but never grade: the key is not in the student's environment, and the
grader reads answers from the notebook as data in its own process. ``check_answer`` reads the
answer the same way the grader will (from the source of the cell that assigned it), so a
check that passes means the grader can read the answer, and a problem it reports is one the
grader would find.
"""

from __future__ import annotations

import os
from pathlib import Path

from . import answers, db
from .scoring.extract import assigns, extract

_ANSWERS_FILE: list[Path | None] = [None]


def use_answers_file(path: str | Path) -> Path:
    """Say which file this notebook's saved answers live in (set once at the top)."""
    _ANSWERS_FILE[0] = Path(path)
    return _ANSWERS_FILE[0]


def saved(question: str) -> list[str]:
    """The codes saved for ``question`` by the answer pad (empty until you save)."""
    return answers.load(question, _ANSWERS_FILE[0])


def _answer_source(question: str) -> str | None:
    """The source of the most recent cell the student ran that assigns ``question``."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - always there in a kernel
        return None
    shell = get_ipython()
    if shell is None:
        return None
    for source in reversed(shell.history_manager.input_hist_raw):
        if assigns(source, question):
            return source
    return None


def _read(question: str) -> tuple[list[str] | None, str | None]:
    """The codes the grader would read for ``question``, or why it could not read any."""
    source = _answer_source(question)
    if source is None:
        return None, f"no cell you ran assigns `{question}`: write `{question} = [\"A00.0\", ...]` and run it"
    got = extract(source, question)
    if got.from_file is not None:
        try:
            return answers.load(got.from_file, _ANSWERS_FILE[0]), None
        except ValueError as exc:
            return None, str(exc)
    return got.codes, got.problem


def check_answer(question: str, date_of_service: str | None = None) -> None:
    """Check an answer's form the way the grader reads it; says nothing about the key.

    Prints each code's status. Under ``nbgrader validate`` a problem also fails the cell, so
    validation reports it; in a normal run it does not, so *Run All* goes on to the next
    question.
    """
    if isinstance(question, str):
        codes, problem = _read(question)
    else:
        raise TypeError("check_answer takes the question's name, e.g. check_answer(\"enc_01\")")
    lines: list[str] = []
    problems = 0
    if problem:
        lines.append(f"⚠ the grader cannot read this answer: {problem}")
        problems += 1
    elif not codes:
        lines.append("⚠ no codes yet: list the codes for this encounter, first-listed first")
        problems += 1
    else:
        try:
            from .codes import check
            for code in codes:
                result = check(code, date_of_service=date_of_service)
                ok = result["status"] == "billable"
                problems += not ok
                lines.append(("ok  " if ok else "⚠   ") + f"{result['code'] or result['input']}: "
                             + (result["description"] if ok else result["message"]))
        except db.DataNotBuilt:
            lines.append("(the code set is not built here, so the codes were not checked)")
        if problems:
            lines.append(f"{problems} entr{'y' if problems == 1 else 'ies'} above would not be accepted on a claim")
        else:
            lines.append("every code is billable; the grader compares them with the note's key")
    print("\n".join(lines))
    if problems and os.environ.get("NBGRADER_EXECUTION") == "validate":
        raise AssertionError("\n".join(lines))
