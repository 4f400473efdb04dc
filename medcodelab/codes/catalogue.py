"""CPT, HCPCS Level II and modifiers: the lab's curated teaching sets, checked by date.

CPT descriptors are the AMA's and are never shipped: a CPT row holds the lab's own plain-language
summary. A site that licenses CPT can import its descriptor file (``medcodelab import-cpt``);
the build then shows the official descriptor instead (the lab's summary stays in the details as
``lab_summary``), and every licensed code joins the set.
HCPCS Level II and modifier rows are the lab's own wording of public CMS facts.

A code outside the teaching set is reported as "not in the lab's teaching set", never as
"not a CPT code": the set is a sample, and saying otherwise would teach something false.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from html import escape

import duckdb
import numpy as np

from .normalize import as_date

SHAPES = {
    "cpt": (re.compile(r"^\d{4}[0-9FTU]$"), "five characters: four digits then a digit, F, T or U (99213, 3074F, 0042T, 0001U)"),
    "hcpcs": (re.compile(r"^[A-V]\d{4}$"), "a letter A-V then four digits (J1100, G0439)"),
    "modifier": (re.compile(r"^[0-9A-Z]{2}$"), "two letters or digits (25, 59, LT, XS)"),
}
NAMES = {"cpt": "CPT", "hcpcs": "HCPCS Level II", "modifier": "modifier"}
CPT_NOTICE = ("CPT® is a registered trademark of the American Medical Association. The lab shows its own "
              "plain-language summaries, not AMA descriptors.")


@dataclass
class CatalogueDetail:
    system: str
    code: str
    description: str
    details: dict = field(default_factory=dict)
    effective_from: str | None = None
    effective_to: str | None = None
    source: str = ""
    checked: str = ""
    official_descriptor: str | None = None
    rules: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in ("system", "code", "description", "details", "effective_from",
                                              "effective_to", "source", "checked", "official_descriptor", "rules")}

    def _shown(self) -> dict:
        """Details as a reader wants them: a modifier's attach rule by its summary."""
        shown = dict(self.details)
        if isinstance(shown.get("attaches"), dict):
            shown["attaches_to"] = shown.pop("attaches").get("summary", "")
        return shown

    def as_text(self) -> str:
        label = "title" if self.system == "modifier" else "description"
        if self.system == "cpt":
            label = "licensed descriptor" if self.official_descriptor else "summary (the lab's words)"
        lines = [f"{self.code}  [{NAMES[self.system]}]", f"  {label}: {self.description}"]
        for key, value in sorted(self._shown().items()):
            lines.append(f"  {key.replace('_', ' ')}: {value}")
        for key, value in self.rules.items():
            if value:
                lines.append(f"  {key.replace('_', ' ')}: {value}")
        span = f"from {self.effective_from or '?'}" + (f" to {self.effective_to}" if self.effective_to else "")
        lines.append(f"  valid {span}; source: {self.source}")
        if self.system == "cpt" and not self.official_descriptor:
            lines.append(CPT_NOTICE)
        return "\n".join(lines)

    __repr__ = as_text

    def _repr_html_(self) -> str:
        rows = "".join(f"<tr><th style='text-align:left'>{escape(k.replace('_', ' '))}</th><td>{escape(str(v))}</td></tr>"
                       for k, v in [*sorted(self._shown().items()), *self.rules.items()] if v not in (None, "", [], {}))
        official = "<div><small>licensed CPT descriptor</small></div>" if self.official_descriptor else ""
        notice = (f"<div style='color:#777;font-size:80%'>{escape(CPT_NOTICE)}</div>"
                  if self.system == "cpt" and not self.official_descriptor else "")
        return (f"<div class='mcl-code'><h4 style='margin:.3em 0'><code>{escape(self.code)}</code> "
                f"{escape(self.description)} <small>({escape(NAMES[self.system])})</small></h4>{official}"
                f"<table>{rows}</table><div style='color:#555;font-size:85%'>valid from "
                f"{escape(str(self.effective_from or '?'))}{' to ' + escape(str(self.effective_to)) if self.effective_to else ''}"
                f"; source: {escape(self.source)}</div>{notice}</div>")


