"""Claims: every scrubber rule fires on a claim that breaks it and stays quiet on one that does
not; adjudication balances like an 835; X12 output passes an independent validator (pyx12)."""

from __future__ import annotations

import copy
import datetime as dt
import json
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from medcodelab import paths
from medcodelab.claims import Adjudicator, ClaimError, Scrubber, from_dict, from_encounter, load
from medcodelab.claims import x12
from medcodelab.claims.model import chargemaster, npi_valid

ROOT = paths.PROJECT_ROOT
EXAMPLES = ROOT / "data" / "examples"


@pytest.fixture(scope="module")
def conn(built_database):
    with duckdb.connect(str(built_database), read_only=True) as connection:
        yield connection


@pytest.fixture(scope="module")
def scrubber(conn):
    return Scrubber(conn)


@pytest.fixture(scope="module")
def adjudicator(conn):
    return Adjudicator(conn)


def _base() -> dict:
    return json.loads((EXAMPLES / "01-clean-office-visit.json").read_text())


def _claim(**changes):
    data = _base()
    for key, value in changes.items():
        data[key] = value
    return from_dict(data)


def _rules(edits, severity=None):
    return {e.rule for e in edits if severity is None or e.severity == severity}


# --- reading claims -----------------------------------------------------------------------------

def test_a_malformed_claim_lists_every_problem(tmp_path):
    data = _base()
    data["lines"][0]["units"] = "two"
    data["lines"][1]["charge"] = 12.345
    data["date_of_service"] = "June 10"
    del data["payer"]
    data["colour"] = "blue"
    with pytest.raises(ClaimError) as caught:
        from_dict(data)
    text = str(caught.value)
    for needle in ("lines[1].units", "lines[2].charge", "date_of_service", "payer: missing", "colour"):
        assert needle in text, text
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ClaimError, match="not valid JSON"):
        load(bad)
    with pytest.raises(ClaimError, match="no such file"):
        load(tmp_path / "missing.json")


def test_npi_check_digit():
    assert npi_valid("1234567893") and npi_valid("0123456788")
    assert not npi_valid("1234567890") and not npi_valid("12345") and not npi_valid("abcdefghij")


def test_a_claim_survives_json_round_trip():
    claim = _claim()
    assert from_dict(json.loads(claim.to_json())) == claim


# --- the scrubber -------------------------------------------------------------------------------

def _line(code, units=1, mods=(), pointers=(1,), charge=100.0):
    return {"code": code, "units": units, "modifiers": list(mods), "pointers": list(pointers), "charge": charge}


