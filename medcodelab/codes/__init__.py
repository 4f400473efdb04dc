"""Check, search and look up codes in any code system the lab holds.

These are the functions notebooks, widgets, grading and the CLI all call. Each takes a
``system`` name; ``systems()`` lists what this build holds.
"""

from __future__ import annotations

import datetime as dt
import threading

from .. import db
from .icd10cm import CodeDetail, Icd10cm

_lock = threading.Lock()
_cache: dict[str, object] = {}


def _reset() -> None:
    _cache.clear()


db.on_reconnect(_reset)

SYSTEMS = {"icd10cm": "ICD-10-CM (US diagnoses)"}


def systems() -> dict[str, str]:
    """Code systems this build holds, by the name ``system=`` takes."""
    return dict(SYSTEMS)


def icd10cm() -> Icd10cm:
    """The ICD-10-CM code set over the shared read-only connection (loaded once per process)."""
    conn = db.connect()
    with _lock:
        if "icd10cm" not in _cache:
            _cache["icd10cm"] = Icd10cm(conn.cursor())
        return _cache["icd10cm"]  # type: ignore[return-value]


def _unknown_system(text: object, system: object) -> dict:
    return {"input": text if isinstance(text, str) else repr(text), "code": None, "status": "invalid",
            "description": None,
            "message": f"unknown code system {system!r}; this build holds: {', '.join(SYSTEMS)}"}


def check(text: object, system: str = "icd10cm", date_of_service: str | dt.date | None = None) -> dict:
    """Is ``text`` a reportable code?

    Returns ``{"input", "code", "status", "description", "message"}`` with status
    ``billable``, ``header`` (exists but is not reportable: a category, or a code that still
    needs its 7th character) or ``invalid``. Never raises on any input.
    """
    if system not in SYSTEMS:
        return _unknown_system(text, system)
    return icd10cm().check(text, date_of_service)


def lookup(code: object, system: str = "icd10cm") -> CodeDetail | None:
    """A code with its description, parent chain, children and every note that applies."""
    if system not in SYSTEMS:
        raise ValueError(f"unknown code system {system!r}; this build holds: {', '.join(SYSTEMS)}")
    return icd10cm().lookup(code)


def search(query: object, system: str = "icd10cm", limit: int = 10) -> list[dict]:
    """Codes ranked for a free-text query: words in any order, inclusion terms, abbreviations."""
    if system not in SYSTEMS:
        raise ValueError(f"unknown code system {system!r}; this build holds: {', '.join(SYSTEMS)}")
    from . import search_index

    return search_index.index(system).search(query, limit=limit)
