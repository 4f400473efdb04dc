"""Score a learner's diagnosis codes against an answer key, with feedback per code.

The same function gives practice feedback in a widget and the grade in the autograder.

The rubric (default weights below), as a coder would judge a claim:
- Each key code is worth 1 point; the first-listed (or principal) diagnosis is worth 2: one
  for the code and one for putting it first.
- Exact code (or one the key also accepts) earns the code's point.
- Right category, wrong specificity earns part of it, by depth of agreement in the hierarchy:
  ``PARTIAL_CEILING * shared_levels / key_levels``, where the category is level 1 and each
  further character is a level (E11.69 for E11.65 shares 2 of 3 levels). A partial match is
  still a wrong code on a claim, so the ceiling is half the point.
- The sequencing point goes to an answer whose first code is the key's first-listed code, in
  the same proportion as that code's own credit (all of it for the exact code, a partial
  match's share for a partial match).
- Every code the note does not support costs ``EXTRA_PENALTY`` points, and so does an entry
  that is not a code at all; a repeated code is ignored, with a note.
- A key code marked optional (external cause codes, which are reported only where a payer
  or state requires them) is worth nothing and costs nothing: reported, it is confirmed;
  left out, the feedback says it would also have been correct. Reported wrongly, it costs
  what an unsupported code costs: it is a wrong code on the claim all the same.
- Blank entries are ignored.
The score is ``max(0, earned - penalties) / possible``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape
from typing import Callable, Iterable, Sequence

from ..cases.model import KeyCode
from .extract import split_codes

FIRST_LISTED_WEIGHT = 2.0
PARTIAL_CEILING = 0.5
EXTRA_PENALTY = 0.5

# verdicts
CORRECT = "correct"
PARTIAL = "partial"
MISSING = "missing"
EXTRA = "extra"
INVALID = "invalid"
DUPLICATE = "duplicate"
MISPLACED = "sequencing"
OPTIONAL = "optional"

Checker = Callable[[object], dict]
# (extra code, key codes) -> why the key rules it out, e.g. an Excludes1 note, or None
Explainer = Callable[[str, list[str]], "str | None"]


@dataclass
class Verdict:
    verdict: str
    answer: str | None  # what the learner wrote (normalised when possible)
    key: str | None  # the key code this line is about
    credit: float  # points earned (negative for a penalty)
    possible: float  # points this line could earn
    message: str
    rationale: str = ""
    guideline: str = ""

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in
                ("verdict", "answer", "key", "credit", "possible", "message", "rationale", "guideline")}


@dataclass(repr=False)
class Score:
    earned: float
    possible: float
    verdicts: list[Verdict] = field(default_factory=list)
    first_listed_label: str = "first-listed diagnosis"

    @property
    def fraction(self) -> float:
        return 0.0 if self.possible <= 0 else max(0.0, min(1.0, self.earned / self.possible))

    @property
    def percent(self) -> int:
        return round(100 * self.fraction)

    @property
    def perfect(self) -> bool:
        return self.fraction >= 0.9999

    def as_dict(self) -> dict:
        return {"earned": round(self.earned, 4), "possible": self.possible, "fraction": round(self.fraction, 4),
                "verdicts": [v.as_dict() for v in self.verdicts]}

    def summary(self) -> str:
        counts: dict[str, int] = {}
        for v in self.verdicts:
            counts[v.verdict] = counts.get(v.verdict, 0) + 1
        parts = [f"{n} {name}" for name, n in counts.items()]
        return f"{self.percent}% ({self.earned:.2f} of {self.possible:g} points): " + ", ".join(parts)

    def as_text(self, summary: bool = True) -> str:
        lines = [self.summary()] if summary else []
        for v in self.verdicts:
            mark = {CORRECT: "✔", PARTIAL: "◐", MISSING: "✘", EXTRA: "✘", INVALID: "✘", DUPLICATE: "•",
                    MISPLACED: "↕", OPTIONAL: "○"}[v.verdict]
            lines.append(f"{mark} {v.verdict.upper():10} {v.message}")
            if v.rationale:
                lines.append(f"      why: {v.rationale}" + (f" ({v.guideline})" if v.guideline else ""))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.as_text()

    __repr__ = __str__

    def _repr_html_(self) -> str:
        return self.as_html()

    def as_html(self, summary: bool = True) -> str:
        colours = {CORRECT: "#1b7f3b", PARTIAL: "#a66a00", MISSING: "#b3261e", EXTRA: "#b3261e",
                   INVALID: "#b3261e", DUPLICATE: "#555", MISPLACED: "#a66a00", OPTIONAL: "#555"}
        rows = []
        for v in self.verdicts:
            why = ""
            if v.rationale:
                why = f"<div style='color:#444;font-size:90%'>Why: {escape(v.rationale)}"
                why += f" <i>({escape(v.guideline)})</i>" if v.guideline else ""
                why += "</div>"
            rows.append(
                f"<li><b style='color:{colours[v.verdict]}'>{escape(v.verdict)}</b> "
                f"{escape(v.message)}{why}</li>"
            )
        head = f"<b>{escape(self.summary())}</b>" if summary else ""
        return f"<div class='mcl-score' role='status'>{head}<ul style='margin-top:.3em'>{''.join(rows)}</ul></div>"


def _levels(compact: str) -> int:
    """Hierarchy levels of a code: the category is 1, each further character adds one."""
    return max(1, len(compact) - 2)


def _shared_levels(a: str, b: str) -> int:
    if a[:3] != b[:3]:
        return 0
    n = 3
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n - 2


def score_diagnoses(answer: Iterable[object] | object, key: Sequence[KeyCode], check: Checker,
                    first_listed_label: str = "first-listed diagnosis",
                    explain_extra: Explainer | None = None) -> Score:
    """Score ``answer`` (codes in the learner's order) against ``key`` (ordered).

    ``check`` is ``medcodelab.check`` (or the code set's own ``check``); it tells a header
    or a non-code apart from a billable code. ``explain_extra`` (the code set's
    ``excludes1_conflict``) lets the feedback say *why* an extra code is wrong when a note
    rules it out. Never raises on what a learner typed: a string of codes separated by
    commas is split the way the grader splits it.
    """
    if isinstance(answer, str):
        answer = split_codes(answer)
    elif isinstance(answer, bytes) or not _iterable(answer):
        answer = [answer] if answer not in (None, "", b"") else []
    entries = list(answer)  # type: ignore[arg-type]
    verdicts: list[Verdict] = []
    possible = FIRST_LISTED_WEIGHT + sum(1 for item in key[1:] if not item.optional)

    # 1. normalise and screen the learner's entries
    codes: list[tuple[int, str, dict]] = []  # (position, code, check result)
    seen: set[str] = set()
    for position, raw in enumerate(entries):
        if isinstance(raw, str) and not raw.strip(" \t\r\n,;."):
            continue  # a blank entry is nothing, not a wrong code
        result = check(raw)
        if result["status"] == "invalid":  # not a code at all: no partial credit, and it costs
            verdicts.append(Verdict(INVALID, result["code"] or result["input"], None, -EXTRA_PENALTY, 0,
                                    result["message"]))
            continue
        code = result["code"]
        if code in seen:
            verdicts.append(Verdict(DUPLICATE, code, None, 0.0, 0, f"{code} is listed more than once; counted once"))
            continue
        seen.add(code)
        codes.append((position, code, result))

    # 2. exact matches (the key's code or an alternative it accepts)
    matched: dict[int, tuple[str, float, dict]] = {}  # key index -> (answer code, credit, check)
    used: set[str] = set()
    for k, item in enumerate(key):
        accepted = (item.code, *item.also_accept)
        for _, code, result in codes:
            if code in accepted and code not in used and result["status"] == "billable":
                matched[k] = (code, 1.0, result)
                used.add(code)
                break

    # 3. partial matches: same category, best depth of agreement first
    pairs = []
    for k, item in enumerate(key):
        if k in matched:
            continue
        key_compact = item.code.replace(".", "")
        for _, code, result in codes:
            if code in used:
                continue
            shared = max(_shared_levels(code.replace(".", ""), alt.replace(".", ""))
                         for alt in (item.code, *item.also_accept))
            if shared:
                pairs.append((shared / _levels(key_compact), k, code, result))
    for ratio, k, code, result in sorted(pairs, key=lambda p: (-p[0], p[1])):
        if k in matched or code in used:
            continue
        matched[k] = (code, PARTIAL_CEILING * ratio, result)
        used.add(code)

    # 4. a verdict per key code
    first_answer = codes[0][1] if codes else None
    for k, item in enumerate(key):
        weight = FIRST_LISTED_WEIGHT if k == 0 else (0.0 if item.optional else 1.0)
        label = f" as {first_listed_label}" if k == 0 else ""
        if k not in matched:
            if item.optional:
                verdicts.append(Verdict(OPTIONAL, None, item.code, 0.0, 0.0,
                                        f"{item.code} {_describe(check, item.code)} was optional here; "
                                        "reporting it would also be correct", item.rationale, item.guideline))
            else:
                verdicts.append(Verdict(MISSING, None, item.code, 0.0, weight,
                                        f"{item.code} is missing{label}", item.rationale, item.guideline))
            continue
        code, credit, result = matched[k]
        exact = code in (item.code, *item.also_accept)
        if item.optional:
            if exact:
                verdicts.append(Verdict(CORRECT, code, item.code, 0.0, 0.0,
                                        f"{code} is correct (optional: reported where the payer asks for it)",
                                        item.rationale, item.guideline))
            else:  # optional to report, but a wrong code on the claim all the same
                verdicts.append(Verdict(EXTRA, code, item.code, -EXTRA_PENALTY, 0.0,
                                        f"{code} is not the right code here; the note supports {item.code} "
                                        f"{_describe(check, item.code)} (optional to report)",
                                        item.rationale, item.guideline))
            continue
        if credit >= 1.0:
            text = f"{code} is correct" + (f" (the key lists {item.code}; {code} is also accepted)" if code != item.code else "")
            verdict = Verdict(CORRECT, code, item.code, credit, 1.0, text, item.rationale, item.guideline)
        else:
            why = (f"{code} is a heading, not a billable code" if result["status"] == "header"
                   else f"{code} is in the right category but not the right code")
            verdict = Verdict(PARTIAL, code, item.code, round(credit, 4), 1.0,
                              f"{why}; the note supports {item.code} {_describe(check, item.code)}",
                              item.rationale, item.guideline)
        verdicts.append(verdict)
        if k == 0:
            if first_answer == code and credit >= 1.0:
                verdict.possible, verdict.credit = weight, credit + 1.0
                verdict.message += f", sequenced first{label}"
            elif first_answer == code:  # the sequencing point in the proportion the code earned
                verdicts.append(Verdict(MISPLACED, code, item.code, round(credit, 4), 1.0,
                                        f"listed first, as the {first_listed_label} should be, but as {code} "
                                        f"rather than {item.code}: {credit:.2f} of the sequencing point"))
            else:
                verdicts.append(Verdict(MISPLACED, first_answer, item.code, 0.0, 1.0,
                                        f"the {first_listed_label} should be {item.code}, listed first "
                                        f"(you listed {first_answer or 'nothing'} first)"))

    # 5. entries the key does not support
    for _, code, result in codes:
        if code in used:
            continue
        if result["status"] == "header":
            text = f"{code} is not supported by the note, and is a heading, not a billable code"
        else:
            text = f"{code} ({result['description']}) is not supported by the note"
            why = explain_extra(code, [k.code for k in key]) if explain_extra else None
            if why:
                text = f"{code} ({result['description']}) cannot be reported here: {why}"
        verdicts.append(Verdict(EXTRA, code, None, -EXTRA_PENALTY, 0, text))

    earned = sum(v.credit for v in verdicts)
    return Score(earned=max(0.0, earned), possible=possible, verdicts=_ordered(verdicts),
                 first_listed_label=first_listed_label)


def _describe(check: Checker, code: str) -> str:
    description = check(code).get("description")
    return f"({description})" if description else ""


def _iterable(value: object) -> bool:
    try:
        iter(value)  # type: ignore[call-overload]
    except TypeError:
        return False
    return not isinstance(value, dict)


def _ordered(verdicts: list[Verdict]) -> list[Verdict]:
    rank = {CORRECT: 0, PARTIAL: 1, MISPLACED: 2, MISSING: 3, OPTIONAL: 4, EXTRA: 5, INVALID: 6, DUPLICATE: 7}
    return sorted(verdicts, key=lambda v: rank[v.verdict])
