"""Per-student variants: each student codes their own version of a template encounter, sees it
through the released notes file, and is graded against their own key, derived from the hidden
test and the submission's owner."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest
import yaml

from autograder import demo, keys, make_assignment
from autograder.grading import batch
from autograder.grading.sandbox import Limits
from autograder.questions import MARKER
from medcodelab import assignment

ROOT = Path(__file__).resolve().parents[1]
ROSTER = ["alice", "bob", "carol", "dave", "erin", "frank@example.invalid", "gül"]


@pytest.fixture()
def private_course(tmp_path, monkeypatch, built_database):
    folder = tmp_path / "private"
    shutil.copytree(ROOT / "autograder" / "cases", folder)
    (folder / "templates" / "orthopaedics").mkdir(parents=True)
    knee = (ROOT / "data" / "cases" / "templates" / "orthopaedics" / "knee-oa-injection.yaml").read_text()
    (folder / "templates" / "orthopaedics" / "knee.yaml").write_text(
        knee.replace("id: ortho-knee-oa-injection", "id: as-knee"))
    monkeypatch.setenv("MEDCODELAB_ASSESSMENT_CASES", str(folder))
    specs = tmp_path / "specs"
    specs.mkdir()
    shutil.copy(ROOT / "autograder" / "assignments" / "ps01-icd10cm.yaml", specs)
    (specs / "psx.yaml").write_text(yaml.safe_dump({
        "id": "psx", "title": "Per-student test set", "intro": "Code each encounter.",
        "encounters": ["as-001", "template:as-knee"]}))
    monkeypatch.setattr(make_assignment, "SPECS", specs)
    source = tmp_path / "course-source"
    path = make_assignment.write("psx", source, seed="course-secret", students=ROSTER)
    return path


def _marker(nb):
    return [MARKER.search(c.source) for c in nb.cells if "medcodelab-key" in c.source]


def test_each_student_has_a_note_and_the_grader_rebuilds_their_key(private_course):
    nb = nbformat.read(private_course, as_version=4)
    plain, per = _marker(nb)
    assert plain["per"] is None and per["per"] == "student" and per["variant"]
    bundle = json.loads((private_course.parent / "psx.notes.json").read_text())
    assert set(bundle["questions"]) == {"enc_02"} and len(bundle["questions"]["enc_02"]) == len(ROSTER)
    assert not any(s in json.dumps(bundle) for s in ROSTER)  # the roster is not published
    cases = {s: keys.load(per["case"], per["digest"], per["variant"], s) for s in ROSTER}
    for student, case in cases.items():
        entry = bundle["questions"]["enc_02"][make_assignment.student_key("psx", student)]
        assert entry["note"] == case.note.rstrip()
        codes = " ".join(k.code for k in case.diagnoses)
        assert codes not in json.dumps(bundle) or codes in case.note  # keys are not in the notes file
    assert len({c.case_id for c in cases.values()}) > 1  # students do not share one version
    assert "course-secret" not in private_course.read_text()


def test_show_note_shows_your_own_version(private_course, monkeypatch):
    notes = private_course.parent / "psx.notes.json"
    nb = nbformat.read(private_course, as_version=4)
    per = _marker(nb)[1]
    monkeypatch.setenv("MEDCODELAB_STUDENT", "bob")
    shown = assignment.show_note("enc_02", notes)
    assert keys.load(per["case"], None, per["variant"], "bob").note.strip()[:60] in repr(shown)
    assignment.use_student("nobody-here")
    try:
        assert "no version of enc_02" in repr(assignment.show_note("enc_02", notes))
    finally:
        assignment.use_student("")
    assert "could not be read" in repr(assignment.show_note("enc_02", notes.with_name("missing.json")))


def test_make_assignment_refuses_per_student_without_a_seed_or_templates(private_course):
    with pytest.raises(ValueError, match="seed"):
        make_assignment.write("psx", private_course.parent.parent, students=["a"])
    with pytest.raises(ValueError, match="template"):
        make_assignment.render("ps01-icd10cm", seed="s", students=["a"])
    assert make_assignment.read_roster("alice\n# comment\nbob, carol\n\n") == ["alice", "bob", "carol"]


@pytest.mark.slow
def test_a_class_graded_against_each_students_own_key(private_course, tmp_path):
    course = demo.Course(tmp_path / "course", timeout=10, assignment="psx", source=private_course.parent)
    course.generate_and_release()
    assert (course.root / "release" / "psx" / "psx.notes.json").exists()  # released beside the notebook
    nb = nbformat.read(private_course, as_version=4)
    plain, per = _marker(nb)
    first = [k.code for k in keys.load(plain["case"]).diagnoses if not k.optional]
    own = {s: [k.code for k in keys.load(per["case"], None, per["variant"], s).diagnoses if not k.optional]
           for s in ROSTER}
    a, b = next((x, y) for x in ROSTER for y in ROSTER if own[x] != own[y])
    course.submit(a, {"enc_01": first, "enc_02": own[a]})
    course.submit(b, {"enc_01": first, "enc_02": own[a]})  # b hands in a's answer
    report = batch.grade(course.root, "psx", jobs=2, limits=Limits(cell_timeout=10), progress=lambda m: None)
    scores = {s.student: s for s in report.students}
    maximum = course.maxima()[1]["test_enc_02"]
    assert scores[a].questions["enc_02"] == pytest.approx(maximum)
    assert scores[b].questions["enc_02"] < maximum
    # stock nbgrader autograde reads the owner from its own resources and agrees
    assert course.autograde(b)["success"]
    assert course.scores(b)[1]["test_enc_02"] == pytest.approx(scores[b].questions["enc_02"])


def test_the_command_line_reads_the_roster(tmp_path, capsys):
    from autograder.__main__ import main

    empty = tmp_path / "empty.txt"
    empty.write_text("# nobody yet\n")
    assert main(["make-assignment", "ps01-icd10cm", "--seed", "s", "--students", str(empty), "--out",
                 str(tmp_path)]) == 1
    assert "lists no student ids" in capsys.readouterr().err
    roster = tmp_path / "roster.txt"
    roster.write_text("alice\nbob\n")
    assert main(["make-assignment", "ps01-icd10cm", "--seed", "s", "--students", str(roster), "--out",
                 str(tmp_path)]) == 1
    assert "no template: entries" in capsys.readouterr().err
    assert main(["make-assignment", "ps01-icd10cm", "--students", str(tmp_path / "missing.txt")]) == 1
    assert "cannot read the roster" in capsys.readouterr().err
