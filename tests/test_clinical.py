"""SNOMED CT problems and LOINC results as FHIR resources, checked, and mapped to billing codes."""

from __future__ import annotations

import pytest

from medcodelab import clinical


def test_a_problem_list_condition_carries_snomed_and_the_billing_codes():
    resource = clinical.condition("44054006", patient="SYN-1", onset="2019-03-01")
    systems = [c["system"] for c in resource["code"]["coding"]]
    assert systems[0] == clinical.SNOMED and clinical.ICD10CM in systems
    assert clinical.problems(resource) == []
    assert clinical.billing_codes(resource) == ["E11.9"]
    bare = clinical.condition("Type 2 diabetes without complications", patient="SYN-1", with_billing_codes=False)
    assert [c["system"] for c in bare["code"]["coding"]] == [clinical.SNOMED]
    assert clinical.billing_codes(bare) == ["E11.9"] and clinical.billing_codes(bare, "icd11") == ["5A11"]


def test_every_crosswalk_concept_makes_a_clean_condition():
    for snomed in clinical.concepts().snomed:
        resource = clinical.condition(snomed, patient="SYN-2")
        assert clinical.problems(resource) == [], snomed


def test_a_lab_result_is_a_loinc_observation_with_a_ucum_unit():
    result = clinical.observation("4548-4", 7.2, "%", patient="SYN-1", effective="2026-05-01")
    assert result["code"]["coding"][0] == {"system": clinical.LOINC, "code": "4548-4",
                                           "display": result["code"]["text"]}
    assert clinical.problems(result) == []
    broken = dict(result, valueQuantity={"value": "7.2", "unit": "%"}, status="done")
    said = " ".join(clinical.problems(broken))
    assert "number" in said and "status" in said


@pytest.mark.parametrize("resource,message", [
    ("Condition", "JSON object"),
    ({"resourceType": "Patient"}, "resourceType"),
    ({"resourceType": "Condition", "subject": {"reference": "SYN-1"}, "code": {"coding": []}}, "at least one"),
    ({"resourceType": "Condition", "subject": {"reference": "Patient/1"},
      "code": {"coding": [{"system": "snomed", "code": "44054006"}]}}, "unknown system"),
    ({"resourceType": "Condition", "subject": {"reference": "Patient/1"},
      "code": {"coding": [{"system": clinical.ICD10CM, "code": "E11"}]}}, "ICD-10-CM E11"),
    ({"resourceType": "Condition", "subject": {"reference": "Patient/1"},
      "code": {"coding": [{"system": clinical.ICD11, "code": "XK9K"}]}}, "cannot stand alone"),
])
def test_what_an_interface_engine_would_refuse(resource, message):
    assert any(message in p for p in clinical.problems(resource)), clinical.problems(resource)


def test_unknown_concepts_and_statuses_are_refused_with_a_pointer():
    with pytest.raises(KeyError, match="crosswalk"):
        clinical.condition("999999999", patient="SYN-1")
    with pytest.raises(ValueError, match="clinical_status"):
        clinical.condition("44054006", patient="SYN-1", clinical_status="cured")
    with pytest.raises(KeyError, match="LOINC sample"):
        clinical.observation("0000-0", 1, "mg/dL", patient="SYN-1", effective="2026-05-01")
