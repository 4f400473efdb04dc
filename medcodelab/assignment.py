"""Helpers an assignment notebook calls in the student's kernel.

They help the student (is each code well formed and billable?) but never grade: the key is
not in the student's environment, and the grader reads answers from the notebook as data in
its own process.
"""

from __future__ import annotations

from pathlib import Path

from . import answers, db

_ANSWERS_FILE: list[Path | None] = [None]


def use_answers_file(path: str | Path) -> Path:
    """Say which file this notebook's saved answers live in (set once at the top)."""
    _ANSWERS_FILE[0] = Path(path)
    return _ANSWERS_FILE[0]


def saved(question: str) -> list[str]:
    """The codes saved for ``question`` by the coding widget (empty until you save)."""
    return answers.load(question, _ANSWERS_FILE[0])


class AnswerCheck:
    """What ``check_answer`` found; shows as a short list in the notebook."""

    def __init__(self, lines: list[str], problems: int) -> None:
        self.lines = lines
        self.problems = problems

    def __repr__(self) -> str:
        return "\n".join(self.lines)


def check_answer(codes: object, date_of_service: str | None = None) -> AnswerCheck:
    """Check the form of an answer: a list of billable codes. Says nothing about the key.

    Raises ``AssertionError`` (so ``nbgrader validate`` flags it) when the answer is empty,
    not a list of strings, or holds an entry that is not a billable code; otherwise lists
    each code with its title.
    """
    if isinstance(codes, str):
        raise AssertionError("write the codes as a list, e.g. [\"E11.9\", \"I10\"], not one string")
    if not isinstance(codes, (list, tuple)):
        raise AssertionError(f"expected a list of codes, got {type(codes).__name__}")
    if not codes:
        raise AssertionError("no codes yet: list the codes for this encounter, first-listed first")
    lines, problems = [], 0
    try:
        from .codes import check
        for code in codes:
            result = check(code, date_of_service=date_of_service)
            ok = result["status"] == "billable"
            problems += not ok
            mark = "ok " if ok else "!! "
            lines.append(f"{mark}{result['code'] or result['input']}: "
                         + (result["description"] if ok else result["message"]))
    except db.DataNotBuilt:
        lines.append("(the code set is not built here, so codes were not checked)")
    if problems:
        lines.append(f"{problems} entr{'y' if problems == 1 else 'ies'} above would not be accepted on a claim")
        raise AssertionError("\n".join(lines))
    else:
        lines.append("every code is billable; the grader compares them with the note's key")
    return AnswerCheck(lines, problems)
