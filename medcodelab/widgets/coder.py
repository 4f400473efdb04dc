"""Code an encounter: build an ordered code list, Check it (practice), Save it.

``CodeList`` is the editor (type codes, reorder, remove, each checked against the code set);
``EncounterCoder`` puts it under a practice note with Check and Save; ``AnswerPad`` serves an
assignment, one question at a time, with Save only (the key is not in a student's
environment; the grader scores what is saved). Every edit is saved to the answers file at
once, so switching questions or re-running the notebook loses nothing; Save confirms it.
"""

from __future__ import annotations

import datetime as dt
from html import escape
from pathlib import Path
from typing import Sequence

import ipywidgets as w

from .. import answers, api, progress
from ..cases.model import Encounter
from ..codes import code_set, icd10cm
from .search import CodeSearch


def _status(text: str) -> str:
    return f"<span role='status' aria-live='polite'>{escape(text)}</span>"


class CodeList(w.VBox):
    """An ordered list of codes the learner edits; the first is the first-listed diagnosis."""

    def __init__(self, date_of_service: dt.date | str | None = None,
                 first_label: str = "first-listed diagnosis", system: str = "icd10cm") -> None:
        self.date_of_service = date_of_service
        self.system = system
        example = "5A11 or 9B10.0Y&XK9K" if system == "icd11" else "J02.0"
        self.codes: list[str] = []
        # continuous_update=False: the value arrives when the learner presses Enter (or leaves the box)
        self.entry = w.Text(placeholder=f"type a code, e.g. {example}, then Enter", description="Add code",
                            continuous_update=False, style={"description_width": "initial"},
                            tooltip="Type a code (or several, separated by commas) and press Enter")
        self.add = w.Button(description="Add", icon="plus", tooltip="Add the typed code to your list")
        self.listing = w.Select(options=[], rows=6, description="Your codes",
                                tooltip=f"Your codes in order; the first is the {first_label}",
                                layout=w.Layout(width="60%"))
        self.up = w.Button(description="Move up", icon="arrow-up", tooltip="Move the selected code up")
        self.down = w.Button(description="Move down", icon="arrow-down", tooltip="Move the selected code down")
        self.remove = w.Button(description="Remove", icon="trash", tooltip="Remove the selected code")
        self.status = w.HTML()
        self.add.on_click(lambda _b: self.add_text(self.entry.value))
        self.entry.observe(lambda change: self.add_text(change["new"]), names="value")
        self.up.on_click(lambda _b: self._move(-1))
        self.down.on_click(lambda _b: self._move(1))
        self.remove.on_click(lambda _b: self._remove())
        self._listeners: list = []
        super().__init__([w.HBox([self.entry, self.add]),
                          w.HBox([self.listing, w.VBox([self.up, self.down, self.remove])]),
                          self.status])

    def on_change(self, callback) -> None:
        self._listeners.append(callback)

    def add_text(self, text: str) -> None:
        """Add what was typed: one code, or several separated by commas."""
        parts = [p for p in (text or "").replace(";", ",").replace("\n", ",").split(",") if p.strip()]
        for part in parts:
            self.add_code(part)
        if self.entry.value:
            self.entry.value = ""

    def add_code(self, text: str) -> None:
        text = (text or "").strip()
        if not text:
            return
        result = self._check(text)
        code = result["code"] or text
        if code in self.codes:
            self.status.value = _status(f"{code} is already in your list.")
            return
        self.codes.append(code)
        self._refresh(select=code)
        if result["status"] == "billable":
            self.status.value = _status(f"Added {code}: {result['description']}")
        else:
            self.status.value = _status(f"Added {code}, but: {result['message']}")

    def set_codes(self, codes: Sequence[str], notify: bool = False) -> None:
        """Show ``codes`` (loading a saved answer does not count as an edit unless ``notify``)."""
        self.codes = list(codes)
        self._refresh(select=self.codes[0] if self.codes else None, notify=notify)

    def _move(self, step: int) -> None:
        code = self.listing.value
        if code is None:
            return
        i = self.codes.index(code)
        j = i + step
        if 0 <= j < len(self.codes):
            self.codes[i], self.codes[j] = self.codes[j], self.codes[i]
            self._refresh(select=code)

    def _remove(self) -> None:
        code = self.listing.value
        if code is not None:
            self.codes.remove(code)
            self._refresh(select=self.codes[0] if self.codes else None)

    def _check(self, text: str) -> dict:
        if self.system == "icd11":
            return code_set("icd11").check(text, self.date_of_service)
        return icd10cm().check(text, self.date_of_service)

    def _refresh(self, select: str | None = None, notify: bool = True) -> None:
        options = []
        for i, code in enumerate(self.codes):
            result = self._check(code)
            mark = "" if result["status"] == "billable" else f"  ⚠ {result['status']}"
            options.append((f"{i + 1}. {code:9} {result['description'] or ''}{mark}", code))
        self.listing.options = options
        self.listing.value = select if select in self.codes else None
        if notify:
            for callback in self._listeners:
                callback(list(self.codes))


def _chart_html(case: Encounter) -> str:
    header = escape(case.header()).replace("\n", "<br>")
    return (
        f"<div class='mcl-chart' role='document' aria-label='Encounter note'>"
        f"<h4 style='margin:.2em 0'>{escape(case.title)}</h4>"
        f"<div style='color:#444;font-size:90%'>{header}</div>"
        f"<pre style='white-space:pre-wrap;background:#f7f7f4;padding:.6em;border-left:3px solid #999'>"
        f"{escape(case.note.rstrip())}</pre></div>"
    )


