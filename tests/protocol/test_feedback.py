"""Feedback strictness (issues 14.3 and 15): unknown fields, accepted suggestions, unknown cards,
repeated feedback."""

from __future__ import annotations

from typing import Any

import httpx

from tests.builders import hook_request

STAMP = "2026-03-10T10:00:00Z"


async def _cards(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    response = await client.post("/cds-services/baclofen-rtu", json=hook_request())
    assert response.status_code == 200
    cards: list[dict[str, Any]] = response.json()["cards"]
    return cards


async def _post(client: httpx.AsyncClient, *items: dict[str, Any]) -> httpx.Response:
    return await client.post("/cds-services/baclofen-rtu/feedback", json={"feedback": list(items)})


async def test_unknown_fields_in_a_feedback_item_are_named(client: httpx.AsyncClient, app: Any) -> None:
    card = (await _cards(client))[0]
    misspelled = {"card": card["uuid"], "outcome": "overridden", "outcomeTimestamp": STAMP,
                  "overriddeReason": {"reason": {"system": "urn:x", "code": "other"}}}
    response = await _post(client, misspelled)
    assert response.status_code == 400
    assert response.json()["field"] == "feedback.0"
    assert "overriddeReason" in response.json()["message"]
    comment = {"card": card["uuid"], "outcome": "overridden", "outcomeTimestamp": STAMP,
               "overrideReason": {"userComent": "vu"}}
    response = await _post(client, comment)
    assert response.status_code == 400 and "userComent" in response.json()["message"]
    assert await app.state.cds.repository.count_feedback() == 0
    extension = {"card": card["uuid"], "outcome": "overridden", "outcomeTimestamp": STAMP,
                 "extension": {"com.example.ward": "3B"}}
    assert (await _post(client, extension)).status_code == 200
