"""A class on a real JupyterHub, on loopback: one instructor, two students, nbgrader's exchange.

The hub runs ``autograder/hub/jupyterhub_config.py`` as shipped (with its proxy from npm),
spawns each user's JupyterLab server, and every step goes through the same HTTP calls the
JupyterLab panels make: the instructor releases, collects and returns feedback through the
formgrader's API; each student fetches, edits the notebook through the contents API, submits and
fetches feedback through the Assignment List's API. Grading is the lab's batch grader, run by the
instructor on the course folder. Checked: nothing is lost, a second submission replaces the
first by its timestamp, and a submission after the due date is marked late.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from autograder import demo
from medcodelab import paths

pytestmark = pytest.mark.slow
ASSIGNMENT = demo.ASSIGNMENT
COURSE = "medcodelab"
TOOLS = paths.PROJECT_ROOT / ".tools" / "node_modules" / ".bin"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Hub:
    def __init__(self, url: str, token: str, state: Path) -> None:
        self.url, self.state = url, state
        self.admin = {"Authorization": f"token {token}"}
        self.tokens: dict[str, str] = {}

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        response = requests.request(method, f"{self.url}/hub/api{path}", headers=self.admin, timeout=60, **kwargs)
        response.raise_for_status()
        return response

    def start_server(self, user: str) -> None:
        self.api("POST", f"/users/{user}/server")
        deadline = time.time() + 120
        while time.time() < deadline:
            model = self.api("GET", f"/users/{user}").json()
            if model["servers"].get("", {}).get("ready"):
                break
            time.sleep(0.5)
        else:
            raise TimeoutError(f"{user}'s server did not start")
        self.tokens[user] = self.api("POST", f"/users/{user}/tokens", json={"note": "test"}).json()["token"]

    def call(self, user: str, method: str, path: str, **kwargs) -> requests.Response:
        response = requests.request(method, f"{self.url}/user/{user}{path}", timeout=120,
                                    headers={"Authorization": f"token {self.tokens[user]}"}, **kwargs)
        assert response.status_code < 400, (response.status_code, response.text[:500])
        return response

    def home(self, user: str) -> Path:
        return self.state / "home" / user


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    if not (TOOLS / "configurable-http-proxy").exists():
        pytest.fail("configurable-http-proxy is missing: `make test` installs it into .tools/ (npm)")
    state = tmp_path_factory.mktemp("hub")
    token, port = secrets.token_hex(16), free_port()
    env = {**os.environ,
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{TOOLS}{os.pathsep}{os.environ['PATH']}",
           "MEDCODELAB_HUB_DIR": str(state), "MEDCODELAB_HUB_PORT": str(port),
           "MEDCODELAB_HUB_API_PORT": str(free_port()), "MEDCODELAB_PROXY_API_PORT": str(free_port()),
           "MEDCODELAB_HUB_SERVICE_TOKEN": token, "MEDCODELAB_HUB_PASSWORD": secrets.token_hex(8),
           "MEDCODELAB_INSTRUCTORS": "instructor", "MEDCODELAB_STUDENTS": "student1,student2",
           "MEDCODELAB_DB": str(paths.db_path())}
    log = open(state / "hub.log", "wb")
    process = subprocess.Popen([str(Path(sys.executable).parent / "jupyterhub"), "-f",
                                str(paths.PROJECT_ROOT / "autograder" / "hub" / "jupyterhub_config.py")],
                               cwd=state, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 90
        while True:
            try:
                if requests.get(f"{url}/hub/api/", timeout=5).ok:
                    break
            except requests.ConnectionError:
                pass
            if process.poll() is not None or time.time() > deadline:
                raise RuntimeError("the hub did not start:\n" + (state / "hub.log").read_text()[-3000:])
            time.sleep(0.5)
        hub = Hub(url, token, state)
        # the instructor's course: the repository's problem set, and the shipped instructor config
        instructor = hub.home("instructor")
        instructor.mkdir(parents=True)
        shutil.copytree(paths.PROJECT_ROOT / "assignments" / "source", instructor / "course" / "source")
        shutil.copy(paths.PROJECT_ROOT / "autograder" / "hub" / "instructor" / "nbgrader_config.py", instructor)
        for user in ("instructor", "student1", "student2"):
            hub.start_server(user)
        yield hub
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()


def formgrader(hub: Hub, method: str, path: str, **kwargs) -> dict:
    return hub.call("instructor", method, f"/formgrader/api{path}", **kwargs).json()


def assignments(hub: Hub, student: str) -> list[dict]:
    answer = hub.call(student, "GET", "/assignments", params={"course_id": COURSE}).json()
    assert answer["success"], answer
    return answer["value"]


def act(hub: Hub, student: str, action: str) -> None:
    hub.call(student, "POST", f"/assignments/{action}", params={"course_id": COURSE, "assignment_id": ASSIGNMENT})


def answer_and_save(hub: Hub, student: str, answers: dict[str, list[str]]) -> None:
    """Edit the fetched notebook the way JupyterLab saves it: through the contents API."""
    path = f"/api/contents/{ASSIGNMENT}/{ASSIGNMENT}.ipynb"
    model = hub.call(student, "GET", path).json()
    for cell in model["content"]["cells"]:
        grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id", "")
        if grade_id.startswith("answer_"):
            question = grade_id[len("answer_"):]
            cell["source"] = f"{question} = {json.dumps(answers.get(question, []))}"
    hub.call(student, "PUT", path, json={"type": "notebook", "format": "json", "content": model["content"]})


def test_a_class_round_trip_through_the_hub(hub):
    # the instructor generates and releases, as formgrader's buttons do
    assert formgrader(hub, "POST", f"/assignment/{ASSIGNMENT}/assign")["success"]
    assert formgrader(hub, "POST", f"/assignment/{ASSIGNMENT}/release")["success"]
    course = hub.home("instructor") / "course"
    key = demo.key_answers(course)

    # each student sees it, fetches it, works, submits
    for student in ("student1", "student2"):
        released = [a for a in assignments(hub, student) if a["assignment_id"] == ASSIGNMENT]
        assert released and released[0]["status"] == "released"
        act(hub, student, "fetch")
        assert (hub.home(student) / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").exists()
    answer_and_save(hub, "student1", {})  # a first, empty submission...
    act(hub, "student1", "submit")
    time.sleep(1.5)
    answer_and_save(hub, "student1", key)  # ...replaced by a complete one
    act(hub, "student1", "submit")
    # the due date passes before student2 submits
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", COURSE) as gb:
        gb.update_or_create_assignment(ASSIGNMENT, duedate=dt.datetime.now(dt.timezone.utc).replace(tzinfo=None))
    time.sleep(1.5)
    half = {q: codes for i, (q, codes) in enumerate(sorted(key.items())) if i % 2 == 0}
    answer_and_save(hub, "student2", half)
    act(hub, "student2", "submit")
    submitted = [a for a in assignments(hub, "student1") if a["status"] == "submitted"]
    assert len(submitted) == 1 and len(submitted[0]["submissions"]) == 2  # both submissions are in the exchange

    # the instructor collects (formgrader), grades (the lab's batch grader), returns feedback (formgrader)
    assert formgrader(hub, "POST", f"/assignment/{ASSIGNMENT}/collect")["success"]
    from autograder.grading import batch

    report = batch.grade(course, ASSIGNMENT, jobs=2, progress=lambda m: None)
    assert {s.student for s in report.graded} == {"student1", "student2"}
    assert formgrader(hub, "POST", f"/assignment/{ASSIGNMENT}/generate_feedback")["success"]
    assert formgrader(hub, "POST", f"/assignment/{ASSIGNMENT}/release_feedback")["success"]

    submissions = {s["student"]: s for s in formgrader(hub, "GET", f"/submissions/{ASSIGNMENT}")}
    assert submissions["student1"]["score"] == submissions["student1"]["max_score"]  # the second submission
    assert 0 < submissions["student2"]["score"] < submissions["student2"]["max_score"]
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", COURSE) as gb:
        assert gb.find_submission(ASSIGNMENT, "student2").total_seconds_late > 0
        assert gb.find_submission(ASSIGNMENT, "student1").total_seconds_late == 0

    # each student fetches feedback and reads it
    for student in ("student1", "student2"):
        act(hub, student, "fetch_feedback")
        feedback = list((hub.home(student) / ASSIGNMENT / "feedback").rglob(f"{ASSIGNMENT}.html"))
        assert feedback, f"{student} got no feedback"
        html = feedback[-1].read_text()
        assert "Your results by topic" in html and "medcodelab-key" not in html
