"""Answer keys for graded questions, read on the instructor's side only.

Assessment encounters live in ``autograder/cases/`` (or the folder named by
``MEDCODELAB_ASSESSMENT_CASES``); they never enter the learner's database or release folder.
A problem set may also draw a practice encounter, whose key is public anyway.
"""

from __future__ import annotations

from functools import lru_cache

from medcodelab import paths
from medcodelab.cases import model


@lru_cache(maxsize=None)
def _bank() -> dict[str, model.Encounter]:
    cases = model.load_folder(paths.assessment_cases_dir()) + model.load_folder(paths.practice_cases_dir())
    return {case.case_id: case for case in cases}


def load(case_id: str) -> model.Encounter:
    bank = _bank()
    if case_id not in bank:
        raise KeyError(f"no encounter {case_id!r} in {paths.assessment_cases_dir()} or {paths.practice_cases_dir()}")
    return bank[case_id]


def clear() -> None:
    _bank.cache_clear()
