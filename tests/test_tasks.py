"""ps05 (claim scrubbing) and ps06 (RCM analytics in SQL): keys that hold up, scoring that
gives the credit a fix or a query deserves, a locked-down SQL runner, and a real nbgrader cycle."""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat
import pytest

from autograder import demo, make_assignment, questions, tasks
from autograder.grading import batch
from autograder.grading.sandbox import Limits
from medcodelab.scoring import claims as claim_scoring
from medcodelab.scoring import tables

ROOT = Path(__file__).resolve().parents[1]
CLAIM_TASKS = [f"ps05-claim-{n:02d}" for n in range(1, 7)]
SQL_TASKS = [f"ps06-sql-{n:02d}" for n in range(1, 7)]
TASK_SETS = ["ps05-claim-scrubbing", "ps06-rcm-analytics"]


@pytest.fixture(scope="module", autouse=True)
def _built(built_database):
    return built_database


def _key_answer(task: tasks.Task) -> dict:
    fix = copy.deepcopy(task.data["fix"])
    return {"edits": list(task.data["edits"]), **fix}


def _score(task_id: str, answer) -> object:
    task = tasks.load(task_id)
    fix = claim_scoring.read_fix(answer) if task.kind == "claim" else answer
    return task.score(fix)


# -- the keys -------------------------------------------------------------------------------
@pytest.mark.parametrize("task_id", CLAIM_TASKS + SQL_TASKS)
def test_every_task_key_holds_up(task_id):
    """A claim's key scrubs clean and scores full marks; the claim as given breaks exactly the
    rules the key names; a reference query runs."""
    tasks.load(task_id).check()


def test_a_key_that_does_not_hold_up_is_refused(tmp_path, monkeypatch):
    source = (tasks.tasks_dir() / "ps05-claim-01.yaml").read_text()
    monkeypatch.setenv("MEDCODELAB_ASSESSMENT_TASKS", str(tmp_path))
    (tmp_path / "ps05-claim-01.yaml").write_text(source.replace("- ncci-ptp", "- mue"))
    with pytest.raises(tasks.TaskError, match="breaks"):
        tasks.load("ps05-claim-01").check()
    (tmp_path / "ps05-claim-01.yaml").write_text(source)
    bad = tasks.load("ps05-claim-01")
    bad.data["fix"]["lines"].append({"code": "20610", "modifiers": ["RT"], "units": 1, "pointers": [2]})
    with pytest.raises(tasks.TaskError, match="scores"):
        bad.check()


def test_a_changed_task_file_is_refused_by_digest(tmp_path, monkeypatch):
    source = (tasks.tasks_dir() / "ps06-sql-01.yaml").read_text()
    digest = tasks.digest("ps06-sql-01")
    monkeypatch.setenv("MEDCODELAB_ASSESSMENT_TASKS", str(tmp_path))
    (tmp_path / "ps06-sql-01.yaml").write_text(source.replace("count(*) AS claims", "count(*) + 1 AS claims"))
    with pytest.raises(tasks.TaskError, match="changed"):
        tasks.load("ps06-sql-01", digest)


# -- scoring a corrected claim -------------------------------------------------------------
@pytest.mark.parametrize("task_id", CLAIM_TASKS)
def test_the_key_scores_full_marks(task_id):
    task = tasks.load(task_id)
    assert _score(task_id, _key_answer(task)).perfect


def test_bundled_injection_billed_with_xs_is_wrong_though_it_scrubs_clean():
    answer = {"edits": ["ncci-ptp"], "lines": [
        {"code": "29881", "modifiers": ["RT"], "units": 1, "pointers": [1]},
        {"code": "20610", "modifiers": ["RT", "XS"], "units": 1, "pointers": [2]}]}
    score = _score("ps05-claim-01", answer)
    parts = {p.name: p for p in score.parts}
    assert parts["edits found"].earned == 1
    assert parts["claim lines"].earned == pytest.approx(3 * (1 - 0.5))  # one right line, one that should go
    assert not parts["scrubs clean"].notes  # the scrubber lets it through: only the record says it is wrong
    assert 0.5 < score.fraction < 1
    assert "20610" in score.as_text()


