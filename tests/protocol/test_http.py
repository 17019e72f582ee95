"""The CDS Hooks endpoints through the real ASGI app (discovery, hooks, feedback, health, errors)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from cds_service.fhir.prefetch import PREFETCH_TEMPLATES
from tests.builders import baclofen_order, hook_request, other_order, rule_codes


async def test_discovery_lists_both_services_with_prefetch(client: httpx.AsyncClient) -> None:
    response = await client.get("/cds-services")
    assert response.status_code == 200
    services = {s["id"]: s for s in response.json()["services"]}
    assert services["baclofen-rtu"]["hook"] == "order-sign"
    assert services["baclofen-rtu-select"]["hook"] == "order-select"
    for service in services.values():
        assert service["prefetch"] == PREFETCH_TEMPLATES
        assert service["prefetch"]["patient"] == "Patient/{{context.patientId}}"


async def test_non_baclofen_order_gets_no_cards(client: httpx.AsyncClient) -> None:
    request = hook_request([other_order("N02BE01", "paracétamol", status="draft")])
    response = await client.post("/cds-services/baclofen-rtu", json=request)
    assert response.status_code == 200
    assert response.json() == {"cards": []}


async def test_baclofen_order_gets_cards_with_rule_codes(client: httpx.AsyncClient) -> None:
    response = await client.post("/cds-services/baclofen-rtu", json=hook_request())
    assert response.status_code == 200
    body = response.json()
    assert "plan-next-dose" in rule_codes(body)
    for card in body["cards"]:
        assert len(card["summary"]) < 140
        assert card["source"]["topic"]["system"] == "urn:baclofen-rtu:rule"
        assert card["indicator"] in ("info", "warning", "critical")


async def test_english_on_accept_language(client: httpx.AsyncClient) -> None:
    request = hook_request()
    fr = (await client.post("/cds-services/baclofen-rtu", json=request)).json()
    en = (await client.post("/cds-services/baclofen-rtu", json=request,
                            headers={"Accept-Language": "en-GB,en;q=0.9"})).json()
    assert rule_codes(fr) == rule_codes(en)
    assert fr["cards"][0]["summary"] != en["cards"][0]["summary"]
    assert [c["uuid"] for c in fr["cards"]] == [c["uuid"] for c in en["cards"]]


async def test_card_uuids_stable_per_hook_instance(client: httpx.AsyncClient) -> None:
    request = hook_request()
    first = (await client.post("/cds-services/baclofen-rtu", json=request)).json()
    second = (await client.post("/cds-services/baclofen-rtu", json=request)).json()
    assert [c["uuid"] for c in first["cards"]] == [c["uuid"] for c in second["cards"]]
    request["hookInstance"] = "another-instance"
    third = (await client.post("/cds-services/baclofen-rtu", json=request)).json()
    assert not {c["uuid"] for c in first["cards"]} & {c["uuid"] for c in third["cards"]}


@pytest.mark.parametrize(
    ("mutate", "status", "field"),
    [
        (lambda r: r.pop("hookInstance"), 400, "hookInstance"),
        (lambda r: r.pop("context"), 400, "context"),
        (lambda r: r["context"].pop("patientId"), 400, "context.patientId"),
        (lambda r: r["context"].update(patientId=42), 400, "context.patientId"),
        (lambda r: r["context"].update(draftOrders={"resourceType": "Patient"}), 400, "context.draftOrders"),
        (lambda r: r.update(hook="patient-view"), 400, "hook"),
        (lambda r: r.update(fhirServer="ftp://x"), 400, "fhirServer"),
        (lambda r: r["context"]["draftOrders"]["entry"][0]["resource"].update(authoredOn="yesterday"), 400,
         "context.draftOrders.entry[0].resource"),
        (lambda r: r["prefetch"]["conditions"]["entry"].append({"resource": {"resourceType": "Condition"}}),
         400, "prefetch.conditions.entry[1].resource"),
        (lambda r: r["prefetch"].update(patient={"resourceType": "Observation", "status": "final",
                                                 "code": {"text": "x"}}), 400, "prefetch.patient"),
        (lambda r: r["prefetch"].update(allergies={"resourceType": "Bundle", "entry": 3}), 400,
         "prefetch.allergies.entry"),
    ],
)
async def test_bad_input_is_a_400_naming_the_field(client: httpx.AsyncClient, mutate: Any, status: int,
                                                   field: str) -> None:
    request = hook_request()
    mutate(request)
    response = await client.post("/cds-services/baclofen-rtu", json=request)
    assert response.status_code == status, response.text
    body = response.json()
    assert body["field"].startswith(field), body
    assert "Traceback" not in response.text


async def test_malformed_json_empty_body_and_non_object(client: httpx.AsyncClient) -> None:
    for body, error in ((b"{not json", "malformed-json"), (b"", "invalid-request"), (b"[1,2]", "invalid-request")):
        response = await client.post("/cds-services/baclofen-rtu", content=body,
                                     headers={"content-type": "application/json"})
        assert response.status_code == 400
        assert response.json()["error"] == error


async def test_unknown_service_is_404(client: httpx.AsyncClient) -> None:
    response = await client.post("/cds-services/nope", json=hook_request())
    assert response.status_code == 404
    assert response.json()["error"] == "unknown-service"


async def test_oversize_body_is_413(client: httpx.AsyncClient, settings: Any) -> None:
    big = b'{"x": "' + b"a" * (settings.max_body_bytes + 10) + b'"}'
    response = await client.post("/cds-services/baclofen-rtu", content=big,
                                 headers={"content-type": "application/json", "origin": "https://sandbox.example"})
    assert response.status_code == 413
    # the guard's own refusals carry the security headers, and the CORS header a browser needs to read them
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["access-control-allow-origin"] == "*"


async def test_oversize_streamed_body_is_413_with_security_headers(client: httpx.AsyncClient, settings: Any) -> None:
    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"x": "'
        yield b"a" * (settings.max_body_bytes + 10)
        yield b'"}'

    response = await client.post("/cds-services/baclofen-rtu", content=chunks(),
                                 headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"] == "payload-too-large"
    assert response.headers["cache-control"] == "no-store"


async def test_missing_patient_without_fhir_server_is_412(client: httpx.AsyncClient) -> None:
    response = await client.post("/cds-services/baclofen-rtu", json=hook_request(omit=("patient",)))
    assert response.status_code == 412
    assert response.json()["error"] == "patient-unavailable"


async def test_null_patient_is_412(client: httpx.AsyncClient) -> None:
    request = hook_request()
    request["prefetch"]["patient"] = None
    response = await client.post("/cds-services/baclofen-rtu", json=request)
    assert response.status_code == 412


async def test_missing_key_without_fhir_server_gives_data_unavailable(client: httpx.AsyncClient) -> None:
    response = await client.post("/cds-services/baclofen-rtu", json=hook_request(omit=("observations",)))
    assert response.status_code == 200
    codes = rule_codes(response.json())
    assert "data-unavailable" in codes and "renal-unknown" in codes


async def test_null_prefetch_means_empty_result(client: httpx.AsyncClient) -> None:
    request = hook_request()
    request["prefetch"]["allergies"] = None
    response = await client.post("/cds-services/baclofen-rtu", json=request)
    assert "data-unavailable" not in rule_codes(response.json())


async def test_feedback_is_validated_and_stored(client: httpx.AsyncClient, app: Any) -> None:
    cards = (await client.post("/cds-services/baclofen-rtu", json=hook_request())).json()["cards"]
    card = cards[0]
    feedback = {"feedback": [
        {"card": card["uuid"], "outcome": "overridden", "outcomeTimestamp": "2026-03-10T10:00:00Z",
         "overrideReason": {"reason": {"system": "urn:baclofen-rtu:override-reason",
                                       "code": "patient-stabilised"}, "userComment": "vu en consultation"}},
    ]}
    response = await client.post("/cds-services/baclofen-rtu/feedback", json=feedback)
    assert response.status_code == 200, response.text
    assert response.json() == {"stored": 1, "repeated": 0}
    assert await app.state.cds.repository.count_feedback() == 1
    bad = {"feedback": [{"card": card["uuid"], "outcome": "maybe", "outcomeTimestamp": "2026-03-10T10:00:00Z"}]}
    response = await client.post("/cds-services/baclofen-rtu/feedback", json=bad)
    assert response.status_code == 400
    assert response.json()["field"] == "feedback.0.outcome"
    response = await client.post("/cds-services/nope/feedback", json=feedback)
    assert response.status_code == 404


async def test_health_and_readiness(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"


async def test_security_headers_present(client: httpx.AsyncClient) -> None:
    response = await client.get("/cds-services")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'self'" in response.headers["content-security-policy"]


async def test_audit_row_per_evaluation_pseudonymised(client: httpx.AsyncClient, app: Any) -> None:
    from sqlalchemy import select

    from cds_service.storage.tables import Evaluation

    request = hook_request()
    await client.post("/cds-services/baclofen-rtu", json=request)
    async with app.state.cds.engine.connect() as conn:
        rows = (await conn.execute(select(Evaluation))).all()
    assert len(rows) == 1
    row = rows[0]._mapping
    assert row["hook_instance"] == request["hookInstance"]
    assert row["patient_pseudonym"] != request["context"]["patientId"]
    assert len(row["patient_pseudonym"]) == 64
    assert "plan-next-dose" in row["rule_codes"]
    assert json.dumps(row["card_uuids"])


async def test_order_select_gives_dosing_guidance_only(client: httpx.AsyncClient) -> None:
    request = hook_request([baclofen_order(20, 3)], hook="order-select")
    response = await client.post("/cds-services/baclofen-rtu-select", json=request)
    codes = rule_codes(response.json())
    assert "titration-start" in codes
    assert "rtu-register" not in codes and "monitoring" not in codes
