"""Encounters as a coder sees them, and their answer keys.

Cases are authored as YAML (one file per encounter, readable in a diff). Loading is strict:
an unknown field is almost always a typo in a key, and a typo in a key is a wrong answer.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from . import people

SETTINGS = {
    "office": "Physician office visit",
    "telehealth": "Telehealth visit",
    "ed": "Emergency department",
    "urgent-care": "Urgent care",
    "inpatient": "Inpatient admission",
    "observation": "Hospital observation stay",
    "outpatient-hospital": "Hospital outpatient department",
}
INPATIENT = {"inpatient"}
USES = {"practice", "assessment"}
NOTE_KINDS = {"excludes1", "code_first", "use_additional"}


class CaseError(ValueError):
    """A case file is malformed; the message names the file and the field."""


@dataclass(frozen=True)
class KeyCode:
    code: str
    rationale: str
    guideline: str = ""
    also_accept: tuple[str, ...] = ()
    optional: bool = False  # correct if reported, not required (e.g. external cause codes)


@dataclass(frozen=True)
class Acknowledged:
    """An instructional note the key deliberately does not follow, and why."""

    code: str
    note: str  # excludes1 | code_first | use_additional
    source: str  # the entry that prints the note (E11, I10-I1A, 10): notes are judged one source at a time
    reason: str


@dataclass
class Encounter:
    case_id: str
    title: str
    use: str
    setting: str
    date_of_service: dt.date
    sex: str
    age: int
    payer: str
    difficulty: int
    topics: list[str]
    note: str
    diagnoses: list[KeyCode]
    acknowledged: list[Acknowledged] = field(default_factory=list)
    source: Path | None = None

    @property
    def patient(self) -> people.Patient:
        return people.synthetic_patient(self.case_id, self.sex, self.age, self.date_of_service)

    @property
    def setting_label(self) -> str:
        return SETTINGS[self.setting]

    @property
    def first_listed_label(self) -> str:
        return "principal diagnosis" if self.setting in INPATIENT else "first-listed diagnosis"

    @property
    def key_codes(self) -> list[str]:
        return [k.code for k in self.diagnoses]

    def header(self) -> str:
        """The chart header shown above the note."""
        p = self.patient
        return (
            f"{self.setting_label} · date of service {self.date_of_service.isoformat()} · payer: {self.payer}\n"
            f"Patient: {p.name} · MRN {p.mrn} · DOB {p.birth_date.isoformat()} · {p.age} y · {p.sex_label}"
        )

    def chart(self) -> str:
        return f"{self.header()}\n\n{self.note.rstrip()}\n"


_CASE_FIELDS = {"id", "title", "use", "setting", "date_of_service", "patient", "payer",
                "difficulty", "topics", "note", "key"}
_KEY_FIELDS = {"diagnoses", "acknowledged"}
_DX_FIELDS = {"code", "rationale", "guideline", "also_accept", "optional"}


def _require(data: dict, name: str, where: str):
    if name not in data or data[name] in (None, ""):
        raise CaseError(f"{where}: missing '{name}'")
    return data[name]


def _unknown(data: dict, allowed: set[str], where: str) -> None:
    extra = sorted(set(data) - allowed)
    if extra:
        raise CaseError(f"{where}: unknown field(s) {', '.join(extra)} (allowed: {', '.join(sorted(allowed))})")


def from_dict(data: dict, source: Path | None = None) -> Encounter:
    where = str(source) if source else "case"
    if not isinstance(data, dict):
        raise CaseError(f"{where}: expected a mapping at the top level")
    _unknown(data, _CASE_FIELDS, where)
    case_id = str(_require(data, "id", where))
    where = f"{where} [{case_id}]"
    use = _require(data, "use", where)
    if use not in USES:
        raise CaseError(f"{where}: use must be one of {sorted(USES)}, not {use!r}")
    setting = _require(data, "setting", where)
    if setting not in SETTINGS:
        raise CaseError(f"{where}: setting must be one of {sorted(SETTINGS)}, not {setting!r}")
    dos = _require(data, "date_of_service", where)
    if not isinstance(dos, dt.date):
        try:
            dos = dt.date.fromisoformat(str(dos))
        except ValueError as exc:
            raise CaseError(f"{where}: date_of_service must be YYYY-MM-DD") from exc
    patient = _require(data, "patient", where)
    if not isinstance(patient, dict) or set(patient) - {"sex", "age"}:
        raise CaseError(f"{where}: patient takes only sex and age (names and MRNs are generated)")
    sex = str(_require(patient, "sex", where)).upper()
    if sex not in {"F", "M"}:
        raise CaseError(f"{where}: patient sex must be F or M")
    age = _require(patient, "age", where) if patient.get("age") != 0 else 0
    if not isinstance(age, int) or not 0 <= age <= 110:
        raise CaseError(f"{where}: patient age must be a whole number of years, 0-110")
    difficulty = data.get("difficulty", 1)
    if difficulty not in (1, 2, 3):
        raise CaseError(f"{where}: difficulty must be 1, 2 or 3")
    topics = data.get("topics") or []
    if not isinstance(topics, list) or not all(isinstance(t, str) for t in topics):
        raise CaseError(f"{where}: topics must be a list of words")
    key = _require(data, "key", where)
    if not isinstance(key, dict):
        raise CaseError(f"{where}: key must be a mapping")
    _unknown(key, _KEY_FIELDS, f"{where} key")
    raw_dx = _require(key, "diagnoses", where)
    if not isinstance(raw_dx, list) or not raw_dx:
        raise CaseError(f"{where}: key.diagnoses must be a non-empty list")
    diagnoses = []
    for i, item in enumerate(raw_dx, start=1):
        spot = f"{where} key.diagnoses[{i}]"
        if not isinstance(item, dict):
            raise CaseError(f"{spot}: expected code, rationale, guideline")
        _unknown(item, _DX_FIELDS, spot)
        also = item.get("also_accept") or []
        if not isinstance(also, list):
            raise CaseError(f"{spot}: also_accept must be a list of codes")
        optional = item.get("optional", False)
        if not isinstance(optional, bool):
            raise CaseError(f"{spot}: optional must be true or false")
        if optional and i == 1:
            raise CaseError(f"{spot}: the first-listed diagnosis cannot be optional")
        diagnoses.append(KeyCode(str(_require(item, "code", spot)), str(_require(item, "rationale", spot)).strip(),
                                 str(item.get("guideline") or "").strip(), tuple(str(a) for a in also), optional))
    acknowledged = []
    for i, item in enumerate(key.get("acknowledged") or [], start=1):
        spot = f"{where} key.acknowledged[{i}]"
        if not isinstance(item, dict) or set(item) != {"code", "note", "from", "reason"}:
            raise CaseError(f"{spot}: needs exactly code, note, from (the code, block or chapter printing "
                            "the note) and reason")
        if item["note"] not in NOTE_KINDS:
            raise CaseError(f"{spot}: note must be one of {sorted(NOTE_KINDS)}")
        acknowledged.append(Acknowledged(str(item["code"]), item["note"], str(item["from"]),
                                         str(item["reason"]).strip()))
    return Encounter(
        case_id=case_id, title=str(_require(data, "title", where)), use=use, setting=setting,
        date_of_service=dos, sex=sex, age=age, payer=str(data.get("payer") or "Self-pay"),
        difficulty=difficulty, topics=list(topics), note=str(_require(data, "note", where)),
        diagnoses=diagnoses, acknowledged=acknowledged, source=source,
    )


def load_file(path: Path) -> Encounter:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise CaseError(f"{path}: not valid YAML ({exc})") from exc
    return from_dict(data, path)


def load_folder(folder: Path) -> list[Encounter]:
    """Every ``*.yaml`` case under ``folder``, sorted by id; ids must be unique."""
    cases = [load_file(p) for p in sorted(folder.rglob("*.yaml"))] if folder.exists() else []
    seen: dict[str, Path | None] = {}
    for case in cases:
        if case.case_id in seen:
            raise CaseError(f"case id {case.case_id} is used by both {seen[case.case_id]} and {case.source}")
        seen[case.case_id] = case.source
    return sorted(cases, key=lambda c: c.case_id)