@pytest.mark.parametrize("changes,rule,severity", [
    ({"payer": "ACME"}, "payer", "error"),
    ({"frequency": "7"}, "frequency", "error"),
    ({"original_claim_id": "X1"}, "frequency", "warning"),
    ({"billing_provider": {"npi": "1234567890", "name": "Synthetic Clinic"}}, "npi", "error"),
    ({"place_of_service": "98"}, "place-of-service-code", "error"),
    ({"submitted": "2027-06-20"}, "timely-filing", "error"),
    ({"submitted": "2027-05-25"}, "timely-filing", "warning"),
    ({"diagnoses": ["E78", "I10"]}, "diagnosis", "error"),
    ({"diagnoses": ["G63", "E11.9"]}, "diagnosis-sequence", "error"),
    ({"diagnoses": ["N40.0", "I10"]}, "sex-edit", "error"),
    ({"diagnoses": ["Z00.129", "I10"]}, "age-edit", "error"),
    ({"diagnoses": [f"I10" for _ in range(13)]}, "diagnosis", "error"),
    ({"lines": []}, "lines", "error"),
    ({"lines": [_line("99213", charge=0)]}, "charge", "error"),
    ({"lines": [_line("36415"), _line("36415")]}, "duplicate-line", "warning"),
    ({"lines": [_line("12001", units=2)]}, "mue", "error"),
    ({"lines": [_line("99292")]}, "add-on", "error"),
    ({"lines": [_line("93000"), _line("93005")]}, "ncci-ptp", "error"),
    ({"lines": [_line("99213"), _line("20610", mods=["RT"])]}, "modifier-25", "error"),
    ({"lines": [_line("99213", mods=["ZZ"])]}, "modifier", "error"),
    ({"lines": [_line("99213", mods=["25", "59", "XS", "XE", "XU"])]}, "modifier", "error"),  # five modifiers
    ({"lines": [_line("99213", pointers=[3])]}, "pointer", "error"),
    ({"lines": [_line("99396")]}, "age-edit", "error"),             # 40-64 band; the patient is 72
    ({"lines": [_line("55700")]}, "sex-edit", "error"),             # prostate biopsy for a female patient
    ({"lines": [_line("99284")]}, "place-of-service", "error"),     # an ED visit billed from the office
    ({"payer": "COM-PPO", "lines": [_line("29881", mods=["RT"])]}, "prior-auth", "error"),
    ({"diagnoses": ["R53.83"], "lines": [_line("80061")]}, "medical-necessity", "error"),
    ({"diagnoses": ["R53.83"], "lines": [_line("80061", mods=["GA"])]}, "medical-necessity", "warning"),
    ({"diagnoses": ["R53.83"], "lines": [_line("80061", mods=["GZ"])]}, "medical-necessity", "warning"),
    ({"payer": "COM-PPO", "diagnoses": ["R53.83"], "lines": [_line("80061")]}, "medical-necessity", "warning"),
    ({"payer": "COM-PPO", "lines": [_line("80061", mods=["GA"])]}, "modifier", "warning"),
    ({"patient": {"id": "SYN-500101", "name": "Mira Testwood", "birth_date": "2027-01-01", "sex": "F"}},
     "patient", "error"),                                                         # born after the visit
    ({"date_of_service": "2026-12-01", "submitted": "2026-11-01"}, "date-of-service", "error"),
    ({"lines": [{**_line("99213"), "service_date": "2026-06-11"}]}, "line-date", "warning"),
    ({"lines": [_line("99999")]}, "procedure-code", "error"),                     # no such code
    ({"lines": [_line("20610", mods=["50", "RT"])]}, "bilateral", "error"),
    ({"lines": [_line("36415", mods=["XS"])]}, "distinct-service", "error"),      # no NCCI pair needs it
])
def test_scrubber_rule_fires(changes, rule, severity, scrubber):
    edits = scrubber.scrub(_claim(**changes))
    assert rule in _rules(edits, severity), [e.as_dict() for e in edits]
    assert all(e.fix for e in edits)


@pytest.mark.parametrize("changes", [
    {},
    {"payer": "COM-PPO", "prior_authorization": "PA-1", "lines": [_line("29881", mods=["RT"])]},
    {"lines": [_line("29881", mods=["RT"]), _line("20610", mods=["LT"])]},       # the other knee
    {"lines": [_line("99213", mods=["25"]), _line("20610", mods=["RT"])]},
    {"lines": [_line("99291"), _line("99292")]},
    {"diagnoses": ["E78.5"], "lines": [_line("80061")]},
    {"lines": [_line("99397")]},                                                 # 65+ for a 72-year-old
    {"place_of_service": "23", "lines": [_line("99284")]},
    {"submitted": "2027-04-01"},                                                 # inside the year, 70 days to spare
])
def test_scrubber_quiet_on_a_correct_claim(changes, scrubber):
    assert scrubber.scrub(_claim(**changes)) == []


EXPECTED = {
    "01-clean-office-visit.json": set(),
    "02-medical-necessity.json": {"medical-necessity"},
    "03-abn-on-file.json": {"medical-necessity"},
    "04-ncci-bundled.json": {"ncci-ptp"},
    "05-mue-units.json": {"mue"},
    "06-timely-filing.json": {"timely-filing"},
    "07-invalid-diagnosis.json": {"diagnosis"},
    "08-replacement-claim.json": set(),
}


