"""The clinical codes under the claim: SNOMED CT problems, LOINC results, and FHIR resources.

A clinician records *findings* in clinical terminologies: a problem on the problem list is a
SNOMED CT concept, a laboratory result is a LOINC-coded observation. Claims and statistics need
*classifications*: ICD-10-CM for a US claim, ICD-11 for WHO reporting and India's stack. This
module builds the two FHIR resources that carry clinical codes (``Condition``, ``Observation``)
from the lab's small SNOMED CT and LOINC samples and their crosswalk, checks a resource the way
an interface engine would, and derives the billing codes a coder would start from.

Only the samples in the database are known (a few dozen concepts, used under the SNOMED CT
affiliate licence and the LOINC licence; see THIRD-PARTY-DATA.md). The resources are FHIR R4
shaped dicts: print them, send them, or read them back.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from . import db
from .codes import check

SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
ICD11 = "http://id.who.int/icd/release/11/mms"
UCUM = "http://unitsofmeasure.org"
CLINICAL_STATUS = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
CLINICAL_STATUSES = {"active", "recurrence", "relapse", "inactive", "remission", "resolved"}


def concepts() -> pd.DataFrame:
    """The crosswalk: one clinical concept with its SNOMED CT, ICD-10-CM and ICD-11 codes and a note."""
    return db.cursor().sql("SELECT concept, snomed, icd10cm, icd11, note FROM crosswalk ORDER BY concept").df()


def lab_tests() -> pd.DataFrame:
    """The LOINC sample: code, component, the lab's label and the specimen."""
    return db.cursor().sql("SELECT code, label, component, specimen FROM loinc_sample ORDER BY code").df()


def _concept(snomed_or_name: str) -> dict | None:
    row = db.cursor().execute(
        "SELECT concept, snomed, icd10cm, icd11 FROM crosswalk WHERE snomed = ? OR lower(concept) = lower(?)",
        [str(snomed_or_name), str(snomed_or_name)]).fetchone()
    return None if row is None else dict(zip(("concept", "snomed", "icd10cm", "icd11"), row))


def condition(concept: str, patient: str, clinical_status: str = "active",
              onset: str | dt.date | None = None, with_billing_codes: bool = True) -> dict:
    """A FHIR Condition for a problem-list entry: SNOMED CT first, and (``with_billing_codes``) the
    crosswalk's ICD-10-CM and ICD-11 codes as further codings of the same concept."""
    found = _concept(concept)
    if found is None:
        raise KeyError(f"{concept!r} is not in the lab's crosswalk; see medcodelab.clinical.concepts()")
    if clinical_status not in CLINICAL_STATUSES:
        raise ValueError(f"clinical_status must be one of {sorted(CLINICAL_STATUSES)}")
    codings = [{"system": SNOMED, "code": found["snomed"], "display": found["concept"]}]
    if with_billing_codes:
        codings.append({"system": ICD10CM, "code": found["icd10cm"]})
        if found["icd11"]:
            codings.append({"system": ICD11, "code": found["icd11"]})
    resource = {
        "resourceType": "Condition",
        "clinicalStatus": {"coding": [{"system": CLINICAL_STATUS, "code": clinical_status}]},
        "category": [{"coding": [{"system": CONDITION_CATEGORY, "code": "problem-list-item"}]}],
        "code": {"coding": codings, "text": found["concept"]},
        "subject": {"reference": f"Patient/{patient}"},
    }
    if onset:
        resource["onsetDateTime"] = str(onset)
    return resource


