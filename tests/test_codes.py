"""check, lookup and search over the real ICD-10-CM code set."""

from __future__ import annotations

import pytest

import medcodelab
from medcodelab import check, lookup, search

CHECKS = [
    # input, status, canonical code
    ("E11.65", "billable", "E11.65"),
    ("e1165", "billable", "E11.65"),
    (" E11.65. ", "billable", "E11.65"),
    ("E11..65", "billable", "E11.65"),
    ("E.1165", "billable", "E11.65"),
    ("'E11.65',", "billable", "E11.65"),
    ("W19XXXA", "billable", "W19.XXXA"),
    ("w19.xxxa", "billable", "W19.XXXA"),
    ("B20", "billable", "B20"),
    ("I10", "billable", "I10"),
    ("E11", "header", "E11"),
    ("S52.521", "header", "S52.521"),
    ("O09.A", "header", "O09.A"),
    ("A00-A09", "header", "A00-A09"),
    ("E11.659", "invalid", "E11.659"),
    ("W19A", "invalid", "W19.A"),
    ("U99.9", "invalid", "U99.9"),
    ("E11.-", "invalid", None),
    ("0E11", "invalid", None),
    ("EO9", "invalid", None),
    ("", "invalid", None),
    ("diabetes", "invalid", None),
    ("E11.65 I10", "invalid", None),
    ("E11.6512345", "invalid", None),
]


@pytest.mark.parametrize("text,status,code", CHECKS)
def test_check(text, status, code):
    result = check(text)
    assert set(result) == {"input", "code", "status", "description", "message"}
    assert (result["status"], result["code"]) == (status, code)
    assert result["message"]


@pytest.mark.parametrize("value", [None, 12, 3.5, b"E11.65", ["E11.65"], object(), "\x00", "💥", "E11" * 10_000])
def test_check_never_raises(value):
    result = check(value)
    assert result["status"] in {"billable", "header", "invalid"}


def test_messages_teach():
    assert "7th character" in check("S52.521")["message"] and "S52.521A" in check("S52.521")["message"]
    assert "did you mean W19.XXXA" in check("W19A")["message"]
    assert "already complete" in check("E11.659")["message"]
    assert "letter O" in check("0E11")["message"]
    assert "more characters" in check("E11.-")["message"]


def test_date_of_service_window():
    assert check("E11.65", date_of_service="2026-05-01")["status"] == "billable"
    outside = check("E11.65", date_of_service="2026-12-01")
    assert outside["status"] == "invalid" and "2026-04-01 to 2026-09-30" in outside["message"]
    assert check("E11.65", date_of_service="not a date")["status"] == "invalid"


def test_unknown_system_is_a_message():
    result = check("E11.65", system="icd9")
    assert result["status"] == "invalid" and "icd10cm" in result["message"]


def test_lookup_gives_parents_notes_and_children():
    detail = lookup("e11.65")
    assert detail.code == "E11.65" and detail.billable
    assert [p["kind"] for p in detail.parents] == ["chapter", "block", "category", "subcategory"]
    excludes1 = detail.notes_of("excludes1")
    assert "type 1 diabetes mellitus (E10.-)" in excludes1
    use_additional = [n for n in detail.notes if n["type"] == "use_additional"]
    assert any("insulin (Z79.4)" == n["text"] and n["from_code"] == "E11" and n["inherited"] for n in use_additional)
    header = lookup("E11.6")
    assert "E11.65" in [c["code"] for c in header.children]
    fracture = lookup("S52.521A")
    assert [s["character"] for s in fracture.seventh_characters] == ["A", "D", "G", "K", "P", "S"]
    assert "initial encounter for closed fracture" in fracture.as_text()
    assert "<code>S52.521A</code>" in fracture._repr_html_()
    assert lookup("not a code") is None