def test_59_is_accepted_where_the_key_uses_xs_and_other_modifiers_are_not():
    key = _key_answer(tasks.load("ps05-claim-02"))
    with_59 = copy.deepcopy(key)
    with_59["lines"][1]["modifiers"] = ["59"]
    assert _score("ps05-claim-02", with_59).perfect
    with_xu = copy.deepcopy(key)
    with_xu["lines"][1]["modifiers"] = ["XU"]
    score = _score("ps05-claim-02", with_xu)
    assert not score.perfect and "modifiers XU, expected XS" in score.as_text()


def test_deleting_every_line_earns_nothing_for_lines_or_cleanliness():
    score = _score("ps05-claim-03", {"edits": ["modifier-25"], "lines": []})
    parts = {p.name: p for p in score.parts}
    assert parts["claim lines"].earned == 0 and parts["scrubs clean"].earned == 0
    assert score.earned == pytest.approx(1)  # only the edit found


def test_pointers_compare_by_the_diagnosis_they_name():
    task = tasks.load("ps05-claim-05")
    reordered = _key_answer(task)
    reordered["diagnoses"] = ["E11.9", "Z79.84", "I10"]  # I10 moves to position 3
    reordered["lines"][0]["pointers"] = [1, 3]
    assert _score("ps05-claim-05", reordered).perfect
    wrong = _key_answer(task)
    wrong["lines"][2]["pointers"] = [2]  # the HbA1c pointed at hypertension
    score = _score("ps05-claim-05", wrong)
    assert not score.perfect and "still breaks medical-necessity" in score.as_text()


def test_a_venipuncture_may_point_at_either_diagnosis_where_the_key_allows_it():
    answer = _key_answer(tasks.load("ps05-claim-06"))
    answer["lines"][1]["pointers"] = [1]
    assert _score("ps05-claim-06", answer).perfect
    answer["lines"][0]["pointers"] = [2]  # the E/M's first pointer is not interchangeable
    assert not _score("ps05-claim-06", answer).perfect


def test_the_diagnosis_fix_is_scored_when_the_key_changes_the_diagnoses():
    task = tasks.load("ps05-claim-05")
    assert task.points == 6
    answer = _key_answer(task)
    answer["diagnoses"] = ["e119", "I10"]  # forgot Z79.84, wrote the code loosely
    score = _score("ps05-claim-05", answer)
    parts = {p.name: p for p in score.parts}
    assert parts["diagnoses"].earned == pytest.approx(2 / 3) and "missing: Z79.84" in parts["diagnoses"].notes
    assert parts["claim lines"].earned == 3


def test_naming_rules_the_claim_does_not_break_costs():
    answer = _key_answer(tasks.load("ps05-claim-04"))
    answer["edits"] = ["add-on", "mue", "ncci-ptp"]
    parts = {p.name: p for p in _score("ps05-claim-04", answer).parts}
    assert parts["edits found"].earned == 0  # one found, two named wrongly


@pytest.mark.parametrize("value,message", [
    ([], "must be a dict"),
    ({"lines": [], "notes": "x"}, "unknown key"),
    ({"edits": []}, "no \"lines\""),
    ({"lines": ["99213"]}, "line 1 must be a dict"),
    ({"lines": [{"code": "99213", "units": True}]}, "whole number"),
    ({"lines": [{"code": "99213", "units": 0}]}, "whole number"),
    ({"lines": [{"code": "99213", "pointers": [13]}]}, "pointers"),
    ({"lines": [{"code": "99213", "pointers": []}]}, "pointers"),
    ({"lines": [{"code": "99213", "modifiers": ["25", "59", "XS", "RT", "LT"]}]}, "at most 4"),
    ({"lines": [{"units": 1}]}, "needs a \"code\""),
    ({"edits": "ncci-ptp", "lines": []}, "list of strings"),
])
def test_malformed_fix_answers_get_a_message(value, message):
    with pytest.raises(claim_scoring.AnswerError, match=message):
        claim_scoring.read_fix(value)


@pytest.mark.parametrize("source,problem", [
    ('fix_01 = {"edits": ["x"], "lines": []}', None),
    ("fix_01 = make_fix()", "written out as data"),
    ("if True:\n    fix_01 = {}", "at top level"),
    ("fix_01 = {", "not valid Python"),
    ('fix_01 = {"lines": []}\nfix_01 = {"lines": [], "bad": 1}', "unknown key"),  # the last one counts
])
def test_fix_answers_are_read_from_source_as_data(source, problem):
    fix, got = claim_scoring.read_fix_answer(source, "fix_01")
    assert (got is None) if problem is None else (problem in got), got


