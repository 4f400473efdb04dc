"""ICD-11 answers graded part by part: stems, extensions, sequencing, many-to-one keys."""

from __future__ import annotations

import pytest

import medcodelab as mcl
from medcodelab.scoring.icd11 import key_of, parts


def test_parts_of_a_cluster():
    assert parts("5A11/9B71.00&XK9J") == (["5A11", "9B71.00"], ["XK9J"])
    assert parts("9B10.0Y&XK9K") == (["9B10.0Y"], ["XK9K"])


def test_every_icd11_key_scores_full_marks_against_itself():
    for case_id in mcl.cases(topic="icd-11").case_id:
        case = mcl.case(case_id)
        answer = [cluster for cluster, optional, *_ in key_of(case) if not optional]
        assert mcl.score(answer, case, system="icd11").perfect, case_id


def test_a_cluster_earns_credit_part_by_part():
    case = mcl.case("in-cataract-laterality-v01")  # key 9B10.0Y&XK9K
    assert mcl.score(["9B10.0Y&XK9K"], case, system="icd11").perfect
    stem_only = mcl.score(["9B10.0Y"], case, system="icd11")
    assert stem_only.earned == pytest.approx(2) and "missing XK9K" in stem_only.as_text()
    wrong_side = mcl.score(["9B10.0Y&XK8G"], case, system="icd11")
    assert wrong_side.earned == pytest.approx(1.5) and "not supported: XK8G" in wrong_side.as_text()
    sibling = mcl.score(["9B10.0Z&XK9K"], case, system="icd11")  # same category, less specific
    assert 0 < sibling.earned < stem_only.earned + 1
    alone = mcl.score(["XK9K"], case, system="icd11")
    assert alone.earned == 0 and "cannot stand alone" in alone.as_text()


def test_two_icd10cm_codes_on_one_icd11_code_are_reported_once():
    case = next(mcl.case(c) for c in mcl.cases(topic="icd-11").case_id
                if [k.icd11 for k in mcl.case(c).diagnoses].count("QC48.Y") == 2)
    assert [cluster for cluster, *_ in key_of(case)].count("QC48.Y") == 1


def test_sequencing_and_unsupported_clusters_cost():
    from autograder import keys

    case = keys.load("as-027")  # pulmonary tuberculosis, then type 2 diabetes
    key = [cluster for cluster, optional, *_ in key_of(case) if not optional]
    assert len(key) >= 2
    swapped = mcl.score(list(reversed(key)), case, system="icd11")
    assert not swapped.perfect and "list it first" in swapped.as_text()
    extra = mcl.score(key + ["1A00"], case, system="icd11")
    assert extra.earned == pytest.approx(swapped.possible - 0.5)


def test_an_encounter_without_an_icd11_key_says_so():
    us_case = mcl.cases(topic="diabetes").case_id.iloc[0]
    if key_of(mcl.case(us_case)):
        pytest.skip("this bank keys the first diabetes case in ICD-11 too")
    with pytest.raises(ValueError, match="no ICD-11 key"):
        mcl.score(["5A11"], us_case, system="icd11")
    with pytest.raises(ValueError, match="icd10cm or icd11"):
        mcl.score(["5A11"], us_case, system="cpt")


def test_the_coding_pad_in_icd11_scores_and_records(tmp_path, monkeypatch):
    from medcodelab import progress
    from medcodelab.widgets import EncounterCoder

    monkeypatch.setenv("MEDCODELAB_PROGRESS", str(tmp_path / "p.jsonl"))
    pad = EncounterCoder("in-cataract-laterality-v01", system="icd11", answers_file=tmp_path / "a.json")
    assert "9B10.0Y&XK9K" in pad.entry.placeholder
    pad.entry.value = "9b10.0y&xk9k"
    assert pad.value == ["9B10.0Y&XK9K"]
    pad.check.click()
    assert "matches the key" in pad.feedback.value
    row = progress.attempts().iloc[0]
    assert row["item"] == "in-cataract-laterality-v01:icd11" and "icd-11" in row["topics"]


def test_extensions_the_note_supports_are_accepted_but_not_required():
    from autograder import keys

    case = keys.load("as-034")  # NC72.21&XK9K, with displaced and closed accepted
    full = mcl.score(["NC72.21&XK9K&XJ8PQ&XJ44E"], case, system="icd11")
    assert full.perfect and "which the note supports" in full.as_text()
    assert mcl.score(["NC72.21&XK9K"], case, system="icd11").perfect
    wrong = mcl.score(["NC72.21&XK9K&XK8G"], case, system="icd11")  # a second, contradictory side
    assert not wrong.perfect and "not supported: XK8G" in wrong.as_text()
    external = mcl.score(["NC72.21&XK9K", "PA60&XE266"], case, system="icd11")  # optional cause, with a place
    assert external.perfect and "confirmed" in external.as_text()