def _search_panel(on_pick, system: str = "icd10cm") -> tuple[CodeSearch, w.Accordion]:
    search = CodeSearch(on_pick=on_pick, system=system)
    title = "Search ICD-11" if system == "icd11" else "Search the code set"
    return search, w.Accordion(children=[search], titles=(title,))


class EncounterCoder(w.VBox):
    """The coding pad for one practice encounter: read the note, code it, Check, Save.

    *Check* scores the list against the key (the same scoring the autograder uses) and shows
    each code's verdict with the rationale. *Save* writes the list to a file beside the
    notebook, so it survives a restart; it is loaded back next time.
    """

    def __init__(self, case: Encounter | str, question: str | None = None,
                 answers_file: str | Path | None = None, show_search: bool = True, system: str = "icd10cm") -> None:
        self.case = api.case(case) if isinstance(case, str) else case
        self.system = system
        self.question = question or (self.case.case_id + (":icd11" if system == "icd11" else ""))
        self.answers_file = Path(answers_file) if answers_file else answers.default_path()
        self.note = w.HTML(_chart_html(self.case))
        self.editor = CodeList(self.case.date_of_service, self.case.first_listed_label, system)
        self.check = w.Button(description="Check", icon="check", button_style="primary",
                              tooltip="Score your codes against the answer key and show why")
        self.save = w.Button(description="Save", icon="save", tooltip=f"Save your codes to {self.answers_file.name}")
        self.feedback = w.HTML()
        self.check.on_click(lambda _b: self._check())
        self.save.on_click(lambda _b: self._save())
        self.editor.on_change(self._changed)
        children = [self.note, self.editor, w.HBox([self.check, self.save]), self.feedback]
        if show_search:
            self.search, panel = _search_panel(self.editor.add_code, system)
            children.insert(2, panel)
        super().__init__(children, layout=w.Layout(width="100%"))
        self.add_class("mcl-encounter-coder")
        _load_into(self.editor, self.question, self.answers_file)

    # the editor's parts, for notebooks and tests
    entry = property(lambda self: self.editor.entry)
    listing = property(lambda self: self.editor.listing)
    up = property(lambda self: self.editor.up)
    down = property(lambda self: self.editor.down)
    remove = property(lambda self: self.editor.remove)
    add = property(lambda self: self.editor.add)
    status = property(lambda self: self.editor.status)

    @property
    def value(self) -> list[str]:
        return list(self.editor.codes)

    def _changed(self, codes: list[str]) -> None:
        self.feedback.value = ""  # the old feedback no longer describes the list
        _autosave(self.editor, self.question, self.answers_file)

    def _check(self) -> None:
        score = api.score(self.value, self.case, system=self.system)
        self.feedback.value = score.as_html()
        topics = self.case.topics + (["icd-11"] if self.system == "icd11" and "icd-11" not in self.case.topics else [])
        progress.record("encounter", self.question, topics, score.earned, score.possible)

    def _save(self) -> None:
        _save_from(self.editor, self.question, self.answers_file)


class AnswerPad(w.VBox):
    """Answer an assignment's questions with the code editor; Save writes the answers file.

    The answer cell then reads it back with ``enc_01 = saved("enc_01")``.
    """

    def __init__(self, questions: Sequence[str], answers_file: str | Path,
                 dates_of_service: dict[str, str] | None = None, show_search: bool = True,
                 system: str = "icd10cm") -> None:
        self.answers_file = Path(answers_file)
        self.dates = dates_of_service or {}
        self.question = w.Dropdown(options=list(questions), description="Question",
                                   tooltip="Which encounter you are answering")
        self.editor = CodeList(system=system)
        self.save = w.Button(description="Save", icon="save", button_style="primary",
                             tooltip=f"Save this answer to {self.answers_file.name}")
        self.save.on_click(lambda _b: _save_from(self.editor, self.question.value, self.answers_file))
        self.editor.on_change(lambda _codes: _autosave(self.editor, self.question.value, self.answers_file))
        self.question.observe(lambda _c: self._show(), names="value")
        children = [self.question, self.editor, self.save]
        if show_search:
            self.search, panel = _search_panel(self.editor.add_code, system)
            children.insert(2, panel)
        super().__init__(children, layout=w.Layout(width="100%"))
        self.add_class("mcl-answer-pad")
        self._show()

    def _show(self) -> None:
        self.editor.date_of_service = self.dates.get(self.question.value)
        self.editor.set_codes([])
        _load_into(self.editor, self.question.value, self.answers_file)


def _autosave(editor: CodeList, question: str, path: Path) -> None:
    """Every edit is saved at once: widget state is lost when a notebook re-runs."""
    try:
        answers.save(question, list(editor.codes), path)
    except OSError as exc:
        editor.status.value = _status(f"Could not save to {path.name}: {exc}")


def _save_from(editor: CodeList, question: str, path: Path) -> None:
    saved_to = answers.save(question, list(editor.codes), path)
    editor.status.value = _status(f"Saved {len(editor.codes)} code(s) for {question} to {saved_to.name} "
                                  f"at {dt.datetime.now():%H:%M:%S}.")


def _load_into(editor: CodeList, question: str, path: Path) -> None:
    try:
        saved = answers.load(question, path)
    except ValueError as exc:
        editor.status.value = _status(str(exc))
        return
    if saved:
        editor.set_codes(saved)
        editor.status.value = _status(f"Loaded your saved answer ({len(saved)} code(s)).")
