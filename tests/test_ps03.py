"""ps03: eight encounters coded in ICD-11, clusters graded part by part, through nbgrader."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from autograder import demo, keys, make_assignment
from autograder.grading import batch
from autograder.grading.sandbox import Limits
from autograder.questions import MARKER
from medcodelab.scoring.icd11 import key_of, parts

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "ps03-icd11"
SOURCE = ROOT / "assignments" / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"


def test_committed_notebook_matches_its_spec_and_keys():
    assert SOURCE.read_text(encoding="utf-8") == make_assignment.render(ASSIGNMENT), (
        "regenerate with: python -m autograder make-assignment")


def test_eight_icd11_questions_with_clusters_and_points_per_part():
    nb = nbformat.read(SOURCE, as_version=4)
    tests = [c for c in nb.cells if MARKER.search(c.source)]
    assert len(tests) >= 8
    clustered = 0
    for cell in tests:
        match = MARKER.search(cell.source)
        assert match["system"] == "icd11"
        case = keys.load(match["case"], match["digest"])
        required = [c for c, optional, *_ in key_of(case) if not optional]
        assert required, case.case_id
        clustered += any("&" in c or "/" in c for c in required)
        assert cell.metadata["nbgrader"]["points"] == 1 + sum(len(a) + len(b) for a, b in map(parts, required))
    assert clustered >= 3  # postcoordination is graded, not just stems


@pytest.mark.slow
def test_graded_part_by_part_through_nbgrader(tmp_path):
    course = demo.Course(tmp_path / "course", timeout=10, assignment=ASSIGNMENT)
    course.generate_and_release()
    key = course.key_answers()
    course.submit("perfect", key)
    stems = {q: [c.split("&")[0] for c in codes] for q, codes in key.items()}  # every extension left off
    course.submit("stems-only", stems)
    nb = nbformat.read(SOURCE, as_version=4)
    icd10 = {}
    for cell in nb.cells:
        match = MARKER.search(cell.source)
        if match:
            icd10[match["answer"]] = [k.code for k in keys.load(match["case"]).diagnoses if not k.optional]
    course.submit("icd10-instead", icd10)
    report = batch.grade(course.root, ASSIGNMENT, jobs=2, limits=Limits(cell_timeout=10), progress=lambda m: None)
    scores = {s.student: s for s in report.students}
    maximum, per_question = course.maxima()
    assert scores["perfect"].score == pytest.approx(maximum)
    for question, codes in key.items():
        if any("&" in c for c in codes):
            assert 0 < scores["stems-only"].questions[question] < per_question[f"test_{question}"]
        else:
            assert scores["stems-only"].questions[question] == pytest.approx(per_question[f"test_{question}"])
    assert scores["icd10-instead"].score == 0
    assert course.autograde("stems-only")["success"]  # stock nbgrader agrees with the batch grader
    assert course.scores("stems-only")[0] == pytest.approx(scores["stems-only"].score)
    html = course.feedback("stems-only").read_text()
    assert "part right" in html and "missing XK" in html


def test_a_course_seed_is_refused_where_there_is_nothing_to_draw():
    with pytest.raises(ValueError, match="no pool"):
        make_assignment.render(ASSIGNMENT, seed="course-secret")
