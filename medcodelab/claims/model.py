"""A claim as a biller holds it: the professional claim (CMS-1500 / X12 837P) and a lighter
institutional one (UB-04 / 837I).

Claims are plain JSON (documented in the README, examples in ``data/examples/``). Loading is
strict and collects every problem at once, each naming the field, so a learner fixes a file in
one pass. Money is held in whole cents; JSON carries dollars (or rupees) with two decimals.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

KINDS = {"professional", "institutional"}
FREQUENCIES = {"1": "original", "7": "replacement of a prior claim", "8": "void of a prior claim"}
RELATIONSHIPS = {"self", "spouse", "child", "other"}
MAX_DIAGNOSES = {"professional": 12, "institutional": 25}
MAX_LINES = {"professional": 50, "institutional": 450}


def npi_valid(npi: str) -> bool:
    """Ten digits whose last is the Luhn check digit over '80840' + the first nine (the NPI rule).
    The lab's synthetic NPIs start with 0, which no real NPI does, and still pass the check."""
    if len(npi) != 10 or not npi.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed("80840" + npi[:9])):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return str((10 - total % 10) % 10) == npi[9]


SYNTHETIC_BILLING_NPI = "0123456788"
SYNTHETIC_RENDERING_NPI = "0987654320"


class ClaimError(ValueError):
    """A claim file is malformed; ``problems`` lists every field that is wrong."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("the claim cannot be read:\n" + "\n".join(f"  - {p}" for p in problems))


@dataclass
class Person:
    id: str
    name: str
    birth_date: dt.date | None = None
    sex: str = ""


@dataclass
class Subscriber:
    member_id: str
    name: str
    relationship: str = "self"


@dataclass
class Provider:
    npi: str
    name: str
    tax_id: str = ""


@dataclass
class ClaimLine:
    code: str
    charge_cents: int
    units: int = 1
    modifiers: tuple[str, ...] = ()
    pointers: tuple[int, ...] = (1,)
    service_date: dt.date | None = None
    revenue_code: str = ""  # institutional claims

    @property
    def charge(self) -> Decimal:
        return Decimal(self.charge_cents) / 100


@dataclass
class Claim:
    claim_id: str
    payer: str
    patient: Person
    subscriber: Subscriber
    billing_provider: Provider
    rendering_provider: Provider | None
    place_of_service: str
    date_of_service: dt.date
    diagnoses: list[str]
    lines: list[ClaimLine]
    kind: str = "professional"
    frequency: str = "1"
    original_claim_id: str = ""
    submitted: dt.date | None = None
    prior_authorization: str = ""
    type_of_bill: str = ""  # institutional: e.g. 0131 hospital outpatient, 0111 inpatient
    admission_date: dt.date | None = None
    discharge_date: dt.date | None = None
    encounter: str = ""  # the case bank encounter this claim was built from, if any

    @property
    def total_cents(self) -> int:
        return sum(line.charge_cents for line in self.lines)

    def line_date(self, line: ClaimLine) -> dt.date:
        return line.service_date or self.date_of_service

    def as_dict(self) -> dict:
        def clean(value):
            if isinstance(value, dt.date):
                return value.isoformat()
            if isinstance(value, (list, tuple)):
                return [clean(v) for v in value]
            if isinstance(value, dict):
                return {k: clean(v) for k, v in value.items()}
            return value

        data = clean(asdict(self))
        for i, line in enumerate(data["lines"]):
            line["charge"] = float(Decimal(line.pop("charge_cents")) / 100)
            data["lines"][i] = {k: v for k, v in line.items() if v not in ("", None)}
        for party in ("patient", "subscriber", "billing_provider", "rendering_provider"):
            if isinstance(data.get(party), dict):
                data[party] = {k: v for k, v in data[party].items() if v not in ("", None)}
        return {k: v for k, v in data.items() if v not in ("", None)}

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2)


_TOP = {"claim_id", "kind", "frequency", "original_claim_id", "payer", "patient", "subscriber", "billing_provider",
        "rendering_provider", "place_of_service", "date_of_service", "submitted", "prior_authorization",
        "diagnoses", "lines", "type_of_bill", "admission_date", "discharge_date", "encounter"}
_LINE = {"code", "modifiers", "units", "charge", "pointers", "service_date", "revenue_code"}


class _Reader:
    def __init__(self) -> None:
        self.problems: list[str] = []

    def fail(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    def text(self, data: dict, name: str, where: str, required: bool = True) -> str:
        value = data.get(name)
        if value in (None, ""):
            if required:
                self.fail(f"{where}{name}", "missing")
            return ""
        if not isinstance(value, (str, int)) or isinstance(value, bool):
            self.fail(f"{where}{name}", f"expected text, got {type(value).__name__}")
            return ""
        return str(value).strip()

    def date(self, data: dict, name: str, where: str, required: bool = True) -> dt.date | None:
        value = data.get(name)
        if value in (None, ""):
            if required:
                self.fail(f"{where}{name}", "missing (YYYY-MM-DD)")
            return None
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError:
            self.fail(f"{where}{name}", f"{value!r} is not a date (YYYY-MM-DD)")
            return None

    def mapping(self, data: dict, name: str, required: bool = True) -> dict:
        value = data.get(name)
        if value is None:
            if required:
                self.fail(name, "missing")
            return {}
        if not isinstance(value, dict):
            self.fail(name, "expected an object")
            return {}
        return value


def _cents(value, where: str, reader: _Reader) -> int:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        reader.fail(where, f"{value!r} is not an amount")
        return 0
    if isinstance(value, bool) or amount < 0 or amount != amount.quantize(Decimal("0.01")):
        reader.fail(where, f"{value!r}: amounts are positive with at most two decimals")
        return 0
    return int(amount * 100)


def from_dict(data: object) -> Claim:
    """A claim from parsed JSON; raises ``ClaimError`` listing every problem found."""
    reader = _Reader()
    if not isinstance(data, dict):
        raise ClaimError(["the claim must be a JSON object"])
    extra = sorted(set(data) - _TOP)
    if extra:
        reader.fail(", ".join(extra), f"unknown field(s); allowed: {', '.join(sorted(_TOP))}")
    kind = data.get("kind", "professional")
    if kind not in KINDS:
        reader.fail("kind", f"must be one of {sorted(KINDS)}")
        kind = "professional"
    frequency = str(data.get("frequency", "1"))
    if frequency not in FREQUENCIES:
        reader.fail("frequency", "must be 1 (original), 7 (replacement) or 8 (void)")
    pat = reader.mapping(data, "patient")
    patient = Person(reader.text(pat, "id", "patient."), reader.text(pat, "name", "patient."),
                     reader.date(pat, "birth_date", "patient."), reader.text(pat, "sex", "patient.").upper())
    if patient.sex and patient.sex not in {"F", "M", "U"}:
        reader.fail("patient.sex", "F, M or U")
    sub = reader.mapping(data, "subscriber")
    subscriber = Subscriber(reader.text(sub, "member_id", "subscriber."), reader.text(sub, "name", "subscriber."),
                            reader.text(sub, "relationship", "subscriber.", required=False) or "self")
    if subscriber.relationship not in RELATIONSHIPS:
        reader.fail("subscriber.relationship", f"one of {sorted(RELATIONSHIPS)}")
    bp = reader.mapping(data, "billing_provider")
    billing = Provider(reader.text(bp, "npi", "billing_provider."), reader.text(bp, "name", "billing_provider."),
                       reader.text(bp, "tax_id", "billing_provider.", required=False))
    rp = reader.mapping(data, "rendering_provider", required=False)
    rendering = Provider(reader.text(rp, "npi", "rendering_provider."),
                         reader.text(rp, "name", "rendering_provider.")) if rp else None
    diagnoses = data.get("diagnoses")
    if not isinstance(diagnoses, list) or not all(isinstance(d, str) for d in diagnoses):
        reader.fail("diagnoses", "a list of ICD-10-CM codes as text, first-listed first")
        diagnoses = []
    lines = []
    raw_lines = data.get("lines")
    if not isinstance(raw_lines, list):
        reader.fail("lines", "a list of service lines")
        raw_lines = []
    for i, raw in enumerate(raw_lines, start=1):
        where = f"lines[{i}]."
        if not isinstance(raw, dict):
            reader.fail(f"lines[{i}]", "expected an object with code, units, charge, pointers")
            continue
        extra = sorted(set(raw) - _LINE)
        if extra:
            reader.fail(f"lines[{i}]", f"unknown field(s) {', '.join(extra)}")
        mods = raw.get("modifiers") or []
        if not isinstance(mods, list) or not all(isinstance(m, str) for m in mods):
            reader.fail(f"{where}modifiers", "a list of two-character modifiers")
            mods = []
        pointers = raw.get("pointers", [1])
        if not isinstance(pointers, list) or not all(isinstance(p, int) and not isinstance(p, bool)
                                                     for p in pointers):
            reader.fail(f"{where}pointers", "a list of diagnosis numbers (1 = first diagnosis)")
            pointers = []
        units = raw.get("units", 1)
        if isinstance(units, bool) or not isinstance(units, int) or units < 0:
            reader.fail(f"{where}units", "a whole number")
            units = 1
        if "charge" not in raw:
            reader.fail(f"{where}charge", "missing")
        lines.append(ClaimLine(
            code=reader.text(raw, "code", where).upper(), charge_cents=_cents(raw.get("charge", 0), f"{where}charge", reader),
            units=units, modifiers=tuple(m.strip().upper().lstrip("-") for m in mods), pointers=tuple(pointers),
            service_date=reader.date(raw, "service_date", where, required=False),
            revenue_code=reader.text(raw, "revenue_code", where, required=False)))
    claim = Claim(
        claim_id=reader.text(data, "claim_id", ""), payer=reader.text(data, "payer", ""), patient=patient,
        subscriber=subscriber, billing_provider=billing, rendering_provider=rendering,
        place_of_service=reader.text(data, "place_of_service", "", required=kind == "professional").zfill(2)
        if data.get("place_of_service") else "",
        date_of_service=reader.date(data, "date_of_service", "") or dt.date(1900, 1, 1),
        diagnoses=[d.strip() for d in diagnoses], lines=lines, kind=kind, frequency=frequency,
        original_claim_id=reader.text(data, "original_claim_id", "", required=False),
        submitted=reader.date(data, "submitted", "", required=False),
        prior_authorization=reader.text(data, "prior_authorization", "", required=False),
        type_of_bill=reader.text(data, "type_of_bill", "", required=kind == "institutional"),
        admission_date=reader.date(data, "admission_date", "", required=False),
        discharge_date=reader.date(data, "discharge_date", "", required=False),
        encounter=reader.text(data, "encounter", "", required=False),
    )
    if reader.problems:
        raise ClaimError(reader.problems)
    return claim


def load(path: str | Path) -> Claim:
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ClaimError([f"{path}: no such file"]) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ClaimError([f"{path}: not valid JSON ({exc})"]) from None
    return from_dict(data)


# How the case bank's payer names and settings map onto the lab's synthetic payers and POS codes.
PAYER_BY_NAME = (("advantage", "MCR-ADV"), ("medicare", "MCR-B"), ("medicaid", "MCD"), ("hmo", "COM-HMO"),
                 ("pm-jay", "PMJAY"), ("india", "IN-PVT"), ("cghs", "IN-PVT"), ("self", "SELF"),
                 ("commercial", "COM-PPO"), ("ppo", "COM-PPO"))
POS_BY_SETTING = {"office": "11", "telehealth": "10", "ed": "23", "urgent-care": "20", "inpatient": "21",
                  "observation": "22", "outpatient-hospital": "22"}


def payer_for(name: str) -> str:
    lowered = name.lower()
    for word, payer in PAYER_BY_NAME:
        if word in lowered:
            return payer
    return "COM-PPO"


def chargemaster(conn=None) -> dict[str, int]:
    """The synthetic practice's charge per unit of every CPT/HCPCS code (cents): the lab's
    illustrative base price times the chargemaster multiplier, rounded to whole dollars."""
    from ..rcm import services
    from ..rcm.generate import load_reference, price_cents

    if conn is None:
        from .. import db

        conn = db.cursor()
    ref = load_reference(conn)
    return {code: int(round(price_cents(code, ref) * services.CHARGE_MULTIPLIER / 100)) * 100
            for code in ref.sections}


def from_encounter(case, charges: dict[str, int] | None = None, submitted: dt.date | None = None,
                   payer: str | None = None) -> Claim:
    """The claim a biller would build from a keyed encounter: its diagnoses (in the key's order,
    external-cause codes included), its claim lines at the practice's charges, the synthetic
    patient and the payer the encounter names (or ``payer``)."""
    p = case.patient
    codes = [k.code for k in case.diagnoses]
    charges = chargemaster() if charges is None else charges
    lines = [ClaimLine(code=line.code, charge_cents=charges.get(line.code, 10000) * line.units, units=line.units,
                       modifiers=tuple(line.modifiers), pointers=tuple(line.pointers)) for line in case.procedures]
    return Claim(
        claim_id=f"CLM-{case.case_id.upper()}", payer=payer or payer_for(case.payer),
        patient=Person(p.mrn, p.name, p.birth_date, p.sex),
        subscriber=Subscriber("SYNM-" + p.mrn.removeprefix("SYN-"), p.name, "self"),
        billing_provider=Provider(SYNTHETIC_BILLING_NPI, "Synthetic Teaching Clinic", "00-0000000"),
        rendering_provider=Provider(SYNTHETIC_RENDERING_NPI, "Synthetic Provider, MD"),
        place_of_service=POS_BY_SETTING[case.setting], date_of_service=case.date_of_service,
        diagnoses=codes, lines=lines, submitted=submitted or case.date_of_service + dt.timedelta(days=2),
        encounter=case.case_id,
    )
