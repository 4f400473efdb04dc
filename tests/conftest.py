"""Shared fixtures: the built database (built once, skipped when up to date)."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the autograder package lives beside medcodelab
# nbgrader runs helper commands (alembic) and kernels by name: use this environment's
os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")
# practice recorded by tests (widgets, notebooks) goes to a throwaway file, not the runner's home
os.environ["MEDCODELAB_PROGRESS"] = str(Path(tempfile.mkdtemp(prefix="medcodelab-progress-")) / "progress.jsonl")


@pytest.fixture(scope="session", autouse=True)
def built_database() -> Path:
    from medcodelab.build import database

    return database.build(progress=lambda message: None)


@pytest.fixture(scope="session")
def code_set(built_database):
    from medcodelab.codes import icd10cm

    return icd10cm()


@pytest.fixture
def artefacts() -> Path:
    """A folder kept after the run for things a human may want to look at."""
    path = ROOT / "tests" / "artefacts"
    path.mkdir(exist_ok=True)
    return path


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Let fixtures see whether the test itself failed (the browser tests keep a screenshot)."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
