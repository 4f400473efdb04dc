"""The widgets, driven the way a learner drives them (no browser: see the browser tests)."""

from __future__ import annotations

import json

import pytest

from medcodelab import answers
from medcodelab.widgets import CodeSearch, EncounterCoder


@pytest.fixture
def case_id():
    from medcodelab import cases

    return cases()["case_id"].iloc[0]


def test_code_search_lists_results_and_opens_notes():
    widget = CodeSearch()
    widget.query.value = "strep throat"
    assert widget.results.options[0][1] == "J02.0"
    assert widget.results.value == "J02.0"
    assert "Streptococcal pharyngitis" in widget.detail.value and "Excludes1" in widget.detail.value
    widget.results.value = widget.results.options[1][1]
    assert widget.results.options[1][1] in widget.detail.value
    widget.query.value = "zzzzqq"
    assert widget.results.options == () and "No codes match" in widget.count.value


def test_code_search_pick_calls_back():
    picked = []
    widget = CodeSearch("CHF", on_pick=picked.append)
    widget.pick.click()
    assert picked == ["I50.9"]


def test_widgets_have_labels_for_assistive_technology(case_id, tmp_path):
    coder = EncounterCoder(case_id, answers_file=tmp_path / "a.json")
    labelled = [coder.entry, coder.listing, coder.search.query, coder.search.results]
    assert all(w.description for w in labelled)
    buttons = [coder.add, coder.up, coder.down, coder.remove, coder.check, coder.save, coder.search.pick]
    assert all(b.description and b.tooltip for b in buttons)


def test_encounter_coder_edit_check_save_reload(case_id, tmp_path):
    from medcodelab import case

    key = [k.code for k in case(case_id).diagnoses if not k.optional]
    path = tmp_path / "nb.answers.json"
    coder = EncounterCoder(case_id, answers_file=path)
    assert "<pre" in coder.note.value
    coder.entry.value = ", ".join(reversed(key)) + ", R69"
    assert coder.value == list(reversed(key)) + ["R69"]
    assert coder.entry.value == ""
    coder.listing.value = "R69"
    coder.remove.click()
    for code in key:  # put them in key order with the buttons
        coder.listing.value = code
        while coder.value.index(code) > key.index(code):
            coder.up.click()
    assert coder.value == key
    coder.check.click()
    assert "100%" in coder.feedback.value and "Why:" in coder.feedback.value
    coder.save.click()
    assert answers.load(case_id, path) == key
    assert json.loads(path.read_text())["answers"][case_id]["codes"] == key
    again = EncounterCoder(case_id, answers_file=path)
    assert again.value == key and "Loaded" in again.status.value


def test_coder_warns_about_headers_and_duplicates(case_id, tmp_path):
    coder = EncounterCoder(case_id, answers_file=tmp_path / "a.json")
    coder.entry.value = "E11"
    assert "header" in coder.listing.options[0][0] and "heading" in coder.status.value
    coder.entry.value = "e11"
    assert coder.value == ["E11"] and "already" in coder.status.value
    coder.entry.value = "not a code"
    assert "not a code" in coder.value[-1] or coder.value[-1] == "not a code"
    coder.check.click()
    assert "invalid" in coder.feedback.value


def test_answer_pad_saves_every_edit_and_keeps_each_question(tmp_path):
    from medcodelab.widgets import AnswerPad

    path = tmp_path / "ps.answers.json"
    pad = AnswerPad(["enc_01", "enc_02"], answers_file=path)
    pad.editor.entry.value = "M77.11"
    assert answers.load("enc_01", path) == ["M77.11"]  # saved without pressing Save
    pad.question.value = "enc_02"
    assert pad.editor.codes == []
    pad.editor.entry.value = "B02.9"
    pad.question.value = "enc_01"
    assert pad.editor.codes == ["M77.11"]
    assert answers.load("enc_02", path) == ["B02.9"]
    again = AnswerPad(["enc_01", "enc_02"], answers_file=path)
    assert again.editor.codes == ["M77.11"]
