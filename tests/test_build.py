"""build-data: the whole tabular list, its notes, provenance; atomic, idempotent, shareable."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import duckdb
import pytest

from medcodelab.build import database, icd10cm


@pytest.fixture(scope="module")
def conn(built_database):
    with duckdb.connect(str(built_database), read_only=True) as connection:
        yield connection


def test_every_entry_of_the_tabular_list(conn):
    total, distinct, billable = conn.execute(
        "SELECT count(*), count(DISTINCT code), count(*) FILTER (billable) FROM icd10cm_entries").fetchone()
    assert (total, distinct, billable) == (98_505, 98_466, 74_719)
    kinds = dict(conn.execute("SELECT kind, count(*) FROM icd10cm_entries GROUP BY kind").fetchall())
    assert kinds["chapter"] == 22 and kinds["block"] == 297 and kinds["category"] == 1_918


def test_entries_follow_the_cdc_code_list_exactly(conn):
    _, code_list = icd10cm.source_files()
    cdc = [line.strip() for line in code_list.read_text().splitlines() if line.strip()]
    ours = [r[0] for r in conn.execute("SELECT code_compact FROM icd10cm_entries ORDER BY entry_id").fetchall()]
    assert ours == cdc


def test_hierarchy_and_seventh_character_codes(conn):
    parent = conn.execute(
        "SELECT p.code FROM icd10cm_entries e JOIN icd10cm_entries p ON p.entry_id = e.parent_id "
        "WHERE e.code = 'S52.521A'").fetchone()[0]
    assert parent == "S52.521"
    row = conn.execute("SELECT billable, requires_seventh FROM icd10cm_entries WHERE code = 'S52.521'").fetchone()
    assert row == (False, True)
    # placeholder X is generated for short codes
    assert conn.execute("SELECT description FROM icd10cm_entries WHERE code = 'W19.XXXA'").fetchone()[0] \
        == "Unspecified fall, initial encounter"
    chain = conn.execute(
        "SELECT a.distance, p.kind FROM icd10cm_ancestors a JOIN icd10cm_entries e USING (entry_id) "
        "JOIN icd10cm_entries p ON p.entry_id = a.ancestor_id WHERE e.code = 'S52.521A' ORDER BY a.distance"
    ).fetchall()
    assert [k for _, k in chain] == ["seventh_character", "subcategory", "subcategory", "subcategory",
                                     "category", "block", "chapter"]


def test_every_kind_of_note_is_stored(conn):
    types = dict(conn.execute("SELECT note_type, count(*) FROM icd10cm_notes GROUP BY note_type").fetchall())
    for note_type in ("inclusion_term", "includes", "excludes1", "excludes2", "code_first", "use_additional",
                      "code_also", "note", "seventh_character_note"):
        assert types.get(note_type, 0) > 0, note_type
    assert conn.execute("SELECT count(*) FROM icd10cm_seventh").fetchone()[0] > 1_500


def test_inherited_notes_resolve_through_the_view(conn):
    rows = conn.execute(
        "SELECT note_type, from_code, inherited FROM icd10cm_notes_resolved WHERE code = 'E11.65' "
        "AND note_type = 'excludes1'").fetchall()
    assert ("excludes1", "E11", True) in rows
    seventh = conn.execute(
        "SELECT character, from_code FROM icd10cm_seventh_resolved WHERE code = 'S52.521' ORDER BY character"
    ).fetchall()
    assert [c for c, _ in seventh] == ["A", "D", "G", "K", "P", "S"] and seventh[0][1] == "S52.52"


def test_note_references_are_parsed():
    assert icd10cm.note_references("type 1 diabetes mellitus (E10.-)") == [("E10", "E10")]
    assert icd10cm.note_references("endocrine disease (E00-E07, E15-E16)") == [("E00", "E07"), ("E15", "E16")]
    assert icd10cm.note_references("vitamin B12 deficiency anemia (D51.-)") == [("D51", "D51")]
    assert icd10cm.note_references("elevated (R73.01-R73.09)") == [("R7301", "R7309")]
    assert icd10cm.in_reference("C7A1", "C00", "C96")
    assert not icd10cm.in_reference("D001", "C00", "C96")


def test_provenance_and_build_info(conn):
    row = conn.execute("SELECT publisher, release, licence, row_counts, sha256 FROM provenance "
                       "WHERE source_id = 'cdc-icd10cm-2026-04'").fetchone()
    assert "CDC" in row[0] and row[1] == "2026-04" and "public domain" in row[2]
    assert "billable=74719" in row[3] and len(row[4]) == 64
    assert conn.execute("SELECT value FROM build_info WHERE key = 'fingerprint'").fetchone()[0] == database.fingerprint()
    window = conn.execute("SELECT effective_from, effective_to FROM code_systems WHERE system = 'icd10cm'").fetchone()
    assert [str(d) for d in window] == ["2026-04-01", "2026-09-30"]


def test_second_build_is_skipped_and_changes_nothing(built_database):
    before = built_database.stat().st_mtime_ns
    messages = []
    database.build(built_database, progress=messages.append)
    assert built_database.stat().st_mtime_ns == before
    assert "up to date" in messages[-1]


def test_rebuild_is_atomic_for_open_readers(tmp_path):
    target = tmp_path / "lab.duckdb"
    database.build(target, progress=lambda m: None)
    reader = duckdb.connect(str(target), read_only=True)
    try:
        # another process can read the same file at the same time
        script = textwrap.dedent(f"""
            import duckdb
            with duckdb.connect({str(target)!r}, read_only=True) as c:
                print(c.execute("SELECT count(*) FROM icd10cm_entries").fetchone()[0])
        """)
        out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
        assert out.stdout.strip() == "98505"
        inode = target.stat().st_ino
        database.build(target, force=True, progress=lambda m: None)
        assert target.stat().st_ino != inode  # a new file was renamed into place
        # the reader that had the old file open keeps working
        assert reader.execute("SELECT count(*) FROM icd10cm_entries").fetchone()[0] == 98_505
    finally:
        reader.close()
    assert not list(tmp_path.glob(".*.tmp*")), "no temporary files left behind"
