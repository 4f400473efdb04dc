"""The batch grader against hostile and broken submissions, graded together in one real run.

Each student tries one attack (or is broken in one way) and must score as their true answer:
what the answer cells say, read as data, against the key. Graded in one batch, they also prove
that no submission stops, slows into oblivion or corrupts the grading of the others. The
attacks are the autograder issue's list and those an adversarial review found
(docs: README, "Grading you can trust").
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import nbformat
import pytest

from autograder import demo
from autograder.grading import batch
from autograder.grading.report import GRADED, KEPT, NOT_GRADED
from autograder.grading.sandbox import Limits, find_bwrap
from medcodelab import paths

ASSIGNMENT = demo.ASSIGNMENT
pytestmark = pytest.mark.slow


def cell_of(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def add_code(nb, source, after=1):
    nb.cells.insert(after, nbformat.v4.new_code_cell(source))


def chain(*edits):
    def edit(nb):
        for e in edits:
            e(nb)
    return edit


ALWAYS_EQUAL = "class Any(list):\n    def __eq__(self, other): return True\n    __hash__ = None\n"


def attacks(key: dict[str, list[str]]) -> dict[str, tuple[dict | None, object, float]]:
    """student -> (answers, edit, expected score). Points: enc_01-04 2, enc_05 3, enc_06 2, enc_07 4, enc_08 5."""
    points = {"enc_01": 2, "enc_02": 2, "enc_03": 2, "enc_04": 2, "enc_05": 3, "enc_06": 2, "enc_07": 4, "enc_08": 5}
    full = sum(points.values())

    def all_answers(source_of):
        return chain(*(demo.set_answer_source(q, source_of(q)) for q in points))

    def drop_tests(nb):
        nb.cells = [c for c in nb.cells if not c.metadata.get("nbgrader", {}).get("grade_id", "").startswith("test_")]

    def edit_tests(nb):
        for q in points:
            cell = cell_of(nb, f"test_{q}")
            cell.source = "### BEGIN HIDDEN TESTS\n# medcodelab-key: answer=enc_01 case=as-001\n### END HIDDEN TESTS\n5"
            cell.metadata["nbgrader"]["points"] = 100
            cell.metadata["nbgrader"]["locked"] = False
            cell.outputs = [nbformat.v4.new_output("execute_result", data={"text/plain": "100"}, execution_count=1)]

    def duplicate(nb):
        out = []
        for c in nb.cells:
            grade_id = c.metadata.get("nbgrader", {}).get("grade_id", "")
            if grade_id.startswith("answer_"):
                wrong = nbformat.from_dict(json.loads(json.dumps(c)))
                wrong.source, wrong["id"] = f"{grade_id[7:]} = ['A00.0']", f"copy-{grade_id}".replace("_", "-")
                out += [wrong, c]  # a wrong first copy, then the real answer: the last one counts
            elif grade_id.startswith("test_"):
                copied = nbformat.from_dict(json.loads(json.dumps(c)))
                copied["id"] = f"copy-{grade_id}".replace("_", "-")
                out += [c, copied]
            else:
                out.append(c)
        nb.cells = out

    def metadata_games(nb):
        for q in points:
            cell_of(nb, f"answer_{q}").metadata["nbgrader"].update(grade=True, points=100)
        bonus = nbformat.v4.new_code_cell("bonus = 1")
        bonus.metadata["nbgrader"] = {"grade": True, "grade_id": "bonus", "points": 10, "solution": False,
                                      "locked": False, "schema_version": 3}
        future = nbformat.v4.new_code_cell("x = 1")
        future.metadata["nbgrader"] = {"schema_version": 99}
        empty = nbformat.v4.new_code_cell("y = 2")
        empty.metadata["nbgrader"] = {}
        nb.cells += [bonus, future, empty]

    def strip_metadata(nb):
        for c in nb.cells:
            c.metadata.pop("nbgrader", None)

    snoop = (
        "import glob, os, pathlib\n"
        "found = []\n"
        f"for pattern in ['{paths.assessment_cases_dir()}/*.yaml', '{paths.PROJECT_ROOT}/autograder/cases/*',\n"
        "                '../../gradebook.db', '/tmp/*/*/*.yaml', os.path.expanduser('~/*')]:\n"
        "    found += glob.glob(pattern)\n"
        "print('FOUND', found)\n"
        "for path in found:\n"
        "    try: print(open(path).read())\n"
        "    except Exception as e: print('denied', e)\n"
    )
    tamper = (
        "import medcodelab.scoring.diagnoses as d, pathlib\n"
        "for target in [d.__file__, pathlib.Path(d.__file__).parents[2] / 'autograder' / 'keys.py']:\n"
        "    try: open(target, 'a').write('\\nScore.fraction = property(lambda self: 1.0)\\n'); print('WROTE', target)\n"
        "    except OSError as e: print('denied', e)\n"
        "import sqlite3, glob\n"
        "for db in glob.glob('/**/gradebook.db', recursive=False) + ['../../gradebook.db']:\n"
        "    try: sqlite3.connect(db).execute('UPDATE grade SET extra_credit = 100'); print('WROTE', db)\n"
        "    except Exception as e: print('denied', e)\n"
    )
    signals = (
        "import os, signal\n"
        "for sig in (signal.SIGSTOP, signal.SIGINT, signal.SIGKILL):\n"
        "    try: os.kill(os.getppid(), sig)\n"
        "    except OSError: pass\n"
        "    try: os.killpg(0, signal.SIGCONT)\n"
        "    except OSError: pass\n"
    )
    daemon = ("import subprocess, sys\n"
              "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'], start_new_session=True)\n")
    memory = ("import threading\nblocks = []\n"
              "def grab():\n    while True: blocks.append(bytearray(100 << 20))\n"
              "t = threading.Thread(target=grab); t.start(); t.join(10)\n")
    flood = ("print('x' * (10 << 20))\nfrom IPython.display import HTML, display\ndisplay(HTML('<p>' + 'y' * (10 << 20)))\n"
             "for i in range(200000): print(i)\n")
    unicode_note = nbformat.v4.new_markdown_cell("Ünïcödé ✓ — עברית, 中文, 😀")

    cases = {
        "perfect": (key, None, full),
        "untouched": (None, None, 0),
        "always-equal": (None, all_answers(lambda q: ALWAYS_EQUAL + f"{q} = Any()"), 0),
        "monkeypatch": ({}, lambda nb: add_code(nb, "import builtins, medcodelab.scoring.diagnoses as d\n"
                                                    "d.Score.fraction = property(lambda self: 1.0)\n"
                                                    "builtins.len = lambda x: 99\nimport sys; sys.modules['medcodelab'] = None"),
                        0),
        "fake-score": ({}, chain(lambda nb: add_code(nb, "print(22)\n22"), edit_tests), 0),
        "edited-tests": (key, edit_tests, full),
        "deleted-tests": (key, drop_tests, full),
        "duplicated-cells": (key, duplicate, full),
        "metadata-games": (key, metadata_games, full),
        "no-metadata": (key, strip_metadata, full),
        "snoop-keys": ({}, lambda nb: add_code(nb, snoop), 0),
        "tamper-files": ({}, lambda nb: add_code(nb, tamper), 0),
        "signal-grader": (key, lambda nb: add_code(nb, signals), full),
        "daemon": (key, lambda nb: add_code(nb, daemon), full),
        "sigint-loop": (key, demo.set_answer_source("enc_02", f"enc_02 = {json.dumps(key['enc_02'])}\nimport signal\n"
                                        "signal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True: pass"),
                        full - points["enc_02"]),
        "memory-bomb": (key, lambda nb: add_code(nb, memory), full),
        "kernel-exit": (key, chain(lambda nb: add_code(nb, "import os; os._exit(1)"),
                                   demo.set_answer_source("enc_03", f"enc_03 = {json.dumps(key['enc_03'])}\nimport os\nos._exit(3)")),
                        full - points["enc_03"]),
        "output-flood": (key, lambda nb: add_code(nb, flood), full),
        "answers-elsewhere": ({q: [] for q in points}, demo.set_answer_source("enc_01", 'enc_01 = saved("enc_02")'), 0),
        # the student's code writes the widget's answers file while it runs: answers are read before
        # any code runs, from what was submitted, so the file it writes is never read
        "fake-answers-file": ({q: [] for q in points},
                              chain(demo.set_answer_source("enc_01", 'enc_01 = saved("enc_01")'),
                                    lambda nb: add_code(nb, "import json\njson.dump({'schema': 1, 'answers': "
                                                            f"{{'enc_01': {{'codes': {key['enc_01']!r}}}}}}}, "
                                                            f"open('{ASSIGNMENT}.answers.json', 'w'))")), 0),
        # an answer cell that exhausts the kernel's memory: that question scores 0, the rest stand
        "memory-in-answer": (key, demo.set_answer_source(
            "enc_04", f"enc_04 = {json.dumps(key['enc_04'])}\nblocks = []\nwhile True:\n"
                      "    blocks.append(bytearray(256 << 20))"), full - points["enc_04"]),
        "unicode everywhere ünï": (key, lambda nb: nb.cells.insert(0, unicode_note), full),
        "x[1]": (key, None, full),
        "-dash.dots name": (key, None, full),
    }
    return cases


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    if find_bwrap() is None:
        pytest.fail("bubblewrap is needed for the sandbox tests; `make test` installs it (apt-get install bubblewrap)")
    course = demo.Course(tmp_path_factory.mktemp("adversarial") / "course", timeout=4)
    course.generate_and_release()
    key = course.key_answers()
    expected = {}
    for student, (answers, edit, score) in attacks(key).items():
        course.submit(student, answers, edit=edit)
        expected[student] = score
    folder = course.root / "submitted"
    # broken submissions
    (folder / "not-json" / ASSIGNMENT).mkdir(parents=True)
    (folder / "not-json" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").write_text("{ this is not json")
    course.submit("bad-timestamp", key)
    (folder / "bad-timestamp" / ASSIGNMENT / "timestamp.txt").write_text("not a timestamp")
    expected["bad-timestamp"] = 22
    course.submit("launcher-shadow", key)
    (folder / "launcher-shadow" / ASSIGNMENT / "ipykernel_launcher.py").write_text("import os; os._exit(9)\n")
    expected["launcher-shadow"] = 22
    course.submit("linked-answers", {q: [] for q in key}, edit=demo.set_answer_source("enc_01", 'enc_01 = saved("enc_01")'))
    (folder / "perfect-saver" / ASSIGNMENT).mkdir(parents=True)
    good_answers = folder / "perfect-saver" / "good.json"
    good_answers.write_text(json.dumps({"schema": 1, "answers": {"enc_01": {"codes": key["enc_01"]}}}))
    (folder / "linked-answers" / ASSIGNMENT / f"{ASSIGNMENT}.answers.json").symlink_to(good_answers)
    shutil.rmtree(folder / "perfect-saver")
    expected["linked-answers"] = 0
    keys_before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths.assessment_cases_dir().glob("*")}
    code_before = hashlib.sha256(Path(demo.__file__).parents[1].joinpath("medcodelab/scoring/diagnoses.py").read_bytes()).hexdigest()
    messages: list[str] = []
    report = batch.grade(course.root, ASSIGNMENT, jobs=2, limits=Limits(cell_timeout=4), progress=messages.append)
    return {"course": course, "report": report, "expected": expected, "messages": messages,
            "keys_before": keys_before, "code_before": code_before}


def by_student(graded):
    return {s.student: s for s in graded["report"].students}


def test_every_attack_scores_as_its_true_answer(graded):
    results = by_student(graded)
    wrong = {student: (results[student].status, results[student].score, score)
             for student, score in graded["expected"].items()
             if results[student].status != GRADED or results[student].score != pytest.approx(score)}
    assert not wrong, wrong


def test_the_gradebook_agrees_with_the_report(graded):
    course = graded["course"]
    for student, score in graded["expected"].items():
        total, _ = course.scores(student)
        assert total == pytest.approx(score), student


def test_a_broken_notebook_is_reported_and_flagged_not_dropped(graded):
    result = by_student(graded)["not-json"]
    assert result.status == NOT_GRADED and "not valid JSON" in result.reason
    from nbgrader.api import Gradebook

    course = graded["course"]
    with Gradebook(f"sqlite:///{course.root / 'gradebook.db'}", course.course_id) as gb:
        submission = gb.find_submission(ASSIGNMENT, "not-json")
        assert submission.needs_manual_grade
    assert "not-json" in (graded["report"].as_markdown())


def test_nothing_outside_the_sandbox_changed(graded):
    after = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths.assessment_cases_dir().glob("*")}
    assert after == graded["keys_before"]
    code = Path(demo.__file__).parents[1].joinpath("medcodelab/scoring/diagnoses.py").read_bytes()
    assert hashlib.sha256(code).hexdigest() == graded["code_before"]
    from nbgrader.api import Gradebook

    course = graded["course"]
    with Gradebook(f"sqlite:///{course.root / 'gradebook.db'}", course.course_id) as gb:
        assert all(g.extra_credit in (None, 0) for s in gb.assignment_submissions(ASSIGNMENT)
                   for nb in s.notebooks for g in nb.grades)
    leftovers = [p for p in Path("/proc").iterdir() if p.name.isdigit()
                 and b"time.sleep(600)" in (p / "cmdline").read_bytes()] if Path("/proc").exists() else []
    assert not leftovers, "a student's daemon outlived grading"


def test_snooping_finds_nothing_to_leak(graded):
    nb = nbformat.read(graded["course"].root / "autograded" / "snoop-keys" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", 4)
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    found = printed.split("FOUND ", 1)[1].splitlines()[0]
    # the student sees only its own work folder (its home): no key, no other student, no gradebook
    assert ".yaml" not in found and "gradebook" not in found and "cases" not in found, found
    assert "rationale" not in printed


def test_runaway_cells_are_stopped_and_explained(graded):
    results = by_student(graded)
    assert any("ran past the 4 s limit" in n for n in results["sigint-loop"].notes)
    assert any("killed its kernel" in n for n in results["kernel-exit"].notes)
    assert any("output cut" in n for n in results["output-flood"].notes)
    autograded = graded["course"].root / "autograded" / "output-flood" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    assert autograded.stat().st_size < 3 << 20  # megabytes printed, a small notebook kept
    nb = nbformat.read(graded["course"].root / "autograded" / "sigint-loop" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", 4)
    assert "time limit" in json.dumps(cell_of(nb, "test_enc_02").outputs)


def test_a_memory_bomb_in_an_answer_cell_costs_that_question_and_says_why(graded):
    results = by_student(graded)
    assert any(n.startswith("enc_04: scored 0") and "MemoryError" in n for n in results["memory-in-answer"].notes)
    nb = nbformat.read(graded["course"].root / "autograded" / "memory-in-answer" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", 4)
    assert "MemoryError" in json.dumps(cell_of(nb, "test_enc_04").outputs)
    assert results["memory-in-answer"].questions["enc_01"] > 0


def test_an_answers_file_written_at_run_time_is_never_read(graded):
    results = by_student(graded)
    assert results["fake-answers-file"].questions["enc_01"] == 0
    assert any("was not submitted" in n for n in results["fake-answers-file"].notes)


def test_enrolled_students_who_did_not_submit_are_in_the_report(graded):
    from nbgrader.api import Gradebook

    course = graded["course"]
    with Gradebook(f"sqlite:///{course.root / 'gradebook.db'}", course.course_id) as gb:
        gb.update_or_create_student("never-submitted")
    report = batch.grade(course.root, ASSIGNMENT, jobs=2, limits=Limits(cell_timeout=4), progress=lambda m: None)
    absent = {s.student: s for s in report.absent}
    assert "never-submitted" in absent and "nothing in submitted" in absent["never-submitted"].reason
    assert "never-submitted" not in {s.student for s in report.problems}
    assert "did not submit" in report.summary() and "never-submitted" in report.as_markdown()


def test_repairs_and_oddities_are_in_the_report(graded):
    results = by_student(graded)
    assert any("appears more than once" in n for n in results["duplicated-cells"].notes)
    assert any("this assignment does not have" in n for n in results["metadata-games"].notes)
    assert any("timestamp.txt" in n for n in results["bad-timestamp"].notes)
    assert "WARNING" not in graded["report"].sandbox


def test_regrading_is_idempotent_and_never_loses_a_grade(graded):
    course = graded["course"]
    before = {s: course.scores(s)[0] for s in ("perfect", "sigint-loop", "untouched")}
    reports_before = len(list((course.root / "reports" / ASSIGNMENT).glob("*.md")))
    path = course.root / "submitted" / "perfect" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    path.write_text("broken after grading")
    report = batch.grade(course.root, ASSIGNMENT, jobs=2, students=list(before), limits=Limits(cell_timeout=4),
                         progress=lambda m: None)
    results = {s.student: s for s in report.students}
    assert results["perfect"].status == KEPT and results["perfect"].score == before["perfect"]
    assert course.scores("perfect")[0] == before["perfect"]
    for student in ("sigint-loop", "untouched"):
        assert results[student].status == GRADED and course.scores(student)[0] == before[student]
    reports = list((course.root / "reports" / ASSIGNMENT).glob("*.md"))
    assert len(reports) == reports_before + 1  # every run writes its report
