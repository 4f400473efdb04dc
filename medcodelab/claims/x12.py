"""X12 5010: write a professional claim as an 837P, write and read an 835 remittance.

The segments follow the ASC X12 5010 implementation guides (837P 005010X222A1, 835
005010X221A1) as far as a teaching claim needs: one billing provider, the patient as the
subscriber, one claim per transaction. Interchange and group control numbers are fixed and
the usage indicator is ``T`` (test): these files are for learning, never for a real payer.
The test suite validates every file with pyx12 (a maintained X12 validator) and parses it with
LinuxForHealth x12, neither of which is needed at run time.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from .adjudicate import Adjustment, Remittance, RemitLine
from .model import Claim
from .scrub import PAYERS

ELEMENT, COMPONENT, REPEAT, SEGMENT = "*", ":", "^", "~"
FILING_INDICATOR = {"medicare-part-b": "MB", "medicare-advantage": "16", "medicaid": "MC", "commercial-ppo": "12",
                    "commercial-hmo": "HM"}
CLAIM_STATUS = {"paid": "1", "partly denied": "1", "denied": "4"}
_UNSAFE = re.compile(r"[*:^~\r\n]")
PAYMENT_CARCS = {"45", "1", "2", "3", "253"}  # adjustments of a paid line (contract, cost share, sequestration)


class X12Error(ValueError):
    """The claim cannot be written as X12, or the text is not an X12 file the lab can read."""


def _clean(text: str, limit: int = 60) -> str:
    return _UNSAFE.sub(" ", str(text)).strip().upper()[:limit]


def _amount(cents: int) -> str:
    text = f"{cents / 100:.2f}"
    return text[:-3] if text.endswith(".00") else text.rstrip("0")


def _name(full: str) -> tuple[str, str]:
    """(last, first) from 'First Last' or 'Last, First ...'."""
    if "," in full:
        last, _, first = full.partition(",")
        return _clean(last, 60), _clean(first.split()[0] if first.split() else "", 35)
    parts = full.split()
    return _clean(parts[-1], 60), _clean(" ".join(parts[:-1]), 35)


def _segments(rows: list[list[str]]) -> list[str]:
    out = []
    for row in rows:
        while len(row) > 1 and row[-1] == "":
            row = row[:-1]
        out.append(ELEMENT.join(row) + SEGMENT)
    return out


def _envelope(body: list[list[str]], functional: str, version: str, when: dt.datetime, sender: str,
              receiver: str) -> str:
    date6, date8, time4 = when.strftime("%y%m%d"), when.strftime("%Y%m%d"), when.strftime("%H%M")
    isa = ["ISA", "00", " " * 10, "00", " " * 10, "ZZ", sender.ljust(15)[:15], "ZZ", receiver.ljust(15)[:15],
           date6, time4, REPEAT, "00501", "000000001", "0", "T", COMPONENT]
    rows = [isa, ["GS", functional, sender.strip(), receiver.strip(), date8, time4, "1", "X", version],
            *body, ["GE", "1", "1"], ["IEA", "1", "000000001"]]
    return "\n".join(_segments(rows)) + "\n"


def to_837p(claim: Claim, when: dt.datetime | None = None) -> str:
    """The claim as an 837P interchange (one transaction, one claim)."""
    if claim.kind != "professional":
        raise X12Error("only professional claims are written as 837P (institutional claims use the 837I)")
    payer = PAYERS.get(claim.payer)
    if payer is None or payer.payer_type == "self-pay":
        raise X12Error(f"{claim.payer!r} is not a payer that receives 837 claims")
    if payer.country != "US":
        raise X12Error(f"{payer.name} takes claims through NHCX (FHIR), not X12")
    when = when or dt.datetime.combine(claim.submitted or claim.date_of_service, dt.time(12, 0))
    bill_last, _ = _name(claim.billing_provider.name)
    pat_last, pat_first = _name(claim.patient.name)
    tax_id = re.sub(r"\D", "", claim.billing_provider.tax_id or "") or "000000000"
    body: list[list[str]] = [
        ["ST", "837", "0001", "005010X222A1"],
        ["BHT", "0019", "00", _clean(claim.claim_id, 50), when.strftime("%Y%m%d"), when.strftime("%H%M"), "CH"],
        ["NM1", "41", "2", _clean(claim.billing_provider.name), "", "", "", "", "46", "MEDCODELAB"],
        ["PER", "IC", "BILLING OFFICE", "TE", "5555550100"],
        ["NM1", "40", "2", _clean(payer.name), "", "", "", "", "46", payer.payer_id],
        ["HL", "1", "", "20", "1"],
        ["NM1", "85", "2", _clean(claim.billing_provider.name), "", "", "", "", "XX", claim.billing_provider.npi],
        ["N3", "100 SYNTHETIC WAY"],
        ["N4", "TESTVILLE", "CA", "900000001"],
        ["REF", "EI", tax_id],
        ["HL", "2", "1", "22", "0"],
        ["SBR", "P", "18", "", "", "", "", "", "", FILING_INDICATOR.get(payer.payer_type, "ZZ")],
        ["NM1", "IL", "1", pat_last, pat_first, "", "", "", "MI", _clean(claim.subscriber.member_id, 80)],
        ["N3", "1 EXAMPLE STREET"],
        ["N4", "TESTVILLE", "CA", "900000001"],
    ]
    if claim.patient.birth_date:
        body.append(["DMG", "D8", claim.patient.birth_date.strftime("%Y%m%d"), claim.patient.sex or "U"])
    body.append(["NM1", "PR", "2", _clean(payer.name), "", "", "", "", "PI", payer.payer_id])
    body.append(["CLM", _clean(claim.claim_id, 38), _amount(claim.total_cents), "", "",
                 COMPONENT.join([claim.place_of_service, "B", claim.frequency]), "Y", "A", "Y", "Y"])
    if claim.original_claim_id:
        body.append(["REF", "F8", _clean(claim.original_claim_id, 50)])
    if claim.prior_authorization:
        body.append(["REF", "G1", _clean(claim.prior_authorization, 50)])
    if not claim.diagnoses:
        raise X12Error("an 837P needs at least one diagnosis")
    hi = ["HI"] + [f"{'ABK' if i == 0 else 'ABF'}{COMPONENT}{code.replace('.', '')}"
                   for i, code in enumerate(claim.diagnoses[:12])]
    body.append(hi)
    if claim.rendering_provider and claim.rendering_provider.npi != claim.billing_provider.npi:
        last, first = _name(claim.rendering_provider.name)
        body.append(["NM1", "82", "1", last, first, "", "", "", "XX", claim.rendering_provider.npi])
    for i, line in enumerate(claim.lines, start=1):
        body.append(["LX", str(i)])
        procedure = COMPONENT.join(["HC", line.code, *line.modifiers[:4]])
        pointers = COMPONENT.join(str(p) for p in line.pointers[:4])
        body.append(["SV1", procedure, _amount(line.charge_cents), "UN", str(line.units), "", "", pointers])
        body.append(["DTP", "472", "D8", claim.line_date(line).strftime("%Y%m%d")])
    count = len(body) + 1
    body.append(["SE", str(count), "0001"])
    return _envelope(body, "HC", "005010X222A1", when, "MEDCODELAB", payer.payer_id)


def to_835(remit: Remittance, claim: Claim, when: dt.datetime | None = None) -> str:
    """The payer's 835 for one adjudicated claim."""
    if remit.status == "rejected":
        raise X12Error("a rejected claim was never adjudicated: the payer sends a 277CA rejection, not an 835")
    payer = PAYERS[remit.payer]
    when = when or dt.datetime.combine(remit.remit_date or claim.date_of_service, dt.time(9, 0))
    date8 = when.strftime("%Y%m%d")
    paid = remit.paid_cents
    bpr = ["BPR", "I" if paid else "H", _amount(paid), "C", "CHK" if paid else "NON"] + [""] * 11 + [date8]  # BPR16: payment date
    pat_last, pat_first = _name(claim.patient.name)
    body: list[list[str]] = [
        ["ST", "835", "0001"],
        bpr,
        ["TRN", "1", f"EFT{claim.claim_id[-20:]}", "1999999999"],
        ["DTM", "405", date8],
        ["N1", "PR", _clean(payer.name)],
        ["N3", "1 PAYER PLAZA"],
        ["N4", "TESTVILLE", "CA", "900000001"],
        ["PER", "BL", "PROVIDER SERVICES", "TE", "5555550199"],
        ["N1", "PE", _clean(claim.billing_provider.name), "XX", claim.billing_provider.npi],
        ["LX", "1"],
        ["CLP", _clean(claim.claim_id, 38), CLAIM_STATUS.get(remit.status, "1"), _amount(remit.charge_cents),
         _amount(paid), _amount(remit.patient_cents), FILING_INDICATOR.get(payer.payer_type, "ZZ"),
         _clean(remit.payer_claim_number or claim.claim_id, 50), claim.place_of_service or "11",
         claim.frequency],
        ["NM1", "QC", "1", pat_last, pat_first, "", "", "", "MI", _clean(claim.subscriber.member_id, 80)],
    ]
    for line, source in zip(remit.lines, claim.lines):
        procedure = COMPONENT.join(["HC", line.code, *line.modifiers[:4]])
        body.append(["SVC", procedure, _amount(line.charge_cents), _amount(line.paid_cents), "", str(line.units)])
        body.append(["DTM", "472", claim.line_date(source).strftime("%Y%m%d")])
        groups: dict[str, list[Adjustment]] = {}
        for adj in line.adjustments:
            groups.setdefault(adj.group or "OA", []).append(adj)
        for group, adjs in groups.items():
            for start in range(0, len(adjs), 6):
                cas = ["CAS", group]
                for adj in adjs[start:start + 6]:
                    cas += [adj.carc or "45", _amount(adj.amount_cents), ""]
                body.append(cas)
        if line.allowed_cents:
            body.append(["AMT", "B6", _amount(line.allowed_cents)])
        for rarc in line.rarc:
            body.append(["LQ", "HE", rarc])
    body.append(["SE", str(len(body) + 1), "0001"])
    return _envelope(body, "HP", "005010X221A1", when, payer.payer_id, "MEDCODELAB")


