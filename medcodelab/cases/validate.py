"""Prove an answer key is one a certified coder could defend from the code set itself.

Run at every build and in the tests. Each rule cites the convention it enforces:

- every key code (and every alternative) is billable in the ICD-10-CM release that covers the
  date of service, written exactly as printed (so keys diff cleanly);
- no two codes of one encounter stand in an Excludes1 relation (Excludes1 means "never
  together"), unless the key explains why the guideline's exception applies;
- a "code first" note is honoured: the partner it names is present and sequenced before the
  code carrying the note, or the key says why the note does not apply;
- a "use additional code" note is honoured: a code from the range it names is present, or
  the key says why not (e.g. no long-term drug use documented);
- a manifestation code ("in diseases classified elsewhere") is never first-listed;
- codes that belong to one sex only (pregnancy, male or female genital organs) agree with the
  patient's sex.

Notes printed at chapter and block level apply to the whole range and are mostly conditional
("use additional code, if applicable, ..."); those are checked too, because a coder must read
them, but the key may acknowledge them like any other.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..codes.icd10cm import Entry, Icd10cm
from .model import Encounter

# Categories outside the sex-specific blocks that belong to one sex only.
_FEMALE_ONLY_CATEGORIES = {"Z32", "Z33", "Z34", "Z36", "Z37", "Z39", "Z3A"}


@dataclass(frozen=True)
class Problem:
    case_id: str
    code: str
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.case_id}: {self.code}: {self.message} [{self.rule}]"


def sex_of(code_set: Icd10cm, entry: Entry) -> str | None:
    """'F' or 'M' when the tabular places a code in a one-sex range, else None."""
    if entry.code[:3] in _FEMALE_ONLY_CATEGORIES:
        return "F"
    for ancestor in code_set.ancestors(entry):
        if ancestor.kind == "chapter" and "pregnancy, childbirth" in ancestor.description.lower():
            return "F"
        if ancestor.kind == "block":
            title = ancestor.description.lower()
            if "female" in title:
                return "F"
            if "male genital" in title:
                return "M"
    return None


def age_edit(code: str, age: int) -> str | None:
    """Codes whose own title fixes the patient's age: routine exams (adult vs child) and the
    liveborn infant's birth record (ICD-10-CM tabular titles at Z00.0-, Z00.1-, Z38)."""
    if code.startswith("Z00.0") and age < 18:
        return f"{code} is the adult (18 and over) general examination; the patient is {age}: use Z00.1-"
    if code.startswith("Z00.1") and age >= 18:
        return f"{code} is the child's routine health check (under 18); the patient is {age}: use Z00.0-"
    if code.startswith("Z38") and age > 0:
        return f"{code} records the birth and is used only on the newborn's birth episode"
    return None


def validate(case: Encounter, code_set: Icd10cm) -> list[Problem]:
    problems: list[Problem] = []

    def fail(code: str, rule: str, message: str) -> None:
        problems.append(Problem(case.case_id, code, rule, message))

    window = code_set.outside_window(case.date_of_service)
    if window:
        fail("-", "date-of-service", window)

    entries: dict[str, Entry] = {}
    seen: set[str] = set()
    for item in case.diagnoses:
        for code in (item.code, *item.also_accept):
            result = code_set.check(code)
            if result["code"] != code:
                fail(code, "canonical-form", f"write key codes exactly as printed ({result['code'] or 'not a code'})")
            if result["status"] != "billable":
                fail(code, "billable", result["message"])
        if item.code in seen:
            fail(item.code, "duplicate", "listed twice in the key")
        seen.add(item.code)
        if not item.rationale:
            fail(item.code, "rationale", "every key code needs a one-line rationale")
        entry = code_set.entry(item.code)
        if entry is not None and entry.billable:
            entries[item.code] = entry

    if problems:
        return problems  # the relational rules need valid codes

    for ack in case.acknowledged:
        if ack.code not in entries:
            fail(ack.code, "acknowledged", "acknowledges a note on a code that is not in the key")
    acknowledged = {(a.code, a.note, a.source) for a in case.acknowledged}
    used_acks: set[tuple[str, str, str]] = set()

    def waived(code: str, note: str, source: str) -> bool:
        if (code, note, source) in acknowledged:
            used_acks.add((code, note, source))
            return True
        return False

    order = case.key_codes
    for position, code in enumerate(order):
        entry = entries[code]
        others = [c for c in order if c != code]

        for ref in code_set.references(entry, "excludes1"):
            for other in code_set.matches_codes(others, [ref]):
                if waived(code, "excludes1", ref["from_code"]):
                    continue
                fail(code, "excludes1",
                     f"Excludes1 at {ref['from_code']} ('{ref['text']}') forbids {other} in the same encounter")

        for source, refs in _by_source(code_set.references(entry, "code_first")).items():
            partners = code_set.matches_codes(others, refs)
            if any(order.index(p) < position for p in partners) or waived(code, "code_first", source):
                continue
            if not partners:
                fail(code, "code_first",
                     f"'code first' note at {source} ({_quote(refs)}) names no code in this key: add the "
                     f"partner before {code}, or acknowledge (code {code}, note code_first, from {source}) why "
                     "it does not apply")
            else:
                fail(code, "code_first", f"{', '.join(partners)} must be sequenced before {code} "
                                         f"('code first' note at {source})")

        for source, refs in _by_source(code_set.references(entry, "use_additional")).items():
            if code_set.matches_codes(others, refs) or waived(code, "use_additional", source):
                continue
            fail(code, "use_additional",
                 f"'use additional code' note at {source} ({_quote(refs)}) names no code in this key: add "
                 f"it, or acknowledge (code {code}, note use_additional, from {source}) why it does not apply")

        if position == 0 and "in diseases classified elsewhere" in entry.description.lower():
            fail(code, "manifestation-first",
                 "a manifestation code ('in diseases classified elsewhere') is never first-listed")

        sex = sex_of(code_set, entry)
        if sex and sex != case.sex:
            fail(code, "sex-edit", f"{code} is for {'female' if sex == 'F' else 'male'} patients only")
        age_rule = age_edit(code, case.age)
        if age_rule:
            fail(code, "age-edit", age_rule)

    for ack in case.acknowledged:
        if ack.code in entries and (ack.code, ack.note, ack.source) not in used_acks:
            fail(ack.code, "acknowledged", f"acknowledges a {ack.note} note from {ack.source} that does not "
                                           "apply to this code or is already satisfied: remove it")
    return problems


def _by_source(refs: list[dict]) -> dict[str, list[dict]]:
    groups: dict[str, list[dict]] = {}
    for ref in refs:
        groups.setdefault(ref["from_code"], []).append(ref)
    return groups


def _quote(refs: list[dict]) -> str:
    texts = list(dict.fromkeys(r["text"] for r in refs))
    shown = "; ".join(texts[:4]) + ("; ..." if len(texts) > 4 else "")
    return f"'{shown}'"
