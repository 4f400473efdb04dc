"""Denial work: a practice's claims after the remittance, the denial queue, corrected claims,
appeals, write-offs, and what each does to accounts receivable.

The teaching points are the ones a denial specialist lives by:

- a *rejected* claim never reached adjudication: fix it and send it again as an original;
- a *coding* denial (bundling, wrong modifier, units, age/sex, add-on without primary) is fixed
  with a *corrected claim* (frequency 7, naming the payer's claim number), not an appeal;
- an *appeal* is for a payer decision the record contradicts: units beyond an MAI 1 or 3 limit
  that the note documents, medical necessity the note supports, a filing limit met (proof of
  timely filing), a service authorised after the fact. MAI 2 limits and duplicates are not
  overturned;
- until a denied balance is paid, corrected or written off, it stays in A/R and ages.

Amounts are cents. Everything is in memory: a notebook or a test owns one ``Practice``.
"""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass, field

import pandas as pd

from .adjudicate import Adjudicator, Remittance
from .model import Claim

CODING_DENIALS = {"ncci-bundled", "em-bundled", "invalid-modifier", "mue-units", "age-edit", "sex-edit",
                  "no-primary", "place-of-service"}
ADVICE = {
    "rejected": "Rejected at the front end: fix the errors and send it again as a new original claim.",
    "ncci-bundled": "Bundled by NCCI: if the note documents a separate site or session, send a corrected claim "
                    "with XS/XE/XP/XU (or 59) on the column-2 code; otherwise the denial is right: write it off.",
    "em-bundled": "E/M denied as part of the procedure: if the note shows separate evaluation work, send a "
                  "corrected claim with 25 on the E/M; otherwise write it off.",
    "invalid-modifier": "Send a corrected claim with the right modifier.",
    "mue-units": "Units over the MUE: correct the units, or appeal with the record if the limit is MAI 1 or 3 "
                 "and the documented units are truly more. MAI 2 limits are final.",
    "age-edit": "Check the patient's age and the code; send a corrected claim.",
    "sex-edit": "Check the patient's sex and the code; send a corrected claim.",
    "no-primary": "Add the primary procedure in a corrected claim, or write off the add-on.",
    "place-of-service": "Send a corrected claim with the right place of service or E/M family.",
    "no-prior-auth": "Ask the payer for a retro-authorisation and appeal with its number; otherwise write it off "
                     "(in-network providers usually cannot bill the patient).",
    "not-medically-necessary": "If the note supports a covered diagnosis that was not pointed to, send a corrected "
                               "claim; if the record shows necessity, appeal with it; without an ABN, write it off.",
    "not-medically-necessary-abn": "The patient signed an ABN: bill the patient.",
    "late-filing": "Appeal only with proof of timely filing (e.g. a clearinghouse acceptance report); otherwise "
                   "write it off. Never bill the patient for a missed filing limit.",
    "duplicate": "A duplicate of a claim already processed: find the original's remittance; nothing to do here.",
    "voided": "The claim was voided on purpose.",
}


class WorkError(ValueError):
    """An action that does not fit the claim's state (unknown claim, a paid line, a wrong appeal)."""


@dataclass
class Posting:
    claim_id: str
    line: int
    kind: str  # charge | payment | adjustment | transfer-to-patient | write-off | reversal
    cents: int  # positive: adds to the balance; negative: reduces it
    on: dt.date
    note: str = ""


@dataclass
class Appeal:
    claim_id: str
    line: int
    reason: str
    evidence: set[str]
    outcome: str
    explanation: str
    filed: dt.date


@dataclass
class Account:
    claim: Claim
    remits: list[Remittance] = field(default_factory=list)
    closed_lines: set[int] = field(default_factory=set)  # written off or otherwise resolved

    @property
    def remit(self) -> Remittance:
        return self.remits[-1]


