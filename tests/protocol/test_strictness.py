"""Protocol strictness found by an independent client (issue 14.3): hook first, one patient."""

from __future__ import annotations

import httpx

from tests.builders import PATIENT_ID, hook_request


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