def test_example_claims_show_what_they_are_named_for(scrubber):
    assert sorted(p.name for p in EXAMPLES.glob("*.json")) == sorted(EXPECTED)
    for name, rules in EXPECTED.items():
        assert _rules(scrubber.scrub(load(EXAMPLES / name))) == rules, name


# --- adjudication -------------------------------------------------------------------------------

def _balanced(remit):
    for line in remit.lines:
        assert line.balances(), line
        assert line.patient_cents == sum(a.amount_cents for a in line.adjustments if a.group == "PR")


def test_a_clean_medicare_claim_is_priced_and_balances(adjudicator):
    claim = load(EXAMPLES / "01-clean-office-visit.json")
    remit = adjudicator.adjudicate(claim, deductible_remaining_cents=0)
    assert remit.status == "paid"
    _balanced(remit)
    for line in remit.lines:
        fee = adjudicator.fee_cents("MCR-B", line.code)
        assert line.allowed_cents == min(fee, line.charge_cents)
        coins = next(a.amount_cents for a in line.adjustments if a.carc == "2")
        assert coins == round(line.allowed_cents * 0.20)
        seq = next(a.amount_cents for a in line.adjustments if a.carc == "253")
        assert seq == round((line.allowed_cents - coins) * 0.02)
    first = adjudicator.adjudicate(claim)  # the whole Part B deductible still to meet
    assert sum(a.amount_cents for l in first.lines for a in l.adjustments if a.carc == "1") == \
        min(28300, sum(l.allowed_cents for l in first.lines))


def test_commercial_copay_and_preventive_no_cost_share(adjudicator):
    claim = _claim(payer="COM-PPO", lines=[_line("99213", charge=300.0), _line("G0439", charge=300.0)])
    remit = adjudicator.adjudicate(claim, deductible_remaining_cents=0)
    _balanced(remit)
    em, awv = remit.lines
    assert [a.carc for a in em.adjustments if a.group == "PR"] == ["3"] and em.patient_cents == 3000
    assert awv.patient_cents == 0


@pytest.mark.parametrize("example,line,decision,group,carc,rarc", [
    ("02-medical-necessity.json", 3, "not-medically-necessary", "CO", "50", ["N386"]),
    ("03-abn-on-file.json", 3, "not-medically-necessary-abn", "PR", "50", ["N386"]),
    ("04-ncci-bundled.json", 2, "ncci-bundled", "CO", "97", ["M15"]),
    ("05-mue-units.json", 2, "mue-units", "CO", "151", ["N362"]),
    ("06-timely-filing.json", 1, "late-filing", "CO", "29", []),
])
def test_denials_carry_the_rules_codes(example, line, decision, group, carc, rarc, adjudicator):
    remit = adjudicator.adjudicate(load(EXAMPLES / example))
    _balanced(remit)
    denied = remit.lines[line - 1]
    assert (denied.decision, denied.adjustments[0].group, denied.adjustments[0].carc, denied.rarc) == \
        (decision, group, carc, rarc)
    assert denied.paid_cents == 0
    others = [l for l in remit.lines if l.line != line]
    if example != "06-timely-filing.json":
        assert all(l.decision == "paid" for l in others)
        assert remit.status == "partly denied"
    else:
        assert remit.status == "denied"


def test_front_end_rejection_and_void(adjudicator):
    remit = adjudicator.adjudicate(load(EXAMPLES / "07-invalid-diagnosis.json"))
    assert remit.status == "rejected" and remit.paid_cents == 0 and {e.rule for e in remit.rejected} == {"diagnosis"}
    with pytest.raises(x12.X12Error, match="277CA"):
        x12.to_835(remit, load(EXAMPLES / "07-invalid-diagnosis.json"))
    void = _claim(frequency="8", original_claim_id="PCN-1")
    remit = adjudicator.adjudicate(void)
    assert remit.status == "denied" and all(l.decision == "voided" for l in remit.lines)