class Practice:
    """The claims one learner has sent, with their postings, queue, appeals and A/R."""

    def __init__(self, conn=None, today: dt.date | None = None) -> None:
        if conn is None:
            from .. import db

            conn = db.cursor()
        self.adjudicator = Adjudicator(conn)
        self.accounts: dict[str, Account] = {}
        self.postings: list[Posting] = []
        self.appeals: list[Appeal] = []
        self.today = today

    def _on(self, account: Account | None = None) -> dt.date:
        if self.today:
            return self.today
        if account and account.remit.remit_date:
            return account.remit.remit_date
        return dt.date.today()

    def _account(self, claim_id: str) -> Account:
        if claim_id not in self.accounts:
            raise WorkError(f"no claim {claim_id!r} has been submitted (known: {', '.join(self.accounts) or 'none'})")
        return self.accounts[claim_id]

    def submit(self, claim: Claim) -> Remittance:
        """Send a claim; post the charge, and the remittance if the payer adjudicated it."""
        if claim.claim_id in self.accounts and claim.frequency == "1":
            previous = self.accounts[claim.claim_id]
            if previous.remit.status != "rejected":
                raise WorkError(f"{claim.claim_id} was already adjudicated: send a corrected claim (frequency 7) "
                                "instead of a new original")
        remit = self.adjudicator.adjudicate(claim)
        account = self.accounts.get(claim.claim_id)
        if account is None or account.remit.status == "rejected":
            account = Account(claim)
            self.accounts[claim.claim_id] = account
            for i, line in enumerate(claim.lines, start=1):
                self._post(claim.claim_id, i, "charge", line.charge_cents, claim.submitted or claim.date_of_service)
        account.claim = claim
        account.remits.append(remit)
        if remit.status != "rejected":
            self._post_remit(account, remit)
        return remit

    def _post(self, claim_id: str, line: int, kind: str, cents: int, on: dt.date, note: str = "") -> None:
        if cents:
            self.postings.append(Posting(claim_id, line, kind, cents, on, note))

    def _post_remit(self, account: Account, remit: Remittance) -> None:
        on = remit.remit_date or self._on(account)
        for line in remit.lines:
            self._post(remit.claim_id, line.line, "payment", -line.paid_cents, on, "payer payment")
            for adj in line.adjustments:
                # PR amounts stay in the balance, owed by the patient; contractual and sequestration
                # amounts on a paid line are never collectible and come off
                if adj.group != "PR" and line.decision == "paid":
                    self._post(remit.claim_id, line.line, "adjustment", -adj.amount_cents, on,
                               f"{adj.group}-{adj.carc}")
            # a denied CO/OA line stays open in A/R until corrected, appealed or written off

    def queue(self) -> pd.DataFrame:
        """Open denials and rejections, oldest first, with the next step for each."""
        rows = []
        for account in self.accounts.values():
            remit = account.remit
            if remit.status == "rejected":
                rows.append({"claim_id": remit.claim_id, "line": None, "code": "", "decision": "rejected",
                             "group": "", "carc": "", "rarc": "", "amount": account.claim.total_cents / 100,
                             "days": (self._on(account) - account.claim.date_of_service).days,
                             "next_step": ADVICE["rejected"],
                             "why": "; ".join(e.message for e in remit.rejected)})
                continue
            for line in remit.lines:
                if line.decision in {"paid", "not-medically-necessary-abn", "voided"} or line.line in account.closed_lines:
                    continue
                first = line.adjustments[0] if line.adjustments else None
                rows.append({"claim_id": remit.claim_id, "line": line.line, "code": line.code,
                             "decision": line.decision, "group": first.group if first else "",
                             "carc": first.carc if first else "", "rarc": ", ".join(line.rarc),
                             "amount": line.charge_cents / 100,
                             "days": (self._on(account) - account.claim.date_of_service).days,
                             "next_step": ADVICE.get(line.decision, ""), "why": line.explanation})
        frame = pd.DataFrame(rows, columns=["claim_id", "line", "code", "decision", "group", "carc", "rarc", "amount",
                                            "days", "next_step", "why"])
        return frame.sort_values("days", ascending=False, kind="stable").reset_index(drop=True)

    def correct(self, claim_id: str, corrected: Claim) -> Remittance:
        """Send a replacement (frequency 7) for an adjudicated claim; the old decision is reversed."""
        account = self._account(claim_id)
        if account.remit.status == "rejected":
            raise WorkError("a rejected claim was never adjudicated: fix it and submit it again as an original")
        replacement = copy.deepcopy(corrected)
        replacement.claim_id = claim_id
        replacement.frequency = "7"
        replacement.original_claim_id = account.remit.payer_claim_number
        on = self._on(account)
        # reverse everything the earlier remittance posted, then post the new decision
        for posting in [p for p in self.postings if p.claim_id == claim_id and p.kind in {"payment", "adjustment"}]:
            self._post(claim_id, posting.line, "reversal", -posting.cents, on, f"reverses {posting.kind}")
        for posting in [p for p in self.postings if p.claim_id == claim_id and p.kind == "charge"]:
            self._post(claim_id, posting.line, "reversal", -posting.cents, on, "replaced by corrected claim")
        for i, line in enumerate(replacement.lines, start=1):
            self._post(claim_id, i, "charge", line.charge_cents, on, "corrected claim")
        account.closed_lines.clear()
        remit = self.adjudicator.adjudicate(replacement, today=replacement.submitted)
        account.claim = replacement
        account.remits.append(remit)
        self._post_remit(account, remit)
        return remit

    def appeal(self, claim_id: str, line: int, reason: str, evidence: set[str] | None = None) -> Appeal:
        """Appeal one denied line. ``evidence`` names what the appeal encloses: ``records`` (the note),
        ``proof-of-timely-filing``, ``retro-authorization``. The outcome follows the payer rules above."""
        account = self._account(claim_id)
        evidence = set(evidence or ())
        remit = account.remit
        if remit.status == "rejected":
            raise WorkError("a rejected claim cannot be appealed: it was never adjudicated")
        target = next((item for item in remit.lines if item.line == line), None)
        if target is None or target.decision == "paid":
            raise WorkError(f"line {line} of {claim_id} is not denied")
        if not reason.strip():
            raise WorkError("an appeal states why the decision is wrong")
        decision = target.decision
        mai = (self.adjudicator.scrubber.rules.limit(target.code, account.claim.date_of_service) or (None, None))[1]
        if decision == "late-filing":
            won = "proof-of-timely-filing" in evidence
            why = "proof of timely filing overturns the denial" if won else "no proof the claim was filed in time"
        elif decision == "no-prior-auth":
            won = "retro-authorization" in evidence
            why = "the payer granted authorisation after the fact" if won else "no authorisation was obtained"
        elif decision == "mue-units":
            won = mai in (1, 3) and "records" in evidence
            why = ("the record documents the units; MAI 1/3 limits can be exceeded on review" if won else
                   "MAI 2 limits rest on policy or the code's definition and are not overturned" if mai == 2 else
                   "send the record that documents the units")
        elif decision == "not-medically-necessary":
            won = "records" in evidence
            why = "the record shows the service was reasonable and necessary" if won else "no record supports necessity"
        elif decision in CODING_DENIALS:
            won, why = False, "a coding error is fixed with a corrected claim, not an appeal"
        else:
            won, why = False, ADVICE.get(decision, "the denial stands")
        on = self._on(account)
        result = Appeal(claim_id, line, reason.strip(), evidence, "overturned" if won else "upheld", why, on)
        self.appeals.append(result)
        if won:
            # the payer reprocesses the line as payable at its fee
            fee = min(self.adjudicator.fee_cents(account.claim.payer, target.code) * target.units, target.charge_cents)
            paid = fee - (int(round(fee * 0.02)) if account.claim.payer == "MCR-B" else 0)
            self._post(claim_id, line, "payment", -paid, on, "paid on appeal")
            self._post(claim_id, line, "adjustment", -(target.charge_cents - paid), on, "CO-45 on appeal")
            account.closed_lines.add(line)
        return result

    def write_off(self, claim_id: str, line: int, reason: str) -> None:
        account = self._account(claim_id)
        balance = self.balance(claim_id, line)
        if balance <= 0:
            raise WorkError(f"line {line} of {claim_id} has no open balance to write off")
        self._post(claim_id, line, "write-off", -balance, self._on(account), reason)
        account.closed_lines.add(line)

    def balance(self, claim_id: str, line: int | None = None) -> int:
        """Open balance in cents (insurance and patient together), for a claim or one of its lines."""
        return sum(p.cents for p in self.postings if p.claim_id == claim_id and (line is None or p.line == line))

    def patient_balance(self, claim_id: str) -> int:
        account = self._account(claim_id)
        return sum(line.patient_cents for line in account.remit.lines if line.line not in account.closed_lines) \
            if account.remit.status != "rejected" else 0

    def ar(self) -> pd.DataFrame:
        """Accounts receivable by claim: open balance split into payer and patient, days since service,
        aging bucket (0-30, 31-60, 61-90, 91-120, 120+)."""
        rows = []
        for claim_id, account in self.accounts.items():
            total = self.balance(claim_id)
            patient = min(self.patient_balance(claim_id), total)
            days = (self._on(account) - account.claim.date_of_service).days
            rows.append({"claim_id": claim_id, "payer": account.claim.payer, "balance": total / 100,
                         "insurance": (total - patient) / 100, "patient": patient / 100, "days": days,
                         "bucket": bucket(days)})
        return pd.DataFrame(rows, columns=["claim_id", "payer", "balance", "insurance", "patient", "days", "bucket"])


BUCKETS = ("0-30", "31-60", "61-90", "91-120", "120+")


def bucket(days: int) -> str:
    for limit, name in zip((30, 60, 90, 120), BUCKETS):
        if days <= limit:
            return name
    return BUCKETS[-1]
