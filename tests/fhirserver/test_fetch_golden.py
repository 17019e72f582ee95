"""Issue 13 part 4: the golden scenarios in fetch mode, against a FHIR server written by others.

Each scenario's resources are loaded into Medplum's FHIR server (in memory, `medplum_server.mjs`);
the service gets the same request without any prefetch and `fhirServer` pointing to Medplum, so
it fetches everything with its own templates (`_count`, `_include`, status filters, paging,
Medication reads by id) and must give the same cards as with the EHR's prefetch.

Left out: the scenarios whose prefetch holds an OperationOutcome (their subject is a failed
prefetch, not what a server holds), which have no FHIR data to load.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from cds_service import terminology
from cds_service.app import create_app
from cds_service.fhir import prefetch
from cds_service.fhir.client import FhirEndpoint
from cds_service.fixtures import Scenario, fixtures_dir, list_scenarios
from cds_service.settings import Settings
from tests.builders import rule_codes
from tests.fhirserver import medplum
from tests.fhirserver.medplum import Medplum
from tests.test_golden import scenario_terminology

DIRECTORY = fixtures_dir()
SCENARIOS = list_scenarios(DIRECTORY) if DIRECTORY else []
CLOSED = "http://127.0.0.1:9/fhir"


def _failed_prefetch(scenario: Scenario) -> bool:
    prefetch = scenario.request.get("prefetch") or {}
    return any(isinstance(value, dict) and value.get("resourceType") == "OperationOutcome"
               for value in prefetch.values())


FETCHABLE = [s for s in SCENARIOS if s.request.get("prefetch") and not _failed_prefetch(s)]


def resources_of(scenario: Scenario) -> list[dict[str, Any]]:
    """Everything the EHR's prefetch held: the Patient, every search's matches and includes."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for value in scenario.request["prefetch"].values():
        if not isinstance(value, dict):
            continue
        items = [value] if value.get("resourceType") != "Bundle" else [
            entry["resource"] for entry in value.get("entry") or []]
        for resource in items:
            found[(resource["resourceType"], resource["id"])] = resource
    return list(found.values())


@pytest.fixture(scope="module")
def server() -> Iterator[Medplum]:
    medplum.require()
    with medplum.running() as running:
        yield running


@pytest.fixture
def settings(database_url: str) -> Settings:
    # A generous deadline: the machine is shared, and fetching is what is tested, not its speed.
    return Settings(auth="off", database_url=database_url, public_url="http://testserver",
                    fhir_timeout_seconds=30.0, request_timeout_seconds=60.0)


async def _service(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    application: Starlette = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


@pytest.fixture
async def service(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The real ASGI app, one per test (function scope: its HTTP client lives in this loop)."""
    async for http in _service(settings):
        yield http


def _cards(body: dict[str, Any]) -> list[tuple[Any, ...]]:
    return sorted((card["indicator"], card["summary"], card["detail"],
                   tuple(card["extension"]["baclofen-rtu-rules"]),
                   tuple(s["label"] for s in card.get("suggestions", [])))
                  for card in body["cards"])


async def _call(service: httpx.AsyncClient, scenario: Scenario, request: dict[str, Any]) -> httpx.Response:
    return await service.post(f"/cds-services/{scenario.service}", json=request,
                              headers={"Accept-Language": "fr"})


def test_the_fetch_run_covers_the_new_scenarios() -> None:
    names = {s.name for s in FETCHABLE}
    assert {"fetch-history-450-orders", "fetch-medication-by-reference", "fetch-statements-comedications",
            "fetch-baclofen-statement-only"} <= names
    assert len(FETCHABLE) >= len(SCENARIOS) - 4


@pytest.mark.parametrize("scenario", FETCHABLE, ids=[s.name for s in FETCHABLE])
async def test_fetch_mode_gives_the_prefetch_cards(
    server: Medplum, service: httpx.AsyncClient, scenario: Scenario
) -> None:
    with_prefetch = copy.deepcopy(scenario.request)
    with_prefetch["fhirServer"] = CLOSED
    fetching = copy.deepcopy(scenario.request)
    del fetching["prefetch"]
    fetching["fhirServer"] = server.fhir_base
    previous = terminology.install(scenario_terminology(scenario))  # the fr- scenarios' BDPM subset
    try:
        expected = await _call(service, scenario, with_prefetch)
        server.load(resources_of(scenario))
        got = await _call(service, scenario, fetching)
    finally:
        terminology.install(previous)

    assert got.status_code == expected.status_code == scenario.expected.get("status", 200), got.text
    if got.status_code != 200:
        return
    codes = set(rule_codes(got.json()))
    assert "data-unavailable" not in codes or "data-unavailable" in set(rule_codes(expected.json())), codes
    assert _cards(got.json()) == _cards(expected.json())
    assert set(scenario.expected.get("must", [])) <= codes
    assert not set(scenario.expected.get("must_not", [])) & codes


@pytest.mark.parametrize(("page_size", "outcome"), [(100, "too-many-pages"), (200, 450)])
async def test_page_size_decides_whether_the_long_history_fits(
    server: Medplum, page_size: int, outcome: str | int
) -> None:
    """Why `_count` is sent: the page cap bounds what a key may hold at a given page size. At
    Medplum's default 20 a page, 450 orders need 23 pages, over the 20-page cap. The same, scaled
    down (Medplum's in-memory search takes seconds a page here): under a 4-page cap, 100 a page
    loses the history (5 pages), 200 a page brings it whole (3 pages)."""
    (scenario,) = [s for s in FETCHABLE if s.name == "fetch-history-450-orders"]
    server.load(resources_of(scenario))
    async with httpx.AsyncClient(timeout=60) as http:
        others = {key: value for key, value in scenario.request["prefetch"].items() if key != "medications"}
        result = await prefetch.resolve(others,
                                        patient_id=scenario.request["context"]["patientId"],
                                        endpoint=FhirEndpoint(server.fhir_base), http=http,
                                        deadline_seconds=90, max_pages=4, page_size=page_size)
    if isinstance(outcome, str):
        assert result.unavailable.get("medications") == outcome, result.unavailable
    else:
        assert not result.unavailable
        assert len(result.data["medications"]["entry"]) == outcome
