"""The batch grader stays an nbgrader course: formgrader, feedback, export, late penalties, seeds."""

from __future__ import annotations

import csv
import datetime as dt
import subprocess
import sys

import nbformat
import pytest

from autograder import demo, make_assignment
from autograder.grading import batch
from autograder.grading.sandbox import Limits

pytestmark = pytest.mark.slow
ASSIGNMENT = demo.ASSIGNMENT


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = demo.Course(tmp_path_factory.mktemp("batch") / "course", timeout=4)
    course.generate_and_release()
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course.root / 'gradebook.db'}", course.course_id) as gb:
        gb.update_or_create_assignment(ASSIGNMENT, duedate=dt.datetime(2026, 5, 30, 12, 0))  # two days early
        gb.update_or_create_student("perfect", first_name="Avery", last_name="Testwood", email="avery@example.invalid",
                                    lms_user_id="1001")
    key = course.key_answers()
    course.submit("perfect", key)
    course.submit("half", {q: codes for i, (q, codes) in enumerate(sorted(key.items())) if i % 2 == 0})
    (course.root / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        "import sys; sys.path.insert(0, %r)\n"
        "from autograder.course import configure\n"
        "configure(c, %r, course_id='medcodelab-demo', timeout=4)\n"
        "c.AssignLatePenalties.plugin_class = 'autograder.late.PerDayPenalty'\n"
        "c.PerDayPenalty.percent_per_day = 10\n" % (str(demo.paths.PROJECT_ROOT), str(course.root)))
    report = batch.grade(course.root, ASSIGNMENT, jobs=2, limits=Limits(cell_timeout=4), progress=lambda m: None)
    course.report = report
    return course


def test_formgrader_sees_the_grades(course):
    submission = course.api.get_submission(ASSIGNMENT, "half")
    assert submission["autograded"] and not submission["needs_manual_grade"]
    assert 0 < submission["score"] < submission["max_score"]
    notebooks = course.api.get_notebook_submissions(ASSIGNMENT, ASSIGNMENT)
    assert {n["student"] for n in notebooks} == {"perfect", "half"}


def test_nbgrader_feedback_works_on_the_batch_output(course):
    path = course.feedback("half")
    html = path.read_text()
    assert "medcodelab-key" not in html and "HIDDEN TESTS" not in html
    assert "Your results by topic" in html and "Why:" in html


def test_late_penalty_comes_from_the_configured_plugin(course):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course.root / 'gradebook.db'}", course.course_id) as gb:
        submission = gb.find_submission(ASSIGNMENT, "perfect")
        assert submission.total_seconds_late == pytest.approx(2 * 86400)
        assert submission.late_submission_penalty == pytest.approx(0.2 * submission.score)  # 10% a day, 2 days


def test_exports_for_canvas_moodle_and_mastery(course):
    from autograder.export import export

    written = export(course.root, ASSIGNMENT, course_id=course.course_id)
    with open(written["canvas"], newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0])[:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    perfect = next(r for r in rows if r["SIS Login ID"] == "perfect")
    assert perfect["Student"] == "Testwood, Avery" and perfect["ID"] == "1001"
    assert float(perfect[f"{ASSIGNMENT} (22 points)"]) == pytest.approx(22 * 0.8)  # after the late penalty
    with open(written["moodle"], newline="") as handle:
        moodle = {r["Username"]: r for r in csv.DictReader(handle)}
    assert moodle["perfect"]["Email address"] == "avery@example.invalid"
    with open(written["mastery"], newline="") as handle:
        mastery = list(csv.reader(handle))
    assert mastery[0][0] == "student" and mastery[-1][0] == "class mean"
    assert all(0 <= float(v) <= 1 for row in mastery[1:] for v in row[1:] if v)
    assert written["plot"].stat().st_size > 5000


def test_the_cli_grades_one_student_and_reports(course):
    out = subprocess.run([sys.executable, "-m", "autograder", "grade", ASSIGNMENT, "--course", str(course.root),
                          "--student", "half", "--jobs", "1", "--timeout", "4"],
                         capture_output=True, text=True, cwd=demo.paths.PROJECT_ROOT)
    assert out.returncode == 0, out.stderr
    assert "1 of 1 submission(s) graded" in out.stdout and "report:" in out.stdout
    missing = subprocess.run([sys.executable, "-m", "autograder", "grade", "nope", "--course", str(course.root)],
                             capture_output=True, text=True, cwd=demo.paths.PROJECT_ROOT)
    assert missing.returncode == 2 and "generate_assignment" in missing.stderr


def test_a_course_seed_draws_its_own_encounters(tmp_path):
    spec = make_assignment.load_spec(ASSIGNMENT)
    first = make_assignment.draw(spec, "course-a-secret")
    assert first == make_assignment.draw(spec, "course-a-secret")  # deterministic
    assert len(first) == spec["draw"] and set(first) <= set(spec["pool"])
    others = {tuple(make_assignment.draw(spec, f"course-{n}")) for n in range(6)}
    assert len(others) > 1
    with pytest.raises(ValueError, match="--out"):
        make_assignment.write(ASSIGNMENT, make_assignment.SOURCE, seed="x")
    path = make_assignment.write(ASSIGNMENT, tmp_path, seed="course-a-secret")
    markers = [c.source for c in nbformat.read(path, 4).cells if "medcodelab-key" in c.source]
    assert [m.split("case=")[1].split()[0] for m in markers] == first
