"""Answers as data: read from a cell's source, saved beside the notebook, never lost."""

from __future__ import annotations

import json

import pytest

from medcodelab import answers
from medcodelab.assignment import check_answer, use_answers_file
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


@pytest.fixture
def shell():
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    yield shell
    InteractiveShell.clear_instance()


def _check(shell, capsys, source, question="enc_01", **kwargs):
    shell.run_cell(source, store_history=True)
    check_answer(question, **kwargs)
    return capsys.readouterr().out


def test_check_answer_reads_the_answer_as_the_grader_does(shell, capsys, tmp_path, monkeypatch):
    assert "ok  J02.0" in _check(shell, capsys, 'enc_01 = ["J02.0", "I10"]', date_of_service="2026-05-01")
    # what the grader cannot read, the check says it cannot read
    out = _check(shell, capsys, 'mine = ["L03.114"]\nenc_01 = mine')
    assert "the grader cannot read this answer" in out
    assert "ok  R07.89" in _check(shell, capsys, 'enc_01 = "R07.89"')  # a string is read as the grader reads it
    assert "no codes yet" in _check(shell, capsys, "enc_01 = []")
    assert "heading" in _check(shell, capsys, 'enc_01 = ["E11"]')
    assert "no cell you ran assigns" in _check(shell, capsys, "x = 1", question="enc_09")
    use_answers_file(tmp_path / "ps.answers.json")
    answers.save("enc_02", ["B02.9"], tmp_path / "ps.answers.json")
    assert "ok  B02.9" in _check(shell, capsys, 'enc_02 = saved("enc_02")', question="enc_02")


def test_check_answer_fails_only_under_nbgrader_validate(shell, capsys, monkeypatch):
    shell.run_cell("enc_01 = []", store_history=True)
    check_answer("enc_01")  # a normal run goes on: Run All reaches the next question
    monkeypatch.setenv("NBGRADER_EXECUTION", "validate")
    with pytest.raises(AssertionError, match="no codes yet"):
        check_answer("enc_01")
    shell.run_cell('enc_01 = ["J02.0"]', store_history=True)
    check_answer("enc_01")  # a readable, billable answer passes validation


@pytest.mark.parametrize("source,fragment", [
    ('enc_01 = ["Z00.00"]\nif False:\n    enc_01 = ["E11.65"]', None),
    ('def f():\n    enc_01 = ["E11.65"]', "only assigned inside a block"),
    ('enc_01 = {"E11.65", "I10"}', "has no order"),
])
def test_only_top_level_data_counts(source, fragment):
    got = extract(source, "enc_01")
    if fragment is None:
        assert got.codes == ["Z00.00"]  # the dead branch is not the answer
    else:
        assert got.codes is None and fragment in got.problem


def test_the_grader_reads_answers_files_strictly(tmp_path):
    good = tmp_path / "a.json"
    answers.save("q1", ["I10"], good)
    assert answers.read_strict(good) == {"q1": ["I10"]}
    link = tmp_path / "link.json"
    link.symlink_to(good)
    folder = tmp_path / "dir.json"
    folder.mkdir()
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000)
    huge = tmp_path / "huge.json"
    huge.write_text('{"answers": {"q1": {"codes": [' + ",".join(['"I10"'] * 300_000) + "]}}}")
    many = tmp_path / "many.json"
    many.write_text('{"answers": {"q1": {"codes": [' + ",".join(['"I10"'] * 41) + "]}}}")
    for bad, fragment in [(link, "not a plain file"), (folder, "not a plain file"), (deep, "not an answers file"),
                          (huge, "bytes"), (many, "at most 40")]:
        with pytest.raises(answers.Unreadable, match=fragment):
            answers.read_strict(bad)
    assert link.is_symlink() and deep.exists()  # nothing is moved or changed


@pytest.mark.parametrize("source,plain", [
    ('enc_01 = ["J02.0", "I10"]', True),
    ('enc_01 = [\n    # your codes here\n]', True),
    ('enc_01 = saved("enc_01")', True),
    ('"a note"\nenc_01: list = ("I10",)', True),
    ("", True),
    ('enc_01 = ["I10"]\nwhile True:\n    pass', False),
    ('enc_01 = mine', False),
    ('enc_01 = saved(name)', False),
    ('enc_01 = mcl.saved("enc_01")', False),
    ('import os', False),
    ('enc_01 = ["I10"] * 3', False),
    ('x.y = 1', False),
    ('print("hi")', False),
])
def test_plain_data_needs_no_kernel(source, plain):
    from medcodelab.scoring.extract import is_plain_data

    assert is_plain_data(source) is plain
