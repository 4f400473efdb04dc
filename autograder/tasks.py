"""Graded tasks that are not diagnosis coding: fix a claim (ps05), answer with SQL (ps06).

A task is one YAML file in the instructor-only tasks folder (``autograder/tasks/``, or the
folder named by ``MEDCODELAB_ASSESSMENT_TASKS``), hidden from the grading sandbox like the
assessment encounters. It holds what the student is shown (the prompt, the claim) and the key
(the corrected claim, the reference query). Its test cell carries a marker::

    # medcodelab-key: answer=claim_01 task=ps05-claim-01 sha256=0123456789abcdef

Answers are read from the notebook's source as data, like coding answers, and scored in the
grader's process by the library's scorers (``medcodelab.scoring.claims`` and ``.tables``),
the same ones a learner's practice check calls.

Kinds:

``claim``
    ``claim`` (the claim JSON as submitted), ``story`` (what the record documents),
    ``edits`` (the scrubber's error rules on the claim as given), ``fix`` (``lines`` and, where
    the fix changes them, ``diagnoses``), optional ``accept_modifiers`` (``{XS: ["59"]}``),
    ``explanation``, ``guideline``.
``sql``
    ``prompt``, ``key_sql``, optional ``order_matters`` and ``tolerance``, ``explanation``;
    run on the practice RCM dataset (``dataset: {scale: small, seed: 0}``), the same file the
    student's notebook opens.
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from medcodelab import paths
from medcodelab.scoring import claims as claim_scoring
from medcodelab.scoring import tables
from medcodelab.scoring.extract import literal

KINDS = {"claim", "sql"}


class TaskError(LookupError):
    """A task file is missing, malformed or changed since its problem set was generated."""


def tasks_dir() -> Path:
    return Path(os.environ.get("MEDCODELAB_ASSESSMENT_TASKS") or paths.PROJECT_ROOT / "autograder" / "tasks")


def path_of(task_id: str) -> Path:
    path = tasks_dir() / f"{task_id}.yaml"
    if not path.is_file():
        raise TaskError(f"no task {task_id!r} in {tasks_dir()} (is MEDCODELAB_ASSESSMENT_TASKS right?)")
    return path


def digest(task_id: str) -> str:
    return hashlib.sha256(path_of(task_id).read_bytes()).hexdigest()[:16]


@dataclass
class Task:
    task_id: str
    kind: str
    title: str
    points: float
    topics: list[str]
    data: dict = field(repr=False)

    @property
    def guideline(self) -> str:
        return self.data.get("guideline", "")

    # -- reading the answer -------------------------------------------------------------
    def read_answer(self, source: str, variable: str) -> tuple[object | None, str | None]:
        """The answer the cell assigns to ``variable``, as data, or why it cannot be read."""
        reader = tables.read_sql_answer if self.kind == "sql" else claim_scoring.read_fix_answer
        return reader(source, variable)

    # -- scoring ------------------------------------------------------------------------
    def score(self, answer):
        if self.kind == "sql":
            return tables.score_sql(answer, self.data["key_sql"], _rcm_connection(self.data.get("dataset", {})),
                                    order_matters=bool(self.data.get("order_matters", False)),
                                    tolerance=float(self.data.get("tolerance", 0.005)),
                                    explanation=self.data.get("explanation", ""))
        key = claim_scoring.key_of({"edits": self.data["edits"], **self.data["fix"]})
        return claim_scoring.score_fix(answer, key, self.data["claim"], _scrubber(),
                                       accept=self.data.get("accept_modifiers"), charges=_charges(),
                                       accept_pointers=self.data.get("accept_pointers"),
                                       explanation=self.data.get("explanation", ""), guideline=self.guideline)

    def check(self) -> None:
        """Refuse a task whose key does not hold up: the reference query must run, and the key's
        corrected claim must score full marks (so it scrubs clean) while the claim as given
        breaks exactly the edits the key names."""
        if self.kind == "sql":
            try:
                tables.run(_rcm_connection(self.data.get("dataset", {})), self.data["key_sql"], timeout=60.0)
            except tables.QueryError as exc:
                raise TaskError(f"task {self.task_id}: the reference query does not run: {exc}") from None
            return
        key = claim_scoring.key_of({"edits": self.data["edits"], **self.data["fix"]})
        result = self.score(key)
        if not result.perfect:
            raise TaskError(f"task {self.task_id}: its own key scores {result.fraction:.0%}:\n{result.as_text()}")
        broken = sorted({rule for rule, _ in _scrubber()(self.data["claim"])})
        if broken != sorted(set(key.edits)):
            raise TaskError(f"task {self.task_id}: the claim as given breaks {broken}, the key names "
                            f"{sorted(set(key.edits))}")

    def feedback_guidelines(self, fraction: float) -> list[str]:
        return [self.guideline] if self.guideline and fraction < 0.9999 else []


def load(task_id: str, expected_digest: str | None = None) -> Task:
    path = path_of(task_id)
    raw = path.read_bytes()
    if expected_digest is not None and hashlib.sha256(raw).hexdigest()[:16] != expected_digest:
        raise TaskError(f"the task file {path} has changed since this problem set was generated; regenerate "
                        "the assignment (python -m autograder make-assignment, then nbgrader generate_assignment "
                        "--force) or restore the file")
    try:
        data = yaml.safe_load(raw.decode("utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise TaskError(f"{path} is not readable YAML: {exc}") from None
    if not isinstance(data, dict) or data.get("id") != task_id:
        raise TaskError(f"{path} must be a mapping whose id is {task_id!r}")
    kind = data.get("kind")
    if kind not in KINDS:
        raise TaskError(f"{path}: kind must be one of {sorted(KINDS)}")
    needed = {"claim": ("claim", "story", "edits", "fix"), "sql": ("prompt", "key_sql")}[kind]
    missing = [k for k in needed if k not in data]
    if missing:
        raise TaskError(f"{path}: missing {', '.join(missing)}")
    if kind == "claim":  # the scorer's parts: a diagnoses part only when the fix changes them
        key = claim_scoring.key_of({"edits": data["edits"], **data["fix"]})
        given = tuple(claim_scoring.normalize(d) for d in data["claim"].get("diagnoses", []))
        parts = ["edits", "lines", "clean"] + (["diagnoses"] if key.diagnoses and key.diagnoses != given else [])
        points = sum(claim_scoring.WEIGHTS[p] for p in parts)
    else:
        points = float(data.get("points", 2))
    return Task(task_id, kind, str(data.get("title", task_id)), points, list(data.get("topics") or []), data)


# -- shared, read-only resources of the grader's process ---------------------------------
_lock = threading.Lock()
_cache: dict = {}


def _scrubber():
    with _lock:
        if "scrub" not in _cache:
            from medcodelab import db

            _cache["scrub"] = claim_scoring.scrub_errors(db.cursor())
        return _cache["scrub"]


def _charges() -> dict[str, int]:
    with _lock:
        if "charges" not in _cache:
            from medcodelab.claims.model import chargemaster

            _cache["charges"] = chargemaster()
        return _cache["charges"]


def _rcm_connection(dataset: dict):
    from medcodelab import rcm

    scale, seed = str(dataset.get("scale", "small")), int(dataset.get("seed", 0))
    with _lock:
        key = ("rcm", scale, seed)
        if key not in _cache:
            _cache[key] = tables.locked_connection(rcm.practice_dataset(scale, seed))
        return _cache[key]
