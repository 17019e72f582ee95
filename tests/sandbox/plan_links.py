"""The plan links of every fixture's cards, for the tests that open them (both views)."""

from __future__ import annotations

import copy
from typing import Any
from urllib.parse import SplitResult, urlsplit

import httpx

from cds_service.fixtures import Scenario, fixtures_dir, list_scenarios

DIRECTORY = fixtures_dir()
#: the fixtures that get cards (a 4xx scenario has no plan link)
SCENARIOS = [s for s in (list_scenarios(DIRECTORY) if DIRECTORY else []) if s.expected.get("status", 200) == 200]


async def plan_links(client: httpx.AsyncClient, scenario: Scenario, lang: str
                     ) -> list[tuple[dict[str, Any], SplitResult]]:
    """(card, plan URL) for each `/plan` link of the scenario's cards in `lang`."""
    request = copy.deepcopy(scenario.request)
    request.pop("fhirServer", None)
    response = await client.post(f"/cds-services/{scenario.service}", json=request,
                                 headers={"Accept-Language": lang})
    assert response.status_code == 200
    return [(card, urlsplit(link["url"])) for card in response.json()["cards"]
            for link in card.get("links", []) if "/plan?" in link["url"]]