@dataclass
class ParsedRemit:
    """What an 835 says, read back: enough to post payments and work denials."""

    payer: str = ""
    payer_id: str = ""
    payee_npi: str = ""
    payment_cents: int = 0
    claims: list[dict] = field(default_factory=list)


def split(text: str) -> list[list[str]]:
    """The segments of an X12 file as lists of elements, honouring the separators in its ISA."""
    text = text.lstrip("\ufeff").lstrip()
    if not text.startswith("ISA") or len(text) < 106:
        raise X12Error("not an X12 interchange: it must start with an ISA segment of 106 characters")
    element, component, terminator = text[3], text[104], text[105]
    segments = []
    for raw in text.split(terminator):
        raw = raw.strip()
        if raw:
            segments.append(raw.split(element))
    if segments[-1][0] != "IEA":
        raise X12Error("the interchange has no IEA trailer: the file is cut short")
    for seg in segments:
        seg.append(component)  # remember the component separator for callers (last element)
    return segments


def _cents(text: str) -> int:
    return int(round(float(text or 0) * 100))


def read_835(text: str) -> ParsedRemit:
    segments = split(text)
    out = ParsedRemit()
    claim: dict | None = None
    line: dict | None = None
    for seg in segments:
        component = seg.pop()
        tag = seg[0]
        if tag == "ST" and (len(seg) < 2 or seg[1] != "835"):
            raise X12Error(f"transaction set {seg[1] if len(seg) > 1 else '?'} is not an 835 remittance")
        if tag == "GS" and len(seg) > 2:
            out.payer_id = seg[2]  # GS02: the application sender, the payer on an 835
        elif tag == "BPR":
            out.payment_cents = _cents(seg[2])
        elif tag == "N1" and seg[1] == "PR":
            out.payer = seg[2]
        elif tag == "N1" and seg[1] == "PE" and len(seg) > 4:
            out.payee_npi = seg[4]
        elif tag == "CLP":
            claim = {"claim_id": seg[1], "status": seg[2], "charge": _cents(seg[3]), "paid": _cents(seg[4]),
                     "patient_responsibility": _cents(seg[5]) if len(seg) > 5 else 0,
                     "payer_claim_number": seg[7] if len(seg) > 7 else "", "lines": []}
            out.claims.append(claim)
            line = None
        elif tag == "SVC" and claim is not None:
            parts = seg[1].split(component)
            line = {"code": parts[1] if len(parts) > 1 else "", "modifiers": parts[2:], "charge": _cents(seg[2]),
                    "paid": _cents(seg[3]), "units": int(seg[5]) if len(seg) > 5 and seg[5] else 1,
                    "adjustments": [], "allowed": None, "rarc": []}
            claim["lines"].append(line)
        elif tag == "CAS" and line is not None:
            group = seg[1]
            for i in range(2, len(seg) - 1, 3):
                if seg[i]:
                    line["adjustments"].append({"group": group, "carc": seg[i], "amount": _cents(seg[i + 1])})
        elif tag == "AMT" and seg[1] == "B6" and line is not None:
            line["allowed"] = _cents(seg[2])
        elif tag == "LQ" and seg[1] == "HE" and line is not None:
            line["rarc"].append(seg[2])
    if not out.claims:
        raise X12Error("the 835 holds no claim (CLP) segments")
    return out


