"""ICD-11 MMS: codes, postcoordinated clusters, lookup with WHO attribution, search."""

from __future__ import annotations

import pytest

import medcodelab as mcl
from medcodelab.codes.icd11 import ATTRIBUTION


@pytest.mark.parametrize("text, status, code", [
    ("5A11", "billable", "5A11"),                 # Type 2 diabetes mellitus, a leaf
    ("5a11", "billable", "5A11"),
    (" ba00.z ", "billable", "BA00.Z"),           # essential hypertension, unspecified
    ("BA00Z", "billable", "BA00.Z"),              # the dot left out
    ("NC72", "header", "NC72"),                   # fracture of femur: has codes under it
    ("NE84/PA00", "billable", "NE84/PA00"),       # two stems joined with /
    ("NC72.3&XK9K", "header", "NC72.3&XK9K"),     # stem with codes under it, plus laterality
    ("XK9K", "invalid", None),                    # an extension never stands alone
    ("NC72.3&5A11", "invalid", None),             # only extensions follow &
    ("5A1", "invalid", None),                     # not shaped like a code
    ("ZZ99", "invalid", None),                    # shaped like one, but no such code
    ("5A11&", "invalid", None),
    ("E11.65", "invalid", None),                  # an ICD-10-CM code is not ICD-11
])
def test_check_codes_and_clusters(text, status, code):
    result = mcl.check(text, system="icd11")
    assert (result["status"], result["code"]) == (status, code), result


def test_messages_say_why():
    assert "cannot stand alone" in mcl.check("XK9K", system="icd11")["message"]
    assert "only extension codes" in mcl.check("NC72.3&5A11", system="icd11")["message"]
    header = mcl.check("NC72", system="icd11")
    assert "NC72.3" in header["message"] and "most specific" in header["message"]
    cluster = mcl.check("NE84/PA00", system="icd11")
    assert "sanctioning" in cluster["message"]  # the lab says what it does not check
    assert cluster["description"].startswith("NE84 ") and "; PA00 " in cluster["description"]


@pytest.mark.parametrize("value", [None, 5, "", "   ", "&", "/", "5A11//BA00", "x" * 500, "5A11&&XK9K", "\x00"])
def test_check_never_raises(value):
    result = mcl.check(value, system="icd11")
    assert result["status"] == "invalid" and result["message"]


def test_dates_of_service():
    assert mcl.check("5A11", system="icd11", on="2026-05-01")["status"] == "billable"
    before = mcl.check("5A11", system="icd11", on="2021-12-31")
    assert before["status"] == "invalid" and "2022-01-01" in before["message"]
    assert "not a date" in mcl.check("5A11", system="icd11", on="31/12/2026")["message"]


def test_titles_are_whos_unaltered_with_attribution():
    detail = mcl.lookup("5A11", system="icd11")
    assert detail.title == "Type 2 diabetes mellitus"
    assert detail.attribution == ATTRIBUTION and "CC BY-ND 3.0 IGO" in detail.attribution
    assert ATTRIBUTION in detail.as_text() and "World Health Organization" in detail._repr_html_()
    assert detail.uri and detail.uri.startswith("http")


def test_lookup_gives_the_chain_and_children():
    detail = mcl.lookup("NC72.3", system="icd11")
    assert [p["code"] for p in detail.parents][-1] == "NC72"
    assert detail.parents[0]["kind"] == "chapter" and detail.chapter["code"] == detail.parents[0]["code"]
    assert {"NC72.30", "NC72.31"} <= {c["code"] for c in detail.children}
    assert detail.status == "header"
    assert mcl.lookup("XK9K", system="icd11").kind == "extension"
    assert mcl.lookup("no such", system="icd11") is None


ICD11_SEARCHES = [  # (query, a code or the stem whose codes count), also run by `make bench`
    ("type 2 diabetes", "5A11"),
    ("essential hypertension", "BA00"),
    ("pneumonia", "CA40"),
    ("cholera", "1A00"),
    ("right", "XK9K"),
    ("fracture of femur", "NC72"),
    ("adenocarcinoma of bronchus or lung", "2C25.0"),
]


@pytest.mark.parametrize("query, expected", ICD11_SEARCHES)
def test_search_finds_titles(query, expected):
    codes = [r["code"] for r in mcl.search(query, system="icd11", limit=5)]
    assert any(c == expected or c.startswith(expected + ".") for c in codes), codes


def test_search_by_code_and_results_shape():
    rows = mcl.search("5A1", system="icd11", limit=10)
    assert rows and all(r["code"].startswith("5A1") for r in rows)
    assert set(rows[0]) >= {"code", "description", "billable"}


def test_chapters_are_numbered_as_who_numbers_them():
    from medcodelab import db

    chapters = [r[0] for r in db.cursor().execute(
        "SELECT code FROM icd11_entries WHERE kind = 'chapter' ORDER BY entry_id").fetchall()]
    assert chapters[:2] == ["01", "02"] and "26" in chapters and "V" in chapters and "X" in chapters
    title = db.cursor().execute("SELECT title FROM icd11_entries WHERE code = '05'").fetchone()[0]
    assert title == "Endocrine, nutritional or metabolic diseases"
