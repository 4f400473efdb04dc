"""The revenue-cycle KPIs a billing office watches, as plain SQL over the generated dataset.

Each KPI is one query you can read and adapt in a notebook; ``kpis`` runs them all for one
currency (never add dollars to rupees). Definitions follow common HFMA-style usage, in our words:

- clean claim rate: share of adjudicated claims with no line denied on first adjudication;
- denial rate: denied lines over adjudicated lines, by payer and reason (CARC);
- days in AR: money still owed today divided by the average charges per day over the last 90 days;
- net collection rate: money collected over what could be collected (charges less contractual
  adjustments), for services at least 120 days old so collections have had time to arrive; bad
  debt and denial write-offs count against it;
- AR over 90 days: share of today's AR balance that is more than 90 days past the date of service.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

MATURE_AFTER = 120  # days: the net collection rate looks only at services this old

QUERIES = {
    "clean_claim_rate": """
        SELECT avg(CASE WHEN r.status = 'paid' THEN 1.0 ELSE 0.0 END) AS clean_claim_rate, count(*) AS claims
        FROM remittances r JOIN payers p USING (payer_id) WHERE p.currency = $currency""",
    "denial_rate": """
        WITH lines AS (
            SELECT r.payer_id, count(*) AS lines
            FROM remittances r JOIN claim_lines l USING (claim_id) JOIN payers p USING (payer_id)
            WHERE p.currency = $currency GROUP BY r.payer_id)
        SELECT d.payer_id, coalesce(d.group_code || '-' || d.carc, d.rule) AS reason, d.rule,
               count(*) AS denied_lines, sum(d.amount) AS denied_amount,
               round(count(*) / any_value(l.lines), 4) AS denial_rate
        FROM denials d JOIN lines l USING (payer_id)
        GROUP BY d.payer_id, reason, d.rule ORDER BY d.payer_id, denied_lines DESC, reason""",
    "days_in_ar": """
        WITH today AS (
            SELECT sum(s.balance) AS ar FROM ar_snapshots s JOIN payers p USING (payer_id)
            WHERE p.currency = $currency AND s.snapshot_date = (SELECT max(snapshot_date) FROM ar_snapshots)),
        recent AS (
            SELECT sum(e.charges) / 90.0 AS per_day
            FROM encounters e JOIN payers p USING (payer_id)
            WHERE p.currency = $currency AND e.date_of_service > (SELECT max(snapshot_date) FROM ar_snapshots) - 90)
        SELECT round(today.ar / recent.per_day, 1) AS days_in_ar, today.ar AS ar_balance,
               round(recent.per_day, 2) AS average_daily_charges
        FROM today, recent""",
    "net_collection_rate": """
        WITH mature AS (
            SELECT e.encounter_id, e.charges FROM encounters e JOIN payers p USING (payer_id)
            WHERE p.currency = $currency AND e.date_of_service <= $mature),
        charges AS (SELECT sum(charges) AS charges FROM mature),
        paid AS (SELECT sum(y.amount) AS payments FROM payments y JOIN mature USING (encounter_id)),
        contractual AS (
            SELECT sum(a.amount) AS contractual FROM adjustments a JOIN mature USING (encounter_id)
            WHERE a.kind IN ('contractual', 'sequestration', 'self-pay-discount'))
        SELECT round(payments / (charges - contractual), 4) AS net_collection_rate, payments, charges, contractual
        FROM charges, paid, contractual""",
    "ar_over_90": """
        SELECT round(sum(CASE WHEN s.bucket IN ('91-120', '120+') THEN s.balance ELSE 0 END) / sum(s.balance), 4)
                   AS ar_over_90_share,
               sum(CASE WHEN s.bucket IN ('91-120', '120+') THEN s.balance ELSE 0 END) AS ar_over_90,
               sum(s.balance) AS ar_balance
        FROM ar_snapshots s JOIN payers p USING (payer_id)
        WHERE p.currency = $currency AND s.snapshot_date = (SELECT max(snapshot_date) FROM ar_snapshots)""",
}


def kpi(conn: duckdb.DuckDBPyConnection, name: str, currency: str = "USD") -> pd.DataFrame:
    """One KPI as a DataFrame; ``name`` is a key of ``QUERIES``."""
    if name not in QUERIES:
        raise KeyError(f"unknown KPI '{name}': choose one of {', '.join(QUERIES)}")
    params = {"currency": currency}
    if "$mature" in QUERIES[name]:
        as_of = conn.execute("SELECT max(snapshot_date) FROM ar_snapshots").fetchone()[0]
        params["mature"] = as_of - dt.timedelta(days=MATURE_AFTER)
    return conn.execute(QUERIES[name], params).df()


def kpis(conn: duckdb.DuckDBPyConnection, currency: str = "USD") -> dict[str, pd.DataFrame]:
    """Every KPI for one currency (USD for the US payers, INR for India's)."""
    return {name: kpi(conn, name, currency) for name in QUERIES}
