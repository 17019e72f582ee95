"""Bounded work per call: linear in the input, and capped drafts and prefetch entries (413)."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from types import FrameType
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from cds_service.app import create_app
from cds_service.clinical.cards import CardRequest, build_cards
from cds_service.clinical.engine import evaluate
from cds_service.clinical.profile import load_profile
from cds_service.fhir.context_builder import build_context
from cds_service.settings import Settings
from tests.builders import (
    PATIENT_ID,
    baclofen_order,
    condition,
    egfr,
    hook_request,
    other_order,
    patient,
    searchset,
)
from tests.fhir_server import FakeFhir

PROFILE = load_profile("rtu-2014")
# drugs of every interaction class of the profile, as drafts of the same order set
INTERACTING = (("C03CA01", "furosémide"), ("C09AA05", "ramipril"), ("N06AA09", "amitriptyline"),
               ("N05BA01", "diazépam"), ("N04BA02", "lévodopa"))


def _drafts(n: int) -> list[dict[str, Any]]:
    """n drafts: half baclofen, half interacting co-medications."""
    drafts = []
    for i in range(n):
        if i % 2 == 0:
            drafts.append(baclofen_order(5, 3, oid=f"bac-{i}"))
        else:
            atc, name = INTERACTING[i % len(INTERACTING)]
            order = other_order(atc, f"{name} {i}", oid=f"co-{i}")
            order["status"] = "draft"
            drafts.append(order)
    return drafts


def _calls(n: int) -> int:
    """Python function calls to turn n drafts into cards: deterministic, unlike wall time."""
    request = hook_request(_drafts(n))
    count = 0

    def profiler(frame: FrameType, event: str, arg: object) -> None:
        nonlocal count
        if event == "call":
            count += 1

    sys.setprofile(profiler)
    try:
        context = build_context(patient_id=PATIENT_ID, draft_orders=request["context"]["draftOrders"],
                                data=request["prefetch"], unavailable=(), today=date(2026, 3, 10))
        build_cards(evaluate(context, PROFILE), CardRequest(
            hook_instance="h", patient_id=PATIENT_ID, user_id=None, encounter_id=None, lang="en",
            base_url="http://testserver"))
    finally:
        sys.setprofile(None)
    return count


def test_work_is_linear_in_the_number_of_drafts() -> None:
    small, large = _calls(100), _calls(800)
    assert large <= 10 * small, (small, large)


@pytest.fixture
async def capped(tmp_path: Path, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(auth="off", database_url=database_url, public_url="http://testserver",
                        fhir_timeout_seconds=2.0, max_draft_orders=5, max_prefetch_entries=20)
    application: Starlette = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


async def test_too_many_drafts_is_413_naming_the_limit(capped: httpx.AsyncClient) -> None:
    request = hook_request([baclofen_order(oid=f"d-{i}") for i in range(6)])
    response = await capped.post("/cds-services/baclofen-rtu", json=request)
    assert response.status_code == 413, response.text
    body = response.json()
    assert body["error"] == "too-many-resources"
    assert body["field"] == "context.draftOrders"
    assert "CDS_MAX_DRAFT_ORDERS" in body["message"] and "5" in body["message"]


async def test_at_the_limit_is_evaluated(capped: httpx.AsyncClient) -> None:
    request = hook_request([baclofen_order(oid=f"d-{i}") for i in range(5)],
                           conditions=[condition("F10.2", cid=f"c-{i}") for i in range(20)])
    response = await capped.post("/cds-services/baclofen-rtu", json=request)
    assert response.status_code == 200, response.text


async def test_too_many_prefetch_entries_is_413(capped: httpx.AsyncClient) -> None:
    request = hook_request(observations=[egfr(90, f"2026-01-{i % 28 + 1:02d}") for i in range(21)])
    response = await capped.post("/cds-services/baclofen-rtu", json=request)
    assert response.status_code == 413, response.text
    assert response.json()["field"] == "prefetch.observations"
    assert "CDS_MAX_PREFETCH_ENTRIES" in response.json()["message"]


async def test_fetched_key_over_the_limit_is_unavailable(capped: httpx.AsyncClient,
                                                         fhir_server: FakeFhir) -> None:
    fhir_server.load([patient(), other_order("C03CA01", "furosémide", oid="co-1")])
    request = hook_request(omit=("medications",), fhir_server=fhir_server.url("huge-21"), token="t")
    response = await capped.post("/cds-services/baclofen-rtu", json=request)
    assert response.status_code == 200, response.text
    data = [c for c in response.json()["cards"] if "data-unavailable" in c["extension"]["baclofen-rtu-rules"]]
    assert data and data[0]["extension"]["baclofen-rtu-unavailable"] == ["medications"]


def test_entry_count_of_the_searchset_builder() -> None:
    from cds_service.pipeline import entry_count

    assert entry_count(searchset([patient(), patient()])) == 2
    assert entry_count(patient()) == 1
    assert entry_count({"resourceType": "Bundle"}) == 0
    assert entry_count(None) == 0
