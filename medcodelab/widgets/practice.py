"""A set of practice encounters on one topic, one coding pad at a time."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import ipywidgets as w

from .. import api
from .coder import EncounterCoder


class PracticeSet(w.VBox):
    """``PracticeSet("sepsis")``: six encounters tagged *sepsis* (``mcl.practice_set``), picked from
    a list or stepped through with Previous/Next; each is a full coding pad whose Check is scored
    like the graded work and recorded in your progress."""

    def __init__(self, topic: str | None = None, cases: Sequence[str] | None = None, count: int = 6,
                 answers_file: str | Path | None = None, system: str = "icd10cm") -> None:
        if not cases and not topic:
            raise ValueError("name a topic (PracticeSet(\"sepsis\")) or list the cases")
        self.case_ids = list(cases) if cases else api.practice_set(topic, count)
        self.answers_file = answers_file
        self.system = system
        labels = [(f"{n}. {api.case(cid).title} (level {api.case(cid).difficulty})", cid)
                  for n, cid in enumerate(self.case_ids, start=1)]
        self.choice = w.Dropdown(options=labels, description="Encounter",
                                 tooltip="Pick a practice encounter", layout=w.Layout(width="auto"))
        self.previous = w.Button(description="Previous", icon="arrow-left", tooltip="The previous encounter")
        self.next = w.Button(description="Next", icon="arrow-right", tooltip="The next encounter")
        self.area = w.VBox()
        self.choice.observe(lambda change: self._show(change["new"]), names="value")
        self.previous.on_click(lambda _b: self._step(-1))
        self.next.on_click(lambda _b: self._step(1))
        in_system = " in ICD-11" if system == "icd11" else ""
        title = w.HTML(f"<b>Practice{in_system}: {topic}</b> ({len(self.case_ids)} encounters)" if topic else
                       f"<b>Practice{in_system}</b> ({len(self.case_ids)} encounters)")
        super().__init__([title, w.HBox([self.previous, self.choice, self.next]), self.area])
        self.add_class("mcl-practice-set")
        self._show(self.case_ids[0])

    @property
    def coder(self) -> EncounterCoder:
        return self.area.children[0]

    def _show(self, case_id: str) -> None:
        self.area.children = [EncounterCoder(case_id, answers_file=self.answers_file, system=self.system)]
        position = self.case_ids.index(case_id)
        self.previous.disabled = position == 0
        self.next.disabled = position == len(self.case_ids) - 1

    def _step(self, by: int) -> None:
        position = self.case_ids.index(self.choice.value) + by
        if 0 <= position < len(self.case_ids):
            self.choice.value = self.case_ids[position]