def test_multiple_procedure_and_bilateral_pricing(adjudicator):
    fee = adjudicator.fee_cents
    claim = _claim(payer="COM-PPO", diagnoses=["M17.0", "L72.0"],
                   lines=[_line("20610", mods=["50"], charge=5000.0), _line("11402", pointers=[2], charge=5000.0)])
    remit = adjudicator.adjudicate(claim, deductible_remaining_cents=0)
    _balanced(remit)
    knee, cyst = remit.lines
    bilateral = fee("COM-PPO", "20610") * 3 // 2
    single = fee("COM-PPO", "11402")
    if bilateral >= single:
        assert knee.allowed_cents == bilateral and cyst.allowed_cents == single // 2
    else:
        assert cyst.allowed_cents == single and knee.allowed_cents == bilateral // 2


# --- from the case bank -------------------------------------------------------------------------

def test_every_keyed_encounter_makes_a_claim_the_scrubber_passes(conn, scrubber):
    from medcodelab.cases import store

    charges = chargemaster(conn)
    practice, _ = store.load_all()
    checked = 0
    problems = []
    for case in practice:
        if not case.procedures or case.region != "us":
            continue
        claim = from_encounter(case, charges)
        # prior authorisation is paperwork outside the note; every other rule must pass, coverage
        # rules included (a key points each line at the diagnoses that make it necessary)
        errors = [e for e in scrubber.scrub(claim) if e.severity == "error" and e.rule != "prior-auth"]
        problems += [f"{case.case_id}: {e.rule}: {e.message}" for e in errors]
        checked += 1
    assert checked and not problems, "\n".join(problems[:30])


# --- X12 ----------------------------------------------------------------------------------------

def _x12valid(path: Path) -> str:
    exe = shutil.which("x12valid") or str(Path(sys.executable).parent / "x12valid")
    out = subprocess.run([exe, str(path)], capture_output=True, text=True, timeout=120)
    return out.stdout + out.stderr


@pytest.mark.parametrize("example", ["01-clean-office-visit.json", "04-ncci-bundled.json", "05-mue-units.json",
                                     "08-replacement-claim.json"])
def test_837p_and_835_pass_pyx12(example, adjudicator, tmp_path):
    claim = load(EXAMPLES / example)
    text = x12.to_837p(claim)
    assert text.count("LX*") == len(claim.lines) and "HI*ABK:" in text
    (tmp_path / "claim.x12").write_text(text)
    report = _x12valid(tmp_path / "claim.x12")
    assert "claim.x12: OK" in report and "ERROR Line" not in report, report
    remit = adjudicator.adjudicate(claim)
    text835 = x12.to_835(remit, claim)
    (tmp_path / "remit.x12").write_text(text835)
    report = _x12valid(tmp_path / "remit.x12")
    assert "remit.x12: OK" in report and "ERROR Line" not in report, report
    back = x12.remittance_from_835(text835)[0]
    assert back.claim_id == claim.claim_id and back.paid_cents == remit.paid_cents
    assert back.patient_cents == remit.patient_cents
    for mine, theirs in zip(remit.lines, back.lines):
        assert (theirs.code, theirs.paid_cents, theirs.charge_cents, theirs.decision) == \
            (mine.code, mine.paid_cents, mine.charge_cents, "paid" if mine.decision == "paid" else "denied")
        assert sorted((a.group, a.carc, a.amount_cents) for a in theirs.adjustments) == \
            sorted((a.group, a.carc, a.amount_cents) for a in mine.adjustments)


def test_x12_refuses_what_it_cannot_write_or_read():
    with pytest.raises(x12.X12Error, match="not a payer"):
        x12.to_837p(_claim(payer="SELF"))
    with pytest.raises(x12.X12Error, match="NHCX"):
        x12.to_837p(_claim(payer="PMJAY"))
    with pytest.raises(x12.X12Error, match="ISA"):
        x12.read_835("hello")
    with pytest.raises(x12.X12Error, match="not an 835"):
        x12.read_835(x12.to_837p(_claim()))
    cut = x12.to_837p(_claim())
    with pytest.raises(x12.X12Error, match="IEA"):
        x12.read_835(cut[: cut.index("GE*")])