# -- SQL: locked down, compared as tables ---------------------------------------------------
@pytest.fixture(scope="module")
def rcm_conn():
    return tasks._rcm_connection({"scale": "small", "seed": 0})


@pytest.mark.parametrize("task_id", SQL_TASKS)
def test_the_reference_query_scores_full_marks(task_id):
    task = tasks.load(task_id)
    assert task.score(task.data["key_sql"]).perfect


@pytest.mark.parametrize("sql,message", [
    ("SELECT * FROM read_csv('/etc/passwd')", "file system operations are disabled"),
    ("COPY claims TO '/tmp/stolen.csv'", "only a SELECT"),
    ("SELECT * FROM claims; DROP TABLE claims", "exactly one query"),
    ("ATTACH '/tmp/x.duckdb' AS x", "only a SELECT"),
    ("SET enable_external_access = true", "only a SELECT"),
    ("SELECT * FROM glob('/work/**')", "disabled"),
    ("SELEKT 1", "not valid SQL"),
    ("", "empty"),
])
def test_hostile_or_broken_queries_score_zero_with_a_reason(sql, message):
    score = tasks.load("ps06-sql-01").score(sql)
    assert score.earned == 0 and message.lower() in score.as_text().lower(), score.as_text()


def test_a_runaway_query_is_interrupted(rcm_conn):
    with pytest.raises(tables.QueryError, match="limit"):
        tables.run(rcm_conn, "SELECT count(*) FROM range(100000000000) a, range(100) b", timeout=0.5)
    assert tables.run(rcm_conn, "SELECT 1").rows == [(1,)]  # the connection is still usable


def test_partial_credit_follows_shape_then_rows():
    task = tasks.load("ps06-sql-02")
    percent = ("SELECT r.payer_id, 100 * avg(CASE WHEN r.status = 'paid' THEN 1 ELSE 0 END) FROM remittances r "
               "JOIN payers p USING (payer_id) WHERE p.country = 'US' GROUP BY 1")
    assert task.score(percent).earned == pytest.approx(tables.SHAPE)  # right shape, no row right
    all_payers = "SELECT payer_id, avg(CASE WHEN status = 'paid' THEN 1.0 ELSE 0 END) FROM remittances GROUP BY 1"
    score = task.score(all_payers)
    assert score.earned == pytest.approx(tables.RUNS) and "row(s)" in score.as_text()
    one_column = "SELECT payer_id FROM payers WHERE country = 'US'"
    assert task.score(one_column).earned == pytest.approx(tables.RUNS)


def test_order_counts_only_where_the_question_asks_for_it():
    ordered = tasks.load("ps06-sql-03")
    reverse = ("SELECT carc, n FROM (SELECT carc, count(*) AS n FROM denials WHERE carc IS NOT NULL GROUP BY carc "
               "ORDER BY n DESC LIMIT 3) ORDER BY n")
    score = ordered.score(reverse)
    assert not score.perfect and score.earned > tables.SHAPE  # the middle row still lines up
    unordered = tasks.load("ps06-sql-01")
    assert unordered.score("SELECT payer_id, count(*) FROM claims GROUP BY 1 ORDER BY 2").perfect


def test_feedback_describes_the_learners_rows_not_the_keys():
    score = tasks.load("ps06-sql-01").score("SELECT payer_id, count(*) + 1 FROM claims GROUP BY 1")
    text = score.as_text()
    assert "0 of 8 row(s) match" in text and "your row" in text


@pytest.mark.parametrize("source,problem", [
    ('q01 = """SELECT 1"""', None),
    ('q01 = (\n    """\n    SELECT 1\n    """\n)', None),
    ("q01 = (\n    # your answer here\n)", "as text"),
    ('q01 = "SELECT " + "1"', "written out as data"),
])
def test_sql_answers_are_read_from_source_as_data(source, problem):
    sql, got = tables.read_sql_answer(source, "q01")
    assert (got is None and "SELECT 1" in sql) if problem is None else (problem in got), got


# -- the notebooks --------------------------------------------------------------------------
@pytest.mark.parametrize("assignment", TASK_SETS)
def test_committed_notebook_matches_its_spec_and_tasks(assignment):
    path = ROOT / "assignments" / "source" / assignment / f"{assignment}.ipynb"
    assert path.read_text(encoding="utf-8") == make_assignment.render(assignment), (
        "regenerate with: python -m autograder make-assignment")


