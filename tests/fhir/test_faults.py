"""FHIR-server faults, end to end: the real app fetching from the real local FHIR server.

Whatever the server does (too slow, refused, 401/403/404/500, not JSON, the wrong Bundle,
endless `next` links, a huge page, a redirect elsewhere), the EHR gets its answer within the
fetch deadline plus a small margin: cards with a `data-unavailable` card naming the missing
keys, or a 412 when not even the Patient could be had. The access token never reaches a log.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from cds_service.fhir import client as fhir_client
from cds_service.fhir.prefetch import SEARCH_KEYS
from cds_service.settings import Settings
from tests.builders import baclofen_order, condition, egfr, hook_request, patient, rule_codes
from tests.fhir_server import FakeFhir

TOKEN = "tok-FAULTS-7f3a9c-never-log-me"
MARGIN_SECONDS = 1.5  # the deadline plus scheduling on a loaded 2-core CI machine; unbounded would never end
REFUSED = "http://127.0.0.1:9/fhir"  # nothing listens on the discard port

# mode → why each search fails (the reason label of cds_fhir_fetch_errors_total)
SEARCH_FAULTS = {
    "delay-3000": "timeout",
    "stall": "timeout",
    "refused": "connection",
    "status-401": "unauthorized",
    "status-403": "unauthorized",
    "status-404": "not-found",
    "status-500": "http-error",
    "garbage": "malformed-json",
    "html": "malformed-json",
    "wrong-bundle": "wrong-bundle-type",
    "endless": "too-many-pages",
    "redirect": "unexpected-status",
    "oo": "not-a-bundle",
}
# modes in which reading the Patient itself fails (the others serve reads normally)
PATIENT_FAULTS = ("delay-3000", "stall", "refused", "status-401", "status-403", "status-404", "status-500",
                  "garbage", "html", "redirect", "oo")


@pytest.fixture
def record(fhir_server: FakeFhir) -> FakeFhir:
    fhir_server.load([
        patient(), condition("F10.2"), condition("G40.9", cid="c2"), egfr(25),
        baclofen_order(10, 3, oid="old-1", status="active", authored="2026-02-01"),
    ])
    fhir_server.seen.clear()
    return fhir_server


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Everything logged at any level by the service and the HTTP stack, even where the service's
    logging setup stops propagation to the root logger."""
    names = ("cds_service", "httpx", "httpcore", "uvicorn", "uvicorn.error")
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(caplog.handler)
        logger.setLevel(logging.DEBUG)
    caplog.set_level(logging.DEBUG)
    try:
        yield caplog
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(caplog.handler)
            logger.setLevel(level)


def server_url(fake: FakeFhir, mode: str) -> str:
    return REFUSED if mode == "refused" else fake.url(mode)


async def fetch_errors(client: httpx.AsyncClient) -> dict[tuple[str, str], float]:
    """cds_fhir_fetch_errors_total by (key, reason), from the service's own /metrics."""
    text = (await client.get("/metrics")).text
    found = {}
    for key, reason, value in re.findall(
            r'^cds_fhir_fetch_errors_total\{key="([^"]+)",reason="([^"]+)"\} ([0-9.e+]+)$', text, re.MULTILINE):
        found[(key, reason)] = float(value)
    return found


async def timed_post(client: httpx.AsyncClient, request: dict[str, Any]) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    response = await client.post("/cds-services/baclofen-rtu", json=request, headers={"Accept-Language": "en"})
    return response, time.perf_counter() - started


def assert_no_token(logs: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str], *texts: str) -> None:
    captured = capsys.readouterr()
    for text in (logs.text, captured.out, captured.err, *texts):
        assert TOKEN not in text
    for entry in logs.records:
        assert TOKEN not in repr(getattr(entry, "fields", "")) and TOKEN not in entry.getMessage()


@pytest.mark.parametrize("mode", list(SEARCH_FAULTS))
async def test_search_fault_gives_data_unavailable_in_time(
    client: httpx.AsyncClient, settings: Settings, record: FakeFhir, logs: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str], mode: str,
) -> None:
    before = await fetch_errors(client)
    request = hook_request(omit=SEARCH_KEYS, fhir_server=server_url(record, mode), token=TOKEN)
    response, elapsed = await timed_post(client, request)

    assert response.status_code == 200, response.text
    assert elapsed < settings.fhir_timeout_seconds + MARGIN_SECONDS, f"{mode}: {elapsed:.2f}s"
    cards = [c for c in response.json()["cards"] if "data-unavailable" in c["extension"]["baclofen-rtu-rules"]]
    assert len(cards) == 1, rule_codes(response.json())
    assert cards[0]["extension"]["baclofen-rtu-unavailable"] == sorted(SEARCH_KEYS), cards[0]["extension"]
    assert "renal-unknown" in rule_codes(response.json())  # the checks that can still run did
    after = await fetch_errors(client)
    reason = SEARCH_FAULTS[mode]
    for key in SEARCH_KEYS:
        assert after.get((key, reason), 0) == before.get((key, reason), 0) + 1, (key, reason, after)
    assert_no_token(logs, capsys, response.text)


