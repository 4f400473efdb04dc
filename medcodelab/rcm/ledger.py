"""The practice's books after the remits arrive: appeals, payments, write-offs and aged AR.

Accounts receivable is kept per encounter (a duplicate claim is a second request for the same
charges, not new money owed). An encounter's balance is its charges less every payment and
every write-off posted by a date. Patient responsibility (deductible, coinsurance, copay, an
ABN-backed denial, care after coverage ended) stays in AR until the patient pays or it is
written off as bad debt.

The random parts (whether a denial is appealed, how a patient pays) come from per-claim draws
made by the generator before adjudication, so outcomes are reproducible for a seed.
"""

from __future__ import annotations

import datetime as dt

import duckdb

DRAWS = ["remit_lag", "appeal", "appeal_lag", "decision_lag", "overturn", "patient_pay", "patient_lag"]
APPEAL_SHARE = 0.40  # of claims with an appealable denial, the office appeals this share
OVERTURN = {  # chance an appeal wins, by the rule that denied the line
    "invalid-diagnosis": 0.85, "invalid-modifier": 0.85, "no-prior-auth": 0.50, "ncci-bundled": 0.45,
    "mue-units": 0.35, "not-medically-necessary": 0.25,
}
WRITE_OFF_AFTER = 30       # days after a remit that an unappealed denial is written off
BAD_DEBT_AFTER = 120       # days after the patient's share is known that an unpaid share is written off
SELF_PAY_DISCOUNT = 0.30
PAYS_IN_FULL, PAYS_HALF = 0.78, 0.90  # of patients with a share to pay: in full, half, (the rest) nothing
BUCKETS = "CASE WHEN age <= 30 THEN '0-30' WHEN age <= 60 THEN '31-60' WHEN age <= 90 THEN '61-90' " \
          "WHEN age <= 120 THEN '91-120' ELSE '120+' END"


def run(conn: duckdb.DuckDBPyConnection, as_of: dt.date) -> None:
    conn.execute("CREATE TEMP TABLE _overturn (rule VARCHAR, chance DOUBLE)")
    conn.executemany("INSERT INTO _overturn VALUES (?, ?)", list(OVERTURN.items()))
    conn.execute("""
        CREATE OR REPLACE TABLE encounters AS  -- an encounter's charges are those on its first claim
        WITH first AS (SELECT encounter_id, min(claim_id) AS claim_id FROM claims GROUP BY encounter_id)
        SELECT e.*, c.payer_id, CAST(sum(l.charge_cents) / 100 AS DECIMAL(14, 2)) AS charges
        FROM encounters e JOIN first f USING (encounter_id) JOIN claims c ON c.claim_id = f.claim_id
        JOIN claim_lines l ON l.claim_id = f.claim_id
        GROUP BY ALL ORDER BY e.encounter_id""")
    _appeals(conn, as_of)
    _payments_and_adjustments(conn, as_of)
    _ar_snapshots(conn, as_of)


def _appeals(conn: duckdb.DuckDBPyConnection, as_of: dt.date) -> None:
    conn.execute("""
        CREATE TABLE appeals AS
        WITH appealable AS (
            SELECT l.claim_id, arg_min(l.rule, l.line_no) AS rule, any_value(l.remit_date) AS remit_date,
                   sum(l.charge_cents) AS charge_cents
            FROM _line_result l JOIN _overturn o USING (rule)
            GROUP BY l.claim_id),
        filed AS (
            SELECT a.*, o.chance, d.overturn,
                   CAST(a.remit_date + CAST(10 + floor(d.appeal_lag * 40) AS INTEGER) AS DATE) AS filed_date,
                   CAST(a.remit_date + CAST(40 + floor(d.appeal_lag * 40) + floor(d.decision_lag * 40) AS INTEGER) AS DATE)
                       AS decided_date
            FROM appealable a JOIN _draws d USING (claim_id) JOIN _overturn o USING (rule)
            WHERE d.appeal < ?)
        SELECT 'APL' || substr(claim_id, 4) AS appeal_id, claim_id, rule, filed_date,
               CASE WHEN decided_date <= ? THEN decided_date END AS decided_date,
               CASE WHEN decided_date > ? THEN 'pending' WHEN overturn < chance THEN 'overturned' ELSE 'upheld' END
                   AS outcome,
               CAST(charge_cents / 100 AS DECIMAL(14, 2)) AS amount_appealed
        FROM filed WHERE filed_date <= ? ORDER BY claim_id""", [APPEAL_SHARE, as_of, as_of, as_of])


