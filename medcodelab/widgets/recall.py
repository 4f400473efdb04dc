"""A recall question: think, reveal the answer, say honestly whether you had it.

The answer is recorded in the learner's progress file (``medcodelab.progress``) under the
question's topic, so the progress notebook can show recall beside practice encounters.
"""

from __future__ import annotations

import re
from html import escape

import ipywidgets as w

from .. import progress


def _inline(text: str) -> str:
    """The little markdown a recall card uses: `code` and **bold**, everything else escaped."""
    html = escape(text)
    html = re.sub(r"`([^`]+)`", r"<code>\1</code>", html)
    return re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>", html).replace("\n\n", "<br><br>")


class Recall(w.VBox):
    """``Recall("r-excludes1", "What does Excludes1 mean?", "Never together...", topic="conventions")``"""

    def __init__(self, item: str, question: str, answer: str, topic: str | list[str]) -> None:
        self.item = item
        self.topics = [topic] if isinstance(topic, str) else list(topic)
        self.question = w.HTML(f"<p><b>Recall.</b> {_inline(question)}</p>")
        self.reveal = w.Button(description="Show the answer", icon="eye",
                               tooltip="Answer in your head first, then reveal and compare")
        self.answer = w.HTML(f"<div style='border-left:3px solid #888;padding-left:.6em'>{_inline(answer)}</div>",
                             layout=w.Layout(display="none"))
        self.had_it = w.Button(description="I had it", icon="check", button_style="success",
                               tooltip="Record that you recalled this", layout=w.Layout(display="none"))
        self.missed = w.Button(description="I missed it", icon="times", button_style="warning",
                               tooltip="Record that you did not recall this; it will come back in your suggestions",
                               layout=w.Layout(display="none"))
        self.status = w.HTML()
        self.reveal.on_click(lambda _b: self._reveal())
        self.had_it.on_click(lambda _b: self._answer(1.0))
        self.missed.on_click(lambda _b: self._answer(0.0))
        super().__init__([self.question, self.reveal, self.answer, w.HBox([self.had_it, self.missed]), self.status])
        self.add_class("mcl-recall")

    def _reveal(self) -> None:
        for part in (self.answer, self.had_it, self.missed):
            part.layout.display = None
        self.reveal.layout.display = "none"

    def _answer(self, earned: float) -> None:
        saved = progress.record("recall", self.item, self.topics, earned, 1.0)
        self.status.value = ("<span role='status'>Recorded" + (" " if saved else " (not saved: see the warning) ")
                             + "in your progress.</span>")
