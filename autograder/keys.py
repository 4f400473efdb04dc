"""Answer keys for graded questions, read on the instructor's side only.

Assessment encounters live in ``autograder/cases/`` (or the folder named by
``MEDCODELAB_ASSESSMENT_CASES``); they never enter the learner's database or release folder.
A problem set may also draw a practice encounter, whose key is public anyway.

Every key file has a digest, written into the instructor's copy of the problem set when it is
generated. The grader loads a key before any student code runs and refuses a key whose file
no longer matches its digest: a submission's code cannot change the key it is graded against,
nor, unnoticed, the key of anyone graded after it.
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

from medcodelab import paths
from medcodelab.cases import model, template


class KeyError_(LookupError):
    """A key is missing or has changed since the problem set was generated."""


def _folders() -> list[Path]:
    return [paths.assessment_cases_dir(), paths.practice_cases_dir()]


def path_of(case_id: str) -> Path:
    """The file holding the key: the case file, or for a variant (``<template>-vNN``) its template."""
    for folder in _folders():
        candidate = folder / f"{case_id}.yaml"
        if candidate.exists():
            return candidate
    template_id = template.template_id_of(case_id)
    if template_id:
        for folder in _folders():
            found = template.find(folder, template_id)
            if found is not None:
                return found
    raise KeyError_(f"no encounter {case_id!r} in {' or '.join(str(f) for f in _folders())} "
                    "(is MEDCODELAB_ASSESSMENT_CASES pointing at the right folder?)")


def digest(case_id: str) -> str:
    """The sha256 of the key file's bytes (first 16 hex digits)."""
    return hashlib.sha256(path_of(case_id).read_bytes()).hexdigest()[:16]


def student_pick(variant_seed: str, count: int, student: str) -> int:
    """Which of a template's ``count`` variants a student codes, when a problem set gives each
    student their own: derived from the problem set's variant secret and the student's id, so
    the grader rebuilds it from the hidden test and the submission's owner alone."""
    digest = hmac.new(variant_seed.encode(), f"student:{student}".encode(), hashlib.sha256).hexdigest()
    return int(digest, 16) % count


def load(case_id: str, expected_digest: str | None = None, variant_seed: str | None = None,
         student: str | None = None) -> model.Encounter:
    """The encounter and its key; with ``expected_digest``, only if the file is unchanged. A
    template variant is expanded with ``variant_seed`` (the one its problem set was made with);
    with ``student`` too, the variant is that student's own (see ``student_pick``)."""
    path = path_of(case_id)
    data = path.read_bytes()
    if expected_digest is not None and hashlib.sha256(data).hexdigest()[:16] != expected_digest:
        raise KeyError_(
            f"the key file {path} has changed since this problem set was generated (digest "
            f"{hashlib.sha256(data).hexdigest()[:16]}, expected {expected_digest}). If you edited it, "
            "regenerate the assignment (python -m autograder make-assignment, then nbgrader "
            "generate_assignment --force); if not, restore it (git checkout) and grade again"
        )
    if model.TEMPLATES_DIR in path.parts[:-1]:
        use = "assessment" if paths.assessment_cases_dir() in path.parents else "practice"
        expanded = template.load_file(path, use, variant_seed)
        if student is not None and variant_seed:
            return expanded[student_pick(variant_seed, len(expanded), student)]
        variants = {c.case_id: c for c in expanded}
        if case_id not in variants:
            raise KeyError_(f"template {path} gives no variant {case_id!r} (it has {len(variants)})")
        return variants[case_id]
    case = model.load_file(path)
    if case.case_id != case_id:
        raise KeyError_(f"{path} holds encounter {case.case_id!r}, not {case_id!r}")
    return case
