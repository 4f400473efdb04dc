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
    assessment = model.load_folder(paths.assessment_cases_dir(), "assessment")
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


def validate_all(cases: list[model.Encounter], code_set: Icd10cm,
                 conn: duckdb.DuckDBPyConnection | None = None) -> list[Problem]:
    """Every problem in the keys: diagnoses always; procedures and ICD-11 when ``conn`` holds the
    reference tables (a database built before the reference sets cannot check them)."""
    from .procedures import ProcedureRules, icd11_problems, validate_procedures

    conn = conn if conn is not None else code_set.conn
    rules = icd11 = None
    tables = {r[0] for r in conn.execute("SHOW TABLES").fetchall()}
    if {"ncci_ptp", "mue", "catalogue", "cpt_addon_primaries"} <= tables:
        rules = ProcedureRules(conn)
    if "icd11_entries" in tables:
        from ..codes.icd11 import Icd11

        icd11 = Icd11(conn)
    problems = []
    for case in cases:
        problems += validate(case, code_set)
        if case.procedures:
            if rules is None:
                problems.append(Problem(case.case_id, "-", "procedures", "this database has no procedure rule "
                                        "tables: rebuild it (make data) to check the procedure key"))
            else:
                problems += validate_procedures(case, rules)
        if icd11 is not None and (case.region == "india" or any(k.icd11 for k in case.diagnoses)):
            problems += icd11_problems(case, icd11)
    return problems


def build_into(conn: duckdb.DuckDBPyConnection) -> dict[str, int]:
    practice, assessment = load_all()
    problems = validate_all(practice + assessment, Icd10cm(conn), conn)
    if problems:
        raise InvalidKeys(problems)
    conn.execute(
        """
        CREATE TABLE cases (
            case_id VARCHAR PRIMARY KEY, title VARCHAR, use VARCHAR, setting VARCHAR,
            date_of_service DATE, sex VARCHAR, age INTEGER, payer VARCHAR, difficulty INTEGER,
            topics VARCHAR[], note VARCHAR, chart VARCHAR, specialty VARCHAR, region VARCHAR,
            template VARCHAR, guideline VARCHAR, chapter VARCHAR, cpc_domain VARCHAR
        )"""
    )
    conn.execute(
        """
        CREATE TABLE case_diagnoses (
            case_id VARCHAR, sequence INTEGER, code VARCHAR, rationale VARCHAR, guideline VARCHAR,
            also_accept VARCHAR[], optional BOOLEAN, icd11 VARCHAR, icd11_also VARCHAR[], icd11_optional BOOLEAN,
            PRIMARY KEY (case_id, sequence)
        )"""
    )
    conn.execute(
        """
        CREATE TABLE case_procedures (
            case_id VARCHAR, line INTEGER, code VARCHAR, modifiers VARCHAR[], units INTEGER,
            pointers INTEGER[], rationale VARCHAR, guideline VARCHAR, exceeds_mue BOOLEAN,
            mdm JSON, minutes INTEGER, PRIMARY KEY (case_id, line)
        )"""
    )
    conn.execute("CREATE TABLE case_acknowledged (case_id VARCHAR, code VARCHAR, note VARCHAR, source VARCHAR, "
                 "reason VARCHAR)")
    import pandas as pd

    from .procedures import line_dict

    rows, dx_rows, ack_rows, proc_rows = [], [], [], []
    for case in practice:
        rows.append([case.case_id, case.title, case.use, case.setting, case.date_of_service, case.sex, case.age,
                     case.payer, case.difficulty, case.topics, case.note, case.chart(), case.specialty,
                     case.region, case.template, case.tags.get("guideline", ""), case.tags.get("chapter", ""),
                     case.tags.get("cpc_domain", "")])
        dx_rows += [[case.case_id, i, k.code, k.rationale, k.guideline, list(k.also_accept), k.optional, k.icd11,
                     list(k.icd11_also), k.icd11_optional]
                    for i, k in enumerate(case.diagnoses, start=1)]
        ack_rows += [[case.case_id, a.code, a.note, a.source, a.reason] for a in case.acknowledged]
        for i, line in enumerate(case.procedures, start=1):
            d = line_dict(line)
            proc_rows.append([case.case_id, i, d["code"], d["modifiers"], d["units"], d["pointers"],
                              d["rationale"], d["guideline"], d["exceeds_mue"], d["mdm"], d["minutes"]])
    for table, data in (("cases", rows), ("case_diagnoses", dx_rows), ("case_acknowledged", ack_rows),
                        ("case_procedures", proc_rows)):
        if data:
            columns = [r[0] for r in conn.execute(f"DESCRIBE {table}").fetchall()]
            frame = pd.DataFrame(data, columns=columns)  # noqa: F841 (read by DuckDB below)
            conn.execute(f"INSERT INTO {table} SELECT * FROM frame")
    templates = {c.template for c in practice + assessment if c.template}
    return {"practice": len(practice), "assessment_validated_not_stored": len(assessment),
            "templates": len(templates), "variants": sum(1 for c in practice + assessment if c.template)}


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
    extra = conn.execute("SELECT specialty, region, template, guideline, chapter, cpc_domain FROM cases "
                         "WHERE case_id = ?", [case_id]).fetchone()
    procs = conn.execute("SELECT code, modifiers, units, pointers, rationale, guideline, exceeds_mue, mdm, minutes "
                         "FROM case_procedures WHERE case_id = ? ORDER BY line", [case_id]).fetchall()
    icd11 = {i: (code, also, opt) for i, code, also, opt in conn.execute(
        "SELECT sequence, icd11, icd11_also, icd11_optional FROM case_diagnoses WHERE case_id = ?", [case_id]).fetchall()}
    return model.Encounter(
        case_id=row[0], title=row[1], use=row[2], setting=row[3], date_of_service=row[4], sex=row[5],
        age=row[6], payer=row[7], difficulty=row[8], topics=list(row[9]), note=row[10],
        diagnoses=[model.KeyCode(c, r, g, tuple(a or ()), bool(o), icd11.get(i, ("",))[0] or "",
                                 tuple(icd11.get(i, ("", ()))[1] or ()), bool(icd11.get(i, ("", (), False))[2]))
                   for i, (c, r, g, a, o) in enumerate(dx, start=1)],
        acknowledged=[model.Acknowledged(*a) for a in acks],
        procedures=[_line_from_row(p) for p in procs], specialty=extra[0] or "", region=extra[1] or "us",
        template=extra[2] or "",
        tags={k: v for k, v in zip(("guideline", "chapter", "cpc_domain"), extra[3:]) if v},
    )