def observation(loinc: str, value: float, unit: str, patient: str, effective: str | dt.date) -> dict:
    """A FHIR laboratory Observation: the LOINC code, a UCUM quantity, the patient and the time."""
    row = db.cursor().execute("SELECT code, label FROM loinc_sample WHERE code = ?", [str(loinc)]).fetchone()
    if row is None:
        raise KeyError(f"{loinc!r} is not in the lab's LOINC sample; see medcodelab.clinical.lab_tests()")
    return {
        "resourceType": "Observation",
        "status": "final",
        "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "laboratory"}]}],
        "code": {"coding": [{"system": LOINC, "code": row[0], "display": row[1]}], "text": row[1]},
        "subject": {"reference": f"Patient/{patient}"},
        "effectiveDateTime": str(effective),
        "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit},
    }


def problems(resource: object) -> list[str]:
    """What an interface engine would refuse or query in a Condition or Observation (empty: fine).
    Never raises, whatever it is given."""
    if not isinstance(resource, dict):
        return ["a FHIR resource is a JSON object (a dict)"]
    kind = resource.get("resourceType")
    if kind not in ("Condition", "Observation"):
        return [f"resourceType must be Condition or Observation, not {kind!r}"]
    found = []
    subject = resource.get("subject")
    if not (isinstance(subject, dict) and str(subject.get("reference", "")).startswith("Patient/")):
        found.append("subject must reference the patient (Patient/<id>)")
    code = resource.get("code")
    codings = code.get("coding") if isinstance(code, dict) else None
    if not isinstance(codings, list) or not codings:
        return found + ["code.coding must list at least one coding"]
    cur = db.cursor()
    for n, coding in enumerate(codings, start=1):
        if not isinstance(coding, dict):
            found.append(f"coding {n} is not an object")
            continue
        system, value = coding.get("system"), str(coding.get("code", ""))
        if system == SNOMED:
            if not cur.execute("SELECT 1 FROM snomed_sample WHERE concept_id = ?", [value]).fetchone():
                found.append(f"SNOMED CT {value}: not in the lab's sample (it may still exist)")
        elif system == LOINC:
            if not cur.execute("SELECT 1 FROM loinc_sample WHERE code = ?", [value]).fetchone():
                found.append(f"LOINC {value}: not in the lab's sample (it may still exist)")
        elif system == ICD10CM:
            result = check(value)
            if result["status"] != "billable":
                found.append(f"ICD-10-CM {value}: {result['message']}")
        elif system == ICD11:
            result = check(value, system="icd11")
            if result["status"] == "invalid":
                found.append(f"ICD-11 {value}: {result['message']}")
        else:
            found.append(f"coding {n}: unknown system {system!r} (use the canonical URI, e.g. {SNOMED})")
    if kind == "Condition":
        status = resource.get("clinicalStatus", {})
        statuses = [c.get("code") for c in status.get("coding", [])] if isinstance(status, dict) else []
        if not any(s in CLINICAL_STATUSES for s in statuses):
            found.append("clinicalStatus is required for a problem-list Condition")
    else:
        if resource.get("status") not in ("registered", "preliminary", "final", "amended", "corrected"):
            found.append("status must say how final the result is (e.g. final)")
        quantity = resource.get("valueQuantity")
        if not isinstance(quantity, dict) or not isinstance(quantity.get("value"), (int, float)):
            found.append("valueQuantity.value must be a number")
        elif not quantity.get("code") or quantity.get("system") != UCUM:
            found.append("valueQuantity needs its unit as a UCUM code (system http://unitsofmeasure.org)")
    return found


def billing_codes(resource: dict, system: str = "icd10cm") -> list[str]:
    """The codes a coder would start from for a Condition: its own ICD codings if it has them,
    else the crosswalk's for its SNOMED CT concept. A starting point, never the final code: the
    note decides specificity, linkage and sequencing."""
    uri = {"icd10cm": ICD10CM, "icd11": ICD11}[system]
    codings = resource.get("code", {}).get("coding", [])
    own = [c["code"] for c in codings if c.get("system") == uri]
    if own:
        return own
    mapped = []
    for c in codings:
        if c.get("system") == SNOMED:
            found = _concept(c.get("code", ""))
            if found and found[system]:
                mapped.append(found[system])
    return mapped
