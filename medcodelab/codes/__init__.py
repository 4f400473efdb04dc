"""Check, search and look up codes in any code system the lab holds.

These are the functions notebooks, widgets, grading and the CLI all call. Each takes a
``system`` name; ``systems()`` lists what this build holds. ``on`` (or ``date_of_service``)
asks whether a code is valid on a given date.
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

SYSTEMS = {
    "icd10cm": "ICD-10-CM (US diagnoses)",
    "icd11": "ICD-11 MMS (WHO diagnoses)",
    "cpt": "CPT teaching set (procedures and services; the lab's own summaries)",
    "hcpcs": "HCPCS Level II teaching subset (supplies, drugs, services)",
    "modifier": "CPT and HCPCS modifiers",
}


def systems() -> dict[str, str]:
    """Code systems this build holds, by the name ``system=`` takes."""
    held = db.cursor().execute("SELECT system FROM code_systems").fetchall()
    return {name: SYSTEMS[name] for (name,) in held if name in SYSTEMS}


def code_set(system: str):
    """The loaded code set for ``system`` (once per process, shared read-only)."""
    conn = db.connect()
    with _lock:
        if system not in _cache:
            if system == "icd10cm":
                _cache[system] = Icd10cm(conn.cursor())
            elif system == "icd11":
                from .icd11 import Icd11

                _cache[system] = Icd11(conn.cursor())
            else:
                from .catalogue import Catalogue

                _cache[system] = Catalogue(conn.cursor(), system)
        return _cache[system]


def icd10cm() -> Icd10cm:
    """The ICD-10-CM code set over the shared read-only connection (loaded once per process)."""
    return code_set("icd10cm")  # type: ignore[return-value]


def _unknown_system(text: object, system: object) -> dict:
    return {"input": text if isinstance(text, str) else repr(text), "code": None, "status": "invalid",
            "description": None,
            "message": f"unknown code system {system!r}; this build holds: {', '.join(SYSTEMS)}"}


def check(text: object, system: str = "icd10cm", date_of_service: str | dt.date | None = None,
          on: str | dt.date | None = None) -> dict:
    """Is ``text`` a reportable code?

    Returns ``{"input", "code", "status", "description", "message"}`` with status
    ``billable``, ``header`` (exists but is not reportable: a category, or a code that still
    needs its 7th character) or ``invalid``. ``on`` (or ``date_of_service``) checks the code
    is valid on that date. Never raises on any input.
    """
    if system not in SYSTEMS:
        return _unknown_system(text, system)
    when = on if on is not None else date_of_service
    if system == "icd10cm":
        return icd10cm().check(text, when)
    return code_set(system).check(text, when)


def modifier_fits(modifier: object, code: object, on: str | dt.date | None = None) -> dict:
    """May ``modifier`` attach to the CPT or HCPCS ``code``?

    Returns ``{"modifier", "code", "system", "fits", "message"}``: ``fits`` is True, False, or None
    when either is not a valid code on ``on`` (then ``message`` says which). The rule comes from the
    modifier's ``attaches`` row (``lookup(modifier, system="modifier")`` shows it). Never raises.
    """
    from .modifiers import fit

    mod = check(modifier, system="modifier", on=on)
    text = code.strip().upper() if isinstance(code, str) else code
    system = "hcpcs" if isinstance(text, str) and text[:1].isalpha() else "cpt"
    proc = check(text, system=system, on=on)
    result = {"modifier": mod["code"], "code": proc["code"], "system": system, "fits": None, "message": None}
    if mod["status"] != "billable":
        result["message"] = f"modifier: {mod['message']}"
    elif proc["status"] != "billable":
        result["message"] = f"code: {proc['message']}"
    else:
        mods, codes = code_set("modifier"), code_set(system)
        details = mods.details[mods.row[mod["code"]]]
        why = fit(mod["code"], details, proc["code"], system, codes.details[codes.row[proc["code"]]])
        result["fits"] = why is None
        rule = (details.get("attaches") or {}).get("summary", "")
        result["message"] = why or f"{mod['code']} may attach to {proc['code']}" + (f" ({rule})" if rule else "")
    return result


def lookup(code: object, system: str = "icd10cm"):
    """A code with its description, parent chain, children and every note that applies."""
    if system not in SYSTEMS:
        raise ValueError(f"unknown code system {system!r}; this build holds: {', '.join(SYSTEMS)}")
    return code_set(system).lookup(code)


def search(query: object, system: str = "icd10cm", limit: int = 10) -> list[dict]:
    """Codes ranked for a free-text query: words in any order, inclusion terms, abbreviations."""
    if system not in SYSTEMS:
        raise ValueError(f"unknown code system {system!r}; this build holds: {', '.join(SYSTEMS)}")
    from . import search_index

    return search_index.index(system).search(query, limit=limit)


__all__ = ["CodeDetail", "check", "code_set", "icd10cm", "lookup", "modifier_fits", "search", "systems"]
