"""The RCM dataset: seeded and identical, denials explained by the rules, books that balance."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import duckdb
import pandas as pd
import pytest

from medcodelab import codes, rcm
from medcodelab.cases import people
from medcodelab.rcm import adjudicate, kpi, services
from medcodelab.rcm.generate import GenerateError, TABLES

SEED = 11


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("rcm") / "rcm.duckdb"
    summary = rcm.generate(out, "small", SEED)
    conn = duckdb.connect(str(out), read_only=True)
    yield conn, summary, out
    conn.close()


def _digest(path) -> dict[str, str]:
    with duckdb.connect(str(path), read_only=True) as conn:
        digests = {}
        for table in TABLES:
            frame = conn.execute(f'SELECT * FROM "{table}" ORDER BY ALL').df()
            digests[table] = hashlib.sha256(frame.to_csv(index=False).encode()).hexdigest()
        return digests


def test_every_table_is_written(dataset):
    conn, summary, _ = dataset
    for table in TABLES:
        assert summary["tables"][table] > 0, table
    assert summary["tables"]["claim_lines"] > summary["tables"]["claims"]


def test_the_same_seed_gives_identical_tables_and_another_seed_does_not(dataset, tmp_path):
    _, _, first = dataset
    again = tmp_path / "again.duckdb"
    other = tmp_path / "other.duckdb"
    rcm.generate(again, "small", SEED)
    rcm.generate(other, "small", SEED + 1)
    assert _digest(first) == _digest(again)
    differs = {t for t, d in _digest(other).items() if d != _digest(first)[t]}
    assert {"claims", "claim_lines", "patients", "remittances"} <= differs


def test_people_are_visibly_synthetic(dataset):
    conn = dataset[0]
    patients = conn.execute("SELECT name, member_id, address FROM patients").df()
    assert patients["member_id"].str.startswith("SYN-").all()
    assert patients["name"].str.split().str[-1].isin(people.SURNAMES).all()
    assert patients["address"].str.contains("Synthetic Street").all()
    npis = conn.execute("SELECT npi FROM providers").df()["npi"]
    assert npis.str.fullmatch(r"0\d{9}").all()  # real NPIs begin with 1 or 2
    assert conn.execute("SELECT count(*) FROM claims WHERE auth_number NOT LIKE 'SYN-%'").fetchone()[0] == 0


def test_every_rule_the_generator_can_break_is_seen(dataset):
    conn = dataset[0]
    seen = {r[0] for r in conn.execute("SELECT DISTINCT rule FROM denials").fetchall()}
    expected = set(adjudicate.RULES) - {"not-a-member"}  # nobody is billed to a plan they never had
    assert expected <= seen, expected - seen


def test_us_denials_carry_real_group_and_reason_codes_india_none(dataset):
    conn = dataset[0]
    frame = conn.execute("""
        SELECT d.*, p.country, c.code AS known_carc, g.code AS known_group
        FROM denials d JOIN payers p USING (payer_id)
        LEFT JOIN carc c ON c.code = d.carc LEFT JOIN group_codes g ON g.code = d.group_code""").df()
    us, india = frame[frame["country"] == "US"], frame[frame["country"] == "IN"]
    assert len(us) and len(india)
    assert us["known_carc"].notna().all() and us["known_group"].notna().all()
    for rule, (group, carc, _) in adjudicate.RULES.items():
        rows = us[us["rule"] == rule]
        assert (rows["group_code"] == group).all() and (rows["carc"] == carc).all(), rule
    assert india["carc"].isna().all() and india["group_code"].isna().all()
    rarcs = {r[0] for r in conn.execute("SELECT code FROM rarc").fetchall()}
    assert set(us["rarc"].dropna()) <= rarcs


def _lines(conn) -> pd.DataFrame:
    """Every adjudicated line with what the rules need, recomputed here from the raw tables."""
    return conn.execute("""
        SELECT l.*, c.patient_id, c.provider_id, c.payer_id, c.date_of_service, c.submitted_date, c.auth_number,
               d.rule, dx.code AS pointed_dx, p.timely_filing_days, p.country
        FROM claim_lines l JOIN claims c USING (claim_id) JOIN remittances r USING (claim_id)
        JOIN payers p ON p.payer_id = c.payer_id
        LEFT JOIN denials d ON d.claim_id = l.claim_id AND d.line_no = l.line_no
        LEFT JOIN claim_diagnoses dx ON dx.claim_id = l.claim_id AND dx.system = 'icd10cm' AND dx.seq = l.dx_pointer
    """).df()


def _reference():
    from medcodelab import db
    return db.connect()


def test_ncci_denials_match_the_pair_table_and_paid_lines_never_break_it(dataset):
    lines = _lines(dataset[0])
    ref = _reference()
    pairs = ref.execute("SELECT column1, column2, modifier_indicator FROM ncci_ptp WHERE effective_to IS NULL").df()
    bypass = {r[0] for r in ref.execute(
        "SELECT code FROM modifiers WHERE json_extract(details, '$.ncci_bypass')::BOOLEAN").fetchall()}
    both = lines.merge(lines, on="claim_id", suffixes=("", "_other"))
    both = both[both["line_no"] != both["line_no_other"]]
    hits = both.merge(pairs, left_on=["code_other", "code"], right_on=["column1", "column2"])
    has_bypass = hits["modifiers"].isin(bypass) | hits["modifiers_other"].isin(bypass)
    breaking = hits[(hits["modifier_indicator"] == 0) | ~has_bypass]
    broken = set(zip(breaking["claim_id"], breaking["line_no"]))
    # claim-level rules come first; every other line that breaks a pair is denied for it
    decided_earlier = set(lines.loc[lines["rule"].isin(
        ["duplicate", "coverage-ended", "other-payer-primary", "late-filing", "invalid-diagnosis",
         "invalid-modifier", "no-prior-auth"]), ["claim_id", "line_no"]].itertuples(index=False, name=None))
    denied = set(lines.loc[lines["rule"] == "ncci-bundled", ["claim_id", "line_no"]].itertuples(index=False, name=None))
    assert denied and denied == broken - decided_earlier
    forgiven = hits[(hits["modifier_indicator"] == 1) & has_bypass]
    assert len(forgiven), "no line shows a justified bypass modifier"


def test_mue_denials_are_lines_over_the_limit(dataset):
    lines = _lines(dataset[0])
    limits = _reference().execute("SELECT code, value, mai FROM mue WHERE origin = 'lab'").df()
    merged = lines.merge(limits, on="code")
    merged["day_units"] = merged.groupby(["claim_id", "code"])["units"].transform("sum")
    over = merged[((merged["mai"] == 1) & (merged["units"] > merged["value"]))
                  | ((merged["mai"] != 1) & (merged["day_units"] > merged["value"]))]
    denied = lines[lines["rule"] == "mue-units"]
    assert len(denied)
    assert set(zip(denied["claim_id"], denied["line_no"])) <= set(zip(over["claim_id"], over["line_no"]))
    assert over["rule"].notna().all(), "a line over its MUE was paid"


def test_medical_necessity_denials_have_an_unsupported_diagnosis_and_abn_shifts_liability(dataset):
    lines = _lines(dataset[0])
    ref = _reference()
    ranges = ref.execute("""SELECT s.code, d.low, d.high FROM coverage_services s
                            JOIN coverage_diagnoses d USING (rule_id)""").df()
    denied = lines[lines["rule"].isin(["not-medically-necessary", "not-medically-necessary-abn"])]
    assert len(denied)
    for row in denied.itertuples():
        options = ranges[ranges["code"] == row.code]
        assert len(options), f"{row.code} has no coverage rule"
        assert not ((options["low"] <= row.pointed_dx) & (row.pointed_dx <= options["high"])).any(), row
        assert ("GA" in row.modifiers.split()) == (row.rule == "not-medically-necessary-abn")
    paid = lines[lines["rule"].isna() & lines["code"].isin(ranges["code"])]
    for row in paid.itertuples():
        options = ranges[ranges["code"] == row.code]
        assert ((options["low"] <= row.pointed_dx) & (row.pointed_dx <= options["high"])).any(), row


def test_claim_level_rules_follow_dates_and_coverage(dataset):
    conn = dataset[0]
    lines = _lines(conn)
    late = lines[lines["rule"] == "late-filing"]
    assert len(late)
    assert ((late["submitted_date"] - late["date_of_service"]).dt.days > late["timely_filing_days"]).all()
    on_time = lines[lines["rule"].isna()]
    assert ((on_time["submitted_date"] - on_time["date_of_service"]).dt.days <= on_time["timely_filing_days"]).all()
    ended = lines[lines["rule"] == "coverage-ended"].merge(
        conn.execute("SELECT patient_id, payer_id, end_date FROM coverage").df(), on=["patient_id", "payer_id"])
    assert len(ended) and (ended["end_date"] < ended["date_of_service"]).all()
    dups = lines[lines["rule"] == "duplicate"]
    first = lines[lines["rule"] != "duplicate"]
    keys = ["patient_id", "provider_id", "payer_id", "date_of_service", "code", "units"]
    assert len(dups) and len(dups.merge(first[keys].drop_duplicates(), on=keys)) == len(dups)


def test_invalid_diagnosis_denials_point_at_codes_that_are_not_billable(dataset):
    lines = _lines(dataset[0])
    denied = lines[lines["rule"] == "invalid-diagnosis"]
    assert len(denied)
    for dx in set(denied["pointed_dx"]):
        assert codes.check(dx)["status"] != "billable", dx
    for dx in set(lines.loc[lines["rule"].isna() & (lines["country"] == "US"), "pointed_dx"]):
        assert codes.check(dx)["status"] == "billable", dx


def test_each_remit_balances_line_by_line(dataset):
    conn = dataset[0]
    bad = conn.execute("""
        WITH adj AS (SELECT claim_id, sum(amount) AS adjusted FROM remit_adjustments GROUP BY claim_id)
        SELECT r.claim_id, r.charge, r.paid, adj.adjusted
        FROM remittances r JOIN adj USING (claim_id) WHERE r.charge <> r.paid + adj.adjusted""").fetchall()
    assert bad == []
    shares = conn.execute("""
        SELECT r.claim_id FROM remittances r
        LEFT JOIN (SELECT claim_id, sum(amount) AS pr FROM remit_adjustments WHERE group_code = 'PR'
                   OR (group_code IS NULL AND reason IN ('deductible', 'coinsurance', 'copay', 'coverage-ended',
                                                         'not-medically-necessary-abn')) GROUP BY claim_id) a USING (claim_id)
        WHERE r.patient_responsibility <> coalesce(a.pr, 0)""").fetchall()
    assert shares == []


def test_the_books_balance_and_no_encounter_is_overpaid(dataset):
    conn = dataset[0]
    balances = conn.execute("""
        WITH credits AS (
            SELECT encounter_id, sum(amount) AS amount FROM (
                SELECT encounter_id, amount FROM payments UNION ALL SELECT encounter_id, amount FROM adjustments)
            GROUP BY encounter_id)
        SELECT e.encounter_id, e.payer_id, e.charges - coalesce(c.amount, 0) AS balance
        FROM encounters e LEFT JOIN credits c USING (encounter_id)""").df()
    assert (balances["balance"] >= 0).all(), balances[balances["balance"] < 0].head()
    last = conn.execute("""SELECT sum(balance) FROM ar_snapshots
                           WHERE snapshot_date = (SELECT max(snapshot_date) FROM ar_snapshots)""").fetchone()[0]
    assert float(last) == pytest.approx(float(balances.loc[balances["balance"] > 0, "balance"].sum()), abs=0.005)
    as_of = conn.execute("SELECT value FROM generation_info WHERE key = 'as_of'").fetchone()[0]
    for table, column in (("payments", "paid_date"), ("adjustments", "posted_date"), ("remittances", "remit_date")):
        assert conn.execute(f"SELECT count(*) FROM {table} WHERE {column} > CAST(? AS DATE)", [as_of]).fetchone()[0] == 0


def test_patient_cost_share_follows_the_plan(dataset):
    conn = dataset[0]
    rows = conn.execute("""
        SELECT c.payer_id, a.reason, sum(a.amount) AS amount
        FROM remit_adjustments a JOIN claims c USING (claim_id)
        WHERE a.reason IN ('deductible', 'coinsurance', 'copay', 'sequestration') GROUP BY ALL""").df()
    plan = {p.payer_id: p for p in services.PAYERS}
    for row in rows.itertuples():
        p = plan[row.payer_id]
        if row.reason == "deductible":
            assert p.deductible_cents > 0
        if row.reason == "copay":
            assert p.office_copay_cents > 0
        if row.reason == "sequestration":
            assert row.payer_id in adjudicate.SEQUESTERED_PAYERS
    # no patient pays more deductible in the year than the plan's deductible
    over = conn.execute("""
        SELECT c.patient_id, c.payer_id, sum(a.amount) AS met, any_value(p.deductible_cents) / 100 AS deductible
        FROM remit_adjustments a JOIN claims c USING (claim_id) JOIN payers p ON p.payer_id = c.payer_id
        WHERE a.reason = 'deductible' GROUP BY ALL HAVING sum(a.amount) > any_value(p.deductible_cents) / 100""").fetchall()
    assert over == []
    preventive = conn.execute("""
        SELECT count(*) FROM remit_adjustments a JOIN claim_lines l USING (claim_id, line_no)
        WHERE a.reason IN ('deductible', 'coinsurance') AND l.code IN (SELECT unnest(?))""",
                              [adjudicate.preventive_codes()]).fetchone()[0]
    assert preventive == 0


def test_appeals_only_for_appealable_denials_with_sane_dates(dataset):
    conn = dataset[0]
    appeals = conn.execute("""SELECT a.*, r.remit_date FROM appeals a JOIN remittances r USING (claim_id)""").df()
    assert len(appeals) and set(appeals["outcome"]) <= {"overturned", "upheld", "pending"}
    assert (appeals["filed_date"] > appeals["remit_date"]).all()
    decided = appeals[appeals["outcome"] != "pending"]
    assert (decided["decided_date"] > decided["filed_date"]).all()
    assert appeals.loc[appeals["outcome"] == "pending", "decided_date"].isna().all()
    assert set(appeals["rule"]) <= set(rcm.ledger.OVERTURN)


def test_kpis_are_sensible_for_each_currency(dataset):
    conn = dataset[0]
    for currency in ("USD", "INR"):
        values = kpi.kpis(conn, currency)
        clean = values["clean_claim_rate"].iloc[0]["clean_claim_rate"]
        assert 0.5 < clean < 1.0
        assert 0 < values["net_collection_rate"].iloc[0]["net_collection_rate"] <= 1.0
        assert 0 <= values["ar_over_90"].iloc[0]["ar_over_90_share"] < 1.0
        assert values["days_in_ar"].iloc[0]["days_in_ar"] > 0
    rates = kpi.kpi(conn, "denial_rate")
    assert set(rates.columns) >= {"payer_id", "reason", "denied_lines", "denial_rate"}
    assert (rates["denial_rate"] > 0).all() and "PMJAY" not in set(rates["payer_id"])
    with pytest.raises(KeyError, match="unknown KPI"):
        kpi.kpi(conn, "first_pass_yield")


def test_bad_requests_get_clear_messages_and_leave_nothing_behind(tmp_path, monkeypatch):
    with pytest.raises(GenerateError, match="unknown scale"):
        rcm.generate(tmp_path / "x.duckdb", "huge", 1)
    with pytest.raises(GenerateError, match="seed must be"):
        rcm.generate(tmp_path / "x.duckdb", "small", -4)
    with pytest.raises(GenerateError, match="not built"):
        rcm.generate(tmp_path / "x.duckdb", "small", 1, reference=tmp_path / "missing.duckdb")
    monkeypatch.setattr(services, "OFFICE_LABS", services.OFFICE_LABS + ["99999"])
    monkeypatch.setattr(services, "OFFICE_DX", services.OFFICE_DX + ["E11"])
    with pytest.raises(GenerateError) as caught:
        rcm.generate(tmp_path / "x.duckdb", "small", 1)
    assert "99999" in str(caught.value) and "E11, which is not a billable" in str(caught.value)
    assert list(tmp_path.iterdir()) == []


def test_cli_generate_rcm(tmp_path):
    out = tmp_path / "cli.duckdb"
    done = subprocess.run([sys.executable, "-m", "medcodelab.cli", "generate-rcm", "--scale", "small", "--seed", "5",
                           "--out", str(out), "--json"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["seed"] == 5 and summary["tables"]["claims"] > 3000 and out.exists()
    bad = subprocess.run([sys.executable, "-m", "medcodelab.cli", "generate-rcm", "--scale", "small",
                          "--out", "/proc/medcodelab-cannot-write.duckdb"],
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "cannot write" in bad.stderr
    wrong = subprocess.run([sys.executable, "-m", "medcodelab.cli", "generate-rcm", "--scale", "huge"],
                           capture_output=True, text=True, timeout=60)
    assert wrong.returncode == 2 and "invalid choice" in wrong.stderr


def test_plots_draw_from_the_dataset_and_a_practice(dataset, built_database):
    import datetime as dt

    import matplotlib

    from medcodelab import paths
    from medcodelab.claims import load
    from medcodelab.claims.workqueue import Practice
    from medcodelab.rcm import plots

    conn = dataset[0]
    aging = plots.ar_aging_frame(conn)
    assert set(aging["bucket"]) <= set(plots.BUCKETS) and aging["balance"].sum() > 0
    fig = plots.ar_aging(aging)
    bars = list(fig.axes[0].patches)
    assert len(bars) == len(plots.BUCKETS) * aging["payer_id"].nunique()
    assert abs(sum(b.get_height() for b in bars) - float(aging["balance"].sum())) < 0.01
    denials = plots.denials_frame(conn)
    fig = plots.denials_by_payer(denials)
    assert abs(sum(b.get_width() for b in fig.axes[0].patches) - denials["lines"].sum()) < 0.01
    with duckdb.connect(str(built_database), read_only=True) as ref:
        practice = Practice(ref, today=dt.date(2026, 8, 1))
        claim = load(paths.PROJECT_ROOT / "data" / "examples" / "04-ncci-bundled.json")
        practice.submit(claim)
        practice.appeal(claim.claim_id, 2, "separate knee?")
        fig = plots.claim_timeline(practice, claim.claim_id)
        labels = [t.get_text() for t in fig.axes[0].texts]
        assert any("service" in t for t in labels) and any("appeal line 2: upheld" in t for t in labels)
        assert isinstance(plots.ar_aging(practice.ar()), matplotlib.figure.Figure)


def test_the_practice_dataset_is_its_own_file_checked_by_its_seed(tmp_path, monkeypatch):
    import duckdb

    from medcodelab import paths as lab_paths
    from medcodelab import rcm

    monkeypatch.setenv("MEDCODELAB_DB", str(lab_paths.db_path()))
    monkeypatch.setenv("MEDCODELAB_DATA_DIR", str(tmp_path))
    path = rcm.practice_dataset()
    assert path.name == "rcm-practice-small-seed0.duckdb" and path.parent == tmp_path / "build"
    rcm.generate(path, "small", seed=7)  # someone writes another seed over it
    again = rcm.practice_dataset()
    with duckdb.connect(str(again), read_only=True) as conn:
        assert dict(conn.execute("SELECT key, value FROM generation_info").fetchall())["seed"] == "0"