def _payments_and_adjustments(conn: duckdb.DuckDBPyConnection, as_of: dt.date) -> None:
    # what each line finally brings in: paid at the remit, or on appeal; what is written off, and when
    conn.execute("""
        CREATE TEMP TABLE _outcome AS
        SELECT l.*, a.outcome, a.decided_date,
               coalesce(l.rule IS NOT NULL AND a.outcome = 'overturned' AND o.rule IS NOT NULL, false) AS recovered
        FROM _line_result l LEFT JOIN appeals a USING (claim_id) LEFT JOIN _overturn o ON o.rule = l.rule""")
    conn.execute("""
        CREATE TEMP TABLE _events AS
        -- the payer's payment on the remit
        SELECT claim_id, 'payer' AS source, remit_date AS posted, 'payment' AS kind, NULL AS group_code, NULL AS carc,
               paid_cents AS cents FROM _outcome WHERE rule IS NULL AND paid_cents > 0
        UNION ALL
        SELECT claim_id, 'payer', remit_date, 'contractual', CASE WHEN country = 'US' THEN 'CO' END,
               CASE WHEN country = 'US' THEN '45' END, charge_cents - allowed_cents
        FROM _outcome WHERE rule IS NULL AND charge_cents > allowed_cents
        UNION ALL
        SELECT claim_id, 'payer', remit_date, 'sequestration', 'CO', '253', sequestration
        FROM _outcome WHERE rule IS NULL AND sequestration > 0
        UNION ALL
        -- a denial won on appeal: paid at the allowed amount less the patient's coinsurance
        SELECT claim_id, 'payer', decided_date, 'payment', NULL, NULL,
               allowed_full - CAST(round(allowed_full * coinsurance) AS BIGINT)
        FROM _outcome WHERE recovered
        UNION ALL
        SELECT claim_id, 'payer', decided_date, 'contractual', CASE WHEN country = 'US' THEN 'CO' END,
               CASE WHEN country = 'US' THEN '45' END, charge_cents - allowed_full
        FROM _outcome WHERE recovered AND charge_cents > allowed_full
        UNION ALL
        -- a denial the practice must absorb: written off when the appeal fails, or a month after the remit
        SELECT l.claim_id, 'payer', CASE WHEN l.outcome = 'upheld' THEN l.decided_date
                                         ELSE CAST(l.remit_date + ? AS DATE) END,
               'denial-write-off', r.group_code, r.carc, l.charge_cents
        FROM _outcome l JOIN _rules r USING (rule)
        WHERE r.group_code <> 'PR' AND l.rule <> 'duplicate' AND NOT l.recovered
          AND coalesce(l.outcome, 'none') <> 'pending'
    """, [WRITE_OFF_AFTER])
    # the patient's share: from the remit (or the appeal), or the whole bill less a discount for self-pay
    conn.execute("""
        CREATE TEMP TABLE _patient_share AS
        SELECT claim_id, min(posted) AS known, sum(cents) AS cents FROM (
            SELECT claim_id, remit_date AS posted, deductible + coinsurance_cents + copay
                + CASE WHEN rule IN ('coverage-ended', 'not-medically-necessary-abn') THEN charge_cents ELSE 0 END AS cents
            FROM _outcome WHERE rule IS NULL OR rule IN ('coverage-ended', 'not-medically-necessary-abn')
            UNION ALL
            SELECT claim_id, decided_date, CAST(round(allowed_full * coinsurance) AS BIGINT) FROM _outcome WHERE recovered)
        WHERE cents > 0 GROUP BY claim_id""")
    conn.execute("""
        INSERT INTO _patient_share
        SELECT c.claim_id, c.date_of_service, sum(l.charge_cents) - CAST(round(sum(l.charge_cents) * ?) AS BIGINT)
        FROM claims c JOIN claim_lines l USING (claim_id) WHERE c.payer_id = 'SELF' GROUP BY c.claim_id, c.date_of_service""",
                 [SELF_PAY_DISCOUNT])
    conn.execute("""
        INSERT INTO _events
        SELECT c.claim_id, 'patient', c.date_of_service, 'self-pay-discount', NULL, NULL,
               CAST(round(sum(l.charge_cents) * ?) AS BIGINT)
        FROM claims c JOIN claim_lines l USING (claim_id) WHERE c.payer_id = 'SELF' GROUP BY c.claim_id, c.date_of_service""",
                 [SELF_PAY_DISCOUNT])
    conn.execute(f"""
        INSERT INTO _events
        WITH paying AS (
            SELECT s.*, CAST(s.known + CAST(15 + floor(d.patient_lag * 75) AS INTEGER) AS DATE) AS pay_date,
                   CASE WHEN d.patient_pay < {PAYS_IN_FULL} THEN s.cents WHEN d.patient_pay < {PAYS_HALF} THEN s.cents // 2 ELSE 0 END AS paid
            FROM _patient_share s JOIN _draws d USING (claim_id))
        SELECT claim_id, 'patient', pay_date, 'payment', NULL, NULL, paid FROM paying WHERE paid > 0
        UNION ALL
        SELECT claim_id, 'patient', CAST(known + ? AS DATE), 'bad-debt', NULL, NULL,
               cents - CASE WHEN pay_date <= known + ? THEN paid ELSE 0 END
        FROM paying WHERE cents - CASE WHEN pay_date <= known + ? THEN paid ELSE 0 END > 0""",
                 [BAD_DEBT_AFTER, BAD_DEBT_AFTER, BAD_DEBT_AFTER])
    conn.execute("DELETE FROM _events WHERE posted > ? OR cents <= 0", [as_of])
    conn.execute("""
        CREATE TABLE payments AS
        SELECT 'PAY' || lpad(CAST(row_number() OVER (ORDER BY e.posted, e.claim_id, e.source) AS VARCHAR), 9, '0')
                   AS payment_id,
               e.claim_id, c.encounter_id, CASE WHEN e.source = 'payer' THEN c.payer_id END AS payer_id, e.source,
               e.posted AS paid_date, CAST(sum(e.cents) / 100 AS DECIMAL(14, 2)) AS amount
        FROM _events e JOIN claims c USING (claim_id) WHERE e.kind = 'payment'
        GROUP BY e.claim_id, c.encounter_id, c.payer_id, e.source, e.posted ORDER BY payment_id""")
    conn.execute("""
        CREATE TABLE adjustments AS
        SELECT 'ADJ' || lpad(CAST(row_number() OVER (ORDER BY e.posted, e.claim_id, e.kind, e.carc) AS VARCHAR), 9, '0')
                   AS adjustment_id,
               e.claim_id, c.encounter_id, e.posted AS posted_date, e.kind, e.group_code, e.carc,
               CAST(sum(e.cents) / 100 AS DECIMAL(14, 2)) AS amount
        FROM _events e JOIN claims c USING (claim_id) WHERE e.kind <> 'payment'
        GROUP BY e.claim_id, c.encounter_id, e.posted, e.kind, e.group_code, e.carc ORDER BY adjustment_id""")


