"""The learner-facing calls that tie code sets, cases and scoring together."""

from __future__ import annotations

import datetime as dt
from html import escape

import pandas as pd

from . import db, paths
from .cases import store
from .cases.model import Encounter
from .codes import check, icd10cm
from .scoring.diagnoses import Score, score_diagnoses


class Welcome:
    """What this installation holds; shows as a short card in a notebook."""

    def __init__(self) -> None:
        conn = db.cursor()
        self.release = conn.execute(
            "SELECT release, effective_from, effective_to FROM code_systems WHERE system = 'icd10cm'"
        ).fetchone()
        self.entries, self.billable, self.chapters, self.blocks, self.categories = conn.execute(
            "SELECT count(*), count(*) FILTER (billable), count(*) FILTER (kind = 'chapter'), "
            "count(*) FILTER (kind = 'block'), count(*) FILTER (kind = 'category') FROM icd10cm_entries"
        ).fetchone()
        self.practice_cases = conn.execute("SELECT count(*) FROM cases").fetchone()[0]
        self.others = _other_systems(conn)
        self.path = paths.db_path()

    def lines(self) -> list[str]:
        release, start, end = self.release
        try:
            shown = self.path.relative_to(paths.PROJECT_ROOT)
        except ValueError:
            shown = self.path
        lines = [
            f"ICD-10-CM {release}: {self.entries:,} tabular entries ({self.chapters} chapters, {self.blocks} blocks, "
            f"{self.categories:,} categories), {self.billable:,} billable codes",
            f"valid for dates of service {start} to {end}",
            f"{self.practice_cases} practice encounters with answer keys",
            *([f"also: {', '.join(self.others)}; mcl.sources() says where each comes from"] if self.others else []),
            f"database: {shown} (opened read-only)",
        ]
        if dt.date.today() > end:
            lines.append(f"note: today ({dt.date.today()}) is after this release's window; the encounters here "
                         f"are dated inside it, but real claims after {end} need the next release")
        return lines

    def __repr__(self) -> str:
        return "Medical Coding & RCM Lab is ready.\n" + "\n".join(f"  - {line}" for line in self.lines())

    def _repr_html_(self) -> str:
        items = "".join(f"<li>{escape(line)}</li>" for line in self.lines())
        return f"<div><b>Medical Coding &amp; RCM Lab is ready.</b><ul>{items}</ul></div>"


def _other_systems(conn) -> list[str]:
    held = {name for (name,) in conn.execute("SELECT system FROM code_systems").fetchall()}
    out = []
    if "icd11" in held:
        n = conn.execute("SELECT count(*) FROM icd11_entries WHERE kind <> 'chapter'").fetchone()[0]
        out.append(f"ICD-11 MMS ({n:,} codes, WHO)")
    names = {"cpt": "CPT teaching set", "hcpcs": "HCPCS Level II", "modifier": "modifiers"}
    for system, label in names.items():
        if system in held:
            n = conn.execute("SELECT count(*) FROM catalogue WHERE system = ?", [system]).fetchone()[0]
            out.append(f"{label} ({n:,})")
    return out


def sources() -> pd.DataFrame:
    """Where every table in this build comes from: one row per table with its source, version,
    licence and row count (plus the source's id, file digest and notes). A source that fills no
    table (the Official Guidelines, cited in rationales) has ``table`` None."""
    conn = db.cursor()
    out = []
    # tables holding both the lab's rows and a site's imported CMS rows, told apart by origin
    shared = {t for (t,) in conn.execute("SELECT table_name FROM information_schema.columns "
                                         "WHERE column_name = 'origin'").fetchall()}
    for (source_id, system, title, publisher, release, licence, obtained_from, sha256, notes,
         tables) in conn.execute("SELECT source_id, system, title, publisher, release, licence, obtained_from, "
                                 "sha256, notes, tables FROM provenance ORDER BY system, source_id").fetchall():
        for table in (tables.split(",") if tables else [None]):
            where = ""
            if table in shared:
                where = " WHERE origin = 'cms-import'" if source_id.startswith("site-") else " WHERE origin = 'lab'"
            rows = conn.execute(f'SELECT count(*) FROM "{table}"{where}').fetchone()[0] if table else None
            out.append({"table": table, "source": f"{publisher}: {title}", "version": release, "license": licence,
                        "rows": rows, "source_id": source_id, "system": system, "obtained_from": obtained_from,
                        "sha256": sha256, "notes": notes})
    return pd.DataFrame(out, columns=["table", "source", "version", "license", "rows", "source_id", "system",
                                      "obtained_from", "sha256", "notes"], dtype=object).where(lambda f: f.notna(), None)


