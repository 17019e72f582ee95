"""Client input the database cannot store is refused at the edge with the same 400 on SQLite and
PostgreSQL: over-long override codes, NUL characters, instants outside the storable range."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from cds_service.app import create_app
from cds_service.settings import Settings
from tests.builders import hook_request
from tests.databases import migrated_database

FEEDBACK = "/cds-services/baclofen-rtu/feedback"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield migrated_database(request.param, tmp_path)


@pytest.fixture
async def edge(backend_url: str) -> AsyncIterator[tuple[httpx.AsyncClient, Starlette]]:
    application = create_app(Settings(auth="off", database_url=backend_url, public_url="http://testserver"))
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http, application


def _item(card: str = "card-1", **override: Any) -> dict[str, Any]:
    item: dict[str, Any] = {"card": card, "outcome": "overridden", "outcomeTimestamp": "2026-03-10T10:00:00Z",
                            "overrideReason": {"reason": {"system": "urn:x", "code": "other"},
                                               "userComment": "vu"}}
    for path, value in override.items():
        target = item
        *parents, last = path.split("__")
        for parent in parents:
            target = target[parent]
        target[last] = value
    return item


REFUSED = [
    ({"overrideReason__reason__code": "c" * 129}, "feedback.0.overrideReason.reason.code"),
    ({"overrideReason__reason__system": "s" * 257}, "feedback.0.overrideReason.reason.system"),
    ({"overrideReason__reason__code": "a\x00b"}, "feedback.0.overrideReason.reason.code"),
    ({"overrideReason__reason__system": "urn:\x00"}, "feedback.0.overrideReason.reason.system"),
    ({"overrideReason__userComment": "vu\x00"}, "feedback.0.overrideReason.userComment"),
    ({"card": "card\x00"}, "feedback.0.card"),
    ({"acceptedSuggestions": [{"id": "s\x00"}]}, "feedback.0.acceptedSuggestions.0.id"),
    ({"outcomeTimestamp": "9999-12-31T23:59:59-23:59"}, "feedback.0.outcomeTimestamp"),
    ({"outcomeTimestamp": "0001-01-01T00:00:00+23:59"}, "feedback.0.outcomeTimestamp"),
    ({"outcomeTimestamp": "2201-01-01T00:00:00Z"}, "feedback.0.outcomeTimestamp"),
]


@pytest.mark.parametrize(("override", "field"), REFUSED)
async def test_unstorable_feedback_is_400_naming_the_field(
    edge: tuple[httpx.AsyncClient, Starlette], override: dict[str, Any], field: str
) -> None:
    client, app = edge
    good = _item("card-ok")
    response = await client.post(FEEDBACK, json={"feedback": [good, _item(**override)]})
    assert response.status_code == 400, response.text
    assert response.json()["field"] == field.replace("feedback.0", "feedback.1")
    assert await app.state.cds.repository.count_feedback() == 0


async def _issued_card(client: httpx.AsyncClient) -> str:
    """Feedback is only taken for a card this service issued (else 404 unknown-card)."""
    response = await client.post("/cds-services/baclofen-rtu", json=hook_request())
    assert response.status_code == 200, response.text
    return str(response.json()["cards"][0]["uuid"])


async def test_longest_storable_values_are_stored(edge: tuple[httpx.AsyncClient, Starlette]) -> None:
    client, app = edge
    item = _item(await _issued_card(client), **{"overrideReason__reason__code": "c" * 128,
                                                "overrideReason__reason__system": "s" * 256,
                                                "outcomeTimestamp": "2200-12-31T23:59:59+14:00"})
    response = await client.post(FEEDBACK, json={"feedback": [item]})
    assert response.status_code == 200, response.text
    assert await app.state.cds.repository.count_feedback() == 1


@pytest.mark.parametrize("field", ["hookInstance", "hook"])
async def test_nul_in_hook_request_is_400(edge: tuple[httpx.AsyncClient, Starlette], field: str) -> None:
    client, _ = edge
    request = hook_request()
    request[field] = request[field] + "\x00"
    response = await client.post("/cds-services/baclofen-rtu", json=request)
    assert response.status_code == 400, response.text
    assert response.json()["field"] == field