SEARCHES = [
    ("CHF", "I50.9"), ("COPD exacerbation", "J44.1"), ("UTI", "N39.0"), ("GERD", "K21.9"), ("afib", "I48.91"),
    ("NSTEMI", "I21.4"), ("T2DM with hyperglycemia", "E11.65"), ("BPH", "N40.0"), ("OSA", "G47.33"),
    ("type 2 diabetes with diabetic chronic kidney disease", "E11.22"), ("essential hypertension", "I10"),
    ("strep throat", "J02.0"), ("acute bronchitis", "J20.9"), ("fall from ladder", "W11.XXXA"),
    ("torus fracture right radius", "S52.521A"), ("major depressive disorder recurrent moderate", "F33.1"),
    ("hypertensive heart and chronic kidney disease with heart failure", "I13.0"), ("low back pain", "M54.50"),
    ("migraine", "G43.909"), ("sepsis unspecified organism", "A41.9"), ("covid", "U07.1"),
    ("iron deficiency anemia", "D50.9"), ("hyperlipidemia", "E78.5"), ("obesity BMI 40", "Z68.41"),
    ("history of colon polyps", "Z86.010"), ("otitis media left", "H66.92"), ("ankle sprain right", "S93.401A"),
    ("pneumonia", "J18.9"), ("CKD stage 3a", "N18.31"), ("hypothyroidism", "E03.9"), ("hyperten", "I10"),
    # everyday words (a newcomer's review found each of these missing before)
    ("shingles", "B02.9"), ("cellulitis left forearm", "L03.114"), ("gallstones with acute cholecystitis", "K80.00"),
    ("dysphagia after stroke", "I69.391"), ("heart attack", "I21.9"), ("high blood pressure", "I10"),
    ("flu", "J11.1"), ("right ear infection", "H66.91"), ("heat stroke", "T67.01XA"),
    ("hypertension with CKD stage 3", "I12.9"), ("dog bite", "W54.0XXA"),
]


@pytest.mark.parametrize("query,expected", SEARCHES)
def test_search_finds_the_expected_code_in_the_top_ten(query, expected):
    results = search(query, limit=10)
    assert expected in [r["code"] for r in results], [r["code"] for r in results]


def test_search_ranks_index_defaults_and_initial_encounters_first():
    assert search("pneumonia")[0]["code"] == "J18.9"
    assert search("CHF")[0]["code"] == "I50.9"
    assert search("ankle sprain right")[0]["code"] == "S93.401A"
    # tied 7th-character siblings keep the tabular's order, whatever their meanings repeat
    assert [r["code"] for r in search("displaced transverse fracture shaft left femur", limit=3)] == [
        "S72.322A", "S72.322B", "S72.322C"]
    assert search("open fracture shaft left femur")[0]["code"].endswith("B")


def test_search_results_are_plain_dicts():
    row = search("hypertension", limit=1)[0]
    assert set(row) == {"code", "description", "billable"} and row["code"] == "I10" and row["billable"] is True


def test_search_by_code_browses_the_tabular():
    codes = [r["code"] for r in search("E11.6", limit=50)]
    assert codes[0] == "E11.6" and "E11.65" in codes and all(c.startswith("E11.6") for c in codes)


@pytest.mark.parametrize("query", ["", "   ", None, 42, "zzzzqqq", "the of and", "💥", "x" * 5000])
def test_search_never_raises(query):
    assert isinstance(search(query), list)


def test_limit_is_respected():
    assert len(search("fracture", limit=3)) == 3
    assert len(search("fracture", limit=0)) == 1


def test_welcome_reports_the_build():
    text = repr(medcodelab.welcome())
    assert "74,719 billable" in text and "read-only" in text


def test_a_comma_typed_for_the_dot_is_read_as_the_dot():
    assert check("E11,65")["code"] == "E11.65" and check("E11,65")["status"] == "billable"
    assert check("E11.65,I10")["status"] == "invalid"  # two codes are not one


def test_lookup_says_where_an_inherited_note_is_printed():
    text = lookup("E11.65").as_text()
    assert "(from chapter 4)" in text and "(from E11)" in text
