"""What a synthetic practice bills: visit kinds, the diagnoses that go with them, and payers.

Every code named here must exist in the lab's reference tables and every diagnosis must be a
billable ICD-10-CM code; ``generate`` checks both against the built database before it writes
anything, so a typo here stops the generator with a message instead of teaching a wrong claim.

Amounts are illustrative: in the neighbourhood of real payment levels so the arithmetic feels
real, but they are NOT CMS fee-schedule values or any payer's contract.
"""

from __future__ import annotations

from dataclasses import dataclass

# Diagnoses seen at ordinary office visits (all billable in the April 2026 ICD-10-CM release).
OFFICE_DX = ["I10", "E11.9", "E11.65", "E78.5", "E78.00", "J06.9", "J02.9", "J20.9", "M54.50",
             "M25.561", "R05.1", "R51.9", "E66.9", "F41.1", "F32.A", "K21.9", "N39.0", "R10.9",
             "J45.909", "E03.9", "D64.9", "R53.83", "G43.909", "L30.9", "H10.9", "H66.90",
             "R06.02", "I48.91", "I25.10", "N18.30", "E55.9", "R73.03", "J44.1", "R07.9"]
ED_DX = ["R07.9", "R10.9", "J18.9", "N39.0", "R51.9", "S93.401A", "S62.101A", "J45.909", "R00.2", "J20.9"]

# Diagnoses that do not support the screening or lab services below: the medical-necessity error.
UNSUPPORTED_DX = ["J06.9", "M54.50", "R51.9", "L30.9", "H10.9", "M25.561"]

# Procedure families: which diagnoses make a procedure in that subsection believable.
PROCEDURE_DX = {
    "digestive, upper GI endoscopy": ["K21.9", "K29.70", "R13.10", "K22.2", "K92.1"],
    "digestive, colonoscopy": ["K63.5", "D12.6", "K57.30", "K92.1"],
    "digestive, lower GI endoscopy": ["K63.5", "D12.6", "K57.30", "K92.1"],
    "integumentary, excision of benign lesion": ["D22.5", "L82.1", "D23.5", "L72.0"],
    "integumentary, excision of malignant lesion": ["C44.91", "C44.310"],
    "musculoskeletal, arthroscopy": ["M17.11", "M23.221", "M94.261"],
    "urinary, cystoscopy": ["R31.0", "R31.9", "N32.89", "C67.9"],
    "respiratory, bronchoscopy": ["R91.1", "J98.4"],
    "female genital, uterus (hysteroscopy)": ["N92.0", "N84.0", "N95.0"],
    "diagnostic radiology, CT": ["R10.9", "R51.9", "R07.9"],
}
# Subsections a commercial or Medicare Advantage plan pre-authorises (advanced imaging, arthroscopy).
PRIOR_AUTH_SUBSECTIONS = ("diagnostic radiology, CT", "diagnostic radiology, MRI", "musculoskeletal, arthroscopy")

OFFICE_EST = (["99212", "99213", "99214", "99215"], [0.10, 0.45, 0.38, 0.07])
OFFICE_NEW = (["99202", "99203", "99204", "99205"], [0.10, 0.45, 0.35, 0.10])
ED_VISIT = (["99282", "99283", "99284", "99285"], [0.10, 0.35, 0.35, 0.20])
# Lab work drawn at an office visit: (code, coverage rule it falls under).
OFFICE_LABS = ["80061", "83036", "84443", "82306", "82607", "80053", "85025", "81003"]
VENIPUNCTURE = "36415"
# Screening services under a national coverage rule, with a diagnosis that supports them.
SCREENING = [("77067", "Z12.31"), ("G0121", "Z12.11"), ("G0328", "Z12.11"), ("76706", "Z13.6"),
             ("G0103", "Z12.5"), ("G0439", "Z00.00"), ("82947", "Z13.1"), ("71271", "Z87.891")]
# Codes with an MUE that a tired coder over-reports: the units error.
MUE_TARGETS = ["90471", "11055", "77067"]
# Modifiers that fit no E/M code: the invalid-modifier error (26 is a professional component).
BAD_EM_MODIFIER = "26"
# Diagnosis codes that look right but are category headings (not billable): the coding error.
HEADER_DX = ["E11", "M54.5", "I48", "N18.3", "J45"]

