"""Issue 11: the plan page and the cards never disagree.

For every fixture, each plan link of each card is opened and its day-by-day table is compared
with the card: the doses of the page are, day for day, those of the card's suggestion (what the
button would prescribe), or the one dose the card says to keep, never more.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from cds_service.fixtures import Scenario
from tests.clinical.safety_properties import steps_of
from tests.sandbox.plan_links import SCENARIOS, plan_links

ROW = re.compile(
    r'<th scope="row">\S+ <time datetime="(\d{4}-\d{2}-\d{2})">[^<]*</time></th><td class="num">([\d.]+)</td>'
)


def _page_doses(html: str) -> list[tuple[date, float]]:
    return [(date.fromisoformat(day), float(dose)) for day, dose in ROW.findall(html)]


def _daily(resource: dict[str, Any], days: list[date]) -> list[float]:
    """The dose a suggested MedicationRequest gives on each day (0 after its last step ends)."""
    steps = steps_of(resource)
    doses = []
    for day in days:
        dose = steps[0].mg_per_day
        for step in steps:
            if step.start is not None and step.start <= day:
                dose = step.mg_per_day
        last = steps[-1]
        if last.end is not None and day > last.end:
            dose = 0.0
        doses.append(dose)
    return doses


def _updates(card: dict[str, Any]) -> list[dict[str, Any]]:
    return [action["resource"] for suggestion in card.get("suggestions", []) for action in suggestion["actions"]
            if action["type"] == "update"]


@pytest.mark.parametrize("lang", ["fr", "en"])
@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
async def test_the_plan_page_shows_what_the_card_proposes(client: httpx.AsyncClient, scenario: Scenario,
                                                          lang: str) -> None:
    for card, url in await plan_links(client, scenario, lang):
        page = await client.get(f"{url.path}?{url.query}")
        assert page.status_code == 200, page.text
        query = {key: values[0] for key, values in parse_qs(url.query).items()}
        shown = _page_doses(page.text)
        assert shown, card["summary"]
        days = [day for day, _ in shown]
        doses = [dose for _, dose in shown]
        if "steps" in query:
            candidates = [_daily(resource, days) for resource in _updates(card)]
            assert doses in candidates, (card["summary"], doses, candidates)
        else:
            kept = float(query["dose"])
            assert set(doses) == {kept}, (card["summary"], doses)
            assert "row-step" not in page.text
        if "contre-indiqué" in page.text or "contraindicated" in page.text:
            assert max(doses) <= doses[0], "a page for a contraindicated patient shows an increase"
        assert days[0] <= days[-1] <= days[0] + timedelta(days=180)