def test_task_sets_have_no_per_course_seed():
    with pytest.raises(ValueError, match="no per-course variants"):
        make_assignment.render("ps05-claim-scrubbing", seed="course-secret")


def _solutions(assignment: str) -> dict[str, str]:
    """The instructor's answer cells (their sources hold the key), by question."""
    nb = nbformat.read(ROOT / "assignments" / "source" / assignment / f"{assignment}.ipynb", as_version=4)
    out = {}
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
        if grade_id.startswith("answer_"):
            out[grade_id[len("answer_"):]] = "\n".join(
                line for line in cell.source.splitlines() if "### " not in line)
    return out


def _edits(sources: dict[str, str]):
    def edit(nb):
        for question, source in sources.items():
            demo.set_answer_source(question, source)(nb)
    return edit


WRONG = {
    "ps05-claim-scrubbing": {
        "fix_01": '{"edits": ["ncci-ptp"], "lines": [{"code": "29881", "modifiers": ["RT"], "pointers": [1]}, '
                  '{"code": "20610", "modifiers": ["RT", "XS"], "pointers": [2]}]}',
        "fix_02": "{}",
        "fix_03": "__import__('builtins')",
    },
    "ps06-rcm-analytics": {
        "q01": '"""SELECT payer_id, count(*) + 1 FROM claims GROUP BY 1"""',
        "q02": '"""SELECT * FROM read_csv(\'/etc/passwd\')"""',
        "q03": "type('Q', (str,), {'__eq__': lambda s, o: True})('x')",
    },
}


@pytest.mark.slow
@pytest.mark.parametrize("assignment", TASK_SETS)
def test_an_nbgrader_cycle_grades_tasks_as_data(assignment, tmp_path):
    course = demo.Course(tmp_path / "course", timeout=10, assignment=assignment)
    course.generate_and_release()
    release = "\n".join(c.source for c in nbformat.read(course.release_nb, as_version=4).cells)
    assert "medcodelab-key" not in release and "BEGIN SOLUTION" not in release
    solutions = _solutions(assignment)
    for source in solutions.values():  # the keys' own text is not in what students receive
        region = source.split("=", 1)[1].strip().strip("(){}").strip()
        assert region and region not in release
    course.submit("perfect", edit=_edits(solutions))
    wrong = {q: f"{q} = {value}" for q, value in WRONG[assignment].items()}
    course.submit("wrong", edit=_edits(wrong))
    course.submit("blank")  # the release as it was handed out
    # stock nbgrader autograde runs our preprocessors too
    assert course.autograde("perfect")["success"]
    max_score, _ = course.maxima()
    assert course.scores("perfect")[0] == pytest.approx(max_score)
    # the batch grader: every student graded, the same score for the one stock nbgrader graded
    report = batch.grade(course.root, assignment, jobs=2, limits=Limits(cell_timeout=10), progress=lambda m: None)
    by_student = {s.student: s for s in report.students}
    assert set(by_student) == {"perfect", "wrong", "blank"}
    assert by_student["perfect"].score == pytest.approx(max_score)
    assert by_student["blank"].score == 0
    wrong_scores = by_student["wrong"].questions
    first = next(iter(WRONG[assignment]))
    assert 0 < wrong_scores[first] < course.maxima()[1][f"test_{first}"]
    assert all(wrong_scores[q] == 0 for q in list(WRONG[assignment])[1:])
    feedback = course.feedback("wrong")
    html = feedback.read_text()
    assert "medcodelab-key" not in html and "HIDDEN TESTS" not in html and "Your results by topic" in html
    assert "Why:" in html


def test_practice_feedback_and_the_grader_score_a_fix_alike():
    """course/02's check_fix and the ps05 grader are one scorer: the same answer, the same score."""
    task = tasks.load("ps05-claim-02")
    answer = _key_answer(task)
    answer["lines"][1]["modifiers"] = ["XU"]
    key = {"edits": task.data["edits"], **task.data["fix"]}
    practice = claim_scoring.check_fix(answer, task.data["claim"], key, accept=task.data["accept_modifiers"])
    graded = task.score(claim_scoring.read_fix(answer))
    assert practice.as_dict() == graded.as_dict() and not graded.perfect
