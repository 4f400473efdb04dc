"""Build the notebook to run from the instructor's cells and the student's work.

Nothing the student did to the notebook's JSON decides what gets graded:
- every instructor cell (instructions, set-up, tests) comes from the instructor's copy, with the
  hidden tests restored from the gradebook; a deleted one is put back where it belongs, a
  duplicated one appears once;
- an answer cell keeps the student's source under the instructor's metadata; where a student
  duplicated an answer cell, every copy stays (the answer is the last assignment, as Python
  would leave it) and only the last keeps the answer cell's identity;
- a cell claiming a grade id the instructor never wrote, or carrying broken nbgrader metadata,
  becomes an ordinary cell;
- the student's own cells stay where they were; all outputs are cleared.
Every such repair is noted for the grading report. Nothing here raises on a malformed cell.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat import NotebookNode


class Unreadable(ValueError):
    """The submitted file is not a notebook we can grade; the message says why."""


def read_submission(path: Path, max_bytes: int) -> NotebookNode:
    """Parse a submitted notebook defensively: size, JSON, and the shape nbformat 4 needs."""
    if path.is_symlink() or not path.is_file():
        raise Unreadable(f"{path.name} is not a plain file")
    size = path.stat().st_size
    if size > max_bytes:
        raise Unreadable(f"{path.name} is {size:,} bytes, over the {max_bytes:,}-byte limit")
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise Unreadable(f"{path.name} is not UTF-8 text ({exc.reason})") from None
    except RecursionError:
        raise Unreadable(f"{path.name} nests too deeply to be a notebook") from None
    except json.JSONDecodeError as exc:
        raise Unreadable(f"{path.name} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise Unreadable(f"{path.name} is JSON but not a notebook (no list of cells)")
    cells = []
    for raw in data["cells"]:
        if not isinstance(raw, dict) or raw.get("cell_type") not in ("code", "markdown", "raw"):
            continue
        source = raw.get("source", "")
        if isinstance(source, list):
            source = "".join(s for s in source if isinstance(s, str))
        if not isinstance(source, str):
            source = ""
        meta = raw.get("metadata") if isinstance(raw.get("metadata"), dict) else {}
        cell = {"code": nbformat.v4.new_code_cell, "markdown": nbformat.v4.new_markdown_cell,
                "raw": nbformat.v4.new_raw_cell}[raw["cell_type"]](source)
        cell.metadata = nbformat.from_dict(meta)
        cells.append(cell)
    return nbformat.v4.new_notebook(cells=cells)


@dataclass
class Assembled:
    nb: NotebookNode
    notes: list[str] = field(default_factory=list)


def _grade_id(cell: NotebookNode) -> str | None:
    meta = cell.get("metadata", {}).get("nbgrader")
    if not isinstance(meta, dict):
        return None
    grade_id = meta.get("grade_id")
    return grade_id if isinstance(grade_id, str) else None


def _plain(cell: NotebookNode) -> NotebookNode:
    cell = copy.deepcopy(cell)
    cell.metadata.pop("nbgrader", None)
    return cell


def assemble(release: NotebookNode, source_cells: dict[str, str], student: NotebookNode) -> Assembled:
    """The notebook to run: instructor cells from ``release`` (hidden tests from ``source_cells``,
    the gradebook's copy by grade id), answers and extra cells from ``student``."""
    notes: list[str] = []
    instructor = []
    released: dict[str, str] = {}  # what the student received, to tell a real edit from hidden tests
    for cell in release.cells:
        cell = copy.deepcopy(cell)
        grade_id = _grade_id(cell)
        if grade_id:
            released[grade_id] = cell.source
        if grade_id in source_cells and cell.metadata["nbgrader"].get("locked"):
            cell.source = source_cells[grade_id]  # hidden tests restored
        instructor.append(cell)
    by_id = {_grade_id(c): c for c in instructor if _grade_id(c)}
    answer_ids = {g for g, c in by_id.items() if c.metadata["nbgrader"].get("solution")}

    # the last student cell carrying each answer id keeps that identity
    last_answer = {}
    for index, cell in enumerate(student.cells):
        if _grade_id(cell) in answer_ids:
            last_answer[_grade_id(cell)] = index

    out: list[NotebookNode] = []
    placed: set[str] = set()
    for index, cell in enumerate(student.cells):
        grade_id = _grade_id(cell)
        if grade_id is None:
            if "nbgrader" in cell.get("metadata", {}):
                notes.append(f"cell {index + 1} had malformed grading metadata; treated as an ordinary cell")
            out.append(_plain(cell))
        elif grade_id not in by_id:
            notes.append(f"cell {index + 1} claimed grade id {grade_id!r}, which this assignment does not have; "
                         "treated as an ordinary cell")
            out.append(_plain(cell))
        elif grade_id in answer_ids:
            if last_answer[grade_id] != index:
                notes.append(f"answer cell {grade_id!r} appears more than once; every copy ran, the last is graded")
                out.append(_plain(cell))
                continue
            answer = copy.deepcopy(by_id[grade_id])
            answer.source = cell.source if isinstance(cell.source, str) else ""
            out.append(answer)
            placed.add(grade_id)
        elif grade_id in placed:
            notes.append(f"instructor cell {grade_id!r} appears more than once; the copy was dropped")
        else:
            if cell.source.strip() != released[grade_id].strip() or cell.cell_type != by_id[grade_id].cell_type:
                notes.append(f"instructor cell {grade_id!r} was edited; the instructor's version was used")
            out.append(copy.deepcopy(by_id[grade_id]))
            placed.add(grade_id)

    # put back instructor cells that are missing, after the instructor cell before them
    for position, cell in enumerate(instructor):
        grade_id = _grade_id(cell)
        if grade_id is None or grade_id in placed:
            continue
        notes.append(f"instructor cell {grade_id!r} was missing; it was put back")
        anchor = next((_grade_id(c) for c in reversed(instructor[:position]) if _grade_id(c) in placed), None)
        where = 0 if anchor is None else next(i for i, c in enumerate(out) if _grade_id(c) == anchor) + 1
        out.insert(where, copy.deepcopy(cell))
        placed.add(grade_id)

    seen_ids: set[str] = set()
    for number, cell in enumerate(out):
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        cell.pop("attachments", None) if cell.cell_type == "code" else None
        cell_id = _grade_id(cell) or f"student-{number}"
        cell_id = cell_id.replace("_", "-")[:60]
        while cell_id in seen_ids:
            cell_id = f"{cell_id[:55]}-{number}"
        seen_ids.add(cell_id)
        cell["id"] = cell_id
    nb = nbformat.v4.new_notebook(cells=out)
    nb.metadata = copy.deepcopy(release.metadata)
    return Assembled(nb, notes)
