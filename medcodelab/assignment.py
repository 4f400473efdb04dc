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


def check_answer(question: str, date_of_service: str | None = None, system: str = "icd10cm") -> None:
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
                result = check(code, system=system, date_of_service=date_of_service)
                ok = result["status"] == "billable"
                problems += not ok
                lines.append(("ok  " if ok else "⚠   ") + f"{result['code'] or result['input']}: "
                             + (result["description"] if ok else result["message"]))
        except db.DataNotBuilt:
            lines.append("(the code set is not built here, so the codes were not checked)")
        if problems:
            lines.append(f"{problems} entr{'y' if problems == 1 else 'ies'} above would not be accepted on a claim")
        else:
            lines.append("every code is billable; the grader compares them with the note's key" if system == "icd10cm"
                         else "every code and cluster is valid ICD-11; the grader compares each part with the key")
    print("\n".join(lines))
    if problems and os.environ.get("NBGRADER_EXECUTION") == "validate":
        raise AssertionError("\n".join(lines))


# -- claim scrubbing (ps05) and analytics (ps06) ------------------------------------------
class _Html:
    def __init__(self, html: str, text: str) -> None:
        self.html, self.text = html, text

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:
        return self.text


def show_claim(claim: dict) -> _Html:
    """The claim as a CMS-1500-style form (the dict is what the grader and the scrubber read)."""
    from .claims import model, render

    parsed = model.from_dict(claim)
    lines = ", ".join(f"{line.code}{''.join('-' + m for m in line.modifiers)} x{line.units}" for line in parsed.lines)
    return _Html(render.claim_html(parsed), f"claim {parsed.claim_id}: {', '.join(parsed.diagnoses)} / {lines}")


def scrub_claim(claim: dict) -> list[dict]:
    """The scrubber's edits on a claim dict, as of the date it was submitted (what a clearinghouse sees)."""
    from .claims import model
    from .claims.scrub import Scrubber

    parsed = model.from_dict(claim)
    return [e.as_dict() for e in Scrubber(db.cursor()).scrub(parsed, parsed.submitted)]


def _report(lines: list[str], problems: int) -> None:
    print("\n".join(lines))
    if problems and os.environ.get("NBGRADER_EXECUTION") == "validate":
        raise AssertionError("\n".join(lines))


def check_fix(question: str, claim: dict) -> None:
    """Check a corrected claim's form the way the grader reads it, then scrub the corrected claim.

    It says whether the grader can read your answer and which scrubber errors the corrected
    claim still has; it never says whether your fix matches the key (the documentation decides
    that, and a claim can scrub clean and still misreport what was done).
    """
    from .claims.model import chargemaster
    from .scoring import claims as claim_scoring

    source = _answer_source(question)
    if source is None:
        return _report([f"⚠ no cell you ran assigns `{question}`"], 1)
    fix, problem = claim_scoring.read_fix_answer(source, question)
    if problem:
        return _report([f"⚠ the grader cannot read this answer: {problem}"], 1)
    edits = ", ".join(fix.edits) or "none named"
    lines = [f"edits you named: {edits}",
             f"corrected claim: {len(fix.lines)} line(s): " + "; ".join(line.label() for line in fix.lines)]
    try:
        errors = claim_scoring.scrub_errors(db.cursor())(
            claim_scoring.corrected_claim(claim, fix, chargemaster()))
    except db.DataNotBuilt:
        return _report(lines + ["(the lab's database is not built here, so the claim was not scrubbed)"], 0)
    lines += [f"⚠ still breaks {rule}: {message}" for rule, message in errors] or \
        ["the corrected claim scrubs clean; the grader also compares it with the documentation's key"]
    _report(lines, 0)  # a claim that still breaks a rule is an answer, just not a full-marks one


def practice_sql():
    """A read-only connection to the practice RCM dataset (made on first use): explore with
    ``con.sql("SELECT ...").df()``; the grader runs your answers on the same tables."""
    from .rcm import practice_dataset
    from .scoring import tables

    # the grader's own settings: DuckDB refuses a second connection to one file with other settings
    return tables.locked_connection(practice_dataset())


def check_sql(question: str, show: int = 5) -> None:
    """Run a SQL answer the way the grader will (read-only, one SELECT, time limit) and show the
    first rows; it never says whether the result is the right one."""
    from .rcm import practice_dataset
    from .scoring import tables

    source = _answer_source(question)
    if source is None:
        return _report([f"⚠ no cell you ran assigns `{question}`"], 1)
    sql, problem = tables.read_sql_answer(source, question)
    if problem:
        return _report([f"⚠ the grader cannot read this answer: {problem}"], 1)
    conn = tables.locked_connection(practice_dataset())
    try:
        result = tables.run(conn, sql)
    except tables.QueryError as exc:
        return _report([f"⚠ {exc}"], 1)
    finally:
        conn.close()
    lines = [f"the query runs: {len(result.rows)} row(s), columns {', '.join(result.columns)}"]
    lines += [f"  {row}" for row in result.rows[:show]]
    if len(result.rows) > show:
        lines.append(f"  ... and {len(result.rows) - show} more")
    _report(lines, 0)


# -- per-student encounters ---------------------------------------------------------------
_STUDENT: list[str | None] = [None]


def use_student(student_id: str) -> str:
    """Say who you are when the hub cannot (your nbgrader student id, as your instructor knows it)."""
    _STUDENT[0] = str(student_id).strip()
    return _STUDENT[0]


def student_id() -> str:
    """Your student id: set by ``use_student``, else ``MEDCODELAB_STUDENT``, else the JupyterHub user,
    else the login name (on a hub the last two are the same as nbgrader's)."""
    import getpass

    return (_STUDENT[0] or os.environ.get("MEDCODELAB_STUDENT") or os.environ.get("JUPYTERHUB_USER")
            or getpass.getuser())


def show_note(question: str, notes_file: str | Path) -> _Html:
    """Your own version of an encounter, when each student codes a different one."""
    import hashlib
    import json
    from html import escape

    path = Path(notes_file)
    try:
        bundle = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        message = (f"⚠ the notes file {path.name} could not be read ({exc.__class__.__name__}); it comes with the "
                   "assignment: fetch the assignment again or ask your instructor")
        return _Html(f"<p>{escape(message)}</p>", message)
    who = student_id()
    key = hashlib.sha256(f"{bundle.get('assignment')}:{who}".encode()).hexdigest()[:20]
    note = bundle.get("questions", {}).get(question, {}).get(key)
    if note is None:
        message = (f"⚠ there is no version of {question} for student id {who!r}: if that is not your nbgrader id, "
                   "run use_student(\"your-id\") in a cell above and run this one again; otherwise ask your "
                   "instructor to add you to the roster")
        return _Html(f"<p>{escape(message)}</p>", message)
    header = note["header"]
    text = f"{header}\n\n{note['note']}\n\nList the ICD-10-CM codes, the {note['first_listed_label']} first."
    html = (f"<div><p><b>Your version ({escape(who)})</b><br>{escape(header).replace(chr(10), '<br>')}</p>"
            f"<pre style='white-space:pre-wrap'>{escape(note['note'])}</pre></div>")
    return _Html(html, text)
