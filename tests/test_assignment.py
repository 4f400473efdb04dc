"""ps01: generated from the keys, graded as data, hidden tests hidden."""

from __future__ import annotations

from pathlib import Path

import nbformat

from autograder import keys, make_assignment
from autograder.preprocessors import MARKER

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "assignments" / "source" / "ps01-icd10cm" / "ps01-icd10cm.ipynb"


def test_committed_notebook_matches_its_spec_and_keys():
    assert SOURCE.read_text(encoding="utf-8") == make_assignment.render("ps01-icd10cm"), (
        "regenerate with: python -m autograder make-assignment")


def test_eight_encounters_each_with_answer_and_hidden_key():
    nb = nbformat.read(SOURCE, as_version=4)
    meta = [c.metadata.get("nbgrader", {}) for c in nb.cells]
    grade_ids = [m["grade_id"] for m in meta if m.get("grade_id")]
    assert len(grade_ids) == len(set(grade_ids))
    answers = [m for m in meta if m.get("solution")]
    tests = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert len(answers) == len(tests) == 8
    spec = make_assignment.load_spec("ps01-icd10cm")
    for n, (test, case_id) in enumerate(zip(tests, spec["encounters"]), start=1):
        match = MARKER.search(test.source)
        assert match and match["answer"] == f"enc_{n:02d}" and match["case"] == case_id
        assert "### BEGIN HIDDEN TESTS" in test.source
        case = keys.load(case_id)
        assert case.use == "assessment"
        assert test.metadata["nbgrader"]["points"] == make_assignment.points_for(case)


def test_encounters_cover_the_settings():
    spec = make_assignment.load_spec("ps01-icd10cm")
    settings = {keys.load(c).setting for c in spec["encounters"]}
    assert {"office", "telehealth", "ed", "inpatient"} <= settings
