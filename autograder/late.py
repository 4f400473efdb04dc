"""Late-submission penalties, as an nbgrader late-submission plugin.

nbgrader computes how late a submission is from the assignment's due date (set it with
``nbgrader db assignment add ps01-icd10cm --duedate="2026-10-01 23:59 UTC"`` or in formgrader)
and asks a plugin for the penalty. nbgrader's own plugin offers none or zero; this one takes a
share of the score for each started day late, up to a ceiling. In ``nbgrader_config.py``::

    c.AssignLatePenalties.plugin_class = "autograder.late.PerDayPenalty"
    c.PerDayPenalty.percent_per_day = 10     # of the notebook's score, per started day
    c.PerDayPenalty.max_percent = 50         # never more than this
    c.PerDayPenalty.grace_minutes = 15       # minutes late that cost nothing

Both ``nbgrader autograde`` and ``python -m autograder grade`` apply it.
"""

from __future__ import annotations

import math

from nbgrader.plugins import LateSubmissionPlugin
from traitlets import Float


class PerDayPenalty(LateSubmissionPlugin):
    percent_per_day = Float(10.0, help="Percent of the score taken for each started day late.").tag(config=True)
    max_percent = Float(50.0, help="The most that lateness can take, in percent of the score.").tag(config=True)
    grace_minutes = Float(0.0, help="Minutes late that cost nothing.").tag(config=True)

    def late_submission_penalty(self, student_id: str, score: float, total_seconds_late: float) -> float:
        if total_seconds_late <= self.grace_minutes * 60:
            return 0.0
        days = math.ceil(total_seconds_late / 86400)
        return round(score * min(self.max_percent, days * self.percent_per_day) / 100, 2)