def test_hostile_text_cannot_break_segments():
    claim = _claim(claim_id="CLM*~:^1", patient={"id": "SYN-1", "name": "Ava ~Evil*Name:", "birth_date": "1950-01-01",
                                                 "sex": "F"})
    text = x12.to_837p(claim)
    body = text.split("~")
    assert all(seg.strip().split("*")[0].isalnum() for seg in body if seg.strip())
    assert "NM1*IL*1*EVIL NAME*AVA" in text


# --- the command line ---------------------------------------------------------------------------

def _cli(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "medcodelab.cli", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=300, input=stdin)


def test_cli_scrub_adjudicate_and_x12(tmp_path):
    out = _cli("scrub", str(EXAMPLES / "04-ncci-bundled.json"), "--json")
    assert out.returncode == 1
    edits = json.loads(out.stdout)
    assert edits and set(edits[0]) == {"rule", "severity", "line", "message", "fix"}
    assert _cli("scrub", str(EXAMPLES / "01-clean-office-visit.json")).returncode == 0
    out = _cli("adjudicate", str(EXAMPLES / "02-medical-necessity.json"), "--json")
    remit = json.loads(out.stdout)
    assert remit["status"] == "partly denied" and remit["lines"][2]["adjustments"][0]["carc"] == "50"
    out = _cli("adjudicate", str(EXAMPLES / "01-clean-office-visit.json"), "--payer", "COM-HMO")
    assert "Bluefield" in out.stdout and "PR-3" in out.stdout
    out = _cli("x12", "837p", str(EXAMPLES / "01-clean-office-visit.json"))
    assert out.stdout.startswith("ISA*") and "SV1*HC:80061" in out.stdout
    out835 = _cli("x12", "835", str(EXAMPLES / "01-clean-office-visit.json"))
    assert out835.returncode == 0
    out = _cli("x12", "read-835", "-", "--json", stdin=out835.stdout)
    read = json.loads(out.stdout)[0]
    assert read["claim_id"] == "CLM-EX-0001" and read["payer"] and read["payer_name"]
    adjustments = [a for line in read["lines"] for a in line["adjustments"]]
    assert adjustments and all(a["reason"] for a in adjustments), adjustments  # CARC meanings from the table
    text = _cli("x12", "read-835", "-", stdin=out835.stdout).stdout
    assert f"from {read['payer_name']}" in text and adjustments[0]["reason"] in text
    bad = tmp_path / "bad.json"
    bad.write_text('{"claim_id": 1}')
    out = _cli("scrub", str(bad))
    assert out.returncode == 2 and "payer: missing" in out.stderr


def test_cli_claim_from_a_case():
    from medcodelab.api import cases

    frame = cases()
    case_id = next(cid for cid in frame["case_id"] if cid.startswith("ortho-knee-oa-injection"))
    out = _cli("claim", case_id)
    assert out.returncode == 0, out.stderr
    claim = from_dict(json.loads(out.stdout))
    assert claim.encounter == case_id and claim.lines and claim.lines[0].code == "20610"
    out = _cli("claim", "no-such-case")
    assert out.returncode == 1 and "no practice case" in out.stderr


def test_institutional_claims_need_a_type_of_bill_and_revenue_codes(scrubber):
    data = _base()
    data.update(kind="institutional", type_of_bill="0131", place_of_service="22")
    for line in data["lines"]:
        line["revenue_code"] = "0300"
    data["lines"][0]["revenue_code"] = "0510"
    assert "type-of-bill" not in _rules(scrubber.scrub(from_dict(data)))
    assert "revenue-code" not in _rules(scrubber.scrub(from_dict(data)))
    bad = copy.deepcopy(data)
    bad["type_of_bill"] = "0137"  # says replacement, the claim says original
    bad["lines"][1].pop("revenue_code")
    rules = _rules(scrubber.scrub(from_dict(bad)))
    assert {"type-of-bill", "revenue-code"} <= rules
    inpatient = copy.deepcopy(data)
    inpatient["type_of_bill"] = "0111"
    assert "admission" in _rules(scrubber.scrub(from_dict(inpatient)))
    with pytest.raises(ClaimError, match="type_of_bill"):
        data.pop("type_of_bill")
        from_dict(data)


