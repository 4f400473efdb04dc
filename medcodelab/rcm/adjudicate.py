"""The payer's side: decide every submitted line from the rules, then price what is payable.

Rules are checked in the order a payer's system meets them: first the claim (duplicate,
eligibility, coordination of benefits, filing limit), then each line (valid diagnosis and
modifier, pre-authorisation, NCCI procedure-to-procedure pairs, MUE units, coverage rules).
The first rule a line breaks decides it. The rule tables are the lab's reference tables
(``ref.ncci_ptp``, ``ref.mue``, ``ref.coverage_*``), so the teaching tables and the dataset agree.

Codes follow common Medicare practice; payers differ in the remark codes they choose, so read
the group/CARC pairs here as a reasonable, documented convention, not the only correct one.
India's schemes do not use X12 codes: their rows carry the rule name and no CARC.
"""

from __future__ import annotations

import datetime as dt

import duckdb

from . import services

# rule -> (group code, CARC, RARC): what a US remit says when the rule decides a line
RULES = {
    "duplicate": ("OA", "18", None),
    "coverage-ended": ("PR", "27", None),
    "not-a-member": ("CO", "31", None),
    "other-payer-primary": ("OA", "22", None),
    "late-filing": ("CO", "29", None),
    "invalid-diagnosis": ("CO", "16", "M76"),
    "invalid-modifier": ("CO", "4", None),
    "no-prior-auth": ("CO", "197", None),
    "ncci-bundled": ("CO", "97", "M15"),
    "mue-units": ("CO", "151", "N362"),
    "not-medically-necessary": ("CO", "50", None),       # RARC N386 (NCD) or N115 (LCD) added per rule
    "not-medically-necessary-abn": ("PR", "50", None),  # modifier GA: the patient signed an ABN
}
PAYMENT_ADJUSTMENTS = {  # reason -> (group, CARC)
    "contractual": ("CO", "45"), "deductible": ("PR", "1"), "coinsurance": ("PR", "2"),
    "copay": ("PR", "3"), "sequestration": ("CO", "253"),
}
SEQUESTRATION = 0.02  # Medicare fee-for-service payments are cut 2% (CARC 253)
SEQUESTERED_PAYERS = ("MCR-B",)


def preventive_codes() -> list[str]:
    """Screening services with no deductible or coinsurance (Medicare and ACA plans alike)."""
    return sorted({c for c, _ in services.SCREENING} | {"G0438", "G0439", "G0402", "G0103"})