class Catalogue:
    """One curated code system (``cpt``, ``hcpcs`` or ``modifier``) as held in the database."""

    def __init__(self, conn: duckdb.DuckDBPyConnection, system: str) -> None:
        if system not in SHAPES:
            raise ValueError(f"not a catalogue system: {system!r}")
        self.conn, self.system = conn, system
        self.shape, self.shape_hint = SHAPES[system]
        rows = conn.execute(
            "SELECT code, description, details, effective_from, effective_to, source, checked FROM catalogue "
            "WHERE system = ? ORDER BY code", [system]).fetchall()
        self.codes = [r[0] for r in rows]
        self.descriptions = [r[1] for r in rows]
        self.details = [json.loads(r[2]) if r[2] else {} for r in rows]
        self.starts = [as_date(r[3]) for r in rows]
        self.ends = [as_date(r[4]) for r in rows]
        self.sources = [r[5] for r in rows]
        self.checked = [r[6] for r in rows]
        self.row = {code: i for i, code in enumerate(self.codes)}
        self.licensed: dict[str, str] = {}
        if system == "cpt" and _has_table(conn, "cpt_licensed"):
            self.licensed = dict(conn.execute("SELECT code, descriptor FROM cpt_licensed").fetchall())

    def normalise(self, text: str) -> str:
        code = text.strip().strip(".,;").upper().replace(" ", "")
        if self.system == "modifier":
            code = code.lstrip("-")
        return code

    def check(self, text: object, on: str | dt.date | None = None) -> dict:
        """Is ``text`` a code in this set, valid on ``on``? Never raises on any input."""
        name = NAMES[self.system]
        raw = text if isinstance(text, str) else None
        result = {"input": raw if raw is not None else repr(text), "code": None, "status": "invalid",
                  "description": None, "message": None}
        if raw is None:
            result["message"] = f"expected a {name} code as text, not {type(text).__name__}"
            return result
        code = self.normalise(raw)
        if not code:
            result["message"] = f"empty: type a {name} code ({self.shape_hint})"
            return result
        if not self.shape.match(code):
            result["message"] = f"{code[:20]!r} is not shaped like a {name} code: {self.shape_hint}"
            return result
        result["code"] = code
        try:
            when = as_date(on)
        except ValueError:
            result["message"] = f"the date {on!r} is not a date (use YYYY-MM-DD)"
            return result
        if code not in self.row:
            result["message"] = (f"{code} is not in the lab's {name} teaching set (a curated sample, not the "
                                 "complete code set): check the official code set before deciding it does not exist")
            return result
        i = self.row[code]
        result["description"] = self.descriptions[i]
        start, end = self.starts[i], self.ends[i]
        if when is not None and start is not None and when < start:
            # the tables vouch for the code set they were written from, not for a code's first year
            result["message"] = (f"the lab's {name} table vouches for {code} from {start.isoformat()} (the "
                                 f"{start.year} code set) and cannot say whether it was valid on {when.isoformat()}: "
                                 f"check the {when.year} code set")
            return result
        if when is not None and end is not None and when > end:
            result["message"] = f"{code} was deleted: valid until {end.isoformat()}, before the date of service {when.isoformat()}"
            return result
        result["status"] = "billable"
        kind = {"cpt": "CPT code", "hcpcs": "HCPCS Level II code", "modifier": "modifier"}[self.system]
        result["message"] = f"{code} is a valid {kind}" + (f" on {when.isoformat()}" if when else "")
        if self.system == "cpt" and self.details[i].get("add_on"):
            result["message"] += "; it is an add-on code, reported only with its primary procedure"
        return result

    def lookup(self, text: object) -> CatalogueDetail | None:
        if not isinstance(text, str):
            return None
        code = self.normalise(text)
        if code not in self.row:
            return None
        i = self.row[code]
        start, end = self.starts[i], self.ends[i]
        return CatalogueDetail(self.system, code, self.descriptions[i], self.details[i],
                               start.isoformat() if start else None, end.isoformat() if end else None,
                               self.sources[i], self.checked[i], self.licensed.get(code), self._rules(code))

    def _rules(self, code: str) -> dict:
        """The payer rules the lab holds for a procedure code: NCCI pairs, MUE, add-on primaries."""
        if self.system == "modifier":
            return {}
        cur = self.conn
        rules: dict = {}
        limits = cur.execute("SELECT value, mai, origin, effective_from FROM mue WHERE code = ? ORDER BY origin DESC",
                             [code]).fetchall() if _has_table(cur, "mue") else []
        for value, mai, origin, start in limits:  # the lab's row first, then a site's imported CMS row
            text = f"{value} unit(s) per {'claim line' if mai == 1 else 'day'} (MAI {mai})"
            if origin == "cms-import":
                text += f", CMS table effective {start} imported by this site"
                if "mue" in rules:
                    text += " (this is the value claims are checked against)"
            rules["mue"] = f"{rules['mue']}; {text}" if "mue" in rules else text
        if _has_table(cur, "ncci_ptp"):
            pairs = cur.execute("SELECT column1, column2, modifier_indicator, origin, effective_to FROM ncci_ptp_in_force "
                                "WHERE column1 = ? OR column2 = ? ORDER BY origin DESC, column1, column2, effective_from",
                                [code, code]).fetchall()
            shown = [f"{a} (col 1) / {b} (col 2), modifier indicator {m}"
                     + (f", CMS import{', deleted after ' + str(end) if end else ''}" if origin == "cms-import" else "")
                     for a, b, m, origin, end in pairs]
            if shown:
                rules["ncci_pairs"] = "; ".join(shown)
        if _has_table(cur, "cpt_addon_primaries"):
            primaries = [r[0] for r in cur.execute("SELECT primary_code FROM cpt_addon_primaries WHERE addon = ? "
                                                   "ORDER BY primary_code", [code]).fetchall()]
            if primaries:
                rules["reported_with"] = ", ".join(primaries)
        return rules

    def search_index(self):
        from .search_index import SearchIndex

        billable = np.ones(len(self.codes), dtype=bool)
        return SearchIndex(self.conn, self.system, self.codes, self.descriptions, billable,
                           code_shaped=lambda text: self.normalise(text) if self.shape.match(self.normalise(text)) else None)


def _has_table(conn: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(conn.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]).fetchone()[0])


def index_titles(conn: duckdb.DuckDBPyConnection, system: str) -> tuple[list[str], list[str]]:
    """The codes and the text the build indexes for search, in Catalogue order (summary plus, for CPT,
    any licensed descriptor)."""
    rows = conn.execute("SELECT code, description, details FROM catalogue WHERE system = ? ORDER BY code",
                        [system]).fetchall()
    licensed = {}
    if system == "cpt" and _has_table(conn, "cpt_licensed"):
        licensed = dict(conn.execute("SELECT code, descriptor FROM cpt_licensed").fetchall())
    texts = []
    for code, description, details in rows:
        extra = json.loads(details or "{}")
        words = [description, str(extra.get("subsection") or ""), licensed.get(code, "")]
        if system == "modifier":
            words.append(str(extra.get("description") or ""))
        texts.append(" ".join(w for w in words if w))
    return [r[0] for r in rows], texts
