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
REGIONS = {"us": "United States (ICD-10-CM, CPT/HCPCS)", "india": "India (ICD-11 alongside ICD-10; NHCX)"}
SPECIALTIES = (
    "primary-care", "cardiology", "endocrinology", "pulmonology", "orthopaedics", "obstetrics",
    "paediatrics", "emergency", "general-surgery", "radiology", "oncology", "behavioural-health",
    "inpatient-medicine", "dermatology", "gastroenterology", "urology", "neurology", "ophthalmology",
)
TAG_FIELDS = ("guideline", "chapter", "cpc_domain")
# Medical decision making (AMA 2021+ office/outpatient and 2023+ other E/M): the level of each element,
# and the overall level is the one met or exceeded by two of the three elements.
MDM_ELEMENT_LEVELS = {"minimal": 0, "none": 0, "straightforward": 0, "low": 1, "limited": 1,
                      "moderate": 2, "high": 3, "extensive": 3}
MDM_LEVELS = ("straightforward", "low", "moderate", "high")


class CaseError(ValueError):
    """A case file is malformed; the message names the file and the field."""


class _StrictLoader(yaml.SafeLoader):
    """YAML that refuses a key given twice in one mapping: PyYAML would keep the last silently,
    and a repeated ``code:`` in a key is a wrong answer nobody sees."""


def _no_duplicates(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: set = set()
    for key_node, _value in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            mark = key_node.start_mark
            raise CaseError(f"{mark.name}: line {mark.line + 1}: the key {key!r} is given twice in one mapping")
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _no_duplicates)


def read_yaml(path: Path):
    """Parse a case or template file strictly (duplicate keys refused), with clear errors."""
    try:
        with path.open(encoding="utf-8") as handle:
            return yaml.load(handle, Loader=_StrictLoader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as exc:
        raise CaseError(f"{path}: not valid YAML ({exc})") from exc
    except UnicodeDecodeError as exc:
        raise CaseError(f"{path}: not UTF-8 text ({exc.reason})") from exc


@dataclass(frozen=True)
class KeyCode:
    code: str
    rationale: str
    guideline: str = ""
    also_accept: tuple[str, ...] = ()
    optional: bool = False  # correct if reported, not required (e.g. external cause codes)
    icd11: str = ""  # the ICD-11 MMS code (or postcoordinated cluster) for India-market cases
    # extension codes the note also supports (e.g. a fracture's displaced XJ8PQ, closed XJ44E):
    # accepted on the cluster, never required
    icd11_also: tuple[str, ...] = ()
    icd11_optional: bool = False  # the ICD-11 side is accepted, not required (no ICD-11 code says it well)


@dataclass(frozen=True)
class Mdm:
    """Medical decision making behind an E/M level: each element's level and the reason for it."""

    problems: tuple[str, str]  # (level, why)
    data: tuple[str, str]
    risk: tuple[str, str]

    @property
    def level(self) -> str:
        """Two of three elements must meet or exceed a level: the second-highest element decides."""
        ranks = sorted((MDM_ELEMENT_LEVELS[e[0]] for e in (self.problems, self.data, self.risk)), reverse=True)
        return MDM_LEVELS[ranks[1]]

    def as_dict(self) -> dict:
        return {"problems": list(self.problems), "data": list(self.data), "risk": list(self.risk),
                "level": self.level}


@dataclass(frozen=True)
class ProcedureLine:
    """One claim line of the key: a CPT or HCPCS code with modifiers, units and diagnosis pointers."""

    code: str
    rationale: str
    modifiers: tuple[str, ...] = ()
    units: int = 1
    pointers: tuple[int, ...] = (1,)
    guideline: str = ""
    exceeds_mue: bool = False  # the case is about units beyond the MUE (documented medical necessity)
    mdm: Mdm | None = None  # for an E/M level chosen by medical decision making
    minutes: int | None = None  # for an E/M level chosen by total time on the date


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
    procedures: list[ProcedureLine] = field(default_factory=list)
    specialty: str = ""
    region: str = "us"
    tags: dict = field(default_factory=dict)  # guideline, chapter, cpc_domain
    template: str = ""  # the template a variant was generated from ("" for a hand-written case)
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
                "difficulty", "topics", "note", "key", "specialty", "region", "tags", "template"}
_KEY_FIELDS = {"diagnoses", "acknowledged", "procedures"}
_DX_FIELDS = {"code", "rationale", "guideline", "also_accept", "optional", "icd11", "icd11_also",
              "icd11_optional"}
_PROC_FIELDS = {"code", "rationale", "guideline", "modifiers", "units", "pointers", "exceeds_mue", "mdm",
                "minutes"}


def _mdm(raw, spot: str) -> Mdm:
    if not isinstance(raw, dict) or set(raw) != {"problems", "data", "risk"}:
        raise CaseError(f"{spot}: mdm needs exactly problems, data and risk, each 'level: why'")
    parts = []
    for element in ("problems", "data", "risk"):
        text = str(raw[element] or "")
        level, _, why = text.partition(":")
        level = level.strip().lower()
        if level not in MDM_ELEMENT_LEVELS or not why.strip():
            raise CaseError(f"{spot}: mdm.{element} must read 'level: why' with level one of "
                            f"{', '.join(MDM_ELEMENT_LEVELS)} (got {text!r})")
        parts.append((level, why.strip()))
    return Mdm(*parts)


def _int(value, spot: str, name: str, low: int, high: int) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise CaseError(f"{spot}: {name} must be a whole number {low}-{high} (got {value!r})")
    return value


