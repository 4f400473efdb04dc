"""Every course notebook and assignment source notebook runs clean from a fresh kernel."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "course").glob("*.ipynb")) + sorted((ROOT / "assignments" / "source").glob("*/*.ipynb"))


def execute(path: Path, workdir: Path) -> nbformat.NotebookNode:
    """Run a copy of the notebook in ``workdir`` (answers files land there, not in the repo)."""
    copy = workdir / path.name
    shutil.copy(path, copy)
    nb = nbformat.read(copy, as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3", extra_arguments=["--IPKernelApp.log_level=ERROR"],
                   resources={"metadata": {"path": str(workdir)}}).execute()
    return nb


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs_clean(path, tmp_path):
    nb = execute(path, tmp_path)
    errors = [(i, o.get("ename"), o.get("evalue")) for i, cell in enumerate(nb.cells) if cell.cell_type == "code"
              for o in cell.outputs if o.output_type == "error"]
    assert not errors, errors
    stderr = [o.text for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs
              if o.output_type == "stream" and o.name == "stderr"]
    assert not stderr, stderr


@pytest.mark.slow
def test_assignment_check_cells_read_the_solutions(tmp_path):
    """The source notebook holds the key's codes: every check cell must read and accept them."""
    path = next(p for p in NOTEBOOKS if p.parent.parent.name == "source")
    nb = execute(path, tmp_path)
    checks = [c for c in nb.cells if c.cell_type == "code" and c.source.startswith("check_answer(")]
    assert len(checks) == 8
    for cell in checks:
        text = "".join(o.get("text", "") for o in cell.outputs)
        assert "every code is billable" in text and "⚠" not in text, text


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_is_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    assert all(not cell.get("outputs") and cell.get("execution_count") is None
               for cell in nb.cells if cell.cell_type == "code")


@pytest.mark.parametrize("path", sorted((ROOT / "course").glob("*.ipynb")), ids=lambda p: p.name)
def test_course_notebook_starts_with_one_import_and_one_call(path):
    first_code = next(c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
    assert first_code.source.strip() == "import medcodelab as mcl\n\nmcl.welcome()"


def test_practice_cases_named_in_the_course_exist():
    import re

    from medcodelab import cases

    known = set(cases()["case_id"])
    for path in (ROOT / "course").glob("*.ipynb"):
        for case_id in re.findall(r'"(pc-\d{3})"', path.read_text()):
            assert case_id in known, f"{path.name} names {case_id}"


@pytest.mark.slow
@pytest.mark.parametrize("assignment,check,ok", [
    ("ps05-claim-scrubbing", "check_fix(", "the corrected claim scrubs clean"),
    ("ps06-rcm-analytics", "check_sql(", "the query runs"),
])
def test_task_check_cells_read_the_solutions(assignment, check, ok, tmp_path):
    """The source notebooks hold the keys: every check cell must read them as the grader will."""
    nb = execute(ROOT / "assignments" / "source" / assignment / f"{assignment}.ipynb", tmp_path)
    checks = [c for c in nb.cells if c.cell_type == "code" and c.source.startswith(check)]
    assert len(checks) == 6
    for cell in checks:
        text = "".join(o.get("text", "") for o in cell.outputs)
        assert ok in text and "⚠" not in text, text


@pytest.mark.slow
def test_ps02_check_cells_read_the_solutions(tmp_path):
    nb = execute(ROOT / "assignments" / "source" / "ps02-icd10cm-guidelines" / "ps02-icd10cm-guidelines.ipynb", tmp_path)
    checks = [c for c in nb.cells if c.cell_type == "code" and c.source.startswith("check_answer(")]
    assert len(checks) == 12
    for cell in checks:
        text = "".join(o.get("text", "") for o in cell.outputs)
        assert "every code is billable" in text and "⚠" not in text, text


@pytest.mark.slow
def test_ps03_check_cells_read_the_solutions(tmp_path):
    nb = execute(ROOT / "assignments" / "source" / "ps03-icd11" / "ps03-icd11.ipynb", tmp_path)
    checks = [c for c in nb.cells if c.cell_type == "code" and c.source.startswith("check_answer(")]
    assert len(checks) == 8
    for cell in checks:
        text = "".join(o.get("text", "") for o in cell.outputs)
        assert "valid ICD-11" in text and "⚠" not in text, text
