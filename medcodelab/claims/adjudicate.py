"""One claim through a payer: front-end edits, line decisions, pricing, and the remittance.

The order is the payer's: a claim with structural errors (invalid diagnosis, bad NPI or place
of service, no lines) is *rejected* at the front end and never adjudicated (the biller fixes and
resubmits; nothing posts). An accepted claim is decided line by line from the scrubber's edits,
which come from the same rule tables the case validator and the RCM dataset use; the first rule
that decides a line gives its group code, CARC and RARC (``RULES``). Payable lines are priced:
allowed = the lesser of the charge and the payer's fee (illustrative base price x the payer's
factor; 150% for a bilateral line, 50% for second and later surgical procedures, a 40/60 split
for professional/technical components), then the deductible, copay or coinsurance, then Medicare's
2% sequestration. Every line balances as an 835 does: charge = paid + all adjustments.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field

import duckdb

from ..rcm import services
from ..rcm.adjudicate import PAYMENT_ADJUSTMENTS, SEQUESTERED_PAYERS, SEQUESTRATION, preventive_codes
from ..rcm.generate import load_reference, price_cents
from .model import Claim
from .scrub import ERROR, PAYERS, Edit, Scrubber

# Edits that make a payer's front end reject the whole claim before adjudication.
REJECTING = {"payer", "frequency", "npi", "place-of-service-code", "patient", "date-of-service", "diagnosis",
             "diagnosis-sequence", "lines", "charge", "pointer", "procedure-code", "canonical-form", "units"}
# scrubber rule -> (decision, group, CARC, RARC), in the order a line is decided
LINE_RULES = (
    ("timely-filing", "late-filing", "CO", "29", None),
    ("duplicate-line", "duplicate", "OA", "18", None),
    ("sex-edit", "sex-edit", "CO", "7", None),
    ("age-edit", "age-edit", "CO", "6", None),
    ("modifier", "invalid-modifier", "CO", "4", None),
    ("bilateral", "invalid-modifier", "CO", "4", None),
    ("place-of-service", "place-of-service", "CO", "5", None),
    ("prior-auth", "no-prior-auth", "CO", "197", None),
    ("add-on", "no-primary", "CO", "107", None),
    ("ncci-ptp", "ncci-bundled", "CO", "97", "M15"),
    ("modifier-25", "em-bundled", "CO", "97", "M15"),
    ("mue", "mue-units", "CO", "151", "N362"),
    ("medical-necessity", "not-medically-necessary", "CO", "50", None),
)
SURGICAL_GLOBALS = {"000", "010", "090"}


@dataclass
class Adjustment:
    group: str
    carc: str
    amount_cents: int
    reason: str


@dataclass
class RemitLine:
    line: int
    code: str
    modifiers: list[str]
    units: int
    charge_cents: int
    allowed_cents: int = 0
    paid_cents: int = 0
    patient_cents: int = 0
    decision: str = "paid"
    adjustments: list[Adjustment] = field(default_factory=list)
    rarc: list[str] = field(default_factory=list)
    explanation: str = ""

    def balances(self) -> bool:
        return self.charge_cents == self.paid_cents + sum(a.amount_cents for a in self.adjustments)


@dataclass
class Remittance:
    claim_id: str
    payer: str
    payer_name: str
    status: str  # paid | partly denied | denied | rejected
    lines: list[RemitLine]
    rejected: list[Edit] = field(default_factory=list)
    remit_date: dt.date | None = None
    payer_claim_number: str = ""

    @property
    def charge_cents(self) -> int:
        return sum(line.charge_cents for line in self.lines)

    @property
    def paid_cents(self) -> int:
        return sum(line.paid_cents for line in self.lines)

    @property
    def patient_cents(self) -> int:
        return sum(line.patient_cents for line in self.lines)

    def as_dict(self) -> dict:
        data = asdict(self)
        data["remit_date"] = self.remit_date.isoformat() if self.remit_date else None
        data["totals"] = {"charge": self.charge_cents / 100, "paid": self.paid_cents / 100,
                          "patient_responsibility": self.patient_cents / 100}
        for line in data["lines"]:
            for key in ("charge_cents", "allowed_cents", "paid_cents", "patient_cents"):
                line[key.replace("_cents", "")] = line.pop(key) / 100
            for adj in line["adjustments"]:
                adj["amount"] = adj.pop("amount_cents") / 100
        return data


class Adjudicator:
    def __init__(self, conn: duckdb.DuckDBPyConnection) -> None:
        self.scrubber = Scrubber(conn)
        self.reference = load_reference(conn)
        self.preventive = set(preventive_codes())
        self.necessity_rarc = {code: ("N115" if "LCD" in rules[0][4] else "N386")
                               for code, rules in self.scrubber.coverage.items()}

    def fee_cents(self, payer_id: str, code: str) -> int:
        if code not in self.reference.sections:
            return 0
        return int(round(price_cents(code, self.reference) * PAYERS[payer_id].fee_factor))

    def adjudicate(self, claim: Claim, deductible_remaining_cents: int | None = None,
                   today: dt.date | None = None) -> Remittance:
        payer = PAYERS.get(claim.payer)
        edits = self.scrubber.scrub(claim, today)
        lines = [RemitLine(i, l.code, list(l.modifiers), l.units, l.charge_cents)
                 for i, l in enumerate(claim.lines, start=1)]
        rejecting = [e for e in edits if e.severity == ERROR and (e.rule in REJECTING or payer is None)]
        name = payer.name if payer else claim.payer
        if rejecting or payer is None:
            return Remittance(claim.claim_id, claim.payer, name, "rejected", lines, rejecting)
        if claim.frequency == "8":
            for line in lines:
                line.decision, line.explanation = "voided", "the claim voids an earlier one: nothing is paid"
                line.adjustments.append(Adjustment("CO", "129", line.charge_cents, "void"))
            return Remittance(claim.claim_id, claim.payer, name, "denied", lines)
        india = payer.country == "IN"
        by_line: dict[int | None, list[Edit]] = {}
        for edit in edits:
            by_line.setdefault(edit.line, []).append(edit)
        claim_level = [e for e in by_line.get(None, []) if e.severity == ERROR]
        for line, source in zip(lines, claim.lines):
            mine = claim_level + by_line.get(line.line, [])
            for rule, decision, group, carc, rarc in LINE_RULES:
                hit = next((e for e in mine if e.rule == rule and e.severity == ERROR), None)
                if rule == "medical-necessity" and hit is None:
                    hit = next((e for e in mine if e.rule == rule and "GA" in source.modifiers), None)
                    if hit is not None:
                        decision, group = "not-medically-necessary-abn", "PR"
                if hit is None:
                    continue
                if rule == "medical-necessity":
                    rarc = self.necessity_rarc.get(source.code)
                line.decision, line.explanation = decision, hit.message
                line.adjustments.append(Adjustment(group if not india else "", carc if not india else "",
                                                   line.charge_cents, decision))
                if rarc and not india:
                    line.rarc.append(rarc)
                if group == "PR":
                    line.patient_cents = line.charge_cents
                break
        self._price(claim, lines, payer, deductible_remaining_cents)
        denied = [line for line in lines if line.decision != "paid"]
        status = "paid" if not denied else "denied" if len(denied) == len(lines) else "partly denied"
        remit_date = (claim.submitted or claim.date_of_service) + dt.timedelta(days=14 if not india else 10)
        return Remittance(claim.claim_id, claim.payer, name, status, lines, [], remit_date,
                          f"PCN-{claim.claim_id}")

    def _price(self, claim: Claim, lines: list[RemitLine], payer, deductible_remaining: int | None) -> None:
        sections = self.reference.sections
        payable = [line for line in lines if line.decision == "paid"]
        for line in payable:
            fee = self.fee_cents(claim.payer, line.code) * line.units
            if "50" in line.modifiers:
                fee = fee * 3 // 2
            if "26" in line.modifiers:
                fee = fee * 2 // 5
            elif "TC" in line.modifiers:
                fee = fee * 3 // 5
            line.allowed_cents = fee
        surgical = sorted((line for line in payable if line.code in sections and sections[line.code][2] in
                           SURGICAL_GLOBALS and not sections[line.code][3]),
                          key=lambda line: -line.allowed_cents)
        for line in surgical[1:]:
            line.allowed_cents //= 2
            line.explanation = "second or later surgical procedure the same day: paid at 50% (multiple procedure rule)"
        remaining = payer.deductible_cents if deductible_remaining is None else deductible_remaining
        copay_used = False
        for line in payable:
            allowed = min(line.allowed_cents, line.charge_cents)
            line.allowed_cents = allowed
            contractual = line.charge_cents - allowed
            if contractual:
                line.adjustments.append(Adjustment(*PAYMENT_ADJUSTMENTS["contractual"], contractual, "contractual"))
            preventive = line.code in self.preventive
            sub = self.scrubber.rules.details(line.code).get("subsection", "")
            office_em = sub.startswith("office") and payer.office_copay_cents > 0
            deductible = copay = coinsurance = 0
            if preventive:
                pass
            elif office_em and not copay_used:
                copay = min(payer.office_copay_cents, allowed)
                copay_used = True
            else:
                deductible = min(remaining, allowed)
                remaining -= deductible
                coinsurance = int(round((allowed - deductible) * payer.coinsurance))
            for reason, amount in (("deductible", deductible), ("copay", copay), ("coinsurance", coinsurance)):
                if amount:
                    line.adjustments.append(Adjustment(*PAYMENT_ADJUSTMENTS[reason], amount, reason))
            line.patient_cents = deductible + copay + coinsurance
            paid = allowed - line.patient_cents
            if payer.payer_id in SEQUESTERED_PAYERS and paid:
                cut = int(round(paid * SEQUESTRATION))
                line.adjustments.append(Adjustment(*PAYMENT_ADJUSTMENTS["sequestration"], cut, "sequestration"))
                paid -= cut
            line.paid_cents = paid
            if payer.country == "IN":
                for adj in line.adjustments:
                    adj.group = adj.carc = ""


def adjudicate(claim: Claim, conn: duckdb.DuckDBPyConnection | None = None,
               deductible_remaining_cents: int | None = None, today: dt.date | None = None) -> Remittance:
    if conn is None:
        from .. import db

        conn = db.cursor()
    return Adjudicator(conn).adjudicate(claim, deductible_remaining_cents, today)


__all__ = ["Adjudicator", "Remittance", "RemitLine", "Adjustment", "adjudicate", "services"]
