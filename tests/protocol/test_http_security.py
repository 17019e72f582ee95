"""Production mode through the real app: JWT on every CDS endpoint, replay refused, CORS closed,
and logs of every fixture run free of patient data and tokens."""

from __future__ import annotations

import asyncio
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
    card = response.json()["cards"][0]
    feedback = {"feedback": [{"card": card["uuid"], "outcome": "accepted", "outcomeTimestamp": "2026-03-10T10:00:00Z",
                              "acceptedSuggestions": [{"id": s["uuid"]} for s in card.get("suggestions", [])[:1]]}]}
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


async def test_cors_headers_only_for_browser_requests(secure: httpx.AsyncClient) -> None:
    """A simple request from an allowed page gets its origin back; an EHR's server call (no
    Origin) gets no CORS header at all."""
    from_page = await secure.get("/healthz", headers={"Origin": "https://ehr.chu-exemple.fr"})
    assert from_page.headers.get("access-control-allow-origin") == "https://ehr.chu-exemple.fr"
    assert "origin" in from_page.headers.get("vary", "").lower()
    from_server = await secure.get("/healthz")
    assert not any(name.startswith("access-control-") for name in from_server.headers)
    assert from_server.headers["x-content-type-options"] == "nosniff"


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


@pytest.mark.parametrize(("server", "allowed", "refused"), [
    ("http://ehr.example.org/fhir", [], True),
    ("http://10.1.2.3/fhir", [], True),
    ("http://fhir.internal:8080/fhir", ["other.internal"], True),
    ("http://fhir.internal:8080/fhir", ["FHIR.internal"], False),
    ("http://127.0.0.1:9/fhir", [], False),
    ("http://127.9.9.9:9/fhir", [], False),
    ("http://localhost:9/fhir", [], False),
    ("http://[::1]:9/fhir", [], False),
    ("https://ehr.example.org/fhir", [], False),
])
async def test_plain_http_fhir_server_only_on_loopback_or_allowed_hosts(
    database_url: str, server: str, allowed: list[str], refused: bool
) -> None:
    """The access token would travel in clear to a plain-http fhirServer: refused with a 400
    naming fhirServer, unless the host is loopback or in CDS_FHIR_HTTP_ALLOWED_HOSTS."""
    settings = Settings(auth="off", database_url=database_url, fhir_http_allowed_hosts=allowed)
    application = create_app(settings)
    async with application.router.lifespan_context(application), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=application), base_url="http://testserver"
    ) as http:
        request = hook_request(fhir_server=server)  # complete prefetch: nothing is fetched
        request["fhirAuthorization"] = {"access_token": "secret", "token_type": "Bearer", "expires_in": 300,
                                        "scope": "patient/*.read", "subject": "cds"}
        response = await http.post("/cds-services/baclofen-rtu", json=request)
    if refused:
        assert response.status_code == 400
        assert response.json()["error"] == "insecure-fhir-server"
        assert response.json()["field"] == "fhirServer"
    else:
        assert response.status_code == 200, response.text


def test_allowed_hosts_setting_reads_a_comma_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CDS_FHIR_HTTP_ALLOWED_HOSTS", "fhir.internal, ehr-proxy")
    assert Settings().fhir_http_allowed_hosts == ["fhir.internal", "ehr-proxy"]


def _requests_counted(text: str, status: str) -> float:
    prefix = f'cds_requests_total{{service="baclofen-rtu",status="{status}"}} '
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(prefix))


async def _audited_status(application: Starlette, hook_instance: str) -> int | None:
    from sqlalchemy import select

    from cds_service.storage.tables import Evaluation

    for _ in range(100):  # a late write may still be committing
        async with application.state.cds.engine.connect() as connection:
            found = (await connection.execute(select(Evaluation.status_code).where(
                Evaluation.hook_instance == hook_instance))).first()
        if found is not None:
            return int(found[0])
        await asyncio.sleep(0.02)
    return None


