"""The case bank: load, validate, write practice cases into the database, read them back.

Practice encounters (``data/cases/``) go into the database with their keys. Assessment
encounters (``autograder/cases/``) are validated in the same pass but never written there, so
a learner's environment holds no assessment key.
"""

from __future__ import annotations

import duckdb

from .. import paths
from ..codes.icd10cm import Icd10cm
from . import model
from .validate import Problem, validate


class InvalidKeys(ValueError):
    """One or more answer keys failed validation; the message lists every problem."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{len(problems)} problem(s) in the answer keys:\n{lines}")


def load_all() -> tuple[list[model.Encounter], list[model.Encounter]]:
    practice = model.load_folder(paths.practice_cases_dir())
    assessment = model.load_folder(paths.assessment_cases_dir())
    for case in practice:
        if case.use != "practice":
            raise model.CaseError(f"{case.source}: files in {paths.practice_cases_dir()} must have use: practice")
    for case in assessment:
        if case.use != "assessment":
            raise model.CaseError(f"{case.source}: files in {paths.assessment_cases_dir()} must have use: assessment")
    clash = {c.case_id for c in practice} & {c.case_id for c in assessment}
    if clash:
        raise model.CaseError(f"case ids used for both practice and assessment: {sorted(clash)}")
    return practice, assessment


def validate_all(cases: list[model.Encounter], code_set: Icd10cm) -> list[Problem]:
    return [problem for case in cases for problem in validate(case, code_set)]


def build_into(conn: duckdb.DuckDBPyConnection) -> dict[str, int]:
    practice, assessment = load_all()
    problems = validate_all(practice + assessment, Icd10cm(conn))
    if problems:
        raise InvalidKeys(problems)
    conn.execute(
        """
        CREATE TABLE cases (
            case_id VARCHAR PRIMARY KEY, title VARCHAR, use VARCHAR, setting VARCHAR,
            date_of_service DATE, sex VARCHAR, age INTEGER, payer VARCHAR, difficulty INTEGER,
            topics VARCHAR[], note VARCHAR, chart VARCHAR
        )"""
    )
    conn.execute(
        """
        CREATE TABLE case_diagnoses (
            case_id VARCHAR, sequence INTEGER, code VARCHAR, rationale VARCHAR, guideline VARCHAR,
            also_accept VARCHAR[], optional BOOLEAN, PRIMARY KEY (case_id, sequence)
        )"""
    )
    conn.execute("CREATE TABLE case_acknowledged (case_id VARCHAR, code VARCHAR, note VARCHAR, source VARCHAR, "
                 "reason VARCHAR)")
    for case in practice:
        conn.execute(
            "INSERT INTO cases VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [case.case_id, case.title, case.use, case.setting, case.date_of_service, case.sex, case.age,
             case.payer, case.difficulty, case.topics, case.note, case.chart()],
        )
        conn.executemany(
            "INSERT INTO case_diagnoses VALUES (?, ?, ?, ?, ?, ?, ?)",
            [[case.case_id, i, k.code, k.rationale, k.guideline, list(k.also_accept), k.optional]
             for i, k in enumerate(case.diagnoses, start=1)],
        )
        if case.acknowledged:
            conn.executemany(
                "INSERT INTO case_acknowledged VALUES (?, ?, ?, ?, ?)",
                [[case.case_id, a.code, a.note, a.source, a.reason] for a in case.acknowledged],
            )
    return {"practice": len(practice), "assessment_validated_not_stored": len(assessment)}


def from_database(conn: duckdb.DuckDBPyConnection, case_id: str) -> model.Encounter | None:
    """A practice case as stored in the built database."""
    row = conn.execute(
        "SELECT case_id, title, use, setting, date_of_service, sex, age, payer, difficulty, topics, note "
        "FROM cases WHERE case_id = ?", [case_id]
    ).fetchone()
    if row is None:
        return None
    dx = conn.execute(
        "SELECT code, rationale, guideline, also_accept, optional FROM case_diagnoses "
        "WHERE case_id = ? ORDER BY sequence",
        [case_id],
    ).fetchall()
    acks = conn.execute("SELECT code, note, source, reason FROM case_acknowledged WHERE case_id = ?",
                        [case_id]).fetchall()
    return model.Encounter(
        case_id=row[0], title=row[1], use=row[2], setting=row[3], date_of_service=row[4], sex=row[5],
        age=row[6], payer=row[7], difficulty=row[8], topics=list(row[9]), note=row[10],
        diagnoses=[model.KeyCode(c, r, g, tuple(a or ()), bool(o)) for c, r, g, a, o in dx],
        acknowledged=[model.Acknowledged(*a) for a in acks],
    )


def list_practice(conn: duckdb.DuckDBPyConnection, topic: str | None = None) -> list[dict]:
    sql = "SELECT case_id, title, setting, difficulty, topics FROM cases"
    params: list = []
    if topic:
        sql += " WHERE list_contains(topics, ?)"
        params.append(topic)
    rows = conn.execute(sql + " ORDER BY case_id", params).fetchall()
    return [{"case_id": r[0], "title": r[1], "setting": r[2], "difficulty": r[3], "topics": list(r[4])}
            for r in rows]

