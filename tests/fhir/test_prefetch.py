"""Fetching what prefetch lacks from a real FHIR HTTP server on 127.0.0.1, faults included."""

from __future__ import annotations

import time

import httpx
import pytest

from cds_service.fhir import prefetch
from cds_service.fhir.client import FhirEndpoint
from cds_service.fhir.prefetch import PatientUnavailable
from tests.builders import PATIENT_ID, baclofen_order, condition, egfr, hook_request, patient, rule_codes
from tests.fhir_server import FakeFhir

TOKEN = "secret-access-token-123"


@pytest.fixture
def loaded(fhir_server: FakeFhir) -> FakeFhir:
    fhir_server.load([
        patient(), condition("F10.2"), condition("G40.9", cid="c2"), condition("I10", cid="c3"),
        egfr(25), baclofen_order(10, 3, oid="old-1", status="active", authored="2026-02-01"),
    ])
    fhir_server.seen.clear()
    return fhir_server


async def _resolve(
    server: FakeFhir, mode: str, existing: dict | None, deadline: float = 1.0
) -> prefetch.PrefetchResult:
    endpoint = FhirEndpoint(server.url(mode), TOKEN)
    async with httpx.AsyncClient() as http:
        return await prefetch.resolve(existing, patient_id=PATIENT_ID, endpoint=endpoint,
                                      http=http, deadline_seconds=deadline, max_pages=5)


async def test_missing_keys_fetched_with_bearer_token(loaded: FakeFhir) -> None:
    result = await _resolve(loaded, "ok", None)
    assert not result.unavailable
    assert sorted(result.fetched) == sorted(prefetch.PREFETCH_TEMPLATES)
    assert result.data["patient"]["id"] == PATIENT_ID
    assert len(result.data["conditions"]["entry"]) == 3
    assert all(auth == f"Bearer {TOKEN}" for _, auth in loaded.seen)


async def test_prefetch_used_first_and_operation_outcome_refetched(loaded: FakeFhir) -> None:
    existing = {"patient": patient(), "conditions": {"resourceType": "OperationOutcome", "issue": []},
                "medications": None, "medicationStatements": None, "observations": None, "allergies": None}
    result = await _resolve(loaded, "ok", existing)
    assert result.fetched == ["conditions"]
    assert result.data["medications"] is None


async def test_paging_follows_next_links(loaded: FakeFhir) -> None:
    result = await _resolve(loaded, "paged", None)
    assert len(result.data["conditions"]["entry"]) == 3
    assert any("_page=1" in url for url, _ in loaded.seen)


async def test_fetches_run_concurrently_within_one_deadline(loaded: FakeFhir) -> None:
    started = time.perf_counter()
    result = await _resolve(loaded, "delay-200", None)
    elapsed = time.perf_counter() - started
    assert not result.unavailable
    fetches = len(prefetch.PREFETCH_TEMPLATES)
    assert elapsed < 0.2 * fetches * 0.6, elapsed  # six fetches of 200 ms in well under their sum


async def test_slow_server_beyond_deadline(loaded: FakeFhir) -> None:
    existing = {"patient": patient()}
    started = time.perf_counter()
    result = await _resolve(loaded, "delay-3000", existing, deadline=0.3)
    assert time.perf_counter() - started < 1.0
    assert set(result.unavailable) == set(prefetch.SEARCH_KEYS)
    assert set(result.unavailable.values()) == {"timeout"}


@pytest.mark.parametrize(
    ("mode", "reason"),
    [("status-500", "http-error"), ("status-401", "unauthorized"), ("status-403", "unauthorized"),
     ("status-404", "not-found"), ("garbage", "malformed-json"), ("wrong-bundle", "wrong-bundle-type"),
     ("endless", "too-many-pages"), ("foreign-next", "foreign-next-link"), ("oo", "not-a-bundle")],
)
async def test_faults_mark_keys_unavailable(loaded: FakeFhir, mode: str, reason: str) -> None:
    result = await _resolve(loaded, mode, {"patient": patient()})
    assert result.unavailable["conditions"] == reason


async def test_connection_refused(loaded: FakeFhir) -> None:
    async with httpx.AsyncClient() as http:
        result = await prefetch.resolve({"patient": patient()}, patient_id=PATIENT_ID,
                                        endpoint=FhirEndpoint("http://127.0.0.1:9/fhir", TOKEN), http=http,
                                        deadline_seconds=1.0, max_pages=3)
    assert set(result.unavailable.values()) == {"connection"}


async def test_patient_unobtainable_raises(loaded: FakeFhir) -> None:
    with pytest.raises(PatientUnavailable):
        await _resolve(loaded, "status-500", {})


async def test_hook_end_to_end_fetches_and_applies_rules(client: httpx.AsyncClient, loaded: FakeFhir) -> None:
    request = hook_request(omit=("patient", "conditions", "medications", "observations", "allergies"),
                           fhir_server=loaded.url("ok"), token=TOKEN)
    response = await client.post("/cds-services/baclofen-rtu", json=request)
    assert response.status_code == 200, response.text
    codes = rule_codes(response.json())
    assert "ci-epilepsy" in codes and "renal-severe" in codes
    assert "data-unavailable" not in codes


async def test_hook_with_failing_server(
    client: httpx.AsyncClient, loaded: FakeFhir, caplog: pytest.LogCaptureFixture
) -> None:
    request = hook_request(omit=("observations", "medications"), fhir_server=loaded.url("status-500"), token=TOKEN)
    response = await client.post("/cds-services/baclofen-rtu", json=request)
    assert response.status_code == 200
    cards = response.json()["cards"]
    data = [c for c in cards if "data-unavailable" in c["extension"]["baclofen-rtu-rules"]]
    assert data and data[0]["extension"]["baclofen-rtu-unavailable"] == ["medications", "observations"]
    assert "renal-unknown" in rule_codes(response.json())
    assert TOKEN not in caplog.text


async def test_patient_fetch_failure_is_412(client: httpx.AsyncClient, loaded: FakeFhir) -> None:
    request = hook_request(omit=("patient",), fhir_server=loaded.url("status-401"), token=TOKEN)
    response = await client.post("/cds-services/baclofen-rtu", json=request)
    assert response.status_code == 412
