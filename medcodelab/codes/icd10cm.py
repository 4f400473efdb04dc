"""ICD-10-CM: check a code, look up its notes, walk its hierarchy.

One ``Icd10cm`` object wraps a DuckDB connection (the shared read-only one, or the build's
own while the file is being made). Entries are held in memory for instant checks; notes
are fetched on demand.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Iterable

import duckdb
import numpy as np

from . import normalize
from ..build.icd10cm import in_reference

SYSTEM = "icd10cm"

# The note types a coder reads, in the order the tabular prints them.
NOTE_ORDER = [
    "includes", "inclusion_term", "excludes1", "excludes2", "code_first", "use_additional",
    "code_also", "note", "seventh_character_note",
]
NOTE_LABELS = {
    "includes": "Includes",
    "inclusion_term": "Inclusion terms",
    "excludes1": "Excludes1 (never code together)",
    "excludes2": "Excludes2 (not included here; both may be coded)",
    "code_first": "Code first",
    "use_additional": "Use additional code",
    "code_also": "Code also",
    "note": "Note",
    "seventh_character_note": "7th character",
}


@dataclass(frozen=True, slots=True)
class Entry:
    entry_id: int
    code: str
    kind: str
    description: str
    parent_id: int | None
    billable: bool
    requires_seventh: bool


def _source(note: dict) -> str:
    """Where an inherited note is printed: 'chapter 4', 'block I10-I1A', or the code."""
    kind = note.get("from_kind")
    return f"{kind} {note['from_code']}" if kind in ("chapter", "block") else note["from_code"]


@dataclass
class CodeDetail:
    """Everything the tabular list says about one code, with inherited notes resolved."""

    code: str
    kind: str
    description: str
    billable: bool
    status: str
    parents: list[dict] = field(default_factory=list)  # chapter first
    notes: list[dict] = field(default_factory=list)  # {type, text, from_code, inherited}
    seventh_characters: list[dict] = field(default_factory=list)  # {character, meaning, from_code}
    children: list[dict] = field(default_factory=list)
    release: str = ""

    def as_dict(self) -> dict:
        return {
            "code": self.code, "kind": self.kind, "description": self.description,
            "billable": self.billable, "status": self.status, "parents": self.parents,
            "notes": self.notes, "seventh_characters": self.seventh_characters,
            "children": self.children, "release": self.release,
        }

    def notes_of(self, note_type: str) -> list[str]:
        return [n["text"] for n in self.notes if n["type"] == note_type]

    def __repr__(self) -> str:
        return self.as_text()

    def as_text(self) -> str:
        lines = [f"{self.code}  {self.description}  [{self.status}]"]
        for parent in self.parents:
            lines.append(f"  in {parent['kind']} {parent['code']}: {parent['description']}")
        for note_type in NOTE_ORDER:
            texts = [n for n in self.notes if n["type"] == note_type]
            if texts:
                lines.append(f"{NOTE_LABELS[note_type]}:")
                lines += [f"  - {n['text']}" + (f"  (from {_source(n)})" if n["inherited"] else "")
                          for n in texts]
        if self.seventh_characters:
            lines.append(f"7th characters (from {self.seventh_characters[0]['from_code']}):")
            lines += [f"  {s['character']} = {s['meaning']}" for s in self.seventh_characters]
        if self.children:
            lines.append("Codes under it:")
            lines += [f"  {c['code']}  {c['description']}" for c in self.children[:30]]
            if len(self.children) > 30:
                lines.append(f"  ... and {len(self.children) - 30} more")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        from html import escape

        chain = " › ".join(escape(f"{p['code']} {p['description']}") for p in self.parents)
        parts = [
            f"<div class='mcl-code'><div style='color:#555;font-size:90%'>{chain}</div>",
            f"<h4 style='margin:.3em 0'><code>{escape(self.code)}</code> {escape(self.description)} "
            f"<small>({escape(self.status)})</small></h4>",
        ]
        for note_type in NOTE_ORDER:
            texts = [n for n in self.notes if n["type"] == note_type]
            if texts:
                items = "".join(
                    f"<li>{escape(n['text'])}"
                    + (f" <small style='color:#777'>from {escape(_source(n))}</small>" if n["inherited"] else "")
                    + "</li>"
                    for n in texts
                )
                parts.append(f"<b>{escape(NOTE_LABELS[note_type])}</b><ul>{items}</ul>")
        if self.seventh_characters:
            items = "".join(f"<li><code>{escape(s['character'])}</code> {escape(s['meaning'])}</li>"
                            for s in self.seventh_characters)
            parts.append(f"<b>7th characters</b><ul>{items}</ul>")
        if self.children:
            items = "".join(f"<li><code>{escape(c['code'])}</code> {escape(c['description'])}</li>"
                            for c in self.children[:30])
            more = f"<li>… {len(self.children) - 30} more</li>" if len(self.children) > 30 else ""
            parts.append(f"<b>Codes under it</b><ul>{items}{more}</ul>")
        parts.append("</div>")
        return "".join(parts)


KINDS = ("chapter", "block", "category", "subcategory", "seventh_character")


class Icd10cm:
    """The ICD-10-CM tabular list held in one DuckDB database.

    Entries are held as columns (one list or array per field, indexed by row = entry_id - 1),
    which costs a fraction of the memory of one object per entry; ``Entry`` objects are made
    on demand.
    """

    def __init__(self, conn: duckdb.DuckDBPyConnection) -> None:
        self.conn = conn
        columns = conn.execute(
            "SELECT entry_id, code, kind, description, coalesce(parent_id, 0) AS parent_id, billable, "
            "requires_seventh FROM icd10cm_entries ORDER BY entry_id"
        ).fetchnumpy()
        if not (np.asarray(columns["entry_id"]) == np.arange(1, len(columns["entry_id"]) + 1)).all():
            raise ValueError("icd10cm_entries must be numbered 1..n in tabular order; rebuild the data")
        self.codes: list[str] = columns["code"].tolist()
        self.descriptions: list[str] = columns["description"].tolist()
        kind_index = {k: i for i, k in enumerate(KINDS)}
        self.kinds = np.fromiter((kind_index[k] for k in columns["kind"]), dtype=np.int8, count=len(self.codes))
        self.parents = np.asarray(columns["parent_id"], dtype=np.int32) - 1  # row of the parent, -1 for none
        self.billable = np.asarray(columns["billable"], dtype=bool)
        self.requires_seventh = np.asarray(columns["requires_seventh"], dtype=bool)
        is_block, is_chapter = self.kinds == KINDS.index("block"), self.kinds == KINDS.index("chapter")
        self.by_code: dict[str, int] = {self.codes[r]: r for r in np.flatnonzero(~(is_block | is_chapter)).tolist()}
        self.blocks: dict[str, int] = {self.codes[r]: r for r in np.flatnonzero(is_block).tolist()}
        # children as one sorted array: the children of row r are _child_rows[_child_start[r]:_child_start[r+1]]
        self._child_rows = np.argsort(self.parents, kind="stable").astype(np.int32)
        self._child_start = np.searchsorted(self.parents[self._child_rows], np.arange(len(self.codes) + 1))
        window = conn.execute(
            "SELECT release, effective_from, effective_to FROM code_systems WHERE system = ?", [SYSTEM]
        ).fetchone()
        self.release, self.effective_from, self.effective_to = window

    # --- hierarchy -------------------------------------------------------------------------

    def _entry(self, row: int) -> Entry:
        parent = int(self.parents[row])
        row = int(row)
        return Entry(row + 1, self.codes[row], KINDS[self.kinds[row]], self.descriptions[row],
                     None if parent < 0 else parent + 1, bool(self.billable[row]), bool(self.requires_seventh[row]))

    def entry(self, code: str) -> Entry | None:
        """The entry for a dotted code (not chapters or blocks)."""
        row = self.by_code.get(code)
        return None if row is None else self._entry(row)

    def ancestors(self, entry: Entry) -> list[Entry]:
        """Parent chain, nearest first (up to the chapter)."""
        chain, row = [], int(self.parents[entry.entry_id - 1])
        while row >= 0:
            chain.append(self._entry(row))
            row = int(self.parents[row])
        return chain

    def children(self, entry: Entry) -> list[Entry]:
        row = entry.entry_id - 1
        rows = self._child_rows[self._child_start[row]:self._child_start[row + 1]]
        return [self._entry(int(r)) for r in rows]

    # --- check -------------------------------------------------------------------------------

    def check(self, text: object, date_of_service: str | dt.date | None = None) -> dict:
        """Is this a billable ICD-10-CM code? Never raises on any input."""
        norm = normalize.icd10cm(text)
        result = {"input": norm.input, "code": norm.code, "status": "invalid", "description": None,
                  "message": norm.problem}
        if norm.code is None:
            block = self._block_for(text)
            if block is not None:
                result.update(code=block.code, status="header", description=block.description,
                              message=f"{block.code} is a block (a range of categories), not a code: "
                                      "open it and choose a code inside it")
            return result
        entry = self.entry(norm.code)
        if entry is None:
            result["message"] = self._not_found_message(norm.code)
            return result
        result["description"] = entry.description
        if entry.billable:
            result["status"] = "billable"
            result["message"] = f"{entry.code} is a billable code in ICD-10-CM {self.release}"
        else:
            result["status"] = "header"
            result["message"] = self._header_message(entry)
        if date_of_service is not None:
            outside = self.outside_window(date_of_service)
            if outside:
                result["status"] = "invalid"
                result["message"] = outside
        return result

    def _block_for(self, text: object) -> Entry | None:
        raw = normalize.as_text(text)
        if raw is None:
            return None
        key = raw.strip(" .,;").upper().replace(" ", "")
        row = self.blocks.get(key) if "-" in key else None
        return None if row is None else self._entry(row)

    def outside_window(self, date_of_service: str | dt.date) -> str | None:
        try:
            day = normalize.as_date(date_of_service)
        except ValueError:
            return f"date of service '{date_of_service}' is not a date (use YYYY-MM-DD)"
        start, end = dt.date.fromisoformat(str(self.effective_from)), dt.date.fromisoformat(str(self.effective_to))
        if start <= day <= end:
            return None
        return (f"this lab holds ICD-10-CM {self.release}, valid for dates of service {start} to {end}; "
                f"it cannot confirm any code for {day} (ICD-10-CM changes every October 1 and April 1)")

    def _header_message(self, entry: Entry) -> str:
        if entry.requires_seventh:
            seventh = self.seventh_characters(entry)
            options = ", ".join(f"{s['character']} ({s['meaning']})" for s in seventh[:4])
            more = ", ..." if len(seventh) > 4 else ""
            kids = self.children(entry)
            example = kids[0].code if kids else None
            return (f"{entry.code} needs a 7th character to be billable: {options}{more}"
                    + (f"; e.g. {example}" if example else ""))
        kids = self.children(entry)
        first, last = kids[0].code, kids[-1].code
        word = "category" if entry.kind == "category" else "subcategory"
        return (f"{entry.code} is a {word} heading, not a billable code: choose a more specific code "
                f"under it ({first} to {last})")

    def _not_found_message(self, code: str) -> str:
        compact = code.replace(".", "")
        # the longest prefix that exists tells the learner where they went wrong
        for cut in range(len(compact) - 1, 2, -1):
            prefix = compact[:cut]
            dotted = prefix if len(prefix) == 3 else f"{prefix[:3]}.{prefix[3:]}"
            entry = self.entry(dotted)
            if entry is None:
                continue
            if entry.requires_seventh:
                extra = compact[cut:]
                padded = prefix.ljust(6, "X") + extra[-1:]
                candidate = f"{padded[:3]}.{padded[3:]}"
                if len(extra) == 1 and candidate in self.by_code:
                    return (f"{code} is not a code: {entry.code} takes a 7th character after "
                            f"placeholder X to fill six characters; did you mean {candidate}?")
                return f"{code} is not a code: {self._header_message(entry)}"
            if entry.billable:
                return f"{code} is not a code: {entry.code} is already complete ({entry.description})"
            kids = ", ".join(k.code for k in self.children(entry)[:6])
            return f"{code} is not a code under {entry.code} ({entry.description}); its codes include {kids}"
        if compact[:3] in self.by_code:
            return f"{code} is not a code in category {compact[:3]}"
        return f"{code} is not an ICD-10-CM code: there is no category {compact[:3]}"

    # --- notes -------------------------------------------------------------------------------

    def notes(self, entry: Entry, types: Iterable[str] | None = None) -> list[dict]:
        """Notes that apply to ``entry``: its own, then those of each ancestor up to the chapter."""
        chain = [entry] + self.ancestors(entry)
        ids = [e.entry_id for e in chain]
        wanted = list(types) if types is not None else NOTE_ORDER
        rows = self.conn.execute(
            "SELECT entry_id, note_type, text, note_id FROM icd10cm_notes "
            "WHERE entry_id IN (SELECT unnest(?)) AND note_type IN (SELECT unnest(?)) "
            "ORDER BY note_id",
            [ids, wanted],
        ).fetchall()
        depth = {eid: i for i, eid in enumerate(ids)}
        rows.sort(key=lambda r: (depth[r[0]], r[3]))
        return [
            {"type": note_type, "text": text, "from_code": self.codes[eid - 1],
             "from_kind": KINDS[self.kinds[eid - 1]], "inherited": eid != entry.entry_id, "note_id": note_id}
            for eid, note_type, text, note_id in rows
        ]

    def references(self, entry: Entry, note_type: str) -> list[dict]:
        """Code ranges named in the notes of one type that apply to ``entry`` (memoised: the
        database is read-only, and validating a template's variants asks for the same codes often)."""
        key = (entry.entry_id, note_type)
        cache = self.__dict__.setdefault("_reference_cache", {})
        if key not in cache:
            cache[key] = self._references(entry, note_type)
        return [dict(ref) for ref in cache[key]]

    def _references(self, entry: Entry, note_type: str) -> list[dict]:
        notes = self.notes(entry, [note_type])
        if not notes:
            return []
        refs = self.conn.execute(
            "SELECT note_id, low, high FROM icd10cm_note_refs WHERE note_id IN (SELECT unnest(?))",
            [[n["note_id"] for n in notes]],
        ).fetchall()
        by_note = {n["note_id"]: n for n in notes}
        return [{"low": low, "high": high, **by_note[note_id]} for note_id, low, high in refs]

    def seventh_characters(self, entry: Entry) -> list[dict]:
        """The nearest 7th-character definition above (or at) ``entry``."""
        for node in [entry] + self.ancestors(entry):
            rows = self.conn.execute(
                "SELECT character, meaning FROM icd10cm_seventh WHERE entry_id = ? ORDER BY ordinal",
                [node.entry_id],
            ).fetchall()
            if rows:
                return [{"character": c, "meaning": m, "from_code": node.code} for c, m in rows]
        return []

    def lookup(self, text: object) -> CodeDetail | None:
        norm = normalize.icd10cm(text)
        entry = self.entry(norm.code) if norm.code else self._block_for(text)
        if entry is None:
            return None
        status = "billable" if entry.billable else "header"
        parents = [{"code": a.code, "kind": a.kind, "description": a.description}
                   for a in reversed(self.ancestors(entry))]
        notes = [{k: v for k, v in n.items() if k != "note_id"} for n in self.notes(entry)]
        seventh = self.seventh_characters(entry) if (entry.requires_seventh or entry.kind == "seventh_character") else []
        children = [{"code": c.code, "description": c.description, "billable": c.billable}
                    for c in self.children(entry)]
        return CodeDetail(entry.code, entry.kind, entry.description, entry.billable, status,
                          parents, notes, seventh, children, release=self.release)

    def search_index(self):
        """The ICD-10-CM search index; it shares this code set's strings rather than copying them."""
        from .search_index import SearchIndex

        rows = np.flatnonzero(self.kinds >= 2)  # everything but chapters and blocks, in tabular order
        return SearchIndex(self.conn, SYSTEM, [self.codes[r] for r in rows], [self.descriptions[r] for r in rows],
                           self.billable[rows], code_shaped=lambda text: normalize.icd10cm(text).code)

    def excludes1_conflict(self, code: str, others: list[str]) -> str | None:
        """Why ``code`` cannot be reported with any of ``others`` (an Excludes1 note), or None."""
        entry = self.entry(code)
        if entry is None:
            return None
        for ref in self.references(entry, "excludes1"):
            hit = self.matches_codes(others, [ref])
            if hit:
                return f"the Excludes1 note at {ref['from_code']} ('{ref['text']}') rules it out with {hit[0]}"
        for other in others:
            other_entry = self.entry(other)
            for ref in self.references(other_entry, "excludes1") if other_entry else []:
                if self.matches_codes([code], [ref]):
                    return f"the Excludes1 note at {ref['from_code']} ('{ref['text']}') rules it out with {other}"
        return None

    def matches_codes(self, codes: Iterable[str], refs: list[dict]) -> list[str]:
        """Those of ``codes`` that fall inside any of the references (from ``references``)."""
        return [code for code in codes
                if any(in_reference(code.replace(".", ""), r["low"], r["high"]) for r in refs)]
