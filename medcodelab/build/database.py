"""``medcodelab build-data``: every code set, table and practice case in one DuckDB file.

The file is built under a temporary name in the same folder and renamed into place, so a
kernel that has the old file open keeps reading it undisturbed and never sees half a build.
A fingerprint of every input is stored inside; when nothing changed the build is skipped.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import sys
import time
from pathlib import Path
from typing import Callable

import duckdb
import pandas as pd

from .. import paths
from . import icd10cm

SCHEMA_VERSION = "1"

Progress = Callable[[str], None]


def _stderr_progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class BuildError(RuntimeError):
    """The build stopped; the message says what to fix."""


def _inputs() -> list[Path]:
    """Files whose content decides the build's result."""
    xml, code_list = icd10cm.source_files()
    here = Path(__file__).resolve().parent
    files = [xml, code_list, *sorted(here.glob("*.py"))]
    files += sorted((here.parent / "cases").glob("*.py"))
    files += sorted((here.parent / "codes").glob("*.py"))
    for folder in (paths.practice_cases_dir(), paths.assessment_cases_dir(), paths.data_dir() / "search"):
        if folder.exists():
            files += sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in {".yaml", ".yml"})
    return files


def fingerprint() -> str:
    digest = hashlib.sha256(SCHEMA_VERSION.encode())
    for path in _inputs():
        digest.update(str(path.name).encode())
        digest.update(icd10cm.sha256(path).encode())
    return digest.hexdigest()


def current_fingerprint(path: Path) -> str | None:
    """The fingerprint stored in an existing build, or None."""
    if not path.exists():
        return None
    try:
        with duckdb.connect(str(path), read_only=True) as conn:
            row = conn.execute("SELECT value FROM build_info WHERE key = 'fingerprint'").fetchone()
            return row[0] if row else None
    except duckdb.Error:
        return None


def build(path: Path | None = None, force: bool = False, progress: Progress = _stderr_progress) -> Path:
    """Build the database at ``path`` (default ``data/build/medcodelab.duckdb``)."""
    path = Path(path) if path else paths.db_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    stamp = fingerprint()
    if not force and current_fingerprint(path) == stamp:
        progress(f"{path} is up to date (inputs unchanged); use --force to rebuild")
        return path

    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
        leftover.unlink(missing_ok=True)

    def step(n: int, total: int, text: str) -> None:
        progress(f"[{n}/{total}] {text} (at {time.perf_counter() - started:.1f} s)")

    total = 5
    try:
        step(1, total, "parsing the ICD-10-CM tabular list (CDC, April 1 2026)")
        tabular = icd10cm.parse()
        conn = duckdb.connect(str(tmp))
        try:
            step(2, total, f"writing {len(tabular.entries):,} ICD-10-CM entries and "
                           f"{len(tabular.notes):,} notes")
            _write_icd10cm(conn, tabular)
            _write_search_terms(conn)
            step(3, total, "loading and validating the encounter case bank")
            case_counts = _write_cases(conn)
            step(4, total, "recording provenance")
            _write_provenance(conn, tabular, case_counts, stamp)
            conn.execute("CHECKPOINT")
        finally:
            conn.close()
        step(5, total, f"installing {path.name}")
        os.replace(tmp, path)
    except BaseException:
        for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
            leftover.unlink(missing_ok=True)
        raise
    progress(f"built {path} in {time.perf_counter() - started:.1f} s")
    return path


