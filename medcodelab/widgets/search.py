"""A code search box: type, see ranked results, open a result's notes."""

from __future__ import annotations

from typing import Callable

import ipywidgets as w

from .. import codes

_LAYOUT_WIDE = w.Layout(width="100%")


class CodeSearch(w.VBox):
    """Search ICD-10-CM by words, abbreviations or a code; pick a result to read its notes.

    ``on_pick(code)`` is called when the learner presses *Use this code* (the coding widget
    uses it to add the code to the answer).
    """

    def __init__(self, query: str = "", limit: int = 15, on_pick: Callable[[str], None] | None = None,
                 system: str = "icd10cm") -> None:
        self.system = system
        self.limit = limit
        self.on_pick = on_pick
        self.query = w.Text(
            value=query, placeholder="words or a code, e.g. CHF, torus fracture right radius, E11.6",
            description="Search codes", continuous_update=True, layout=_LAYOUT_WIDE,
            style={"description_width": "initial"}, tooltip="Search the ICD-10-CM code set",
        )
        self.results = w.Select(options=[], rows=8, description="Results", layout=_LAYOUT_WIDE,
                                tooltip="Ranked results: arrow keys move, the notes show below")
        self.count = w.HTML()
        self.detail = w.HTML(layout=w.Layout(max_height="24em", overflow="auto", width="100%"))
        self.pick = w.Button(description="Use this code", icon="plus", disabled=True,
                             tooltip="Add the selected code to your answer",
                             layout=w.Layout(display="inline-flex" if on_pick else "none"))
        self.query.observe(self._on_query, names="value")
        self.results.observe(self._on_select, names="value")
        self.pick.on_click(self._on_pick)
        super().__init__([self.query, self.count, self.results, self.pick, self.detail],
                         layout=w.Layout(width="100%"))
        self.add_class("mcl-code-search")
        if query:
            self._run(query)

    def _run(self, text: str) -> None:
        found = codes.search(text, system=self.system, limit=self.limit)
        self.results.options = [
            (f"{r['code']:9} {r['description']}" + ("" if r["billable"] else "  (heading)"), r["code"])
            for r in found
        ]
        if text.strip() and not found:
            self.count.value = "<i>No codes match. Try fewer words, another word, or an abbreviation.</i>"
        else:
            self.count.value = f"<small>{len(found)} result(s)</small>" if text.strip() else ""
        self.results.value = found[0]["code"] if found else None

    def _on_query(self, change: dict) -> None:
        self._run(change["new"])

    def _on_select(self, change: dict) -> None:
        code = change["new"]
        self.pick.disabled = code is None
        if code is None:
            self.detail.value = ""
            return
        detail = codes.lookup(code, system=self.system)
        self.detail.value = detail._repr_html_() if detail is not None else ""

    def _on_pick(self, _button: w.Button) -> None:
        if self.results.value and self.on_pick is not None:
            self.on_pick(self.results.value)
