"""Grading that a submission cannot bend, through real nbgrader runs (the full adversarial
suite belongs to the autograder's own tests; these are the foundation's guarantees)."""

from __future__ import annotations

import shutil

import nbformat
import pytest

from autograder import demo
from medcodelab import paths

TAMPER = '''import os, pathlib
key = pathlib.Path(os.environ["MEDCODELAB_ASSESSMENT_CASES"]) / "as-002.yaml"
key.write_text(key.read_text().replace("code: B02.9", "code: A00.0"))
enc_02 = ["A00.0"]'''


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    cases = tmp_path_factory.mktemp("cases")
    for path in paths.assessment_cases_dir().glob("*.yaml"):
        shutil.copy(path, cases / path.name)
    patch = pytest.MonkeyPatch()
    patch.setenv("MEDCODELAB_ASSESSMENT_CASES", str(cases))  # the kernels inherit it
    course = demo.Course(tmp_path_factory.mktemp("course") / "c", timeout=5)
    course.generate_and_release()
    course.cases = cases
    yield course
    patch.undo()


@pytest.mark.slow
def test_a_submission_cannot_rewrite_the_key_it_is_graded_against(course):
    pristine = (course.cases / "as-002.yaml").read_text()
    perfect = course.key_answers()  # read before the attack changes the file
    course.submit("mallory", perfect, edit=demo.set_answer_source("enc_02", TAMPER))
    assert course.autograde("mallory")["success"]
    assert "code: A00.0" in (course.cases / "as-002.yaml").read_text()  # the attack did write the file
    total, questions = course.scores("mallory")
    assert questions["test_enc_02"] == 0  # graded against the key as it was before the student's code ran
    # the next student is not graded against the tampered key: grading refuses, loudly
    course.submit("next", perfect)
    out = course.autograde("next")
    assert not out["success"]
    assert "has changed since this problem set was generated" in out["log"] + str(out.get("error"))
    (course.cases / "as-002.yaml").write_text(pristine)
    assert course.autograde("next")["success"]
    assert course.scores("next")[0] == course.maxima()[0], course.scores("next")


@pytest.mark.slow
def test_a_deleted_test_cell_is_put_back_and_graded(course):
    def delete_test(nb):
        nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") != "test_enc_01"]

    course.submit("deleter", course.key_answers(), edit=delete_test)
    assert course.autograde("deleter")["success"]
    total, questions = course.scores("deleter")
    assert questions["test_enc_01"] == course.maxima()[1]["test_enc_01"]
    assert total == course.maxima()[0]


@pytest.mark.slow
def test_answers_that_are_not_data_score_nothing(course):
    def hostile(nb):
        for cell in nb.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
            if grade_id == "answer_enc_01":
                cell.source = "class Any:\n    def __eq__(self, other): return True\nenc_01 = Any()"
            elif grade_id == "answer_enc_02":
                cell.source = "mine = ['B02.9']\nenc_02 = mine"
            elif grade_id == "test_enc_03":
                cell.outputs = [nbformat.v4.new_output("execute_result", data={"text/plain": "2"},
                                                       execution_count=1)]
    course.submit("trickster", {}, edit=hostile)
    assert course.autograde("trickster")["success"]
    total, questions = course.scores("trickster")
    assert total == 0, questions
