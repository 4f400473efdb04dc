"""Read a learner's answer from the text of their answer cell, as data.

The grader never trusts what the student's kernel computed: it parses the answer cell's
source and accepts only literal data (a list or tuple of strings, or one string of codes
separated by commas), or a call to ``saved("question")`` that points at the answers file
the coding widget wrote. Anything else gets a message the student can act on.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

MAX_SOURCE = 20_000  # characters; an answer cell is a line or two
MAX_CODES = 40


@dataclass(frozen=True)
class Extracted:
    codes: list[str] | None  # None when no answer could be read
    from_file: str | None  # question id to read from the answers file, when the cell says so
    problem: str | None  # why nothing could be read, for the student


def split_codes(text: str) -> list[str]:
    """``"E11.65, I10"`` -> ``["E11.65", "I10"]`` (commas, semicolons, new lines or spaces)."""
    return [part for part in re.split(r"[\s,;]+", text.strip()) if part]


def _assignment_targets(node: ast.AST) -> list[ast.expr]:
    if isinstance(node, ast.Assign):
        return node.targets
    if isinstance(node, ast.AnnAssign) and node.value is not None:
        return [node.target]
    return []


def assigns(source: str, variable: str) -> bool:
    """Does this cell's source assign ``variable`` (at any line)?"""
    if variable not in source or len(source) > MAX_SOURCE:
        return False
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return f"{variable} =" in source or f"{variable}=" in source
    return any(isinstance(t, ast.Name) and t.id == variable
               for node in ast.walk(tree) for t in _assignment_targets(node))


def extract(source: str, variable: str) -> Extracted:
    """The codes the cell assigns to ``variable`` (the last assignment wins, as in Python)."""
    if len(source) > MAX_SOURCE:
        return Extracted(None, None, f"the answer cell is over {MAX_SOURCE:,} characters; it should "
                                     f"hold just `{variable} = [...]`")
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        return Extracted(None, None, f"the answer cell is not valid Python (line {exc.lineno}: {exc.msg}); "
                                     f"write `{variable} = [\"A00.0\", ...]`")
    # Only statements at the top level of the cell count: an assignment inside `if False:`,
    # a function or a loop may never run, so it is not the answer. The last one wins.
    value = None
    for node in tree.body:
        if any(isinstance(t, ast.Name) and t.id == variable for t in _assignment_targets(node)):
            value = node.value  # type: ignore[attr-defined]
    if value is None and any(isinstance(t, ast.Name) and t.id == variable
                             for node in ast.walk(tree) for t in _assignment_targets(node)):
        return Extracted(None, None, f"`{variable}` is only assigned inside a block (if, def, for...); write "
                                     f"`{variable} = [...]` on its own line")
    if value is None:
        return Extracted(None, None, f"the answer cell does not assign `{variable}`; write "
                                     f"`{variable} = [\"A00.0\", ...]`")
    return _from_value(value, variable)


def _from_value(value: ast.expr, variable: str) -> Extracted:
    if isinstance(value, ast.Call):
        name = value.func.attr if isinstance(value.func, ast.Attribute) else getattr(value.func, "id", "")
        if name == "saved" and len(value.args) == 1 and isinstance(value.args[0], ast.Constant) \
                and isinstance(value.args[0].value, str):
            return Extracted(None, value.args[0].value, None)
        return Extracted(None, None, f"`{variable}` must be written out as data (a list of code strings) "
                                     "or loaded with saved(\"...\"); answers are graded as data, not computed")
    try:
        literal = ast.literal_eval(value)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return Extracted(None, None, f"`{variable}` must be a list of code strings written out, "
                                     "e.g. [\"E11.9\", \"I10\"]; it could not be read as data")
    if isinstance(literal, str):
        literal = split_codes(literal)
    if isinstance(literal, (set, frozenset)):
        return Extracted(None, None, f"`{variable}` is a set, which has no order; use a list, first-listed first")
    if not isinstance(literal, (list, tuple)):
        return Extracted(None, None, f"`{variable}` must be a list of code strings, not {type(literal).__name__}")
    if len(literal) > MAX_CODES:
        return Extracted(None, None, f"`{variable}` lists {len(literal)} entries; no encounter here needs "
                                     f"more than {MAX_CODES}")
    codes = list(literal)
    if not all(isinstance(c, str) for c in codes):
        bad = next(c for c in codes if not isinstance(c, str))
        return Extracted(None, None, f"every entry of `{variable}` must be a code in quotes; {bad!r} is not")
    return Extracted(list(codes), None, None)


def literal(source: str, variable: str, example: str) -> tuple[object | None, str | None]:
    """The literal value of the last top-level assignment to ``variable`` (any data: a dict, a
    string...), or why there is none. ``example`` shows the learner the expected form."""
    if len(source) > MAX_SOURCE:
        return None, f"the answer cell is over {MAX_SOURCE:,} characters"
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        return None, f"the answer cell is not valid Python (line {exc.lineno}: {exc.msg})"
    value = None
    for node in tree.body:
        if any(isinstance(t, ast.Name) and t.id == variable for t in _assignment_targets(node)):
            value = node.value  # type: ignore[attr-defined]
    if value is None:
        return None, f"the answer cell does not assign `{variable}` at top level; write `{variable} = {example}`"
    try:
        return ast.literal_eval(value), None
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None, (f"`{variable}` must be written out as data (`{variable} = {example}`); answers are "
                      "graded as data, not computed")


def is_plain_data(source: str) -> bool:
    """Is this cell nothing but data: names bound to literals (or ``saved("...")``), comments?

    Running such a cell cannot fail and cannot change what the grader reads, so the batch
    grader needs no kernel for a submission made only of them. Anything else is code to run.
    """
    if len(source) > MAX_SOURCE:
        return False
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False
    for node in tree.body:
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # a bare string or number: nothing happens
        targets = _assignment_targets(node)
        if not targets or not all(isinstance(t, ast.Name) for t in targets):
            return False
        value = node.value  # type: ignore[attr-defined]
        if isinstance(value, ast.Call):
            if not (isinstance(value.func, ast.Name) and value.func.id == "saved" and not value.keywords
                    and len(value.args) == 1 and isinstance(value.args[0], ast.Constant)):
                return False
            continue
        try:
            ast.literal_eval(value)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            return False
    return True
