"""The rubric, table-driven: every row is an answer, a key and the score a coder would give.

Worked values (key A = E11.65 first, then Z79.84 and I10: 4 points possible):
- E11.69 for E11.65 shares E11.6 (2 of 3 levels): 0.5 * 2/3 = 0.333 for the code, and the same
  share of the sequencing point for listing that partial match first.
"""

from __future__ import annotations

import pytest

from medcodelab import check, score_diagnoses
from medcodelab.cases.model import KeyCode

A = [KeyCode("E11.65", "dm with hyperglycemia", "I.C.4.a"), KeyCode("Z79.84", "oral drugs"), KeyCode("I10", "htn")]
B = [KeyCode("S52.521A", "torus fx"), KeyCode("W09.2XXA", "jungle gym", optional=True),
     KeyCode("Y92.830", "park", optional=True)]
C = [KeyCode("J02.0", "strep pharyngitis")]
D = [KeyCode("M54.50", "low back pain", also_accept=("M54.59",))]

CASES = [
    # (id, key, answer, expected fraction)
    ("exact", A, ["E11.65", "Z79.84", "I10"], 1.0),
    ("wrong-first", A, ["I10", "E11.65", "Z79.84"], 0.75),
    ("missing-one", A, ["E11.65", "I10"], 0.75),
    ("empty", A, [], 0.0),
    ("sibling-first", A, ["E11.69", "Z79.84", "I10"], (1 / 3 + 1 / 3 + 2) / 4),
    ("too-vague", A, ["E11.9", "Z79.84", "I10"], (1 / 6 + 1 / 6 + 2) / 4),
    ("heading", A, ["E11", "Z79.84", "I10"], (1 / 6 + 1 / 6 + 2) / 4),
    ("extra-code", A, ["E11.65", "Z79.84", "I10", "J45.909"], 0.875),
    ("not-a-code", A, ["E11.65", "Z79.84", "I10", "NOTACODE"], 0.875),
    ("normalised", A, ["e1165", "z79.84 ", "I10."], 1.0),
    ("duplicate", A, ["E11.65", "E11.65", "Z79.84", "I10"], 1.0),
    ("wrong-category", A, ["E10.65", "Z79.84", "I10"], 0.375),
    ("one-string", A, "E11.65", 0.5),
    ("comma-string", A, "E11.65, Z79.84; I10", 1.0),
    ("none", A, None, 0.0),
    ("number", A, [123], 0.0),
    ("only-secondary", A, ["I10"], 0.25),
    ("wrong-z-code", A, ["E11.65", "Z79.4", "I10"], (2 + 1 / 6 + 1) / 4),
    ("unsupported-extra", A, ["E11.65", "Z79.84", "I10", "E11.9"], 0.875),
    ("z-first", A, ["Z79.84", "E11.65", "I10"], 0.75),
    ("blanks", A, [" E11.65 ", "Z79.84", "I10", "", "  "], 1.0),
    ("injury", B, ["S52.521A"], 1.0),
    ("injury-with-optional", B, ["S52.521A", "W09.2XXA", "Y92.830"], 1.0),
    ("wrong-optional", B, ["S52.521A", "W09.8XXA"], 0.75),
    ("wrong-7th", B, ["S52.521D"], (0.4 + 0.4) / 2),
    ("no-7th", B, ["S52.521"], (0.4 + 0.4) / 2),
    ("wrong-side-extra", B, ["S52.521A", "S52.522A"], 0.75),
    ("external-cause-first", B, ["W09.2XXA", "S52.521A"], 0.5),
    ("no-dot", B, ["S52521A"], 1.0),
    ("unspecified-sibling", C, ["J02.9"], (0.25 + 0.25) / 2),
    ("integral-symptom", C, ["J02.0", "R07.0"], 0.75),
    ("symptom-only", C, ["R07.0"], 0.0),
    ("also-accepted", D, ["M54.59"], 1.0),
    ("heading-of-accepted", D, ["M54.5"], (1 / 3 + 1 / 3) / 2),
]


@pytest.mark.parametrize("name,key,answer,expected", CASES, ids=[c[0] for c in CASES])
def test_rubric(name, key, answer, expected):
    score = score_diagnoses(answer, key, check)
    assert score.fraction == pytest.approx(expected, abs=1e-3), score.as_text()


def test_there_are_at_least_thirty_pairs():
    assert len(CASES) >= 30


def test_verdicts_name_each_code_and_carry_the_rationale():
    score = score_diagnoses(["E11.69", "I10", "J45.909", "xx"], A, check)
    by_verdict = {v.verdict: v for v in score.verdicts}
    assert by_verdict["partial"].answer == "E11.69" and by_verdict["partial"].key == "E11.65"
    assert by_verdict["partial"].rationale == "dm with hyperglycemia"
    assert by_verdict["missing"].key == "Z79.84" and by_verdict["missing"].rationale == "oral drugs"
    assert by_verdict["extra"].answer == "J45.909"
    assert "too short" in by_verdict["invalid"].message
    assert by_verdict["sequencing"].key == "E11.65"
    text = score.as_text()
    assert "E11.65" in text and "why: dm with hyperglycemia (I.C.4.a)" in text
    assert "<li>" in score.as_html()


def test_extra_code_ruled_out_by_excludes1_says_so(code_set):
    key = [KeyCode("N30.00", "acute cystitis")]
    score = score_diagnoses(["N30.00", "N39.0"], key, check, explain_extra=code_set.excludes1_conflict)
    extra = next(v for v in score.verdicts if v.verdict == "extra")
    assert "Excludes1" in extra.message and "N30.00" in extra.message
    assert score.fraction == 0.75


def test_sequencing_line_does_not_repeat_the_rationale():
    score = score_diagnoses(["I10", "E11.65", "Z79.84"], A, check)
    assert [v.rationale for v in score.verdicts if v.verdict == "sequencing"] == [""]
    assert score.as_text().count("dm with hyperglycemia") == 1


def test_optional_code_left_out_is_explained_not_penalised():
    score = score_diagnoses(["S52.521A"], B, check)
    optional = [v for v in score.verdicts if v.verdict == "optional"]
    assert {v.key for v in optional} == {"W09.2XXA", "Y92.830"}
    assert all(v.credit == 0 and v.possible == 0 for v in optional)


def test_scoring_never_raises_on_hostile_input():
    class Weird:
        def __eq__(self, other):
            return True

        def __str__(self):
            raise RuntimeError("boom")

    for answer in ([Weird()], [{"code": "E11.65"}], ["E11.65" * 1000], [b"E11.65"], [None, 1.5, ["I10"]],
                   {"E11.65"}, "E11.65, I10", [float("nan")]):
        score = score_diagnoses(answer, A, check)
        assert 0.0 <= score.fraction <= 1.0
    # an object that claims to equal everything earns nothing
    assert score_diagnoses([Weird(), Weird(), Weird()], A, check).fraction == 0.0
