"""The claim scrubber: every edit a clearinghouse or payer front end would raise, with the fix.

An edit is ``{"rule", "severity", "line", "message", "fix"}``. ``error`` means the claim (or
line) will be rejected or denied as it stands; ``warning`` means a person should look before it
goes out (an ABN situation, a filing limit close at hand). The line rules are the same code the
case-bank validator uses (``medcodelab.cases.procedures.check_lines``), so a key that passes
the validator scrubs clean, and the adjudicator decides lines by the same tables.

Rules paraphrase public definitions: ICD-10-CM Official Guidelines (billable codes, sex and
age edits, manifestation codes never first); CMS NCCI PTP and MUE programs; CPT add-on and
modifier conventions; NCD/LCD-style coverage rules and the Medicare ABN (form CMS-R-131) with
modifiers GA/GZ; payer prior authorisation and timely-filing limits; CMS-1500 limits (12
diagnoses, 4 modifiers, 4 pointers per line); the X12 claim frequency code.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

import duckdb

from ..cases.procedures import ProcedureRules, check_lines
from ..cases.validate import age_edit, sex_of
from ..codes.icd10cm import Icd10cm
from ..rcm import services
from .model import MAX_DIAGNOSES, Claim, npi_valid

ERROR, WARNING = "error", "warning"
PAYERS = {p.payer_id: p for p in services.PAYERS}
MEDICARE = {"MCR-B"}
FILING_WARNING_DAYS = 30
# E/M families and the places of service they belong to (CMS POS code set; CPT E/M guidelines)
EM_POS = (
    (("99281", "99282", "99283", "99284", "99285"), {"23"}, "emergency department visits are billed with POS 23"),
    (("99221", "99222", "99223", "99231", "99232", "99233", "99238", "99239"), {"21", "22", "19"},
     "hospital inpatient/observation visits are billed with the hospital POS (21 inpatient, 22/19 outpatient "
     "for observation)"),
    (("99202", "99203", "99204", "99205", "99211", "99212", "99213", "99214", "99215"),
     {"11", "02", "10", "19", "22", "20", "49", "50", "71", "72", "12"},
     "office/outpatient visit codes are not billed for a patient in the ED (23) or admitted (21)"),
)
FIXES = {
    "procedure-code": "Use a code valid on the date of service (look it up in the code book or with "
                      "medcodelab search --system cpt).",
    "canonical-form": "Write the code exactly as printed.",
    "modifier": "Remove the modifier, or use one that applies to this code.",
    "bilateral": "Report 50 alone with 1 unit, or report the two sides on two lines with LT and RT, as the "
                 "payer prefers; never both.",
    "pointer": "Point the line at the diagnosis (1-12) that supports it; at most four pointers.",
    "units": "Report at least one unit.",
    "age-edit": "Use the code for the patient's age band on the date of service.",
    "sex-edit": "Check the patient's recorded sex and the procedure code; if both are right (e.g. a "
                "transgender patient), follow the payer's instructions for the condition code or modifier KX.",
    "mue": "A per-line limit (MAI 1): report no more units on one line than the MUE allows; if more were "
           "truly given and documented, report them on separate lines with an appropriate modifier per "
           "payer policy, or appeal with the record.",
    "add-on": "Report the primary procedure on the same claim, or remove the add-on.",
    "ncci-ptp": "Remove the column-2 code, or, if the note documents a separate site, session or encounter "
                "(indicator 1 only), append XS/XE/XP/XU or 59 to the column-2 code.",
    "distinct-service": "Remove 59/X modifiers where no NCCI pair needs them.",
    "modifier-25": "Append 25 to the E/M when the note shows separately identifiable evaluation work, "
                   "otherwise drop the E/M; 25 never goes on a procedure.",
}


@dataclass(frozen=True)
class Edit:
    rule: str
    severity: str
    line: int | None
    message: str
    fix: str

    def as_dict(self) -> dict:
        return asdict(self)


class Scrubber:
    """Holds the reference tables; scrub many claims with one instance."""

    def __init__(self, conn: duckdb.DuckDBPyConnection) -> None:
        self.conn = conn
        self.icd = Icd10cm(conn)
        self.rules = ProcedureRules(conn)
        self.coverage: dict[str, list[tuple[str, str, str, str, str]]] = {}
        for code, rule_id, name, low, high, basis in conn.execute(
                "SELECT s.code, r.rule_id, r.name, d.low, d.high, r.basis FROM coverage_services s "
                "JOIN coverage_rules r USING (rule_id) JOIN coverage_diagnoses d USING (rule_id)").fetchall():
            self.coverage.setdefault(code, []).append((rule_id, name, low, high, basis))
        self.pos = {r[0] for r in conn.execute("SELECT code FROM place_of_service").fetchall()}

    def scrub(self, claim: Claim, today: dt.date | None = None) -> list[Edit]:
        edits: list[Edit] = []

        def add(rule, severity, line, message, fix):
            edits.append(Edit(rule, severity, line, message, fix))

        payer = PAYERS.get(claim.payer)
        if payer is None:
            add("payer", ERROR, None, f"unknown payer {claim.payer!r}",
                f"Use one of the lab's payers: {', '.join(sorted(PAYERS))}.")
        if claim.frequency in {"7", "8"} and not claim.original_claim_id:
            add("frequency", ERROR, None, f"frequency code {claim.frequency} replaces or voids a claim, but no "
                                          "original_claim_id is given",
                "Give the payer's claim control number of the claim being replaced or voided.")
        if claim.frequency == "1" and claim.original_claim_id:
            add("frequency", WARNING, None, "an original claim (frequency 1) names an original_claim_id",
                "Use frequency 7 to replace that claim, or remove original_claim_id.")
        for who, provider in (("billing", claim.billing_provider), ("rendering", claim.rendering_provider)):
            if provider is not None and not npi_valid(provider.npi):
                add("npi", ERROR, None, f"the {who} provider's NPI {provider.npi!r} is not a valid NPI (ten digits "
                                        "with a correct check digit)", "Copy the provider's NPI from NPPES.")
        if claim.kind == "professional" and claim.place_of_service not in self.pos:
            add("place-of-service-code", ERROR, None, f"place of service {claim.place_of_service!r} is not a CMS POS code",
                "Use the two-digit POS code of where the patient was (11 office, 23 ED, 21 inpatient...).")
        if claim.patient.birth_date and claim.patient.birth_date > claim.date_of_service:
            add("patient", ERROR, None, "the patient's birth date is after the date of service",
                "Correct the birth date or the date of service.")
        today = today or claim.submitted or dt.date.today()
        if claim.date_of_service > today:
            add("date-of-service", ERROR, None, "the date of service is in the future", "Bill after the service.")
        if payer is not None and payer.timely_filing_days:
            filed = claim.submitted or today
            age = (filed - claim.date_of_service).days
            if age > payer.timely_filing_days:
                add("timely-filing", ERROR, None,
                    f"filed {age} days after the date of service; {payer.name} allows {payer.timely_filing_days}",
                    "Too late to bill the payer unless you hold proof of timely filing (a clearinghouse acceptance "
                    "report) or the delay is one the payer excuses; the balance is written off, not billed to "
                    "the patient.")
            elif age > payer.timely_filing_days - FILING_WARNING_DAYS:
                add("timely-filing", WARNING, None,
                    f"{payer.timely_filing_days - age} day(s) left of {payer.name}'s filing limit",
                    "Send the claim now.")

        age_years = _age(claim)
        if claim.kind == "institutional":
            edits += self._institutional(claim)
        edits += self._diagnoses(claim, age_years)
        n_dx = len(claim.diagnoses)
        if not claim.lines:
            add("lines", ERROR, None, "the claim has no service lines", "Add the services performed.")
        for i, line in enumerate(claim.lines, start=1):
            if line.charge_cents <= 0:
                add("charge", ERROR, i, f"line {i} ({line.code}) has no charge", "Enter the practice's charge.")
            if line.service_date and line.service_date != claim.date_of_service and claim.kind == "professional":
                add("line-date", WARNING, i, f"line {i} is dated {line.service_date}, not the claim's date of "
                                             f"service", "Bill each date of service on its own line or claim.")
        seen: dict[tuple, int] = {}
        for i, line in enumerate(claim.lines, start=1):
            key = (line.code, line.modifiers)
            if key in seen:
                add("duplicate-line", WARNING, i, f"line {i} repeats line {seen[key]} ({line.code})",
                    "Report one line with the total units, or add the modifier that shows why they differ "
                    "(76/77 repeat, XS/59 separate site).")
            seen.setdefault(key, i)
        for issue in check_lines(claim.lines, n_dx, claim.date_of_service, age_years, self.rules,
                                 claim.patient.sex):
            fix = FIXES.get(issue.rule, "Correct the line.")
            if issue.rule == "mue" and "MAI 1" not in issue.message:
                fix = ("This MUE is a per-day limit set by policy or by the code's definition (MAI 2/3): units "
                       "beyond it are not paid, even on appeal for MAI 2. Recheck the coding: e.g. repair "
                       "lengths of the same type and site group are added into one code, not billed as units.")
            add(issue.rule, ERROR, issue.line, issue.message, fix)
        for i, line in enumerate(claim.lines, start=1):
            edits += self._line_payer_rules(claim, i, line, payer)
        return edits

    def _institutional(self, claim: Claim) -> list[Edit]:
        """UB-04 basics: a type of bill whose last digit is the frequency, revenue codes on every line,
        admission and discharge dates on inpatient bills (NUBC UB-04 data specifications, paraphrased)."""
        edits = []
        tob = claim.type_of_bill
        if not (len(tob) == 4 and tob.isdigit() and tob[0] == "0"):
            edits.append(Edit("type-of-bill", ERROR, None, f"type of bill {tob!r} is not four digits (e.g. 0111 "
                                                           "hospital inpatient, 0131 hospital outpatient)",
                              "Enter the facility type, bill classification and frequency (0 + 3 digits)."))
        else:
            if tob[3] != claim.frequency:
                edits.append(Edit("type-of-bill", ERROR, None, f"the type of bill ends in {tob[3]} but the claim "
                                                               f"frequency is {claim.frequency}",
                                  "The last digit of the type of bill is the frequency code: make them agree."))
            if tob[1:3] in {"11", "12"} and not (claim.admission_date and claim.discharge_date):
                edits.append(Edit("admission", ERROR, None, "an inpatient bill needs admission and discharge dates",
                                  "Enter both dates."))
        for i, line in enumerate(claim.lines, start=1):
            if not (len(line.revenue_code) == 4 and line.revenue_code.isdigit()):
                edits.append(Edit("revenue-code", ERROR, i, f"line {i} has no four-digit revenue code",
                                  "Give each line the revenue code of the department (e.g. 0450 emergency room, "
                                  "0300 laboratory, 0320 radiology)."))
        return edits

    def _diagnoses(self, claim: Claim, age_years: int | None) -> list[Edit]:
        edits = []
        limit = MAX_DIAGNOSES[claim.kind]
        if not claim.diagnoses:
            edits.append(Edit("diagnosis", ERROR, None, "no diagnosis on the claim",
                              "Report the diagnosis that supports each service."))
        if len(claim.diagnoses) > limit:
            edits.append(Edit("diagnosis", ERROR, None, f"{len(claim.diagnoses)} diagnoses; a {claim.kind} claim "
                                                         f"holds {limit}",
                              "Keep the diagnoses the lines point to, first-listed first."))
        window = self.icd.outside_window(claim.date_of_service)
        for n, code in enumerate(claim.diagnoses, start=1):
            result = self.icd.check(code)
            if result["status"] != "billable":
                edits.append(Edit("diagnosis", ERROR, None, f"diagnosis {n} ({code}): {result['message']}",
                                  "Report a billable code: the full code to its last character."))
                continue
            if result["code"] != code:
                edits.append(Edit("diagnosis", WARNING, None, f"diagnosis {n} written {code!r}; the code is "
                                                                f"{result['code']}", "Write the code as printed."))
            entry = self.icd.entry(result["code"])
            if n == 1 and entry is not None and "in diseases classified elsewhere" in entry.description.lower():
                edits.append(Edit("diagnosis-sequence", ERROR, None, f"{entry.code} is a manifestation code and "
                                                                     "cannot be first-listed",
                                  "List the underlying condition first."))
            sex = sex_of(self.icd, entry) if entry is not None else None
            if sex and claim.patient.sex in {"F", "M"} and sex != claim.patient.sex:
                edits.append(Edit("sex-edit", ERROR, None, f"{entry.code} is for {'female' if sex == 'F' else 'male'} "
                                                           "patients only", "Check the patient's sex and the code."))
            if age_years is not None and entry is not None:
                message = age_edit(entry.code, age_years)
                if message:
                    edits.append(Edit("age-edit", ERROR, None, message, "Use the code for the patient's age."))
        if window:
            edits.append(Edit("diagnosis", WARNING, None, window, "Check the code set release for that date."))
        return edits

    def _line_payer_rules(self, claim: Claim, i: int, line, payer) -> list[Edit]:
        edits = []
        details = self.rules.details(line.code)
        for codes, places, message in EM_POS:
            if line.code in codes and claim.kind == "professional" and claim.place_of_service not in places:
                edits.append(Edit("place-of-service", ERROR, i, f"{line.code} with POS {claim.place_of_service}: "
                                                                f"{message}",
                                  "Match the E/M family to where the patient was."))
        if payer is None:
            return edits
        if payer.prior_auth and payer.country == "US" and not claim.prior_authorization \
                and details.get("subsection") in services.PRIOR_AUTH_SUBSECTIONS:
            edits.append(Edit("prior-auth", ERROR, i, f"{payer.name} pre-authorises {details.get('subsection')} "
                                                      f"services; no authorisation number is on the claim",
                              "Obtain the authorisation before the service and enter its number; without it the "
                              "line is denied (CARC 197) and usually cannot be billed to the patient."))
        rules = self.coverage.get(line.code)
        if rules and payer.country == "US":
            pointed = [claim.diagnoses[p - 1] for p in line.pointers if 1 <= p <= len(claim.diagnoses)]
            supported = any(low <= dx <= high for dx in pointed for _, _, low, high, _ in rules)
            if not supported:
                name = rules[0][1]
                if claim.payer in MEDICARE:
                    if "GA" in line.modifiers:
                        edits.append(Edit("medical-necessity", WARNING, i, f"{line.code} ({name}): the pointed "
                                                                             "diagnoses do not meet the coverage rule; "
                                                                             "GA says an ABN is on file",
                                          "Expect a denial with the patient liable (PR-50); keep the signed ABN."))
                    elif "GZ" in line.modifiers:
                        edits.append(Edit("medical-necessity", WARNING, i, f"{line.code} ({name}): not covered for "
                                                                             "these diagnoses and GZ says no ABN",
                                          "Expect a denial the practice writes off (CO-50); the patient cannot "
                                          "be billed."))
                    else:
                        edits.append(Edit("medical-necessity", ERROR, i,
                                          f"{line.code} ({name}): no pointed diagnosis meets the coverage rule "
                                          f"({rules[0][4]})",
                                          "Point to the documented diagnosis that supports it if there is one; "
                                          "otherwise Medicare denies it (CO-50). If an ABN was signed before the "
                                          "service, append GA; if not, GZ."))
                else:
                    edits.append(Edit("medical-necessity", WARNING, i,
                                      f"{line.code} ({name}): the pointed diagnoses do not meet the lab's coverage "
                                      "rule, which this payer may apply", "Check the payer's policy."))
        for mod in ("GA", "GZ"):
            if mod in line.modifiers and claim.payer not in MEDICARE:
                edits.append(Edit("modifier", WARNING, i, f"{mod} reports a Medicare ABN; {payer.name} is not "
                                                          "Medicare", "Use the payer's own waiver process."))
        return edits


def _age(claim: Claim) -> int | None:
    born = claim.patient.birth_date
    if born is None:
        return None
    when = claim.date_of_service
    return when.year - born.year - ((when.month, when.day) < (born.month, born.day))


def scrub(claim: Claim, conn: duckdb.DuckDBPyConnection | None = None, today: dt.date | None = None) -> list[Edit]:
    """Every edit on ``claim`` (errors first, then warnings, in line order)."""
    if conn is None:
        from .. import db

        conn = db.cursor()
    edits = Scrubber(conn).scrub(claim, today)
    return sorted(edits, key=lambda e: (e.severity != ERROR, e.line or 0))