# --- denial work ----------------------------------------------------------------------------------

def _practice(conn, today="2026-08-01"):
    from medcodelab.claims.workqueue import Practice

    return Practice(conn, today=dt.date.fromisoformat(today))


def test_a_paid_claim_leaves_only_the_patients_share(conn):
    practice = _practice(conn)
    remit = practice.submit(load(EXAMPLES / "01-clean-office-visit.json"))
    assert practice.queue().empty
    assert practice.balance("CLM-EX-0001") == remit.patient_cents == practice.patient_balance("CLM-EX-0001")
    ar = practice.ar()
    assert ar.loc[0, "insurance"] == 0 and ar.loc[0, "bucket"] == "31-60"


def test_a_bundling_denial_is_corrected_not_appealed(conn):
    from medcodelab.claims.workqueue import WorkError

    practice = _practice(conn)
    claim = load(EXAMPLES / "04-ncci-bundled.json")
    first = practice.submit(claim)
    queue = practice.queue()
    assert list(queue["decision"]) == ["ncci-bundled"] and queue.loc[0, "carc"] == "97"
    assert "corrected claim" in queue.loc[0, "next_step"]
    denied = first.lines[1].charge_cents
    assert practice.balance(claim.claim_id, 2) == denied  # open in A/R while it is worked
    assert practice.appeal(claim.claim_id, 2, "we think it is separate").outcome == "upheld"
    fixed = copy.deepcopy(claim)
    fixed.lines[1].modifiers = ("LT",)  # the note documents the other knee
    second = practice.correct(claim.claim_id, fixed)
    assert second.status == "paid" and practice.accounts[claim.claim_id].claim.frequency == "7"
    assert practice.accounts[claim.claim_id].claim.original_claim_id == first.payer_claim_number
    assert practice.queue().empty
    assert practice.balance(claim.claim_id) == second.patient_cents
    with pytest.raises(WorkError, match="corrected claim"):
        practice.submit(claim)


def test_appeals_follow_the_rules(conn):
    practice = _practice(conn)
    late = load(EXAMPLES / "06-timely-filing.json")
    practice.submit(late)
    assert practice.appeal(late.claim_id, 1, "filed on time", set()).outcome == "upheld"
    won = practice.appeal(late.claim_id, 1, "filed on time", {"proof-of-timely-filing"})
    assert won.outcome == "overturned"
    assert practice.balance(late.claim_id, 1) == 0
    mue = load(EXAMPLES / "05-mue-units.json")
    practice.submit(mue)
    assert practice.appeal(mue.claim_id, 2, "two wounds", {"records"}).outcome == "upheld"  # MAI 2 is final
    practice.write_off(mue.claim_id, 2, "units billed in error; lengths should have been summed")
    assert practice.balance(mue.claim_id, 2) == 0
    assert set(practice.queue()["claim_id"]) == {late.claim_id}  # lines 2 and 3 of the late claim still open


def test_a_rejected_claim_is_fixed_and_sent_again(conn):
    from medcodelab.claims.workqueue import WorkError

    practice = _practice(conn)
    bad = load(EXAMPLES / "07-invalid-diagnosis.json")
    assert practice.submit(bad).status == "rejected"
    assert list(practice.queue()["decision"]) == ["rejected"]
    with pytest.raises(WorkError, match="never adjudicated"):
        practice.correct(bad.claim_id, bad)
    fixed = copy.deepcopy(bad)
    fixed.diagnoses = ["E78.5", "I10"]
    assert practice.submit(fixed).status == "paid"
    assert practice.queue().empty


def test_aging_buckets():
    from medcodelab.claims.workqueue import bucket

    assert [bucket(d) for d in (0, 30, 31, 61, 91, 121)] == ["0-30", "0-30", "31-60", "61-90", "91-120", "120+"]
