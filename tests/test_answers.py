"""Answers as data: read from a cell's source, saved beside the notebook, never lost."""

from __future__ import annotations

import json

import pytest

from medcodelab import answers
from medcodelab.assignment import check_answer, saved, use_answers_file
from medcodelab.scoring.extract import extract

EXTRACTS = [
    ('enc_01 = ["E11.65", "I10"]', ["E11.65", "I10"], None),
    ("enc_01 = ('E11.65',)", ["E11.65"], None),
    ('enc_01 = "E11.65, I10"', ["E11.65", "I10"], None),
    ('enc_01 = []', [], None),
    ('enc_01 = [\n    # your codes here\n]', [], None),
    ('enc_01 = ["A00.0"]\nenc_01 = ["E11.65"]', ["E11.65"], None),  # the last assignment wins
    ('enc_01: list = ["I10"]', ["I10"], None),
    ('x = 1\nenc_01 = ["I10"]\nwhile True:\n    pass', ["I10"], None),
]


@pytest.mark.parametrize("source,codes,problem", EXTRACTS)
def test_extract_reads_literals(source, codes, problem):
    got = extract(source, "enc_01")
    assert got.codes == codes and got.problem is problem


@pytest.mark.parametrize("source,fragment", [
    ('enc_01 = [E11.65]', "not valid Python"),
    ('enc_01 = [E1165]', "could not be read as data"),
    ('enc_01 = list(KEY)', "as data"),
    ('enc_01 = ["E11.65", 3]', "in quotes"),
    ('enc_02 = ["E11.65"]', "does not assign `enc_01`"),
    ('enc_01 = {"E11.65": 1}', "not dict"),
    ('enc_01 = ["I10"] * 1000', "could not be read"),
    ('import os\nenc_01 = os.environ["KEY"]', "could not be read"),
    ("enc_01 = [" + ", ".join(['"I10"'] * 50) + "]", "no encounter"),
    ("enc_01 = '" + "E" * 30_000 + "'", "characters"),
])
def test_extract_refuses_anything_but_data(source, fragment):
    got = extract(source, "enc_01")
    assert got.codes is None and fragment in got.problem


def test_extract_follows_saved_calls():
    assert extract('enc_01 = saved("enc_01")', "enc_01").from_file == "enc_01"
    assert extract('enc_01 = mcl.saved("enc_01")', "enc_01").from_file == "enc_01"
    assert extract('enc_01 = saved(name)', "enc_01").problem


def test_save_load_round_trip(tmp_path):
    path = tmp_path / "nb.answers.json"
    assert answers.load("q1", path) == []
    answers.save("q1", ["E11.65", "I10"], path)
    answers.save("q2", ["J02.0"], path)
    answers.save("q1", ["E11.9"], path)
    assert answers.load("q1", path) == ["E11.9"] and answers.load("q2", path) == ["J02.0"]
    data = json.loads(path.read_text())
    assert data["schema"] == 1 and "saved_at" in data["answers"]["q1"]


def test_unreadable_file_is_set_aside_not_overwritten(tmp_path):
    path = tmp_path / "nb.answers.json"
    path.write_text("{ not json")
    with pytest.raises(ValueError, match="kept as"):
        answers.load("q1", path)
    kept = list(tmp_path.glob("nb.answers.json.unreadable-*"))
    assert len(kept) == 1 and kept[0].read_text() == "{ not json"
    answers.save("q1", ["I10"], path)
    assert answers.load("q1", path) == ["I10"]


def test_assignment_helpers(tmp_path):
    use_answers_file(tmp_path / "ps.answers.json")
    assert saved("enc_01") == []
    answers.save("enc_01", ["J02.0"], tmp_path / "ps.answers.json")
    assert saved("enc_01") == ["J02.0"]
    report = check_answer(["J02.0", "I10"], date_of_service="2026-05-01")
    assert report.problems == 0 and "J02.0" in repr(report)
    for bad, message in ([], "no codes yet"), ("J02.0", "as a list"), (["E11"], "heading"), (None, "expected a list"):
        with pytest.raises(AssertionError, match=message):
            check_answer(bad)
