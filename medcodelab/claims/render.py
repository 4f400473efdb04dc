"""HTML views of a claim, its edits and its remittance (plain strings: notebooks and widgets show
them, tests read them). The claim form follows the CMS-1500 layout by item number, so a learner
meets the boxes they will meet on the job; it is a teaching view, not a printable form."""

from __future__ import annotations

from html import escape

from .adjudicate import Remittance
from .model import Claim
from .scrub import PAYERS, Edit

_CSS = ("<style>.mcl-form{border-collapse:collapse;font-size:90%;margin:.3em 0}"
        ".mcl-form td,.mcl-form th{border:1px solid #b33;padding:.2em .4em;vertical-align:top}"
        ".mcl-form th{background:#fbeaea;text-align:left;font-weight:normal;color:#722}"
        ".mcl-err{color:#a00}.mcl-warn{color:#8a5a00}.mcl-ok{color:#060}</style>")


def _money(cents: int) -> str:
    return f"{cents / 100:,.2f}"


def claim_html(claim: Claim) -> str:
    payer = PAYERS.get(claim.payer)
    letters = "ABCDEFGHIJKL"
    dx = " ".join(f"<b>{letters[i]}.</b> {escape(code)}" for i, code in enumerate(claim.diagnoses[:12]))
    rows = []
    for i, line in enumerate(claim.lines, start=1):
        pointers = "".join(letters[p - 1] if 1 <= p <= 12 else "?" for p in line.pointers)
        rows.append(
            f"<tr><td>{i}</td><td>{claim.line_date(line).strftime('%m/%d/%y')}</td>"
            f"<td>{escape(claim.place_of_service)}</td><td><b>{escape(line.code)}</b></td>"
            f"<td>{escape(' '.join(line.modifiers))}</td><td>{pointers}</td>"
            f"<td style='text-align:right'>{_money(line.charge_cents)}</td><td>{line.units}</td>"
            f"<td>{escape(claim.rendering_provider.npi if claim.rendering_provider else claim.billing_provider.npi)}"
            "</td></tr>")
    frequency = {"1": "original", "7": "replacement", "8": "void"}.get(claim.frequency, claim.frequency)
    return (
        f"{_CSS}<table class='mcl-form' aria-label='Claim form (CMS-1500 layout)'>"
        f"<tr><th colspan=9>HEALTH INSURANCE CLAIM FORM (teaching view) · claim {escape(claim.claim_id)} · "
        f"{escape(frequency)}{' of ' + escape(claim.original_claim_id) if claim.original_claim_id else ''}</th></tr>"
        f"<tr><th>1 payer</th><td colspan=3>{escape(payer.name if payer else claim.payer)}</td>"
        f"<th>1a insured's ID</th><td colspan=4>{escape(claim.subscriber.member_id)}</td></tr>"
        f"<tr><th>2 patient</th><td colspan=3>{escape(claim.patient.name)}</td><th>3 birth date / sex</th>"
        f"<td colspan=4>{claim.patient.birth_date or ''} {escape(claim.patient.sex)}</td></tr>"
        f"<tr><th>21 diagnoses (ICD ind. 0)</th><td colspan=8>{dx}</td></tr>"
        f"<tr><th>23 prior authorisation</th><td colspan=3>{escape(claim.prior_authorization or '-')}</td>"
        f"<th>22 resubmission</th><td colspan=4>{escape(claim.frequency)} {escape(claim.original_claim_id)}</td></tr>"
        "<tr><th>24</th><th>A date</th><th>B POS</th><th>D CPT/HCPCS</th><th>modifier</th><th>E pointer</th>"
        "<th>F charges</th><th>G units</th><th>J rendering NPI</th></tr>"
        + "".join(rows) +
        f"<tr><th>25 tax ID</th><td colspan=3>{escape(claim.billing_provider.tax_id)}</td><th>28 total charge</th>"
        f"<td colspan=4 style='text-align:right'><b>{_money(claim.total_cents)}</b></td></tr>"
        f"<tr><th>33 billing provider</th><td colspan=8>{escape(claim.billing_provider.name)} · NPI "
        f"{escape(claim.billing_provider.npi)}</td></tr></table>")


def edits_html(edits: list[Edit]) -> str:
    if not edits:
        return f"{_CSS}<p class='mcl-ok' role='status'>Clean: no edits. The claim is ready to send.</p>"
    rows = "".join(
        f"<tr><td class='{'mcl-err' if e.severity == 'error' else 'mcl-warn'}'>{escape(e.severity)}</td>"
        f"<td>{e.line or 'claim'}</td><td>{escape(e.rule)}</td><td>{escape(e.message)}</td><td>{escape(e.fix)}</td></tr>"
        for e in edits)
    errors = sum(1 for e in edits if e.severity == "error")
    return (f"{_CSS}<p role='status'>{errors} error(s), {len(edits) - errors} warning(s)</p>"
            "<table class='mcl-form' aria-label='Scrubber edits'><tr><th>severity</th><th>line</th><th>rule</th>"
            f"<th>what is wrong</th><th>fix</th></tr>{rows}</table>")


def remittance_html(remit: Remittance) -> str:
    if remit.status == "rejected":
        items = "".join(f"<li>{escape(e.message)} <i>Fix: {escape(e.fix)}</i></li>" for e in remit.rejected)
        return (f"{_CSS}<p class='mcl-err' role='status'><b>Rejected</b> by {escape(remit.payer_name)} before "
                f"adjudication (no payment, no 835):</p><ul>{items}</ul>")
    rows = []
    for line in remit.lines:
        cas = "; ".join(f"{a.group}-{a.carc} {_money(a.amount_cents)}".lstrip("-") for a in line.adjustments)
        why = f"<br><i>{escape(line.explanation)}</i>" if line.decision != "paid" and line.explanation else ""
        rows.append(f"<tr><td>{line.line}</td><td>{escape(line.code)} {escape(' '.join(line.modifiers))}</td>"
                    f"<td>{escape(line.decision)}{why}</td><td>{_money(line.charge_cents)}</td>"
                    f"<td>{_money(line.allowed_cents)}</td><td>{_money(line.paid_cents)}</td>"
                    f"<td>{_money(line.patient_cents)}</td><td>{escape(cas)}</td><td>{escape(', '.join(line.rarc))}</td></tr>")
    css = "mcl-ok" if remit.status == "paid" else "mcl-warn" if remit.status == "partly denied" else "mcl-err"
    return (f"{_CSS}<p role='status' class='{css}'><b>{escape(remit.status)}</b> · {escape(remit.payer_name)} · "
            f"paid {_money(remit.paid_cents)} · patient owes {_money(remit.patient_cents)}</p>"
            "<table class='mcl-form' aria-label='Remittance'><tr><th>line</th><th>code</th><th>decision</th>"
            "<th>billed</th><th>allowed</th><th>paid</th><th>patient</th><th>adjustments (group-CARC)</th>"
            f"<th>RARC</th></tr>{''.join(rows)}</table>")
