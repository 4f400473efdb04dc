"""Where the lab keeps its files.

Everything resolves from the project checkout unless an environment variable says otherwise,
so a JupyterHub image or a test can point the library at another database or case folder
without code changes.

- ``MEDCODELAB_DATA_DIR``: the folder holding authored data (``cases/``, ``search/``).
- ``MEDCODELAB_DB``: the built DuckDB file.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DB_FILENAME = "medcodelab.duckdb"


def data_dir() -> Path:
    """The authored data folder (``data/`` in the checkout)."""
    return Path(os.environ.get("MEDCODELAB_DATA_DIR") or PROJECT_ROOT / "data")


def build_dir() -> Path:
    """Where built artefacts go (git-ignored)."""
    return data_dir() / "build"


def db_path() -> Path:
    """The DuckDB file every kernel opens read-only."""
    env = os.environ.get("MEDCODELAB_DB")
    return Path(env) if env else build_dir() / DB_FILENAME


def practice_cases_dir() -> Path:
    """Practice encounters: their keys ship to learners."""
    return data_dir() / "cases"


def assessment_cases_dir() -> Path:
    """Assessment encounters: instructor-only, never built into the learner's database."""
    return Path(os.environ.get("MEDCODELAB_ASSESSMENT_CASES") or PROJECT_ROOT / "autograder" / "cases")
