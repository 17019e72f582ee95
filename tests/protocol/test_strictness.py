"""Protocol strictness found by an independent client (issue 14.3): hook first, one patient."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from cds_service.fhir.patient_match import referenced_patient
from tests.builders import PATIENT_ID, allergy, baclofen_order, condition, egfr, hook_request, patient


async def test_patient_view_request_to_an_order_sign_service_is_unsupported_hook(
    client: httpx.AsyncClient,
) -> None:
    """A patient-view context has no draftOrders: the hook is the error, not the context."""
    request = {"hook": "patient-view", "hookInstance": "hi-1",
               "context": {"userId": "Practitioner/prac-1", "patientId": PATIENT_ID}}
    response = await client.post("/cds-services/baclofen-rtu", json=request)
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported-hook"
    assert response.json()["field"] == "hook"
    request["hook"] = "order-sign"
    response = await client.post("/cds-services/baclofen-rtu-select", json=request)
    assert response.json()["error"] == "unsupported-hook"


async def test_a_missing_hook_is_still_named(client: httpx.AsyncClient) -> None:
    request = hook_request()
    request.pop("hook")
    response = await client.post("/cds-services/baclofen-rtu", json=request)
    assert response.status_code == 400 and response.json()["field"] == "hook"


async def test_a_prefetched_patient_with_another_id_is_refused_naming_both(client: httpx.AsyncClient) -> None:
    request = hook_request(patient_resource=patient(pid="pat-2"))
    response = await client.post("/cds-services/baclofen-rtu", json=request)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] == "patient-mismatch" and body["field"] == "prefetch.patient"
    assert "pat-2" in body["message"] and PATIENT_ID in body["message"]


def _other_patient(resource: dict[str, Any], field: str = "subject") -> dict[str, Any]:
    resource[field] = {"reference": "https://ehr.example/fhir/Patient/pat-2/_history/3"}
    return resource


@pytest.mark.parametrize(
    ("build", "where"),
    [
        (lambda: hook_request(conditions=[condition("F10.2"), _other_patient(condition("G40"))]),
         "prefetch.conditions.entry[1].resource"),
        (lambda: hook_request(observations=[_other_patient(egfr(25))]), "prefetch.observations.entry[0].resource"),
        (lambda: hook_request(allergies=[_other_patient(allergy("M03BX01"), "patient")]),
         "prefetch.allergies.entry[0].resource"),
        (lambda: hook_request(medications=[_other_patient(baclofen_order(oid="old", status="active"))]),
         "prefetch.medications.entry[0].resource"),
        (lambda: hook_request([baclofen_order(pid="pat-2")]), "context.draftOrders.entry[0].resource"),
    ],
)
async def test_a_resource_about_another_patient_is_refused_naming_it(
    client: httpx.AsyncClient, build: Any, where: str
) -> None:
    response = await client.post("/cds-services/baclofen-rtu", json=build())
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] == "patient-mismatch" and body["field"].startswith(where)
    assert "Patient/pat-2" in body["message"] and PATIENT_ID in body["message"]


async def test_references_to_the_same_patient_in_any_form_are_accepted(client: httpx.AsyncClient) -> None:
    absolute = condition("F10.2")
    absolute["subject"] = {"reference": f"https://ehr.example/fhir/Patient/{PATIENT_ID}"}
    no_reference = egfr(90)
    no_reference["subject"] = {"identifier": {"value": "x"}}
    response = await client.post("/cds-services/baclofen-rtu",
                                 json=hook_request(conditions=[absolute], observations=[no_reference]))
    assert response.status_code == 200, response.text


def test_referenced_patient() -> None:
    assert referenced_patient({"reference": "Patient/p1"}) == "p1"
    assert referenced_patient({"reference": "http://x/fhir/Patient/p1/_history/2"}) == "p1"
    assert referenced_patient({"reference": "Group/g1"}) is None
    assert referenced_patient({"reference": "#contained"}) is None
    assert referenced_patient("Patient/p1") is None
