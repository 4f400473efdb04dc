"""A learner's saved answers: a small JSON file beside the notebook.

Widgets lose their state when a notebook re-runs, so the coding widget saves each answer
here and the answer cell loads it back. Writes are atomic (temp file + rename), and a file
that cannot be read is set aside, never overwritten, so nothing a learner saved is lost.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from pathlib import Path

SCHEMA = 1


def default_path() -> Path:
    """``<notebook>.answers.json`` beside the running notebook when Jupyter says which one it is."""
    session = os.environ.get("JPY_SESSION_NAME")
    if session and session.endswith(".ipynb"):
        nb = Path(session)
        return (nb if nb.is_absolute() else Path.cwd() / nb.name).with_suffix(".answers.json")
    return Path.cwd() / "medcodelab.answers.json"


MAX_BYTES = 1_000_000  # an answers file for a whole problem set is a few kilobytes
MAX_CODES = 40


class Unreadable(ValueError):
    """An answers file that cannot be trusted as one (too big, not a plain file, not JSON)."""


def read_strict(path: Path) -> dict[str, list[str]]:
    """For the grader: the saved codes per question, or ``Unreadable`` saying why.

    Never follows a link, never reads more than ``MAX_BYTES``, never returns more than
    ``MAX_CODES`` codes for a question, and never changes the file.
    """
    if path.is_symlink() or not path.is_file():
        raise Unreadable(f"{path.name} is not a plain file")
    if path.stat().st_size > MAX_BYTES:
        raise Unreadable(f"{path.name} is over {MAX_BYTES:,} bytes")
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
        entries = data["answers"]
        out = {}
        for question, entry in entries.items():
            codes = entry["codes"]
            if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
                raise TypeError(f"the codes for {question} are not a list of strings")
            if len(codes) > MAX_CODES:
                raise TypeError(f"{question} lists {len(codes)} codes (at most {MAX_CODES})")
            out[str(question)] = codes
        return out
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError, UnicodeDecodeError) as exc:
        raise Unreadable(f"{path.name} is not an answers file ({exc.__class__.__name__}: {exc})") from None


def read_all(path: Path | str | None = None) -> dict[str, dict]:
    """Every saved answer in ``path``: ``{question: {"codes": [...], "saved_at": ...}}``."""
    path = Path(path) if path else default_path()
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        answers = data["answers"]
        if not isinstance(answers, dict):
            raise ValueError("answers is not a mapping")
        return {str(q): a for q, a in answers.items() if isinstance(a, dict)}
    except (ValueError, KeyError, TypeError, RecursionError, UnicodeDecodeError) as exc:
        aside = path.with_name(f"{path.name}.unreadable-{dt.datetime.now():%Y%m%d-%H%M%S}")
        path.rename(aside)
        raise ValueError(f"{path} could not be read ({exc}); it was kept as {aside.name} "
                         "and a new file will be started") from exc


def load(question: str, path: Path | str | None = None) -> list[str]:
    """The codes saved for ``question`` (an empty list when nothing is saved yet)."""
    entry = read_all(path).get(question)
    if not entry:
        return []
    codes = entry.get("codes", [])
    return [str(c) for c in codes] if isinstance(codes, list) else []


def save(question: str, codes: list[str], path: Path | str | None = None) -> Path:
    """Save (replace) the answer to ``question``; returns the file written."""
    path = Path(path) if path else default_path()
    try:
        answers = read_all(path)
    except ValueError:
        answers = {}
    answers[str(question)] = {
        "codes": [str(c) for c in codes],
        "saved_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
    payload = json.dumps({"schema": SCHEMA, "answers": answers}, indent=1, ensure_ascii=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(payload)
    os.replace(tmp, path)
    return path