def _ar_snapshots(conn: duckdb.DuckDBPyConnection, as_of: dt.date) -> None:
    """Month-end balances by payer and age since the date of service."""
    conn.execute(f"""
        CREATE TABLE ar_snapshots AS
        WITH charges AS (
            SELECT encounter_id, payer_id, date_of_service AS dos, CAST(charges * 100 AS BIGINT) AS cents
            FROM encounters),
        credits AS (
            SELECT encounter_id, paid_date AS posted, CAST(amount * 100 AS BIGINT) AS cents FROM payments
            UNION ALL SELECT encounter_id, posted_date, CAST(amount * 100 AS BIGINT) FROM adjustments),
        months AS (
            SELECT CAST(last_day(m) AS DATE) AS snapshot_date
            FROM range(DATE '2026-01-01', CAST(? AS DATE) + INTERVAL 1 DAY, INTERVAL 1 MONTH) t(m)
            WHERE last_day(m) <= ?),
        balances AS (
            SELECT m.snapshot_date, ch.encounter_id, ch.payer_id, m.snapshot_date - ch.dos AS age,
                   ch.cents - coalesce((SELECT sum(cr.cents) FROM credits cr
                                        WHERE cr.encounter_id = ch.encounter_id AND cr.posted <= m.snapshot_date), 0)
                       AS balance
            FROM months m JOIN charges ch ON ch.dos <= m.snapshot_date)
        SELECT snapshot_date, payer_id, {BUCKETS} AS bucket, count(*) AS encounters,
               CAST(sum(balance) / 100 AS DECIMAL(16, 2)) AS balance
        FROM balances WHERE balance > 0
        GROUP BY ALL ORDER BY snapshot_date, payer_id, bucket""", [as_of, as_of])
