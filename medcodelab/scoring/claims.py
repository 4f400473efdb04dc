"""Score a corrected claim: which edits the learner found, and how they fixed the claim.

A claim-scrubbing exercise hands the learner a claim that a payer would reject or deny and the
documentation behind it. The answer is data::

    {"edits": ["ncci-ptp"],                       # the scrubber rules the claim as given breaks
     "diagnoses": ["M23.221", "M17.11"],          # optional: the corrected diagnosis list
     "lines": [{"code": "29881", "modifiers": ["RT"], "units": 1, "pointers": [1]}]}

Four parts, each reported on its own:

- **edits found**: the rules named against the rules the key says the claim breaks (a rule
  named that the claim does not break costs half of one found);
- **diagnoses** (only when the fix changes them): the corrected list against the key's;
- **claim lines**: each of the key's lines against the learner's line with the same code:
  modifiers (as a set, with any alternatives the key accepts, e.g. 59 for XS), units, and
  pointers compared by the diagnosis codes they point at, so a re-ordered list is not
  penalised twice; a line the key does not have costs half a line;
- **scrubs clean**: the corrected claim run through the same scrubber the workbench uses; it
  earns its point (scaled by the lines' agreement, so deleting every line earns nothing) only
  when no error remains.

The scrubber decides "clean", so practice feedback and the grader agree by construction.
"""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass, field
from html import escape

from .extract import literal


MAX_LINES = 50
MAX_DIAGNOSES = 12
ANSWER_FIELDS = {"edits", "diagnoses", "lines"}
LINE_FIELDS = {"code", "modifiers", "units", "pointers"}
EXTRA_PENALTY = 0.5
WEIGHTS = {"edits": 1.0, "diagnoses": 1.0, "lines": 3.0, "clean": 1.0}


def normalize(code: str) -> str:
    """An ICD-10-CM code as printed: ``e1165`` and ``E11.65`` both read as ``E11.65``."""
    compact = code.strip().upper().replace(".", "").replace(" ", "")
    return compact[:3] + "." + compact[3:] if len(compact) > 3 else compact


class AnswerError(ValueError):
    """The answer is not in the shape the exercise asks for; the message says what to change."""


@dataclass(frozen=True)
class FixLine:
    code: str
    modifiers: tuple[str, ...] = ()
    units: int = 1
    pointers: tuple[int, ...] = (1,)

    def label(self) -> str:
        mods = "-" + "-".join(self.modifiers) if self.modifiers else ""
        return f"{self.code}{mods} x{self.units} -> {','.join(map(str, self.pointers))}"


@dataclass(frozen=True)
class Fix:
    edits: tuple[str, ...]
    diagnoses: tuple[str, ...] | None  # None: the learner left the claim's diagnoses as they were
    lines: tuple[FixLine, ...]


def _strings(value: object, name: str, limit: int) -> tuple[str, ...]:
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise AnswerError(f"`{name}` must be a list of strings, e.g. [\"A\", \"B\"]")
    if len(value) > limit:
        raise AnswerError(f"`{name}` lists {len(value)} entries; at most {limit}")
    return tuple(v.strip() for v in value)