def _line_from_row(row) -> model.ProcedureLine:
    import json

    code, mods, units, pointers, rationale, guideline, exceeds, mdm, minutes = row
    parsed = None
    if mdm:
        m = json.loads(mdm)
        parsed = model.Mdm(tuple(m["problems"]), tuple(m["data"]), tuple(m["risk"]))
    return model.ProcedureLine(code, rationale, tuple(mods or ()), units, tuple(pointers or ()), guideline or "",
                               bool(exceeds), parsed, minutes)


def list_practice(conn: duckdb.DuckDBPyConnection, topic: str | None = None, specialty: str | None = None,
                  difficulty: int | None = None) -> list[dict]:
    sql = "SELECT case_id, title, setting, difficulty, topics, specialty, template FROM cases"
    where, params = [], []
    if topic:
        where.append("list_contains(topics, ?)")
        params.append(topic)
    if specialty:
        where.append("specialty = ?")
        params.append(specialty)
    if difficulty:
        where.append("difficulty = ?")
        params.append(difficulty)
    if where:
        sql += " WHERE " + " AND ".join(where)
    rows = conn.execute(sql + " ORDER BY case_id", params).fetchall()
    return [{"case_id": r[0], "title": r[1], "setting": r[2], "difficulty": r[3], "topics": list(r[4]),
             "specialty": r[5] or "", "template": r[6] or ""} for r in rows]



def summary(practice: list[model.Encounter], assessment: list[model.Encounter]) -> dict:
    """Counts of the bank (no keys): templates, variants, hand-written cases, by specialty and setting."""
    everything = practice + assessment
    templates = {c.template for c in everything if c.template}

    def group(attr: str) -> dict:
        out: dict[str, dict[str, int]] = {}
        for case in everything:
            name = getattr(case, attr) or "(untagged)"
            slot = out.setdefault(name, {"templates": set(), "encounters": 0})
            slot["encounters"] += 1
            if case.template:
                slot["templates"].add(case.template)
        return {k: {"templates": len(v["templates"]), "encounters": v["encounters"]}
                for k, v in sorted(out.items())}

    return {"templates": len(templates), "variants": sum(1 for c in everything if c.template),
            "hand_written": sum(1 for c in everything if not c.template),
            "hand_written_assessment": sum(1 for c in assessment if not c.template), "practice": len(practice),
            "assessment": len(assessment), "by_specialty": group("specialty"), "by_setting": group("setting"),
            "by_difficulty": {str(d): sum(1 for c in everything if c.difficulty == d) for d in (1, 2, 3)},
            "india": sum(1 for c in everything if c.region == "india")}
