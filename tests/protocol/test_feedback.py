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


def _with_suggestions(cards: list[dict[str, Any]]) -> dict[str, Any]:
    return next(card for card in cards if card.get("suggestions"))


async def test_accepting_a_card_with_suggestions_requires_accepted_suggestions(client: httpx.AsyncClient) -> None:
    card = _with_suggestions(await _cards(client))
    accepted = {"card": card["uuid"], "outcome": "accepted", "outcomeTimestamp": STAMP}
    response = await _post(client, accepted)
    assert response.status_code == 400, response.text
    assert response.json()["field"] == "feedback.0.acceptedSuggestions"
    accepted["acceptedSuggestions"] = [{"id": card["suggestions"][0]["uuid"]}]
    assert (await _post(client, accepted)).status_code == 200


async def test_feedback_for_a_card_never_issued_is_404_and_nothing_is_stored(
    client: httpx.AsyncClient, app: Any
) -> None:
    card = (await _cards(client))[0]
    known = {"card": card["uuid"], "outcome": "overridden", "outcomeTimestamp": STAMP}
    unknown = {**known, "card": "00000000-0000-4000-8000-000000000000"}
    response = await _post(client, known, unknown)
    assert response.status_code == 404
    assert response.json()["error"] == "unknown-card" and response.json()["field"] == "feedback.1.card"
    assert await app.state.cds.repository.count_feedback() == 0


async def test_repeated_feedback_is_stored_once_a_contradiction_again(client: httpx.AsyncClient, app: Any) -> None:
    card = (await _cards(client))[0]
    overridden = {"card": card["uuid"], "outcome": "overridden", "outcomeTimestamp": STAMP,
                  "overrideReason": {"reason": {"system": "urn:baclofen-rtu:override-reason", "code": "other"}}}
    assert (await _post(client, overridden, overridden)).json() == {"stored": 1, "repeated": 1}
    retry = {**overridden, "outcomeTimestamp": "2026-03-10T10:05:00Z"}
    assert (await _post(client, retry)).json() == {"stored": 0, "repeated": 1}
    other_reason = {**overridden, "overrideReason": {"reason": {"system": "urn:baclofen-rtu:override-reason",
                                                                "code": "patient-stabilised"}}}
    assert (await _post(client, other_reason)).json() == {"stored": 1, "repeated": 0}
    accepted = {"card": card["uuid"], "outcome": "accepted", "outcomeTimestamp": STAMP,
                "acceptedSuggestions": [{"id": s["uuid"]} for s in card.get("suggestions", [])[:1]]}
    assert (await _post(client, accepted)).json() == {"stored": 1, "repeated": 0}
    assert await app.state.cds.repository.count_feedback() == 3