def welcome() -> Welcome:
    """Open the lab's data and say what it holds (the first call of every notebook)."""
    return Welcome()


def chapters() -> pd.DataFrame:
    """The 22 chapters of ICD-10-CM with their code ranges and how many billable codes each holds."""
    rows = db.cursor().execute(
        """
        SELECT ch.code AS chapter, ch.description AS title,
               count(*) FILTER (e.kind = 'block') AS blocks,
               count(*) FILTER (e.kind = 'category') AS categories,
               count(*) FILTER (e.billable) AS billable_codes
        FROM icd10cm_entries ch
        JOIN icd10cm_ancestors a ON a.ancestor_id = ch.entry_id
        JOIN icd10cm_entries e ON e.entry_id = a.entry_id
        WHERE ch.kind = 'chapter'
        GROUP BY ch.entry_id, ch.code, ch.description
        ORDER BY ch.entry_id
        """
    ).fetchdf()
    return rows


def case(case_id: str) -> Encounter:
    """A practice encounter by id, with its note and answer key."""
    found = store.from_database(db.cursor(), case_id)
    if found is None:
        known = ", ".join(c["case_id"] for c in store.list_practice(db.cursor())[:8])
        raise KeyError(f"no practice case {case_id!r}; try one of: {known}, ... (see medcodelab.cases())")
    return found


def cases(topic: str | None = None, specialty: str | None = None, difficulty: int | None = None) -> pd.DataFrame:
    """The practice encounters as a table, optionally only those tagged ``topic``, of one
    ``specialty`` or at one ``difficulty`` (1-3)."""
    return pd.DataFrame(store.list_practice(db.cursor(), topic, specialty, difficulty),
                        columns=["case_id", "title", "setting", "difficulty", "topics", "specialty", "template"])


def practice_set(topic: str, count: int = 6) -> list[str]:
    """``count`` practice encounters tagged ``topic``, as varied as the bank allows: one variant
    per template (and each hand-written case) before a second of any, easiest first. The same
    topic always gives the same set."""
    rows = store.list_practice(db.cursor(), topic)
    if not rows:
        raise KeyError(f"no practice encounter is tagged {topic!r}; see medcodelab.cases() for the topics")
    groups: dict[str, list[dict]] = {}
    for row in rows:
        groups.setdefault(row["template"] or row["case_id"], []).append(row)
    picked: list[dict] = []
    depth = 0
    while len(picked) < count and any(len(g) > depth for g in groups.values()):
        picked += [g[depth] for _, g in sorted(groups.items()) if len(g) > depth][:count - len(picked)]
        depth += 1
    return [r["case_id"] for r in sorted(picked, key=lambda r: (r["difficulty"], r["case_id"]))]


def score(answer: object, encounter: Encounter | str, system: str = "icd10cm") -> Score:
    """Score codes against an encounter's key: the one function practice feedback and the
    autograder both call. A string names a practice encounter. ``system="icd11"`` scores ICD-11
    clusters part by part against the key's ICD-11 codes (``medcodelab.scoring.icd11``)."""
    if isinstance(encounter, str):
        encounter = case(encounter)
    if system == "icd11":
        from .codes import code_set as _code_set
        from .scoring.icd11 import key_of, score_icd11

        key = key_of(encounter)
        if not key:
            raise ValueError(f"{encounter.case_id} has no ICD-11 key; practise ICD-11 on cases tagged 'icd-11'")
        icd11 = _code_set("icd11")
        return score_icd11(answer, key, lambda text: icd11.check(text, encounter.date_of_service),
                           encounter.first_listed_label)
    if system != "icd10cm":
        raise ValueError(f"encounters are scored in icd10cm or icd11, not {system!r}")
    code_set = icd10cm()
    return score_diagnoses(answer, encounter.diagnoses,
                           lambda text: code_set.check(text, encounter.date_of_service),
                           encounter.first_listed_label, explain_extra=code_set.excludes1_conflict)


__all__ = ["case", "cases", "chapters", "check", "practice_set", "score", "welcome"]