def read_fix(value: object) -> Fix:
    """The learner's answer as a ``Fix``; raises ``AnswerError`` saying what to change."""
    if not isinstance(value, dict):
        raise AnswerError("the answer must be a dict with \"edits\", \"lines\" and, if you changed them, "
                          "\"diagnoses\"")
    unknown = sorted(str(k) for k in value if k not in ANSWER_FIELDS)
    if unknown:
        raise AnswerError(f"unknown key(s) {', '.join(unknown)}; use \"edits\", \"diagnoses\" and \"lines\"")
    if "lines" not in value:
        raise AnswerError("the answer has no \"lines\": list the corrected claim's lines")
    edits = tuple(e.lower() for e in _strings(value.get("edits", []), "edits", 20))
    diagnoses = None
    if "diagnoses" in value:
        diagnoses = tuple(normalize(d) for d in _strings(value["diagnoses"], "diagnoses", MAX_DIAGNOSES))
    raw_lines = value["lines"]
    if not isinstance(raw_lines, (list, tuple)):
        raise AnswerError("\"lines\" must be a list of dicts, one per claim line")
    if len(raw_lines) > MAX_LINES:
        raise AnswerError(f"\"lines\" has {len(raw_lines)} entries; a claim here has at most {MAX_LINES}")
    lines = []
    for n, raw in enumerate(raw_lines, start=1):
        if not isinstance(raw, dict):
            raise AnswerError(f"line {n} must be a dict like {{\"code\": \"99213\", \"modifiers\": [\"25\"], "
                              "\"units\": 1, \"pointers\": [1]}")
        unknown = sorted(str(k) for k in raw if k not in LINE_FIELDS)
        if unknown:
            raise AnswerError(f"line {n}: unknown key(s) {', '.join(unknown)}; use code, modifiers, units, pointers")
        code = raw.get("code")
        if not isinstance(code, str) or not code.strip():
            raise AnswerError(f"line {n} needs a \"code\" (a string such as \"99213\")")
        modifiers = tuple(m.upper() for m in _strings(raw.get("modifiers", []), f"line {n} modifiers", 4))
        units = raw.get("units", 1)
        if not isinstance(units, int) or isinstance(units, bool) or not 1 <= units <= 999:
            raise AnswerError(f"line {n}: \"units\" must be a whole number from 1 to 999")
        pointers = raw.get("pointers", [1])
        if not isinstance(pointers, (list, tuple)) or not pointers or len(pointers) > 4 or \
                not all(isinstance(p, int) and not isinstance(p, bool) and 1 <= p <= MAX_DIAGNOSES for p in pointers):
            raise AnswerError(f"line {n}: \"pointers\" must list 1 to 4 diagnosis numbers (1-{MAX_DIAGNOSES})")
        lines.append(FixLine(code.strip().upper(), modifiers, units, tuple(pointers)))
    return Fix(edits, diagnoses, tuple(lines))


@dataclass
class Part:
    name: str
    earned: float
    possible: float
    notes: list[str] = field(default_factory=list)


@dataclass
class ClaimScore:
    parts: list[Part]
    explanation: str = ""
    guideline: str = ""

    @property
    def earned(self) -> float:
        return sum(p.earned for p in self.parts)

    @property
    def possible(self) -> float:
        return sum(p.possible for p in self.parts)

    @property
    def fraction(self) -> float:
        return 0.0 if self.possible <= 0 else max(0.0, min(1.0, self.earned / self.possible))

    @property
    def perfect(self) -> bool:
        return self.fraction >= 0.9999

    verdicts: list = field(default_factory=list)  # no per-code verdicts: the parts say it

    def as_dict(self) -> dict:
        return {"earned": round(self.earned, 4), "possible": self.possible, "fraction": round(self.fraction, 4),
                "parts": [{"name": p.name, "earned": round(p.earned, 4), "possible": p.possible, "notes": p.notes}
                          for p in self.parts]}

    def as_text(self, summary: bool = True) -> str:
        lines = [f"{round(100 * self.fraction)}% ({self.earned:.2f} of {self.possible:g} points)"] if summary else []
        for part in self.parts:
            mark = "✔" if part.earned >= part.possible - 1e-9 else "◐" if part.earned > 0 else "✘"
            lines.append(f"{mark} {part.name}: {part.earned:.2f} of {part.possible:g}")
            lines += [f"      {note}" for note in part.notes]
        if self.explanation:
            lines.append(f"why: {self.explanation.strip()}" + (f" ({self.guideline})" if self.guideline else ""))
        return "\n".join(lines)

    def as_html(self, summary: bool = True) -> str:
        rows = []
        for part in self.parts:
            colour = "#1b7f3b" if part.earned >= part.possible - 1e-9 else "#a66a00" if part.earned > 0 else "#b3261e"
            notes = "".join(f"<div style='color:#444;font-size:90%'>{escape(n)}</div>" for n in part.notes)
            rows.append(f"<li><b style='color:{colour}'>{escape(part.name)}</b> "
                        f"{part.earned:.2f} of {part.possible:g}{notes}</li>")
        head = (f"<b>{round(100 * self.fraction)}% ({self.earned:.2f} of {self.possible:g} points)</b>"
                if summary else "")
        why = ""
        if self.explanation:
            why = f"<p>Why: {escape(self.explanation.strip())}"
            why += f" <i>({escape(self.guideline)})</i>" if self.guideline else ""
            why += "</p>"
        return f"<div class='mcl-score' role='status'>{head}<ul style='margin-top:.3em'>{''.join(rows)}</ul>{why}</div>"

    def __str__(self) -> str:
        return self.as_text()

    __repr__ = __str__

    def _repr_html_(self) -> str:
        return self.as_html()