def remittance_from_835(text: str, carc_meanings: dict[str, str] | None = None) -> list[Remittance]:
    """The lab's Remittance objects from an 835 (amounts in cents, adjustments by group and CARC).

    The payer is the 835's sender (GS02) with its name from N1*PR; ``carc_meanings`` (code to
    meaning, e.g. the ``carc`` table) fills each adjustment's reason, which the 835 does not carry."""
    parsed = read_835(text)
    carc_meanings = carc_meanings or {}
    status = {"1": "paid", "2": "paid", "4": "denied", "22": "reversed"}
    remits = []
    for c in parsed.claims:
        lines = []
        for n, item in enumerate(c["lines"], start=1):
            adjs = [Adjustment(a["group"], a["carc"], a["amount"], carc_meanings.get(a["carc"], ""))
                    for a in item["adjustments"]]
            patient = sum(a.amount_cents for a in adjs if a.group == "PR")
            payment_only = all(a.carc in PAYMENT_CARCS for a in adjs)
            lines.append(RemitLine(n, item["code"], item["modifiers"], item["units"], item["charge"],
                                   item["allowed"] or 0, item["paid"], patient,
                                   "paid" if item["paid"] or payment_only else "denied", adjs, item["rarc"]))
        state = status.get(c["status"], c["status"])
        if state == "paid" and any(line.decision == "denied" for line in lines):
            state = "partly denied"
        remits.append(Remittance(c["claim_id"], parsed.payer_id, parsed.payer, state, lines,
                                 payer_claim_number=c["payer_claim_number"]))
    return remits