def _write_icd10cm(conn: duckdb.DuckDBPyConnection, tabular: icd10cm.Tabular) -> None:
    entries = pd.DataFrame(
        {
            "entry_id": [e.entry_id for e in tabular.entries],
            "code": [e.code for e in tabular.entries],
            "code_compact": [e.code.replace(".", "") for e in tabular.entries],
            "kind": [e.kind for e in tabular.entries],
            "description": [e.description for e in tabular.entries],
            "parent_id": pd.array([e.parent_id for e in tabular.entries], dtype="Int64"),
            "depth": [e.depth for e in tabular.entries],
            "billable": [e.billable for e in tabular.entries],
            "requires_seventh": [e.requires_seventh for e in tabular.entries],
        }
    )
    conn.execute(
        """
        CREATE TABLE icd10cm_entries (
            entry_id INTEGER PRIMARY KEY,
            code VARCHAR NOT NULL,          -- dotted, as printed (blocks: A00-A09, chapters: 1..22)
            code_compact VARCHAR NOT NULL,  -- without the dot, as on a claim
            kind VARCHAR NOT NULL,          -- chapter | block | category | subcategory | seventh_character
            description VARCHAR NOT NULL,
            parent_id INTEGER,
            depth INTEGER NOT NULL,
            billable BOOLEAN NOT NULL,
            requires_seventh BOOLEAN NOT NULL
        )"""
    )
    conn.execute("INSERT INTO icd10cm_entries SELECT * FROM entries")

    notes = pd.DataFrame(
        {
            "note_id": range(1, len(tabular.notes) + 1),
            "entry_id": [n.entry_id for n in tabular.notes],
            "note_type": [n.note_type for n in tabular.notes],
            "ordinal": [n.ordinal for n in tabular.notes],
            "text": [n.text for n in tabular.notes],
        }
    )
    conn.execute(
        """
        CREATE TABLE icd10cm_notes (
            note_id INTEGER PRIMARY KEY,
            entry_id INTEGER NOT NULL,
            note_type VARCHAR NOT NULL,
            ordinal INTEGER NOT NULL,
            text VARCHAR NOT NULL
        )"""
    )
    conn.execute("INSERT INTO icd10cm_notes SELECT * FROM notes")

    refs = [(note_id, low, high) for note_id, note in enumerate(tabular.notes, start=1)
            for low, high in icd10cm.note_references(note.text)]
    ref_frame = pd.DataFrame(refs, columns=["note_id", "low", "high"])
    conn.execute("CREATE TABLE icd10cm_note_refs (note_id INTEGER NOT NULL, low VARCHAR NOT NULL, high VARCHAR NOT NULL)")
    conn.execute("INSERT INTO icd10cm_note_refs SELECT * FROM ref_frame")

    seventh = pd.DataFrame(
        {
            "entry_id": [s.entry_id for s in tabular.seventh],
            "ordinal": range(1, len(tabular.seventh) + 1),
            "character": [s.character for s in tabular.seventh],
            "meaning": [s.meaning for s in tabular.seventh],
        }
    )
    conn.execute(
        "CREATE TABLE icd10cm_seventh (entry_id INTEGER NOT NULL, ordinal INTEGER NOT NULL, "
        "character VARCHAR NOT NULL, meaning VARCHAR NOT NULL)"
    )
    conn.execute("INSERT INTO icd10cm_seventh SELECT * FROM seventh")

    # The ancestor closure (each entry with itself and every ancestor), so that "notes that
    # apply to a code" is a join, in SQL, for anyone exploring the database.
    conn.execute(
        """
        CREATE TABLE icd10cm_ancestors AS
        WITH RECURSIVE chain(entry_id, ancestor_id, distance) AS (
            SELECT entry_id, entry_id, 0 FROM icd10cm_entries
            UNION ALL
            SELECT c.entry_id, e.parent_id, c.distance + 1
            FROM chain c JOIN icd10cm_entries e ON e.entry_id = c.ancestor_id
            WHERE e.parent_id IS NOT NULL
        )
        SELECT * FROM chain"""
    )
    conn.execute(
        """
        CREATE VIEW icd10cm_notes_resolved AS
        SELECT e.entry_id, e.code, e.kind, n.note_type, n.text,
               a.distance > 0 AS inherited, src.code AS from_code, src.kind AS from_kind,
               a.distance, n.note_id
        FROM icd10cm_entries e
        JOIN icd10cm_ancestors a ON a.entry_id = e.entry_id
        JOIN icd10cm_notes n ON n.entry_id = a.ancestor_id
        JOIN icd10cm_entries src ON src.entry_id = a.ancestor_id"""
    )
    conn.execute(
        """
        CREATE VIEW icd10cm_seventh_resolved AS
        WITH nearest AS (
            SELECT a.entry_id, min(a.distance) AS distance
            FROM icd10cm_ancestors a
            WHERE a.ancestor_id IN (SELECT entry_id FROM icd10cm_seventh)
            GROUP BY a.entry_id
        )
        SELECT e.entry_id, e.code, s.character, s.meaning, src.code AS from_code
        FROM nearest n
        JOIN icd10cm_ancestors a ON a.entry_id = n.entry_id AND a.distance = n.distance
        JOIN icd10cm_seventh s ON s.entry_id = a.ancestor_id
        JOIN icd10cm_entries e ON e.entry_id = n.entry_id
        JOIN icd10cm_entries src ON src.entry_id = a.ancestor_id"""
    )
    conn.execute(
        "CREATE TABLE code_systems (system VARCHAR PRIMARY KEY, name VARCHAR, release VARCHAR, "
        "effective_from DATE, effective_to DATE, source_id VARCHAR)"
    )
    conn.execute(
        "INSERT INTO code_systems VALUES (?, ?, ?, ?, ?, ?)",
        ["icd10cm", "ICD-10-CM", icd10cm.RELEASE, icd10cm.EFFECTIVE_FROM, icd10cm.EFFECTIVE_TO,
         "cdc-icd10cm-2026-04"],
    )