def _pointed(line: FixLine, diagnoses: tuple[str, ...]) -> tuple[str, ...]:
    """The diagnosis codes a line points at (a pointer past the list points at nothing)."""
    return tuple(diagnoses[p - 1] if p <= len(diagnoses) else f"#{p}" for p in line.pointers)


def _modifiers(mods: tuple[str, ...], accept: dict[str, set[str]]) -> frozenset[str]:
    """Modifiers with each accepted alternative read as the key's own (e.g. 59 read as XS)."""
    alias = {alt: mod for mod, alts in accept.items() for alt in alts}
    return frozenset(alias.get(m, m) for m in mods)


def _line_agreement(key: FixLine, got: FixLine, key_dx: tuple[str, ...], got_dx: tuple[str, ...],
                    accept: dict[str, set[str]], first_pointer: dict[str, set[str]]) -> tuple[float, list[str]]:
    wrong = []
    if _modifiers(got.modifiers, accept) != _modifiers(key.modifiers, accept):
        wrong.append(f"modifiers {'-'.join(got.modifiers) or 'none'}, expected {'-'.join(key.modifiers) or 'none'}")
    if got.units != key.units:
        wrong.append(f"units {got.units}, expected {key.units}")
    want, have = _pointed(key, key_dx), _pointed(got, got_dx)
    # the first pointer names the diagnosis that justifies the line; pointing at more of the
    # claim's diagnoses is allowed, leaving out one the key points at is not
    first_ok = have[:1] == want[:1] or (have[:1] and have[0] in first_pointer.get(key.code, set()))
    if not first_ok or not set(want[1:]) <= set(have):
        wrong.append(f"points at {', '.join(have)}, expected {', '.join(want)}")
    return max(0.25, 1.0 - 0.25 * len(wrong)) if wrong else 1.0, wrong


def score_fix(fix: Fix, key: Fix, given: dict, scrub, accept: dict[str, list[str]] | None = None,
              charges: dict[str, int] | None = None, explanation: str = "", guideline: str = "",
              accept_pointers: dict[str, list[str]] | None = None) -> ClaimScore:
    """Score ``fix`` against ``key`` for the claim ``given`` (its JSON dict). ``scrub(claim_dict)``
    returns the error rules and messages the corrected claim still breaks. ``accept`` names
    modifiers the key accepts in place of its own (``{"XS": ["59"]}``); ``accept_pointers`` the
    diagnoses a line's first pointer may name besides the key's (``{"36415": ["I10"]}``)."""
    accept = {k: set(v) for k, v in (accept or {}).items()}
    pointers = {code: {normalize(d) for d in codes} for code, codes in (accept_pointers or {}).items()}
    parts = []

    # edits found
    wanted, named = set(key.edits), set(fix.edits)
    hits, extras = wanted & named, sorted(named - wanted)
    notes = [f"missed: {', '.join(sorted(wanted - named))}"] if wanted - named else []
    notes += [f"the claim does not break: {', '.join(extras)}"] if extras else []
    share = max(0.0, (len(hits) - EXTRA_PENALTY * len(extras)) / len(wanted)) if wanted else (0.0 if extras else 1.0)
    parts.append(Part("edits found", WEIGHTS["edits"] * min(1.0, share), WEIGHTS["edits"], notes))

    # diagnoses, when the fix is about them
    given_dx = tuple(normalize(d) for d in given.get("diagnoses", []))
    key_dx = key.diagnoses or given_dx
    got_dx = fix.diagnoses if fix.diagnoses is not None else given_dx
    if key_dx != given_dx:
        notes = []
        right = set(got_dx) & set(key_dx)
        missing, extra = [d for d in key_dx if d not in got_dx], [d for d in got_dx if d not in key_dx]
        notes += [f"missing: {', '.join(missing)}"] if missing else []
        notes += [f"not supported: {', '.join(extra)}"] if extra else []
        share = max(0.0, (len(right) - EXTRA_PENALTY * len(extra)) / len(key_dx))
        if got_dx[:1] != key_dx[:1]:
            notes.append(f"first-listed {got_dx[0] if got_dx else 'none'}, expected {key_dx[0]}")
            share *= 0.5
        parts.append(Part("diagnoses", WEIGHTS["diagnoses"] * share, WEIGHTS["diagnoses"], notes))

    # claim lines: pair each key line with the learner's best line of the same code
    unused = list(range(len(fix.lines)))
    total, notes = 0.0, []
    for kline in key.lines:
        best, best_score, best_wrong = None, -1.0, []
        for i in unused:
            if fix.lines[i].code == kline.code:
                agreement, wrong = _line_agreement(kline, fix.lines[i], key_dx, got_dx, accept, pointers)
                if agreement > best_score:
                    best, best_score, best_wrong = i, agreement, wrong
        if best is None:
            notes.append(f"missing line {kline.code}")
            continue
        unused.remove(best)
        total += best_score
        if best_wrong:
            notes.append(f"{kline.code}: " + "; ".join(best_wrong))
    for i in unused:
        notes.append(f"line {fix.lines[i].label()} should not be on the corrected claim")
    line_share = max(0.0, (total - EXTRA_PENALTY * len(unused)) / len(key.lines)) if key.lines else 1.0
    line_share = min(1.0, line_share)
    parts.append(Part("claim lines", WEIGHTS["lines"] * line_share, WEIGHTS["lines"], notes))

    # does the corrected claim pass the scrubber?
    errors = scrub(corrected_claim(given, fix, charges or {}))
    notes = [f"still breaks {rule}: {message}" for rule, message in errors]
    parts.append(Part("scrubs clean", 0.0 if errors else WEIGHTS["clean"] * line_share, WEIGHTS["clean"], notes))
    return ClaimScore(parts, explanation, guideline)


