"""Stock ``nbgrader autograde`` against ``python -m autograder grade``, on the same 40 submissions.

One course is generated and released, 40 synthetic submissions are written (a class's usual
mix: most students answer in the answer cells, a quarter also leave scratch cells that call the
lab, a few submit untouched, one leaves a runaway loop), and the course is copied twice. Stock
nbgrader grades one copy with its command line, as an instructor would; the batch grader grades
the other with ``--jobs`` set to the cores. The scores must agree; the ratio of wall times is
the result (the issue asks for at least 4x on 2 cores).
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CONFIG = """import sys
sys.path.insert(0, {repo!r})
from autograder.course import configure
c = get_config()
configure(c, {root!r}, course_id="medcodelab-demo", exchange={exchange!r}, timeout={timeout})
c.Application.log_level = "WARN"
"""


def make_submissions(course, count: int = 40, seed: int = 7) -> None:
    from autograder.demo import set_answer_source

    rng = random.Random(seed)
    key = course.key_answers()
    for n in range(count):
        student = f"student{n:02d}"
        if n % 10 == 9:
            course.submit(student, None)  # untouched
            continue
        answers = {}
        for question, codes in key.items():
            roll = rng.random()
            answers[question] = (codes if roll < 0.6 else codes[:-1] if roll < 0.8 and len(codes) > 1
                                 else [codes[0][:3]] if roll < 0.9 else ["R69"])
        edit = None
        if n % 4 == 1:  # scratch work left in the notebook: code that must run in a kernel
            edit = set_answer_source("enc_01", f"enc_01 = {answers['enc_01']!r}\nprint(mcl.search('lateral epicondylitis', limit=3))")
        if n == 13:
            edit = set_answer_source("enc_04", f"enc_04 = {answers['enc_04']!r}\nwhile True:\n    pass")
        course.submit(student, answers, edit=edit)


def bench(count: int = 40, timeout: int = 10, jobs: int | None = None) -> dict:
    from autograder import demo
    from autograder.grading import batch

    jobs = jobs or os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as tmp:
        base = demo.Course(Path(tmp) / "base", timeout=timeout)
        base.generate_and_release()
        make_submissions(base, count)
        stock_root, ours_root = Path(tmp) / "stock", Path(tmp) / "ours"
        for root in (stock_root, ours_root):
            shutil.copytree(base.root, root)
            (root / "nbgrader_config.py").write_text(CONFIG.format(repo=str(ROOT), root=str(root),
                                                                   exchange=str(root / "exchange"), timeout=timeout))
        env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
        t0 = time.perf_counter()
        stock = subprocess.run([str(Path(sys.executable).parent / "nbgrader"), "autograde", demo.ASSIGNMENT],
                               cwd=stock_root, env=env, capture_output=True, text=True)
        stock_seconds = time.perf_counter() - t0
        always_root = Path(tmp) / "always"
        shutil.copytree(ours_root, always_root)
        t0 = time.perf_counter()
        report = batch.grade(ours_root, demo.ASSIGNMENT, jobs=jobs, progress=lambda m: None)
        ours_seconds = time.perf_counter() - t0
        t0 = time.perf_counter()  # the same grader, starting a kernel even for data-only submissions
        batch.grade(always_root, demo.ASSIGNMENT, jobs=jobs, progress=lambda m: None, always_execute=True)
        always_seconds = time.perf_counter() - t0
        disagree = []
        for student in sorted(p.name for p in (base.root / "submitted").iterdir()):
            stock_score = _score(stock_root, student)
            ours_score = _score(ours_root, student)
            if stock_score != ours_score:
                disagree.append((student, stock_score, ours_score))
        return {"submissions": count, "jobs": jobs, "stock_seconds": stock_seconds, "ours_seconds": ours_seconds,
                "ratio": stock_seconds / ours_seconds, "always_execute_seconds": always_seconds,
                "always_execute_ratio": stock_seconds / always_seconds, "stock_exit": stock.returncode,
                "graded": len(report.graded), "kernels": sum(s.ran == "kernel" for s in report.students),
                "disagreements": disagree}


def _score(root: Path, student: str) -> float | None:
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", "medcodelab-demo") as gb:
        try:
            return round(gb.find_submission("ps01-icd10cm", student).score, 2)
        except MissingEntry:
            return None


if __name__ == "__main__":
    result = bench()
    print(result)