async def test_timed_out_hook_is_audited_and_counted_as_503(database_url: str, fhir_server: Any) -> None:
    from tests.builders import patient

    fhir_server.load([patient()])
    settings = Settings(auth="off", database_url=database_url, fhir_timeout_seconds=5, request_timeout_seconds=0.5)
    application = create_app(settings)
    async with application.router.lifespan_context(application), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=application), base_url="http://testserver"
    ) as client:
        before = _requests_counted((await client.get("/metrics")).text, "503")
        request = hook_request(omit=("conditions",), fhir_server=fhir_server.url("delay-2000"))
        response = await client.post("/cds-services/baclofen-rtu", json=request)
        assert response.status_code == 503 and response.json()["error"] == "timeout"
        assert _requests_counted((await client.get("/metrics")).text, "503") == before + 1
        assert await _audited_status(application, request["hookInstance"]) == 503


async def test_slow_audit_write_records_the_status_that_was_sent(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Storage slower than the request deadline: the answer, the audit row and the counter agree
    (before, the client got the middleware's 503 while the row and the counter said 200)."""
    settings = Settings(auth="off", database_url=database_url, request_timeout_seconds=0.5)
    application = create_app(settings)
    async with application.router.lifespan_context(application), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=application), base_url="http://testserver"
    ) as client:
        writer = application.state.cds.audit
        real_write_batch = writer._write_batch

        async def slow_write_batch(records: Any) -> None:
            await asyncio.sleep(0.8)
            await real_write_batch(records)

        monkeypatch.setattr(writer, "_write_batch", slow_write_batch)
        before = {status: _requests_counted((await client.get("/metrics")).text, status) for status in ("200", "503")}
        request = hook_request()
        response = await client.post("/cds-services/baclofen-rtu", json=request)
        after = {status: _requests_counted((await client.get("/metrics")).text, status) for status in ("200", "503")}
        sent = str(response.status_code)
        assert after[sent] == before[sent] + 1
        assert await _audited_status(application, request["hookInstance"]) == response.status_code


def _break_sqlite(database: Path) -> None:
    for leftover in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
        leftover.unlink(missing_ok=True)
    database.mkdir()


async def test_replay_store_down_is_503_not_500(secure_app: Starlette, secure: httpx.AsyncClient,
                                                secure_settings: Settings, es_key: SigningKey) -> None:
    """Database gone after start-up (the file replaced by a directory): a valid token cannot be
    checked against replays, so the call is refused with 503 and Retry-After, never a 500."""
    await secure_app.state.cds.engine.dispose()
    _break_sqlite(Path(secure_settings.database_url.split("///", 1)[1]))
    path = "/cds-services/baclofen-rtu"
    response = await secure.post(path, json=hook_request(), headers=token(es_key, path))
    assert response.status_code == 503, response.text
    assert response.json()["error"] == "replay-check-unavailable"
    assert int(response.headers["retry-after"]) > 0
    discovery = await secure.get("/cds-services", headers=token(es_key, "/cds-services"))
    assert discovery.status_code == 503


async def test_replay_store_on_a_closed_port_is_unavailable(es_key: SigningKey, tmp_path: Path) -> None:
    from cds_service.protocol.auth import JwtVerifier, ReplayCheckUnavailable
    from cds_service.protocol.jwks import JwksCache
    from cds_service.storage.database import create_engine
    from cds_service.storage.repository import Repository

    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(jwks_document(es_key)))
    settings = Settings(auth="required", public_url=PUBLIC, trusted_issuers={ISSUER: TrustedIssuer(jwks=str(jwks))})
    engine = create_engine("postgresql+asyncpg://cds:cds@127.0.0.1:9/cds")  # discard port: closed
    try:
        async with httpx.AsyncClient() as http:
            verifier = JwtVerifier(settings, JwksCache(settings, http), Repository(engine))
            path = PUBLIC + "/cds-services/baclofen-rtu"
            with pytest.raises(ReplayCheckUnavailable):
                await verifier.verify(bearer(mint(es_key, claims_for(ISSUER, path))), path)
    finally:
        await engine.dispose()
