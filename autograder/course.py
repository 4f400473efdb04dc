"""nbgrader configuration for a Medical Coding & RCM Lab course, in one place.

``assignments/nbgrader_config.py`` (the instructor's course) and the demo both call
``configure``, so what the demo proves is what an instructor runs.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import (
    AssignLatePenalties, CheckCellMetadata, ClearHiddenTests, ClearOutput, DeduplicateIds, Execute,
    GetGrades, IgnorePattern, LimitOutput, OverwriteKernelspec, SaveAutoGrades,
)
from traitlets.config import Config

from .preprocessors import OverwriteReleasedCells, ReadCodingAnswers, ScoreCodingAnswers

ANSWER_STUB = '# your answer here, in the form the instructions above show'


def ensure_tools_on_path() -> None:
    """nbgrader runs helper commands (``alembic``) by name: make this environment's come first."""
    bin_dir = str(Path(sys.executable).parent)
    if os.environ.get("PATH", "").split(os.pathsep)[0] != bin_dir:
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")


def configure(c: Config, root: Path | str, course_id: str = "medcodelab", exchange: Path | str | None = None,
              timeout: int = 30) -> Config:
    """Fill ``c`` with the course's settings; returns it."""
    ensure_tools_on_path()
    root = Path(root)
    c.CourseDirectory.root = str(root)
    c.CourseDirectory.course_id = course_id
    c.Exchange.root = str(exchange or os.environ.get("MEDCODELAB_EXCHANGE") or root / "exchange")
    # the answer cell keeps its list brackets; only the codes inside are cleared
    c.ClearSolutions.code_stub = {"python": ANSWER_STUB}
    # hidden tests only name the key; they never reach students, in the release or in feedback
    c.ClearHiddenTests.enforce_metadata = True
    c.Autograde.sanitize_preprocessors = [
        ClearOutput,
        DeduplicateIds,
        OverwriteKernelspec,
        OverwriteReleasedCells,  # instructor's cells restored; warns only about real edits
        CheckCellMetadata,
    ]
    # a test cell the student deleted is put back (and graded), not silently dropped
    c.OverwriteCells.add_missing_cells = True
    c.Autograde.autograde_preprocessors = [
        ReadCodingAnswers,  # answers read as data before any student code runs
        Execute,
        IgnorePattern,
        ClearMetadataPreprocessor,
        LimitOutput,
        ScoreCodingAnswers,  # kernel output of coding test cells replaced by the grader's score
        SaveAutoGrades,
        AssignLatePenalties,
        CheckCellMetadata,
    ]
    c.GenerateFeedback.preprocessors = [GetGrades, ClearHiddenTests, CSSHTMLHeaderPreprocessor]
    c.Execute.timeout = timeout
    # a quiet kernel: its start-up warnings would otherwise land in every grading log
    c.Execute.extra_arguments = ["--HistoryManager.hist_file=:memory:", "--IPKernelApp.log_level=ERROR"]
    return c


def course_config(root: Path | str, **kwargs) -> Config:
    return configure(Config(), root, **kwargs)