def _write_search_terms(conn: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """The code search: abbreviations, word forms, Index defaults and BM25 postings."""
    import yaml

    source = paths.data_dir() / "search" / "abbreviations.yaml"
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    sections = {"abbreviation": "abbreviations", "word_form": "word_forms", "phrase": "phrases",
                "alternative": "alternatives"}
    rows = [(kind, str(k).lower(), str(v).lower()) for kind, section in sections.items()
            for k, v in (data.get(section) or {}).items()]
    conn.execute("CREATE TABLE search_synonyms (kind VARCHAR, term VARCHAR, expansion VARCHAR, "
                 "PRIMARY KEY (kind, term))")
    conn.executemany("INSERT INTO search_synonyms VALUES (?, ?, ?)", rows)
    index_terms = yaml.safe_load((paths.data_dir() / "search" / "index_terms.yaml").read_text(encoding="utf-8"))
    from ..codes import search_index

    return search_index.write_index(conn, {k: str(v) for k, v in index_terms["index_terms"].items()})


def _write_cases(conn: duckdb.DuckDBPyConnection) -> dict[str, int]:
    from ..cases import store

    return store.build_into(conn)


def _digest(files: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _write_provenance(conn: duckdb.DuckDBPyConnection, tabular: icd10cm.Tabular,
                      case_counts: dict[str, int], stamp: str) -> None:
    conn.execute(
        """
        CREATE TABLE provenance (
            source_id VARCHAR PRIMARY KEY,
            system VARCHAR,
            title VARCHAR,
            publisher VARCHAR,
            release VARCHAR,
            release_date DATE,
            licence VARCHAR,
            obtained_from VARCHAR,
            file VARCHAR,
            sha256 VARCHAR,
            row_counts VARCHAR,
            notes VARCHAR
        )"""
    )
    counts = conn.execute(
        "SELECT count(*), count(DISTINCT code), count(*) FILTER (billable), "
        "count(*) FILTER (kind = 'chapter'), count(*) FILTER (kind = 'block'), "
        "count(*) FILTER (kind = 'category') FROM icd10cm_entries"
    ).fetchone()
    note_count = conn.execute("SELECT count(*) FROM icd10cm_notes").fetchone()[0]
    conn.execute(
        "INSERT INTO provenance VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            "cdc-icd10cm-2026-04", "icd10cm",
            "ICD-10-CM Tabular List of Diseases and Injuries, April 1 2026 update",
            "CDC National Center for Health Statistics", icd10cm.RELEASE, icd10cm.RELEASE_DATE,
            "US government work, public domain in the United States",
            "PyPI simple-icd-10-cm==1.5.0 (its data files: the CDC tabular XML and code list)",
            icd10cm.XML_NAME, icd10cm.sha256(tabular.xml_path),
            f"entries={counts[0]}; distinct_codes={counts[1]}; billable={counts[2]}; chapters={counts[3]}; "
            f"blocks={counts[4]}; categories={counts[5]}; notes={note_count}",
            "Codes needing a 7th character are generated from sevenChrDef and kept only where the "
            "CDC code list confirms them. Valid for dates of service 2026-04-01 to 2026-09-30.",
        ],
    )
    search = paths.data_dir() / "search"
    synonyms = dict(conn.execute("SELECT kind, count(*) FROM search_synonyms GROUP BY kind").fetchall())
    index_terms = conn.execute("SELECT count(*) FROM search_index_terms").fetchone()[0]
    case_files = sorted(paths.practice_cases_dir().glob("*.yaml"))
    rows = [
        ["medcodelab-cases", "cases", "Medical Coding & RCM Lab practice encounters",
         "Medical Coding & RCM Lab authors", "v1", None, "CC BY 4.0 (course content)",
         "data/cases/ in this repository", f"{len(case_files)} files", _digest(case_files),
         "; ".join(f"{k}={v}" for k, v in case_counts.items()),
         "Synthetic patients only. Assessment encounters are validated at build but never written to "
         "this file. Blind review record: data/cases/REVIEW.md."],
        ["medcodelab-search-synonyms", "search", "Search vocabulary: phrases, abbreviations, word forms, alternatives",
         "Medical Coding & RCM Lab authors", "v1", None, "CC BY 4.0 (our own table)",
         "data/search/abbreviations.yaml", "abbreviations.yaml", _digest([search / "abbreviations.yaml"]),
         "; ".join(f"{k}={v}" for k, v in sorted(synonyms.items())),
         "Maps what people type to the tabular's words; used only to rank search results."],
        ["cdc-icd10cm-index-defaults", "search", "ICD-10-CM Alphabetic Index: main terms and their default codes",
         "CDC National Center for Health Statistics (facts); selection by the lab's authors", "FY2026", None,
         "public domain facts; our own selection", "data/search/index_terms.yaml", "index_terms.yaml",
         _digest([search / "index_terms.yaml"]), f"terms={index_terms}",
         "A teaching subset: a query equal to one of these terms lists the Index's default code first. "
         "Each code is checked billable at build."],
        ["cms-nchs-icd10cm-guidelines-fy2026", "guidelines",
         "ICD-10-CM Official Guidelines for Coding and Reporting, FY2026", "CMS and NCHS", "FY2026", None,
         "public domain", "cited by section in rationales and course text", None, None, "none stored",
         "Paraphrased in the lab's own words; no guideline text is copied into the database or the course."],
    ]
    conn.executemany("INSERT INTO provenance VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    conn.execute("CREATE TABLE build_info (key VARCHAR PRIMARY KEY, value VARCHAR)")
    conn.executemany(
        "INSERT INTO build_info VALUES (?, ?)",
        [
            ["schema_version", SCHEMA_VERSION],
            ["fingerprint", stamp],
            ["built_at", dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")],
            ["duckdb_version", duckdb.__version__],
        ],
    )