def run(conn: duckdb.DuckDBPyConnection, as_of: dt.date) -> None:
    """Create remittances, remit_adjustments, denials and the working table _line_result."""
    conn.execute("CREATE TEMP TABLE _rules (rule VARCHAR, group_code VARCHAR, carc VARCHAR, rarc VARCHAR)")
    conn.executemany("INSERT INTO _rules VALUES (?, ?, ?, ?)", [(k, *v) for k, v in RULES.items()])
    conn.execute(f"""
        CREATE TEMP TABLE _claim AS
        SELECT c.*, p.country, p.timely_filing_days, p.prior_auth AS payer_auth, p.coinsurance,
               p.deductible_cents, p.office_copay_cents,
               CAST(c.submitted_date + CAST(CASE WHEN p.country = 'IN' THEN 10 + floor(d.remit_lag * 30)
                                                 ELSE 14 + floor(d.remit_lag * 17) END AS INTEGER) AS DATE) AS remit_date
        FROM claims c JOIN payers p USING (payer_id) JOIN _draws d USING (claim_id)
        WHERE c.submitted_date IS NOT NULL AND c.payer_id <> 'SELF'""")
    conn.execute("DELETE FROM _claim WHERE remit_date > ?", [as_of])
    # claim-level rules
    conn.execute("""
        CREATE TEMP TABLE _claim_rule AS
        WITH fp AS (
            SELECT claim_id, string_agg(code || ':' || modifiers || ':' || units, ',' ORDER BY line_no) AS fingerprint
            FROM claim_lines GROUP BY claim_id),
        ranked AS (
            SELECT c.claim_id, row_number() OVER (PARTITION BY c.patient_id, c.provider_id, c.payer_id,
                   c.date_of_service, fp.fingerprint ORDER BY c.submitted_date, c.claim_id) AS nth
            FROM _claim c JOIN fp USING (claim_id)),
        cover AS (
            SELECT c.claim_id,
                   bool_or(v.payer_id = c.payer_id AND v.start_date <= c.date_of_service
                           AND (v.end_date IS NULL OR v.end_date >= c.date_of_service)) AS active,
                   bool_or(v.payer_id = c.payer_id AND v.end_date < c.date_of_service) AS ended,
                   min(v.priority) FILTER (WHERE v.payer_id = c.payer_id) AS own_priority,
                   min(v.priority) FILTER (WHERE v.payer_id <> c.payer_id AND v.start_date <= c.date_of_service
                                           AND (v.end_date IS NULL OR v.end_date >= c.date_of_service)) AS other_priority
            FROM _claim c LEFT JOIN coverage v ON v.patient_id = c.patient_id
            GROUP BY c.claim_id)
        SELECT c.claim_id,
               CASE WHEN r.nth > 1 THEN 'duplicate'
                    WHEN coalesce(v.ended, false) AND NOT coalesce(v.active, false) THEN 'coverage-ended'
                    WHEN NOT coalesce(v.active, false) THEN 'not-a-member'
                    WHEN v.other_priority IS NOT NULL AND v.other_priority < v.own_priority THEN 'other-payer-primary'
                    WHEN c.submitted_date - c.date_of_service > c.timely_filing_days THEN 'late-filing'
                    WHEN c.country = 'IN' AND c.payer_auth AND c.auth_number IS NULL THEN 'no-prior-auth'
               END AS rule
        FROM _claim c JOIN ranked r USING (claim_id) JOIN cover v USING (claim_id)""")
    # line-level rules
    conn.execute("""
        CREATE TEMP TABLE _bypass AS
        SELECT list(code ORDER BY code) AS codes FROM ref.modifiers
        WHERE json_extract(details, '$.ncci_bypass')::BOOLEAN""")
    conn.execute("""
        CREATE TEMP TABLE _line AS
        SELECT l.*, c.patient_id, c.payer_id, c.country, c.date_of_service, c.remit_date, c.auth_number, c.payer_auth,
               c.coinsurance, c.deductible_cents, c.office_copay_cents,
               json_extract_string(k.details, '$.section') AS section,
               json_extract_string(k.details, '$.subsection') AS subsection,
               string_split(l.modifiers, ' ') AS modifier_list,
               d.code AS pointed_dx
        FROM claim_lines l JOIN _claim c USING (claim_id)
        LEFT JOIN ref.catalogue k ON k.code = l.code AND k.system IN ('cpt', 'hcpcs')
        LEFT JOIN claim_diagnoses d ON d.claim_id = l.claim_id AND d.system = 'icd10cm' AND d.seq = l.dx_pointer""")
    conn.execute("""
        CREATE TEMP TABLE _necessity AS
        SELECT s.code, d.low, d.high, r.basis
        FROM ref.coverage_services s JOIN ref.coverage_rules r USING (rule_id)
        JOIN ref.coverage_diagnoses d USING (rule_id)""")
    conn.execute("""
        CREATE TEMP TABLE _line_rule AS
        WITH ncci AS (
            SELECT DISTINCT l.claim_id, l.line_no
            FROM _line l JOIN ref.ncci_ptp p ON p.column2 = l.code AND p.origin = 'lab'
            JOIN _line o ON o.claim_id = l.claim_id AND o.line_no <> l.line_no AND o.code = p.column1,
                 _bypass b
            WHERE CAST(p.effective_from AS DATE) <= l.date_of_service
              AND (p.effective_to IS NULL OR CAST(p.effective_to AS DATE) >= l.date_of_service)
              AND (p.modifier_indicator = 0
                   OR NOT (list_has_any(l.modifier_list, b.codes) OR list_has_any(o.modifier_list, b.codes)))),
        units AS (
            SELECT l.claim_id, l.line_no, m.value, m.mai,
                   sum(l.units) OVER (PARTITION BY l.claim_id, l.code) AS day_units
            FROM _line l JOIN ref.mue m ON m.code = l.code AND m.origin = 'lab'),  -- seeded data: the lab's rows
        necessity AS (
            SELECT l.claim_id, l.line_no,
                   bool_or(l.pointed_dx BETWEEN n.low AND n.high) AS supported,
                   CASE WHEN bool_or(n.basis LIKE '%LCD%') THEN 'N115'
                        WHEN bool_or(n.basis LIKE '%NCD%') THEN 'N386' END AS rarc
            FROM _line l JOIN _necessity n ON n.code = l.code
            GROUP BY l.claim_id, l.line_no)
        SELECT l.claim_id, l.line_no,
               CASE WHEN l.country = 'US' AND (e.billable IS NULL OR NOT e.billable) THEN 'invalid-diagnosis'
                    WHEN list_contains(l.modifier_list, '26') AND l.section = 'evaluation-management' THEN 'invalid-modifier'
                    WHEN l.country = 'US' AND l.payer_auth AND l.auth_number IS NULL
                         AND l.subsection IN (SELECT unnest(?)) THEN 'no-prior-auth'
                    WHEN x.line_no IS NOT NULL THEN 'ncci-bundled'
                    WHEN u.line_no IS NOT NULL AND ((u.mai = 1 AND l.units > u.value) OR (u.mai <> 1 AND u.day_units > u.value))
                         THEN 'mue-units'
                    WHEN n.line_no IS NOT NULL AND NOT n.supported
                         THEN CASE WHEN list_contains(l.modifier_list, 'GA') THEN 'not-medically-necessary-abn'
                                   ELSE 'not-medically-necessary' END
               END AS rule,
               n.rarc AS necessity_rarc
        FROM _line l
        LEFT JOIN ref.icd10cm_entries e ON e.code = l.pointed_dx
        LEFT JOIN ncci x ON x.claim_id = l.claim_id AND x.line_no = l.line_no
        LEFT JOIN units u ON u.claim_id = l.claim_id AND u.line_no = l.line_no
        LEFT JOIN necessity n ON n.claim_id = l.claim_id AND n.line_no = l.line_no""",
                 [list(services.PRIOR_AUTH_SUBSECTIONS)])
    # price what is payable: allowed, then deductible in processing order, coinsurance or copay
    conn.execute("""
        CREATE TABLE _line_result AS
        WITH decided AS (
            SELECT l.*, coalesce(cr.rule, lr.rule) AS rule, lr.necessity_rarc,
                   f.allowed_cents * l.units AS allowed_full,
                   l.code IN (SELECT unnest(?)) AS preventive,
                   l.section = 'evaluation-management' AND l.subsection LIKE 'office%' AND l.office_copay_cents > 0 AS copay_line
            FROM _line l JOIN _claim_rule cr USING (claim_id)
            JOIN _line_rule lr ON lr.claim_id = l.claim_id AND lr.line_no = l.line_no
            LEFT JOIN fee_schedule f ON f.payer_id = l.payer_id AND f.code = l.code),
        priced AS (
            SELECT *, CASE WHEN rule IS NULL THEN allowed_full ELSE 0 END AS allowed_cents,
                   rule IS NULL AND NOT preventive AND NOT copay_line AND deductible_cents > 0 AS subject
            FROM decided),
        deductible AS (
            SELECT *, CASE WHEN subject THEN least(allowed_cents, greatest(0, deductible_cents - coalesce(sum(
                          CASE WHEN subject THEN allowed_cents ELSE 0 END) OVER (
                          PARTITION BY patient_id, payer_id, year(date_of_service)
                          ORDER BY remit_date, claim_id, line_no ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)))
                          ELSE 0 END AS deductible
            FROM priced),
        shares AS (
            SELECT *, CASE WHEN copay_line AND rule IS NULL THEN least(office_copay_cents, allowed_cents) ELSE 0 END AS copay,
                   CASE WHEN rule IS NULL AND NOT preventive AND NOT copay_line
                        THEN CAST(round((allowed_cents - deductible) * coinsurance) AS BIGINT) ELSE 0 END AS coinsurance_cents
            FROM deductible)
        SELECT claim_id, line_no, patient_id, payer_id, country, code, units, charge_cents, remit_date, rule,
               CASE WHEN rule LIKE 'not-medically-necessary%' THEN necessity_rarc END AS necessity_rarc, allowed_full, allowed_cents, deductible, coinsurance_cents, copay, coinsurance,
               CASE WHEN payer_id IN (SELECT unnest(?)) THEN CAST(round((allowed_cents - deductible - coinsurance_cents - copay)
                    * ?) AS BIGINT) ELSE 0 END AS sequestration
        FROM shares""", [preventive_codes(), list(SEQUESTERED_PAYERS), SEQUESTRATION])
    conn.execute("""ALTER TABLE _line_result ADD COLUMN paid_cents BIGINT""")
    conn.execute("""UPDATE _line_result SET paid_cents = allowed_cents - deductible - coinsurance_cents - copay - sequestration""")
    _remit_tables(conn)