@pytest.mark.parametrize("mode", PATIENT_FAULTS)
async def test_patient_fault_is_412_in_time(
    client: httpx.AsyncClient, settings: Settings, record: FakeFhir, logs: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str], mode: str,
) -> None:
    request = hook_request(omit=("patient", *SEARCH_KEYS), fhir_server=server_url(record, mode), token=TOKEN)
    response, elapsed = await timed_post(client, request)

    assert response.status_code == 412, response.text
    assert response.json()["field"] == "prefetch.patient"
    assert elapsed < settings.fhir_timeout_seconds + MARGIN_SECONDS, f"{mode}: {elapsed:.2f}s"
    assert_no_token(logs, capsys, response.text)


async def test_partial_fault_names_only_the_failed_key(
    client: httpx.AsyncClient, settings: Settings, record: FakeFhir, logs: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    request = hook_request(omit=("observations",), fhir_server=record.url("status-500"), token=TOKEN)
    response, elapsed = await timed_post(client, request)

    assert response.status_code == 200
    cards = [c for c in response.json()["cards"] if "data-unavailable" in c["extension"]["baclofen-rtu-rules"]]
    assert len(cards) == 1 and cards[0]["extension"]["baclofen-rtu-unavailable"] == ["observations"]
    assert "laboratory results" in cards[0]["summary"] or "résultats biologiques" in cards[0]["summary"]
    assert elapsed < settings.fhir_timeout_seconds + MARGIN_SECONDS
    assert_no_token(logs, capsys, response.text)


@pytest.mark.parametrize(("mode", "key", "reason"), [
    ("huge-8000", "observations", "too-large"),  # 2.4 MB in one page, over the (lowered) 1 MB limit
    ("foreign-next", "conditions", "foreign-next-link"),  # 3 conditions: page 2 is on another host
])
async def test_one_key_fault_names_that_key(
    client: httpx.AsyncClient, settings: Settings, record: FakeFhir, logs: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, mode: str, key: str, reason: str,
) -> None:
    monkeypatch.setattr(fhir_client, "MAX_KEY_BYTES", 1_000_000)  # the 10 MB default, scaled down for speed
    record.load([*(resource for rtype in record.resources.values() for resource in rtype),
                 condition("I10", cid="c3")])
    before = await fetch_errors(client)
    request = hook_request(omit=(key,), fhir_server=record.url(mode), token=TOKEN)
    response, elapsed = await timed_post(client, request)

    assert response.status_code == 200, response.text
    assert elapsed < settings.fhir_timeout_seconds + MARGIN_SECONDS, f"{mode}: {elapsed:.2f}s"
    cards = [c for c in response.json()["cards"] if "data-unavailable" in c["extension"]["baclofen-rtu-rules"]]
    assert len(cards) == 1 and cards[0]["extension"]["baclofen-rtu-unavailable"] == [key], rule_codes(response.json())
    assert (await fetch_errors(client)).get((key, reason), 0) == before.get((key, reason), 0) + 1
    assert_no_token(logs, capsys, response.text)


async def test_large_page_within_limits_is_evaluated_in_time(
    client: httpx.AsyncClient, settings: Settings, record: FakeFhir,
) -> None:
    request = hook_request(omit=("observations",), fhir_server=record.url("huge-3000"), token=TOKEN)
    response, elapsed = await timed_post(client, request)

    assert response.status_code == 200, response.text
    assert "data-unavailable" not in rule_codes(response.json())
    assert "renal-severe" in rule_codes(response.json())  # 3,000 copies of an eGFR of 25
    assert elapsed < settings.fhir_timeout_seconds + MARGIN_SECONDS, f"{elapsed:.2f}s"


async def test_token_sent_only_to_the_fhir_server(client: httpx.AsyncClient, record: FakeFhir) -> None:
    """The bearer token goes with every fetch to fhirServer, and nowhere else: neither to a
    foreign `next` link nor to a redirect target, which are not followed."""
    for mode in ("ok", "foreign-next", "redirect"):
        record.seen.clear()
        request = hook_request(omit=SEARCH_KEYS, fhir_server=record.url(mode), token=TOKEN)
        response = await client.post("/cds-services/baclofen-rtu", json=request)
        assert response.status_code == 200
        assert record.seen and all(url.startswith(record.base) for url, _ in record.seen)
        assert all(auth == f"Bearer {TOKEN}" for _, auth in record.seen)
