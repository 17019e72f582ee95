"""Issue 13 part 3: what a real server answers when prefetch is missing: `_count`, `_include`,
Medications read by id when the server ignores `_include`, MedicationStatements as co-medications."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from cds_service.fhir import prefetch
from cds_service.fhir.client import FhirEndpoint, FhirFetchError
from cds_service.fhir.medication_refs import MAX_READS_PER_KEY, add_missing_medications, missing_references
from tests.builders import (
    ATC,
    PATIENT_ID,
    baclofen_order,
    condition,
    egfr,
    hook_request,
    patient,
    rule_codes,
)
from tests.fhir_server import FakeFhir

ENDPOINT = FhirEndpoint("https://ehr.example/fhir", "token")


def _medication(mid: str, atc: str, name: str) -> dict[str, Any]:
    return {"resourceType": "Medication", "id": mid, "code": {"coding": [{"system": ATC, "code": atc}], "text": name}}


def _by_reference(order: dict[str, Any], mid: str) -> dict[str, Any]:
    order = {key: value for key, value in order.items() if key != "medicationCodeableConcept"}
    order["medicationReference"] = {"reference": f"Medication/{mid}"}
    return order


def _statement(sid: str, mid: str, status: str = "active") -> dict[str, Any]:
    return {"resourceType": "MedicationStatement", "id": sid, "status": status,
            "subject": {"reference": f"Patient/{PATIENT_ID}"},
            "medicationReference": {"reference": f"Medication/{mid}"}}


def test_templates_ask_for_large_pages_and_the_medications() -> None:
    templates = prefetch.prefetch_templates(50)
    assert all("_count=50" in templates[key] for key in prefetch.SEARCH_KEYS)
    assert "_include=MedicationRequest:medication" in templates["medications"]
    assert "status" not in templates["medications"]  # completed and stopped orders are the history
    assert templates["medicationStatements"].startswith(
        "MedicationStatement?patient={{context.patientId}}&status=active,intended,on-hold"
        "&_include=MedicationStatement:medication")
    assert "_count=200" in prefetch.PREFETCH_TEMPLATES["conditions"]


def test_missing_references_skip_included_contained_and_foreign() -> None:
    bundle = {"resourceType": "Bundle", "type": "searchset", "entry": [
        {"resource": {"resourceType": "MedicationRequest", "medicationReference": {"reference": "Medication/a"}}},
        {"resource": {"resourceType": "MedicationRequest", "medicationReference": {"reference": "Medication/a"}}},
        {"resource": {"resourceType": "MedicationRequest",
                      "medicationReference": {"reference": "https://ehr.example/fhir/Medication/b/_history/2"}}},
        {"resource": {"resourceType": "MedicationRequest", "medicationReference": {"reference": "#c"}}},
        {"resource": {"resourceType": "MedicationRequest",
                      "medicationReference": {"reference": "https://other.example/fhir/Medication/d"}}},
        {"resource": {"resourceType": "MedicationRequest", "medicationReference": {"reference": "Medication/e"}}},
        {"resource": {"resourceType": "Medication", "id": "e"}},
    ]}
    assert missing_references(bundle, ENDPOINT) == ["Medication/a", "Medication/b"]


async def test_too_many_missing_medications_is_an_error() -> None:
    bundle = {"resourceType": "Bundle", "type": "searchset", "entry": [
        {"resource": {"resourceType": "MedicationRequest", "medicationReference": {"reference": f"Medication/m{i}"}}}
        for i in range(MAX_READS_PER_KEY + 1)]}
    async with httpx.AsyncClient() as http:
        with pytest.raises(FhirFetchError, match="too-many-medication-reads"):
            await add_missing_medications(http, ENDPOINT, bundle)


async def test_referenced_medication_read_by_id_when_include_is_ignored(fhir_server: FakeFhir) -> None:
    """The fake server ignores `_include`: the Medication comes from a read by id."""
    fhir_server.load([patient(), _medication("med-bac", "M03BX01", "Baclofène 10 mg"),
                      _by_reference(baclofen_order(10, 4, oid="cur-1", status="active",
                                                   authored="2026-03-01"), "med-bac")])
    fhir_server.seen.clear()
    async with httpx.AsyncClient() as http:
        result = await prefetch.resolve({"patient": patient()}, patient_id=PATIENT_ID,
                                        endpoint=FhirEndpoint(fhir_server.url("ok")), http=http,
                                        deadline_seconds=2.0, max_pages=3)
    entries = result.data["medications"]["entry"]
    assert [e["resource"]["resourceType"] for e in entries] == ["MedicationRequest", "Medication"]
    assert any(url.endswith("/Medication/med-bac") for url, _ in fhir_server.seen)


async def test_unreadable_referenced_medication_makes_the_key_unavailable(fhir_server: FakeFhir) -> None:
    fhir_server.load([patient(), _by_reference(baclofen_order(10, 4, oid="cur-1", status="active"), "gone")])
    async with httpx.AsyncClient() as http:
        result = await prefetch.resolve({"patient": patient()}, patient_id=PATIENT_ID,
                                        endpoint=FhirEndpoint(fhir_server.url("ok")), http=http,
                                        deadline_seconds=2.0, max_pages=3)
    assert result.unavailable["medications"] == "not-found"


async def test_current_dose_by_reference_is_known_in_fetch_mode(
    client: httpx.AsyncClient, fhir_server: FakeFhir
) -> None:
    """40 mg/day by a Medication reference: a 50 mg/day draft is a +10 step, not a new start."""
    fhir_server.load([patient(), condition("F10.2"), egfr(90),
                      _medication("med-bac", "M03BX01", "Baclofène 10 mg comprimé"),
                      _by_reference(baclofen_order(10, 4, oid="cur-1", status="active",
                                                   authored="2026-03-01"), "med-bac")])
    request = hook_request([baclofen_order(12.5, 4)], omit=("medications",),
                           fhir_server=fhir_server.url("ok"))
    response = await client.post("/cds-services/baclofen-rtu", json=request)
    assert response.status_code == 200, response.text
    codes = rule_codes(response.json())
    assert "titration-start" not in codes and "data-unavailable" not in codes, codes


async def test_statements_are_fetched_anonymously_as_co_medications(
    client: httpx.AsyncClient, fhir_server: FakeFhir
) -> None:
    fhir_server.load([patient(), _medication("med-furo", "C03CA01", "Furosémide 40 mg"),
                      _statement("st-1", "med-furo")])
    fhir_server.seen.clear()
    request = hook_request(omit=("medicationStatements",), fhir_server=fhir_server.url("ok"))
    response = await client.post("/cds-services/baclofen-rtu", json=request)
    assert response.status_code == 200, response.text
    assert "ix-diuretic" in rule_codes(response.json())
    assert all(auth is None for _, auth in fhir_server.seen)  # no fhirAuthorization: anonymous


async def test_baclofen_statement_is_not_the_current_regimen(client: httpx.AsyncClient) -> None:
    statement = {"resourceType": "MedicationStatement", "id": "st-bac", "status": "active",
                 "subject": {"reference": f"Patient/{PATIENT_ID}"},
                 "medicationCodeableConcept": {"coding": [{"system": ATC, "code": "M03BX01"}]}}
    request = hook_request([baclofen_order(10, 3)], statements=[statement])
    response = await client.post("/cds-services/baclofen-rtu", json=request)
    assert "titration-start" in rule_codes(response.json())


async def test_unavailable_statements_name_the_interaction_check(client: httpx.AsyncClient) -> None:
    request = hook_request(omit=("medicationStatements",), fhir_server="http://127.0.0.1:9/fhir")
    response = await client.post("/cds-services/baclofen-rtu", json=request)
    cards = [c for c in response.json()["cards"] if "data-unavailable" in c["extension"]["baclofen-rtu-rules"]]
    assert cards and cards[0]["extension"]["baclofen-rtu-unavailable"] == ["medicationStatements"]