def corrected_claim(given: dict, fix: Fix, charges: dict[str, int]) -> dict:
    """The claim as the learner corrected it: their diagnoses and lines, charges from the claim as
    given (per unit) or from the practice's chargemaster, everything else unchanged."""
    claim = copy.deepcopy(given)
    per_unit = {}
    for line in given.get("lines", []):
        units = line.get("units", 1) or 1
        per_unit.setdefault(line["code"], round(float(line.get("charge", 0)) / units, 2))
    if fix.diagnoses is not None:
        claim["diagnoses"] = list(fix.diagnoses)
    claim["lines"] = [{"code": line.code, "modifiers": list(line.modifiers), "units": line.units,
                       "pointers": list(line.pointers),
                       "charge": round(per_unit.get(line.code, charges.get(line.code, 10000) / 100) * line.units, 2)}
                      for line in fix.lines]
    return claim


EXAMPLE = '{"edits": [...], "lines": [...]}'


def read_fix_answer(source: str, variable: str) -> tuple[Fix | None, str | None]:
    """The fix an answer cell assigns to ``variable``, read as data (as the grader reads it)."""
    value, problem = literal(source, variable, EXAMPLE)
    if problem:
        return None, problem
    try:
        return read_fix(value), None
    except AnswerError as exc:
        return None, f"`{variable}`: {exc}"


def key_of(data: dict) -> Fix:
    """A key (from an exercise file) in the same shape as an answer."""
    return read_fix({"edits": data.get("edits", []), "lines": data["lines"],
                     **({"diagnoses": data["diagnoses"]} if "diagnoses" in data else {})})


def scrub_errors(conn, today: dt.date | None = None):
    """A ``scrub`` callable for ``score_fix``: the error rules a claim dict breaks, by the lab's scrubber."""
    from ..claims import model
    from ..claims.scrub import ERROR, Scrubber

    scrubber = Scrubber(conn)

    def run(claim: dict) -> list[tuple[str, str]]:
        try:
            parsed = model.from_dict(claim)
        except model.ClaimError as exc:
            return [("claim", str(exc))]
        when = today or parsed.submitted
        return [(e.rule, e.message) for e in scrubber.scrub(parsed, when) if e.severity == ERROR]

    return run


def check_fix(answer: dict, given: dict, key: dict, accept: dict[str, list[str]] | None = None,
              explanation: str = "", topics: list[str] | None = None) -> ClaimScore:
    """Practice feedback on a corrected claim: the scorer the graded problem set uses, with a key
    you hold (``{"edits": [...], "diagnoses": [...], "lines": [...]}``) and the lab's scrubber.
    The attempt goes into the learner's progress file under ``topics``."""
    from .. import db, progress
    from ..claims.model import chargemaster, from_dict

    submitted = from_dict(given).submitted
    result = score_fix(read_fix(answer), key_of(key), given, scrub_errors(db.cursor(), submitted), accept=accept,
                       charges=chargemaster(), explanation=explanation)
    progress.record("claim", str(given.get("claim_id", "claim")), topics or ["claim scrubbing"], result.earned,
                    result.possible)
    return result