def _remit_tables(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute("""
        CREATE TABLE remittances AS
        SELECT 'RMT' || substr(claim_id, 4) AS remit_id, claim_id, any_value(payer_id) AS payer_id,
               any_value(remit_date) AS remit_date,
               CASE WHEN bool_and(rule IS NOT NULL) THEN 'denied' WHEN bool_or(rule IS NOT NULL) THEN 'partly denied'
                    ELSE 'paid' END AS status,
               CAST(sum(charge_cents) / 100 AS DECIMAL(14, 2)) AS charge,
               CAST(sum(paid_cents) / 100 AS DECIMAL(14, 2)) AS paid,
               CAST(sum(deductible + coinsurance_cents + copay
                        + CASE WHEN rule IN ('coverage-ended', 'not-medically-necessary-abn') THEN charge_cents ELSE 0 END)
                    / 100 AS DECIMAL(14, 2)) AS patient_responsibility
        FROM _line_result GROUP BY claim_id ORDER BY claim_id""")
    payment_rows = " UNION ALL ".join(
        f"""SELECT claim_id, line_no, country, '{reason}' AS reason, '{group}' AS group_code, '{carc}' AS carc,
                   NULL AS rarc, {amount} AS cents FROM _line_result WHERE rule IS NULL AND {amount} > 0"""
        for reason, (group, carc), amount in [
            ("contractual", PAYMENT_ADJUSTMENTS["contractual"], "charge_cents - allowed_cents"),
            ("deductible", PAYMENT_ADJUSTMENTS["deductible"], "deductible"),
            ("coinsurance", PAYMENT_ADJUSTMENTS["coinsurance"], "coinsurance_cents"),
            ("copay", PAYMENT_ADJUSTMENTS["copay"], "copay"),
            ("sequestration", PAYMENT_ADJUSTMENTS["sequestration"], "sequestration")])
    conn.execute(f"""
        CREATE TABLE remit_adjustments AS
        WITH rows AS (
            {payment_rows}
            UNION ALL
            SELECT l.claim_id, l.line_no, l.country, l.rule, r.group_code, r.carc,
                   coalesce(l.necessity_rarc, r.rarc), l.charge_cents
            FROM _line_result l JOIN _rules r USING (rule))
        SELECT claim_id, line_no, reason,
               CASE WHEN country = 'IN' THEN NULL ELSE group_code END AS group_code,
               CASE WHEN country = 'IN' THEN NULL ELSE carc END AS carc,
               CASE WHEN country = 'IN' THEN NULL ELSE rarc END AS rarc,
               CAST(cents / 100 AS DECIMAL(14, 2)) AS amount
        FROM rows ORDER BY claim_id, line_no, reason""")
    conn.execute("""
        CREATE TABLE denials AS
        SELECT l.claim_id, l.line_no, l.payer_id, l.remit_date AS denied_date, l.rule,
               CASE WHEN l.country = 'IN' THEN NULL ELSE r.group_code END AS group_code,
               CASE WHEN l.country = 'IN' THEN NULL ELSE r.carc END AS carc,
               CASE WHEN l.country = 'IN' THEN NULL ELSE coalesce(l.necessity_rarc, r.rarc) END AS rarc,
               CAST(l.charge_cents / 100 AS DECIMAL(14, 2)) AS amount
        FROM _line_result l JOIN _rules r USING (rule) ORDER BY l.claim_id, l.line_no""")
