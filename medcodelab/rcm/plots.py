"""Pictures a billing office would rather look at than read: A/R by aging bucket, denials by
payer and reason, and one claim's life from service to payment. Each function returns a
matplotlib Figure (headless-safe) and takes data, not widgets: the RCM dataset's DuckDB
connection, or a ``claims.workqueue.Practice``."""

from __future__ import annotations

import datetime as dt

import matplotlib

matplotlib.use("Agg", force=False)
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

BUCKETS = ("0-30", "31-60", "61-90", "91-120", "120+")


def ar_aging_frame(conn, currency: str = "USD") -> pd.DataFrame:
    """The latest month-end A/R by payer and aging bucket, from the generated dataset."""
    return conn.execute("""
        SELECT s.payer_id, s.bucket, sum(s.balance) AS balance
        FROM ar_snapshots s JOIN payers p USING (payer_id)
        WHERE p.currency = ? AND s.snapshot_date = (SELECT max(snapshot_date) FROM ar_snapshots)
        GROUP BY ALL ORDER BY ALL""", [currency]).df()


def ar_aging(frame: pd.DataFrame, title: str = "Accounts receivable by age since the date of service"):
    """Stacked bars: balance in each aging bucket, one colour per payer. ``frame`` has payer
    (or payer_id), bucket and balance columns (``ar_aging_frame`` or ``Practice.ar()``)."""
    payer = "payer_id" if "payer_id" in frame.columns else "payer"
    table = (frame.groupby([payer, "bucket"])["balance"].sum().unstack(payer)
             .reindex(list(BUCKETS)).fillna(0.0))
    fig, ax = plt.subplots(figsize=(7, 3.6))
    bottom = pd.Series(0.0, index=table.index)
    for column in table.columns:
        ax.bar(table.index, table[column], bottom=bottom, label=str(column))
        bottom += table[column]
    over_90 = bottom[["91-120", "120+"]].sum() / bottom.sum() if bottom.sum() else 0.0
    ax.set(title=title, xlabel="days since the date of service", ylabel="open balance")
    ax.text(0.99, 0.95, f"over 90 days: {over_90:.0%}", transform=ax.transAxes, ha="right", va="top")
    if len(table.columns) > 1:
        ax.legend(fontsize=8, frameon=False)
    fig.tight_layout()
    return fig


def denials_frame(conn) -> pd.DataFrame:
    return conn.execute("""
        SELECT payer_id, coalesce(group_code || '-' || carc, rule) AS reason, count(*) AS lines, sum(amount) AS amount
        FROM denials GROUP BY ALL ORDER BY payer_id, lines DESC""").df()


def denials_by_payer(frame: pd.DataFrame, top: int = 6):
    """Horizontal stacked bars: denied lines per payer, split by the most common reasons."""
    leaders = frame.groupby("reason")["lines"].sum().nlargest(top).index
    frame = frame.assign(reason=frame["reason"].where(frame["reason"].isin(leaders), "other"))
    table = frame.groupby(["payer_id", "reason"])["lines"].sum().unstack("reason").fillna(0)
    fig, ax = plt.subplots(figsize=(7, 0.5 + 0.45 * len(table)))
    left = pd.Series(0.0, index=table.index)
    for reason in table.columns:
        ax.barh(table.index, table[reason], left=left, label=reason)
        left += table[reason]
    ax.set(title="Denied lines by payer and reason (group-CARC)", xlabel="denied lines")
    ax.legend(fontsize=8, frameon=False, ncol=2)
    fig.tight_layout()
    return fig


def claim_timeline(practice, claim_id: str):
    """One claim's dates: service, each submission, each remittance, appeals, with the amounts."""
    account = practice.accounts[claim_id]
    events: list[tuple[dt.date, str]] = [(account.claim.date_of_service, "service")]
    for remit in account.remits:
        if remit.remit_date:
            events.append((remit.remit_date, f"{remit.status}: paid {remit.paid_cents / 100:,.2f}"))
    sent = account.claim.submitted or account.claim.date_of_service
    events.append((sent, "sent" if account.claim.frequency == "1" else "corrected claim sent"))
    for appeal in practice.appeals:
        if appeal.claim_id == claim_id:
            events.append((appeal.filed, f"appeal line {appeal.line}: {appeal.outcome}"))
    events.sort()
    fig, ax = plt.subplots(figsize=(7, 1.2 + 0.3 * len(events)))
    for i, (when, label) in enumerate(events):
        ax.plot([when], [i], "o")
        ax.annotate(f"{when.isoformat()}  {label}", (when, i), xytext=(6, -3), textcoords="offset points",
                    fontsize=8)
    ax.set_yticks([])
    ax.set(title=f"Claim {claim_id}: from service to payment")
    ax.margins(x=0.6, y=0.3)
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig
