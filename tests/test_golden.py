"""Golden tests: every scenario of fhir_fixtures/ through the real ASGI app, in French and English.

Each scenario's expected.yaml lists the rule codes that must and must not appear. The EHR's
fhirServer is pointed at a closed local port so nothing leaves the machine.
"""

from __future__ import annotations

import copy
from typing import Any

import httpx
import pytest

from cds_service import terminology
from cds_service.fixtures import Scenario, fixtures_dir, list_scenarios
from cds_service.terminology.bdpm import build_index
from tests.builders import rule_codes
from tests.clinical.safety_properties import steps_of

DIRECTORY = fixtures_dir()
SCENARIOS = list_scenarios(DIRECTORY) if DIRECTORY else []


def test_there_are_enough_scenarios() -> None:
    assert len(SCENARIOS) >= 40


@pytest.mark.parametrize("lang", ["fr", "en"])
@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
async def test_scenario(client: httpx.AsyncClient, scenario: Scenario, lang: str) -> None:
    request: dict[str, Any] = copy.deepcopy(scenario.request)
    if "fhirServer" in request:
        request["fhirServer"] = "http://127.0.0.1:9/fhir"
    expected = scenario.expected
    previous = terminology.install(scenario_terminology(scenario))
    try:
        response = await client.post(f"/cds-services/{scenario.service}", json=request,
                                     headers={"Accept-Language": lang})
    finally:
        terminology.install(previous)
    assert response.status_code == expected.get("status", 200), response.text
    if response.status_code != 200:
        return
    body = response.json()
    codes = set(rule_codes(body))
    if expected.get("no_cards"):
        assert body["cards"] == []
        return
    missing = set(expected.get("must", [])) - codes
    unexpected = set(expected.get("must_not", [])) & codes
    assert not missing and not unexpected, (
        f"missing {sorted(missing)}, unexpected {sorted(unexpected)}; got {sorted(codes)}"
    )
    indicators = [card["indicator"] for card in body["cards"]]
    if expected.get("critical"):
        assert "critical" in indicators
    elif "critical" in expected:
        assert "critical" not in indicators
    for card in body["cards"]:
        assert len(card["summary"]) < 140, card["summary"]  # CDS Hooks 2.0: "<140 characters"
        assert "{" not in card["summary"] and "{" not in card["detail"], card["summary"]
    check_suggestions(body["cards"], expected.get("suggest"))


def scenario_terminology(scenario: Scenario) -> terminology.Terminology:
    """The BDPM subset and formulary a scenario names (`terminology:` in expected.yaml), as
    `serve` would load them from CDS_TERMINOLOGY_DIR and CDS_FORMULARY; else none."""
    wanted = scenario.expected.get("terminology") or {}
    assert DIRECTORY is not None
    loaded = terminology.load(None, DIRECTORY / wanted["formulary"] if "formulary" in wanted else None)
    if "bdpm" in wanted:
        loaded.add_bdpm(build_index(DIRECTORY / wanted["bdpm"]))
    return loaded


def _updates(cards: list[dict[str, Any]]) -> list[list[float]]:
    return [[step.mg_per_day for step in steps_of(action["resource"])]
            for card in cards for suggestion in card.get("suggestions", []) for action in suggestion["actions"]
            if action["type"] == "update"]


def check_suggestions(cards: list[dict[str, Any]], expected: dict[str, Any] | None) -> None:
    """The scenario's `suggest` expectations (issue 11): what every one-click dose respects."""
    if not expected:
        return
    updates = _updates(cards)
    deletes = [action for card in cards for suggestion in card.get("suggestions", [])
               for action in suggestion["actions"] if action["type"] == "delete"]
    if "max_mg" in expected:
        assert all(dose <= expected["max_mg"] for doses in updates for dose in doses), updates
    if "dose" in expected:
        assert bool(updates) == expected["dose"], updates
    if "delete" in expected:
        assert bool(deletes) == expected["delete"], deletes
    if "taper" in expected:
        tapers = [doses for doses in updates if len(doses) > 1 and doses == sorted(doses, reverse=True)]
        assert bool(tapers) == expected["taper"], updates