# Illustrative prices in US cents for E/M codes, the rest come from a section/global-days rule.
EM_PRICE = {"99202": 7400, "99203": 11500, "99204": 17200, "99205": 22700, "99212": 5700,
            "99213": 9200, "99214": 13000, "99215": 18400, "99282": 3000, "99283": 5000,
            "99284": 9000, "99285": 13000}
PRICE_BANDS = {  # (section, global days) -> (low, high) cents; XXX codes by section
    ("surgery", "000"): (15000, 60000), ("surgery", "010"): (10000, 40000),
    ("surgery", "090"): (50000, 150000), ("radiology", None): (3000, 30000),
    ("pathology-laboratory", None): (500, 4000), ("medicine", None): (2000, 20000),
    ("evaluation-management", None): (5000, 20000), ("hcpcs", None): (1500, 15000),
}
CHARGE_MULTIPLIER = 2.4  # the practice's chargemaster sits well above what payers allow
INDIA_RATE_INR = {"primary": 8_000_00, "secondary": 25_000_00, "tertiary": 90_000_00}  # paise


@dataclass(frozen=True)
class Payer:
    payer_id: str
    name: str
    payer_type: str       # an id in the reference table payer_types
    country: str
    currency: str
    fee_factor: float     # allowed amount = base price x factor
    timely_filing_days: int
    deductible_cents: int
    coinsurance: float
    office_copay_cents: int
    prior_auth: bool      # pre-authorises advanced imaging and arthroscopy
    illustrative: str     # which numbers are real rules and which are made up


PAYERS = [
    Payer("MCR-B", "Medicare Part B (synthetic MAC)", "medicare-part-b", "US", "USD", 1.00, 365,
          28300, 0.20, 0, False,
          "12-month filing limit, 20% coinsurance, 2% sequestration and the 2026 Part B deductible "
          "follow Medicare rules; prices are illustrative"),
    Payer("MCR-ADV", "Sunrise Medicare Advantage (synthetic)", "medicare-advantage", "US", "USD", 1.00, 365,
          0, 0.0, 2000, True, "plan design illustrative"),
    Payer("MCD", "State Medicaid (synthetic)", "medicaid", "US", "USD", 0.70, 180, 0, 0.0, 0, True,
          "filing limit and rates vary by state; illustrative"),
    Payer("COM-PPO", "Northwind Health PPO (synthetic)", "commercial-ppo", "US", "USD", 1.45, 180,
          150000, 0.20, 3000, True, "plan design illustrative"),
    Payer("COM-HMO", "Bluefield Care HMO (synthetic)", "commercial-hmo", "US", "USD", 1.30, 90,
          50000, 0.10, 2500, True, "plan design illustrative"),
    Payer("SELF", "Self-pay", "self-pay", "US", "USD", 1.0, 0, 0, 0.0, 0, False,
          "self-pay patients get a prompt-pay discount; illustrative"),
    Payer("PMJAY", "PM-JAY State Health Agency (synthetic)", "pmjay", "IN", "INR", 1.0, 30, 0, 0.0, 0, True,
          "package rates and filing window illustrative; every package needs pre-authorisation"),
    Payer("IN-PVT", "Kaveri General Insurance via NHCX (synthetic)", "private-nhcx", "IN", "INR", 1.25, 30,
          0, 0.10, 0, True, "co-payment share and filing window illustrative"),
]

# How often each mistake or circumstance is injected; denials then come from the rules.
ERROR_RATES = {
    "ncci_modifier_missing": 0.30,   # of claims with a bundled pair, the distinct-service modifier is left off
    "mue_units_exceeded": 0.015,     # of claims, one MUE-limited line carries too many units
    "medical_necessity": 0.06,       # of lab and screening claims, the diagnosis does not support the service
    "abn_on_file": 0.35,             # of those, the patient signed an ABN (modifier GA): patient pays
    "prior_auth_missing": 0.05,      # of claims that need pre-authorisation, none was obtained
    "coverage_lapsed": 0.03,         # of patients, coverage ends during the year
    "other_primary": 0.01,           # of insured patients, another plan is primary and was not billed first
    "late_filing": 0.01,             # of claims, submitted after the payer's filing limit
    "duplicate": 0.015,              # of claims, sent a second time unchanged
    "invalid_diagnosis": 0.01,       # of claims, a heading code is reported instead of a billable code
    "invalid_modifier": 0.005,       # of office visits, modifier 26 put on the E/M line
}