def _procedure(item, spot: str) -> ProcedureLine:
    if not isinstance(item, dict):
        raise CaseError(f"{spot}: expected code, modifiers, units, pointers, rationale")
    _unknown(item, _PROC_FIELDS, spot)
    modifiers = item.get("modifiers") or []
    if isinstance(modifiers, str):
        modifiers = modifiers.split()
    if not isinstance(modifiers, list):
        raise CaseError(f"{spot}: modifiers must be a list")
    modifiers = [str(m).strip().upper() for m in modifiers if str(m).strip()]
    pointers = item.get("pointers", [1])
    if isinstance(pointers, (int, str)):
        pointers = [p for p in str(pointers).replace(",", " ").split()]
    if not isinstance(pointers, list) or not pointers:
        raise CaseError(f"{spot}: pointers must list the diagnosis lines (1 = first) this line is for")
    pointers = [_int(p, spot, "a pointer", 1, 12) for p in pointers]
    exceeds = item.get("exceeds_mue", False)
    if not isinstance(exceeds, bool):
        raise CaseError(f"{spot}: exceeds_mue must be true or false")
    minutes = item.get("minutes")
    return ProcedureLine(
        code=str(_require(item, "code", spot)).strip().upper(),
        rationale=str(_require(item, "rationale", spot)).strip(),
        modifiers=tuple(modifiers), units=_int(item.get("units", 1), spot, "units", 1, 999),
        pointers=tuple(pointers), guideline=str(item.get("guideline") or "").strip(), exceeds_mue=exceeds,
        mdm=_mdm(item["mdm"], spot) if item.get("mdm") is not None else None,
        minutes=_int(minutes, spot, "minutes", 1, 1440) if minutes is not None else None,
    )


def _require(data: dict, name: str, where: str):
    if name not in data or data[name] in (None, ""):
        raise CaseError(f"{where}: missing '{name}'")
    return data[name]


def _truthy(value: object) -> bool:
    """A YAML boolean, or a template's rendered text ("true", "yes", "1")."""
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in {"true", "yes", "1"}


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
    age = _require(patient, "age", where) if patient.get("age") not in (0, "0") else 0
    if isinstance(age, str) and age.strip().isdigit():
        age = int(age)
    if not isinstance(age, int) or not 0 <= age <= 110:
        raise CaseError(f"{where}: patient age must be a whole number of years, 0-110")
    difficulty = data.get("difficulty", 1)
    if isinstance(difficulty, str) and difficulty.strip().isdigit():
        difficulty = int(difficulty)
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
        icd11_also = item.get("icd11_also") or []
        if not isinstance(icd11_also, list) or not all(isinstance(x, str) for x in icd11_also):
            raise CaseError(f"{spot}: icd11_also must be a list of ICD-11 extension codes")
        diagnoses.append(KeyCode(str(_require(item, "code", spot)), str(_require(item, "rationale", spot)).strip(),
                                 str(item.get("guideline") or "").strip(), tuple(str(a) for a in also), optional,
                                 str(item.get("icd11") or "").strip(), tuple(x.strip().upper() for x in icd11_also),
                                 _truthy(item.get("icd11_optional", False))))
    procedures = []
    raw_proc = key.get("procedures") or []
    if not isinstance(raw_proc, list):
        raise CaseError(f"{where}: key.procedures must be a list of claim lines")
    for i, item in enumerate(raw_proc, start=1):
        procedures.append(_procedure(item, f"{where} key.procedures[{i}]"))
    region = str(data.get("region") or "us")
    if region not in REGIONS:
        raise CaseError(f"{where}: region must be one of {sorted(REGIONS)}, not {region!r}")
    specialty = str(data.get("specialty") or "")
    if specialty and specialty not in SPECIALTIES:
        raise CaseError(f"{where}: specialty must be one of {', '.join(SPECIALTIES)}, not {specialty!r}")
    tags = data.get("tags") or {}
    if not isinstance(tags, dict):
        raise CaseError(f"{where}: tags must be a mapping of {', '.join(TAG_FIELDS)}")
    _unknown(tags, set(TAG_FIELDS), f"{where} tags")
    tags = {k: str(v) for k, v in tags.items() if v not in (None, "")}
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
        diagnoses=diagnoses, acknowledged=acknowledged, procedures=procedures, specialty=specialty,
        region=region, tags=tags, template=str(data.get("template") or ""), source=source,
    )


def load_file(path: Path) -> Encounter:
    return from_dict(read_yaml(path), path)


TEMPLATES_DIR = "templates"


def case_files(folder: Path) -> tuple[list[Path], list[Path]]:
    """(hand-written case files, template files) under ``folder``; templates live in ``templates/``."""
    if not folder.exists():
        return [], []
    files = sorted(folder.rglob("*.yaml"))
    templates = [p for p in files if TEMPLATES_DIR in p.relative_to(folder).parts[:-1]]
    cases = [p for p in files if p not in set(templates)]
    return cases, templates


def load_folder(folder: Path, use: str = "practice") -> list[Encounter]:
    """Every case under ``folder`` (hand-written, and every variant of every template), sorted by id;
    ids must be unique."""
    from . import template

    case_paths, template_paths = case_files(folder)
    cases = [load_file(p) for p in case_paths]
    ids: dict[str, Path] = {}
    for path in template_paths:
        variants = template.load_file(path, use)
        tid = variants[0].template
        if tid in ids:
            raise CaseError(f"template id {tid} is used by both {ids[tid]} and {path}")
        ids[tid] = path
        cases += variants
    seen: dict[str, Path | None] = {}
    for case in cases:
        if case.case_id in seen:
            raise CaseError(f"case id {case.case_id} is used by both {seen[case.case_id]} and {case.source}")
        seen[case.case_id] = case.source
    return sorted(cases, key=lambda c: c.case_id)
