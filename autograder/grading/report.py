"""The grading report: who was graded, with what result, and who was not, and why.

Every run writes one, as JSON (for tools) and Markdown (for the instructor), to
``<course>/reports/<assignment>/<time>.{json,md}``. A student appears in it whatever happened.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

GRADED = "graded"
NOT_GRADED = "not graded"
KEPT = "not graded, previous grade kept"
NOT_SUBMITTED = "not submitted"  # enrolled in the gradebook, nothing in submitted/


@dataclass
class StudentResult:
    student: str
    status: str = NOT_GRADED
    score: float | None = None
    max_score: float | None = None
    reason: str | None = None  # why not graded
    questions: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    ran: str = ""  # "kernel" or "data only"


@dataclass
class Report:
    assignment: str
    started: str
    sandbox: str
    jobs: int
    cell_timeout: float
    students: list[StudentResult] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def graded(self) -> list[StudentResult]:
        return [s for s in self.students if s.status == GRADED]

    @property
    def problems(self) -> list[StudentResult]:
        return [s for s in self.students if s.status not in (GRADED, NOT_SUBMITTED)]

    @property
    def absent(self) -> list[StudentResult]:
        return [s for s in self.students if s.status == NOT_SUBMITTED]

    def summary(self) -> str:
        submitted = len(self.students) - len(self.absent)
        absent = f"; {len(self.absent)} enrolled student(s) did not submit" if self.absent else ""
        return (f"{self.assignment}: {len(self.graded)} of {submitted} submission(s) graded in "
                f"{self.seconds:.1f} s ({self.jobs} job(s)); {len(self.problems)} need attention{absent}")

    def as_markdown(self) -> str:
        lines = [f"# Grading report: {self.assignment}", "",
                 f"- started {self.started}, took {self.seconds:.1f} s with {self.jobs} job(s), "
                 f"cell time limit {self.cell_timeout:g} s",
                 f"- {self.sandbox}", f"- {self.summary()}", "",
                 "| student | status | score | ran | notes |", "|---|---|---|---|---|"]
        for s in sorted(self.students, key=lambda s: (s.status == GRADED, s.student)):
            score = "" if s.score is None else f"{s.score:g} / {s.max_score:g}"
            notes = "; ".join(([s.reason] if s.reason else []) + s.notes).replace("|", "\\|")
            student = s.student.replace("|", "\\|")
            lines.append(f"| {student} | {s.status} | {score} | {s.ran} | {notes} |")
        return "\n".join(lines) + "\n"

    def write(self, folder: Path) -> tuple[Path, Path]:
        folder.mkdir(parents=True, exist_ok=True)
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
        as_json, as_md = folder / f"{stamp}.json", folder / f"{stamp}.md"
        as_json.write_text(json.dumps(asdict(self), indent=1, ensure_ascii=False))
        as_md.write_text(self.as_markdown())
        return as_json, as_md
