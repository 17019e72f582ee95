"""Production mode through the real app: JWT on every CDS endpoint, replay refused, CORS closed,
and logs of every fixture run free of patient data and tokens."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from cds_service.app import create_app
from cds_service.fixtures import fixtures_dir, list_scenarios
from cds_service.observability.logging import JsonFormatter
from cds_service.settings import Settings, TrustedIssuer
from tests.builders import hook_request
from tests.protocol.jwt_helpers import SigningKey, bearer, claims_for, jwks_document, make_key, mint

ISSUER = "https://ehr.chu-exemple.fr"
PUBLIC = "https://cds.chu-exemple.fr"


@pytest.fixture
def es_key() -> SigningKey:
    return make_key("ES384")


@pytest.fixture
def rs_key() -> SigningKey:
    return make_key("RS384")


@pytest.fixture
def secure_settings(database_url: str, tmp_path: Path, es_key: SigningKey, rs_key: SigningKey) -> Settings:
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(jwks_document(es_key, rs_key)))
    return Settings(auth="required", profile="rtu-2014", database_url=database_url, public_url=PUBLIC,
                    trusted_issuers={ISSUER: TrustedIssuer(jwks=str(jwks))}, cors_origins=["https://ehr.chu-exemple.fr"])


@pytest.fixture
async def secure_app(secure_settings: Settings) -> AsyncIterator[Starlette]:
    application = create_app(secure_settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def secure(secure_app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=secure_app), base_url=PUBLIC) as client:
        yield client


def token(key: SigningKey, path: str, **extra: Any) -> dict[str, str]:
    return {"Authorization": bearer(mint(key, claims_for(ISSUER, PUBLIC + path, **extra)))}


async def test_every_cds_endpoint_requires_a_token(secure: httpx.AsyncClient) -> None:
    endpoints = (("GET", "/cds-services"), ("POST", "/cds-services/baclofen-rtu"),
                 ("POST", "/cds-services/baclofen-rtu-select"), ("POST", "/cds-services/baclofen-rtu/feedback"))
    for method, path in endpoints:
        response = await secure.request(method, path, json={})
        assert response.status_code == 401, path
        assert response.json() == {"error": "unauthorized", "message": "authentication required"}
        assert response.headers["www-authenticate"] == "Bearer"


async def test_valid_es384_and_rs384_tokens_pass(secure: httpx.AsyncClient, es_key: SigningKey,
                                                 rs_key: SigningKey) -> None:
    assert (await secure.get("/cds-services", headers=token(es_key, "/cds-services"))).status_code == 200
    path = "/cds-services/baclofen-rtu"
    response = await secure.post(path, json=hook_request(), headers=token(rs_key, path))
    assert response.status_code == 200
    card = response.json()["cards"][0]["uuid"]
    feedback = {"feedback": [{"card": card, "outcome": "accepted", "outcomeTimestamp": "2026-03-10T10:00:00Z"}]}
    fpath = path + "/feedback"
    assert (await secure.post(fpath, json=feedback, headers=token(es_key, fpath))).status_code == 200


async def test_token_for_another_endpoint_is_refused(secure: httpx.AsyncClient, es_key: SigningKey) -> None:
    response = await secure.post("/cds-services/baclofen-rtu", json=hook_request(),
                                 headers=token(es_key, "/cds-services/baclofen-rtu-select"))
    assert response.status_code == 401


async def test_replayed_token_is_refused_by_another_process(secure_settings: Settings, secure: httpx.AsyncClient,
                                                            es_key: SigningKey) -> None:
    headers = token(es_key, "/cds-services")
    assert (await secure.get("/cds-services", headers=headers)).status_code == 200
    other = create_app(secure_settings)  # a second service process on the same database
    async with other.router.lifespan_context(other), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=other), base_url=PUBLIC
    ) as second:
        assert (await second.get("/cds-services", headers=headers)).status_code == 401
    assert (await secure.get("/cds-services", headers=headers)).status_code == 401


async def test_health_endpoints_stay_open_for_probes(secure: httpx.AsyncClient) -> None:
    assert (await secure.get("/healthz")).status_code == 200
    assert (await secure.get("/readyz")).status_code == 200


async def test_cors_only_for_configured_origins(secure: httpx.AsyncClient) -> None:
    allowed = await secure.options("/cds-services", headers={"Origin": "https://ehr.chu-exemple.fr",
                                                             "Access-Control-Request-Method": "GET"})
    assert allowed.headers.get("access-control-allow-origin") == "https://ehr.chu-exemple.fr"
    refused = await secure.options("/cds-services", headers={"Origin": "https://evil.example",
                                                             "Access-Control-Request-Method": "GET"})
    assert "access-control-allow-origin" not in refused.headers


def _identifying_strings(request: dict[str, Any]) -> set[str]:
    found: set[str] = {request["context"]["patientId"]}
    patient = (request.get("prefetch") or {}).get("patient") or {}
    for name in patient.get("name", []):
        found.update(name.get("given", []))
        if name.get("family"):
            found.add(name["family"])
    for identifier in patient.get("identifier", []):
        if identifier.get("value"):
            found.add(identifier["value"])
    return {value for value in found if len(value) >= 4}


async def test_logs_of_all_fixture_runs_hold_no_patient_data_or_token(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    directory = fixtures_dir()
    assert directory is not None
    secrets: set[str] = {"fixture-secret-token-XYZ"}
    caplog.set_level(logging.DEBUG)
    for scenario in list_scenarios(directory):
        request = dict(scenario.request)
        request["fhirServer"] = "http://127.0.0.1:9/fhir"
        request["fhirAuthorization"] = {"access_token": "fixture-secret-token-XYZ", "token_type": "Bearer",
                                        "expires_in": 300, "scope": "patient/*.read", "subject": "cds"}
        secrets |= _identifying_strings(request)
        await client.post(f"/cds-services/{scenario.service}", json=request)
    formatter = JsonFormatter()
    captured = "\n".join(formatter.format(record) for record in caplog.records)
    assert "hook evaluated" in captured
    leaks = sorted(secret for secret in secrets if secret in captured)
    assert not leaks, leaks


async def test_request_time_out_is_a_503(database_url: str, fhir_server: Any) -> None:
    from tests.builders import patient

    fhir_server.load([patient()])
    settings = Settings(auth="off", database_url=database_url, fhir_timeout_seconds=5, request_timeout_seconds=0.3)
    application = create_app(settings)
    async with application.router.lifespan_context(application), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=application), base_url="http://testserver"
    ) as client:
        request = hook_request(omit=("conditions",), fhir_server=fhir_server.url("delay-2000"))
        response = await client.post("/cds-services/baclofen-rtu", json=request)
    assert response.status_code == 503
    assert response.json()["error"] == "timeout"
