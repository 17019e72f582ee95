"""Small builders of FHIR R4 JSON and CDS Hooks requests for tests (realistic, minimal)."""

from __future__ import annotations

import uuid
from typing import Any

ATC = "http://www.whocc.no/atc"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
PATIENT_ID = "pat-1"


def patient(birth_date: str = "1980-05-12", gender: str = "male", pid: str = PATIENT_ID) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": pid,
        "identifier": [{"system": "urn:oid:1.2.250.1.213.1.4.8", "value": "180057512345678"}],
        "name": [{"family": "Lefèvre", "given": ["Antoine"]}],
        "gender": gender,
        "birthDate": birth_date,
    }


def dosage(mg: float, per_day: int = 3, **extra: Any) -> dict[str, Any]:
    return {
        "timing": {"repeat": {"frequency": per_day, "period": 1, "periodUnit": "d", **extra}},
        "route": {"coding": [{"system": SNOMED, "code": "26643006", "display": "Oral route"}]},
        "doseAndRate": [{"doseQuantity": {"value": mg, "unit": "mg", "system": UCUM, "code": "mg"}}],
    }


def baclofen_order(
    mg_per_intake: float = 5,
    per_day: int = 3,
    *,
    oid: str = "draft-1",
    status: str = "draft",
    authored: str = "2026-03-10",
    reason: str | None = "F10.2",
    dosages: list[dict[str, Any]] | None = None,
    pid: str = PATIENT_ID,
) -> dict[str, Any]:
    order: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "id": oid,
        "status": status,
        "intent": "order",
        "subject": {"reference": f"Patient/{pid}"},
        "authoredOn": authored,
        "medicationCodeableConcept": {
            "coding": [{"system": ATC, "code": "M03BX01", "display": "baclofène"}],
            "text": "Baclofène 10 mg, comprimé sécable",
        },
        "dosageInstruction": dosages if dosages is not None else [dosage(mg_per_intake, per_day)],
    }
    if reason:
        order["reasonCode"] = [{"coding": [{"system": ICD10, "code": reason}]}]
    return order


def other_order(atc: str, name: str, *, oid: str = "other-1", status: str = "active") -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": oid,
        "status": status,
        "intent": "order",
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
        "authoredOn": "2026-01-05",
        "medicationCodeableConcept": {"coding": [{"system": ATC, "code": atc, "display": name}], "text": name},
    }


def coded_order(system: str, code: str, name: str | None = None, *, oid: str = "other-1",
                status: str = "active") -> dict[str, Any]:
    """A co-medication coded only by `system|code` (a French CIS / CIP / UCD or local code)."""
    coding = {"system": system, "code": code, **({"display": name} if name else {})}
    return {
        "resourceType": "MedicationRequest",
        "id": oid,
        "status": status,
        "intent": "order",
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
        "authoredOn": "2026-01-05",
        "medicationCodeableConcept": {"coding": [coding]},
    }


def condition(code: str, system: str = ICD10, display: str = "", *, cid: str | None = None,
              status: str = "active") -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": cid or f"cond-{code.replace('.', '')}",
        "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                       "code": status}]},
        "code": {"coding": [{"system": system, "code": code, "display": display or code}]},
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
    }


def lab(loinc: str, value: float, unit: str, date: str = "2026-03-01", *, oid: str | None = None) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": oid or f"obs-{loinc}-{date}",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": loinc}]},
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
        "effectiveDateTime": date,
        "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit},
    }


def egfr(value: float, date: str = "2026-03-01") -> dict[str, Any]:
    return lab("62238-1", value, "mL/min/{1.73_m2}", date)


def allergy(code: str, system: str = ATC, text: str = "") -> dict[str, Any]:
    return {
        "resourceType": "AllergyIntolerance",
        "id": f"alg-{code}",
        "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
                                       "code": "active"}]},
        "code": {"coding": [{"system": system, "code": code}], "text": text or code},
        "patient": {"reference": f"Patient/{PATIENT_ID}"},
    }


def searchset(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "entry": [{"fullUrl": f"urn:uuid:{uuid.uuid4()}", "resource": r, "search": {"mode": "match"}}
                  for r in resources],
    }


def hook_request(
    drafts: list[dict[str, Any]] | None = None,
    *,
    hook: str = "order-sign",
    patient_resource: dict[str, Any] | None = None,
    conditions: list[dict[str, Any]] | None = None,
    medications: list[dict[str, Any]] | None = None,
    observations: list[dict[str, Any]] | None = None,
    allergies: list[dict[str, Any]] | None = None,
    statements: list[dict[str, Any]] | None = None,
    omit: tuple[str, ...] = (),
    fhir_server: str | None = None,
    token: str | None = None,
) -> dict[str, Any]:
    drafts = drafts if drafts is not None else [baclofen_order()]
    prefetch: dict[str, Any] = {
        "patient": patient_resource or patient(),
        "conditions": searchset(conditions if conditions is not None else [condition("F10.2")]),
        "medications": searchset(medications or []),
        "medicationStatements": searchset(statements or []),
        "observations": searchset(observations if observations is not None else [egfr(90)]),
        "allergies": searchset(allergies or []),
    }
    for key in omit:
        prefetch.pop(key, None)
    request: dict[str, Any] = {
        "hook": hook,
        "hookInstance": str(uuid.uuid4()),
        "context": {
            "userId": "Practitioner/prac-1",
            "patientId": PATIENT_ID,
            "encounterId": "enc-1",
            "draftOrders": {"resourceType": "Bundle", "type": "collection",
                            "entry": [{"resource": d} for d in drafts]},
        },
        "prefetch": prefetch,
    }
    if hook == "order-select":
        request["context"]["selections"] = [f"MedicationRequest/{d['id']}" for d in drafts]
    if fhir_server:
        request["fhirServer"] = fhir_server
        if token:
            request["fhirAuthorization"] = {"access_token": token, "token_type": "Bearer",
                                            "expires_in": 300, "scope": "patient/*.read",
                                            "subject": "cds-service"}
    return request


def rule_codes(response: dict[str, Any]) -> list[str]:
    return [code for card in response["cards"] for code in card["extension"]["baclofen-rtu-rules"]]
