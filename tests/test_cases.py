"""The case bank: every real key passes the validator, and the validator catches bad keys."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from medcodelab import paths
from medcodelab.cases import model, store
from medcodelab.cases.validate import validate


@pytest.fixture(scope="module")
def bank():
    return store.load_all()


def test_every_key_in_the_bank_is_valid(bank, code_set):
    practice, assessment = bank
    problems = store.validate_all(practice + assessment, code_set)
    assert not problems, "\n".join(map(str, problems))


@pytest.mark.skipif(paths.practice_cases_dir() != paths.PROJECT_ROOT / "data" / "cases",
                    reason="the bank's size is checked on the real case folders")
def test_the_bank_is_big_and_varied_enough(bank):
    practice, assessment = bank
    everything = practice + assessment
    assert len(everything) >= 40 and len(assessment) >= 10
    settings = {c.setting for c in everything}
    assert {"office", "ed", "inpatient", "telehealth", "outpatient-hospital"} <= settings
    for case in everything:
        assert len(case.note) > 200, f"{case.case_id}: the note is too thin to code from"
        assert paths.PROJECT_ROOT / ("data/cases" if case.use == "practice" else "autograder/cases") \
            in case.source.parents, case.source
        if not case.template:
            assert case.source.stem == case.case_id
    # the bar: >= 150 templates across >= 12 specialties giving >= 1,500 distinct variants
    variants = [c for c in everything if c.template]
    templates = {c.template for c in variants}
    assert len(templates) >= 150, len(templates)
    assert len(variants) >= 1500, len(variants)
    assert len({(c.note, repr(c.diagnoses), repr(c.procedures)) for c in variants}) == len(variants)
    required = {"primary-care", "cardiology", "endocrinology", "pulmonology", "orthopaedics", "obstetrics",
                "paediatrics", "emergency", "general-surgery", "radiology", "oncology", "behavioural-health",
                "inpatient-medicine"}
    assert required <= {c.specialty for c in variants}
    assert {1, 2, 3} <= {c.difficulty for c in variants}
    for case in variants:
        assert case.topics and case.tags.get("guideline") and case.tags.get("cpc_domain"), case.case_id
    assert sum(1 for c in variants if c.procedures) >= 500
    assert sum(1 for c in variants if any(line.mdm for line in c.procedures)) >= 200
    assert sum(1 for c in variants if c.region == "india") >= 50


def test_patients_are_synthetic_and_stable(bank):
    practice, assessment = bank
    for case in practice + assessment:
        patient = case.patient
        assert patient.mrn.startswith("SYN-")
        assert patient == case.patient  # seeded: the same every time
        age = (case.date_of_service - patient.birth_date).days // 365.25
        assert abs(age - case.age) <= 1


def test_practice_keys_ship_assessment_keys_do_not(bank, built_database):
    practice, assessment = bank
    with duckdb.connect(str(built_database), read_only=True) as conn:
        stored = {r[0] for r in conn.execute("SELECT case_id FROM cases").fetchall()}
        keyed = {r[0] for r in conn.execute("SELECT DISTINCT case_id FROM case_diagnoses").fetchall()}
    assert stored == keyed == {c.case_id for c in practice}
    assert not stored & {c.case_id for c in assessment}


def _case(codes, sex="F", age=50, dos=dt.date(2026, 5, 1), setting="office", acknowledged=()):
    return model.Encounter(
        case_id="t-1", title="t", use="practice", setting=setting, date_of_service=dos, sex=sex, age=age,
        payer="x", difficulty=1, topics=[], note="note",
        diagnoses=[model.KeyCode(c, "because") for c in codes], acknowledged=list(acknowledged))


def _rules(problems):
    return {p.rule for p in problems}


def _ack(code, note, source):
    return model.Acknowledged(code, note, source, "documented reason")


TOBACCO = [_ack("I10", "use_additional", "I10-I1A")]


@pytest.mark.parametrize("codes,acks,rule", [
    (["E11"], (), "billable"),  # a heading
    (["S52.521"], (), "billable"),  # missing 7th character
    (["e11.9"], (), "canonical-form"),
    (["E11.9", "E10.9"], (), "excludes1"),  # type 1 and type 2 together
    (["E11.9", "Z79.4", "E11.9"], (), "duplicate"),
    (["N18.31", "I12.9"], [_ack("I12.9", "use_additional", "I10-I1A")], "code_first"),  # CKD before its cause
    (["I12.9", "N18.31"], (), "use_additional"),  # tobacco note at I10-I1A not answered
    (["E11.65"], (), "use_additional"),  # control (Z79.-) not answered
    (["G63", "E11.9"], (), "manifestation-first"),
    (["I10"], TOBACCO + [_ack("I10", "code_first", "I10")], "acknowledged"),  # a note that is not there
])
def test_validator_catches(codes, acks, rule, code_set):
    assert rule in _rules(validate(_case(codes, acknowledged=acks), code_set))


def test_validator_accepts_a_correct_key(code_set):
    good = _case(["I12.9", "N18.31"], acknowledged=[
        _ack("I12.9", "use_additional", "I10-I1A"), _ack("N18.31", "use_additional", "N18")])
    assert validate(good, code_set) == []


def test_validator_checks_date_of_service_and_sex(code_set):
    late = _case(["I10"], dos=dt.date(2026, 10, 1), acknowledged=TOBACCO)
    assert "date-of-service" in _rules(validate(late, code_set))
    assert "sex-edit" in _rules(validate(_case(["N40.0"], sex="F"), code_set))
    assert "sex-edit" in _rules(validate(_case(["Z3A.20", "O26.892"], sex="M"), code_set))


def test_case_files_are_loaded_strictly(tmp_path):
    good = (paths.practice_cases_dir() / "pc-001.yaml").read_text()
    for bad, message in [
        (good.replace("use: practice", "use: homework"), "use must be"),
        (good.replace("setting: office", "setting: spa"), "setting must be"),
        (good.replace("date_of_service: 2026-05-12", "date_of_service: soon"), "YYYY-MM-DD"),
        (good.replace("      rationale:", "      rationail:", 1), "unknown field"),
        (good.replace("{sex: F, age: 58}", "{sex: F, age: 58, name: Jane Real}"), "names and MRNs are generated"),
        ("id: x\n: : :", "not valid YAML"),
    ]:
        path = tmp_path / "case.yaml"
        path.write_text(bad)
        with pytest.raises(model.CaseError, match=message):
            model.load_file(path)
