"""make demo: the instructor's whole nbgrader cycle, with the expectations the issue sets."""

from __future__ import annotations

import csv
import json

import pytest

from autograder import demo


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    return demo.run(tmp_path_factory.mktemp("course") / "demo-course", timeout=5)


@pytest.mark.slow
def test_every_student_is_graded(result):
    assert result.autograde_ok == {s: True for s in demo.STUDENTS}


@pytest.mark.slow
def test_scores_are_what_a_grader_expects(result):
    full = result.max_score
    assert full > 0
    assert result.scores["perfect"] == pytest.approx(full)
    assert result.scores["untouched"] == 0
    assert 0 < result.scores["partial"] < full
    # partial credit is visible per question, not only in the total
    assert any(0 < score < result.question_max[q] for q, score in result.questions["partial"].items())


@pytest.mark.slow
def test_the_looping_student_loses_only_the_looping_question(result):
    loop_cell = f"test_{demo.LOOP_QUESTION}"
    looper = result.questions["looper"]
    assert looper[loop_cell] == 0
    for question, score in looper.items():
        if question != loop_cell:
            assert score == result.question_max[question], question
    assert result.scores["looper"] == pytest.approx(result.max_score - result.question_max[loop_cell])


@pytest.mark.slow
def test_release_holds_no_key(result):
    text = result.release_path.read_text()
    assert "medcodelab-key" not in text and "HIDDEN TESTS" not in text
    nb = json.loads(text)
    for cell in nb["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("solution"):
            assert '"' not in "".join(cell["source"]).split("e.g.")[0], "an answer cell was released with codes in it"


@pytest.mark.slow
def test_feedback_explains_and_hides_the_hidden_tests(result):
    assert set(result.feedback) == set(demo.STUDENTS)
    partial = result.feedback["partial"].read_text()
    assert "medcodelab-key" not in partial and "HIDDEN TESTS" not in partial
    assert "Why:" in partial and ("partial" in partial or "missing" in partial)
    looper = result.feedback["looper"].read_text()
    assert "stopped after the 5 s time limit" in looper and "0 of 2 points" in looper


@pytest.mark.slow
def test_export_csv(result):
    with open(result.csv_path, newline="") as handle:
        rows = {row["student_id"]: row for row in csv.DictReader(handle)}
    assert set(rows) == set(demo.STUDENTS)
    assert float(rows["perfect"]["score"]) == pytest.approx(result.max_score)
    assert float(rows["untouched"]["score"]) == 0
