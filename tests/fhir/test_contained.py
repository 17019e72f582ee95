"""A contained resource of an unknown type is invalid FHIR: 400 naming it, never a 500."""

from __future__ import annotations

import httpx

from tests.builders import baclofen_order, hook_request


async def test_unknown_contained_resource_type_is_400(client: httpx.AsyncClient) -> None:
    order = baclofen_order()
    order["contained"] = [{"resourceType": "NoSuchResource", "id": "x"}]
    response = await client.post("/cds-services/baclofen-rtu", json=hook_request([order]))
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] == "invalid-fhir"
    assert body["field"].endswith("contained[0]")
    assert "NoSuchResource" in body["message"]


async def test_contained_without_resource_type_is_400(client: httpx.AsyncClient) -> None:
    order = baclofen_order()
    order["contained"] = [{"id": "x", "code": {"text": "?"}}]
    response = await client.post("/cds-services/baclofen-rtu", json=hook_request([order]))
    assert response.status_code == 400, response.text
    assert response.json()["field"].endswith("contained[0]")


async def test_known_contained_medication_still_works(client: httpx.AsyncClient) -> None:
    order = baclofen_order()
    order["contained"] = [{"resourceType": "Medication", "id": "med",
                           "code": {"coding": [{"system": "http://www.whocc.no/atc", "code": "M03BX01"}]}}]
    response = await client.post("/cds-services/baclofen-rtu", json=hook_request([order]))
    assert response.status_code == 200, response.text
