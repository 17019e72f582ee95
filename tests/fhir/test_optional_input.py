"""Optional FHIR elements the rules read are truly optional: their absence is a 200, not a 500."""

from __future__ import annotations

import httpx
import pytest

from tests.builders import baclofen_order, hook_request


@pytest.mark.parametrize("element", ["authoredOn", "dosageInstruction", "reasonCode", "intent"])
async def test_current_order_without_an_optional_element(client: httpx.AsyncClient, element: str) -> None:
    """The issue's case: a current baclofen order without `authoredOn` raised AssertionError."""
    current = baclofen_order(10, 3, oid="cur-1", status="active", authored="2026-02-01")
    if element == "intent":
        current[element] = "plan"  # required in FHIR: changed, not removed
    else:
        del current[element]
    response = await client.post("/cds-services/baclofen-rtu",
                                 json=hook_request([baclofen_order(15, 3)], medications=[current]))
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("element", ["authoredOn", "dosageInstruction", "reasonCode"])
async def test_draft_without_an_optional_element(client: httpx.AsyncClient, element: str) -> None:
    draft = baclofen_order(15, 3)
    del draft[element]
    response = await client.post("/cds-services/baclofen-rtu", json=hook_request([draft]))
    assert response.status_code == 200, response.text
