"""ps02: twelve chapter-guideline encounters, generated from their keys, graded with sequencing."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from autograder import demo, keys, make_assignment
from autograder.grading import batch
from autograder.grading.sandbox import Limits
from autograder.questions import MARKER

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "ps02-icd10cm-guidelines"
SOURCE = ROOT / "assignments" / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
CHAPTERS = {"diabetes", "hypertension", "ckd", "neoplasms", "injury", "pregnancy", "sepsis", "substance-use",
            "covid-19", "influenza", "bmi", "social-determinants"}


def test_committed_notebook_matches_its_spec_and_keys():
    assert SOURCE.read_text(encoding="utf-8") == make_assignment.render(ASSIGNMENT), (
        "regenerate with: python -m autograder make-assignment")


def test_twelve_encounters_cover_the_chapters_and_every_key_holds():
    nb = nbformat.read(SOURCE, as_version=4)
    markers = [MARKER.search(c.source) for c in nb.cells if MARKER.search(c.source)]
    assert len(markers) >= 12
    cases = [keys.load(m["case"], m["digest"]) for m in markers]
    topics = {t for c in cases for t in c.topics}
    assert CHAPTERS <= topics, CHAPTERS - topics
    assert {c.setting for c in cases} >= {"office", "ed", "inpatient", "telehealth"}
    assert all(c.use == "assessment" for c in cases)


def test_a_course_seed_draws_twelve_from_the_pool():
    spec = make_assignment.load_spec(ASSIGNMENT)
    drawn = make_assignment.draw(spec, "course-x")
    assert len(drawn) == 12 and set(drawn) <= set(spec["pool"])


@pytest.mark.slow
def test_graded_with_partial_credit_and_sequencing(tmp_path):
    course = demo.Course(tmp_path / "course", timeout=10, assignment=ASSIGNMENT)
    course.generate_and_release()
    key = course.key_answers()
    assert len(key) == 12
    course.submit("perfect", key)
    swapped = {q: list(reversed(codes)) for q, codes in key.items()}  # every first-listed code moved
    course.submit("swapped", swapped)
    report = batch.grade(course.root, ASSIGNMENT, jobs=2, limits=Limits(cell_timeout=10), progress=lambda m: None)
    scores = {s.student: s for s in report.students}
    maximum, per_question = course.maxima()
    assert scores["perfect"].score == pytest.approx(maximum)
    multi = [q for q, codes in key.items() if len(codes) > 1]
    for question in multi:  # the sequencing point is lost, the codes still earn theirs
        assert 0 < scores["swapped"].questions[question] < per_question[f"test_{question}"]
    html = course.feedback("swapped").read_text()
    assert "list it first" in html or "first-listed" in html
