"""Every fixture's cards, offline: what the golden card tests check and what the card-count
table of docs/clinical-policy.md is made from (`python -m tests.card_census [profile] [lang]`).
"""

from __future__ import annotations

import asyncio
import sys
from collections import Counter
from datetime import date
from typing import Any

import httpx

from cds_service.clinical.profile import Language, load_profile
from cds_service.fixtures import Scenario, fixtures_dir, list_scenarios
from cds_service.pipeline import Limits, evaluate_hook, in_scope
from cds_service.protocol.models import HookRequest

DIRECTORY = fixtures_dir()
SCENARIOS: list[Scenario] = list_scenarios(DIRECTORY) if DIRECTORY else []


async def _cards(scenario: Scenario, profile_id: str, lang: Language, http: httpx.AsyncClient
                 ) -> list[dict[str, Any]] | None:
    """The scenario's cards, or None when the request is refused (4xx scenarios)."""
    if scenario.expected.get("status", 200) != 200:
        return None
    try:
        request = HookRequest.model_validate(scenario.request)
    except ValueError:
        return None
    if request.hook not in ("order-sign", "order-select"):
        return None
    offline = request.model_copy(update={"fhirServer": None, "fhirAuthorization": None})
    try:
        if not in_scope(offline, Limits()):
            return []
        outcome = await evaluate_hook(offline, hook="order-sign" if request.hook == "order-sign" else "order-select",
                                 profile=load_profile(profile_id), http=http, lang=lang, today=date.today(),
                                 base_url="http://cds.test", deadline_seconds=2.0, max_pages=5)
    except Exception:  # a refused request (412/400): no cards to count
        return None
    return outcome.cards


async def all_cards(profile_id: str, lang: Language) -> dict[str, list[dict[str, Any]]]:
    """Cards of every answered fixture, by scenario name."""
    result: dict[str, list[dict[str, Any]]] = {}
    async with httpx.AsyncClient() as http:
        for scenario in SCENARIOS:
            cards = await _cards(scenario, profile_id, lang, http)
            if cards is not None:
                result[scenario.name] = cards
    return result


def counts(cards: list[dict[str, Any]]) -> Counter[str]:
    return Counter(card["indicator"] for card in cards)


def table(by_name: dict[str, list[dict[str, Any]]]) -> str:
    """A markdown table: one row per fixture (total, critical, warning, info), then the totals."""
    rows = ["| fixture | cards | critical | warning | info |", "|---|---|---|---|---|"]
    total: Counter[str] = Counter()
    for name, cards in by_name.items():
        c = counts(cards)
        total.update(c)
        rows.append(f"| {name} | {len(cards)} | {c['critical']} | {c['warning']} | {c['info']} |")
    all_cards_count = sum(total.values())
    rows.append(f"| **total** | **{all_cards_count}** | **{total['critical']}** | **{total['warning']}** "
                f"| **{total['info']}** |")
    return "\n".join(rows)


if __name__ == "__main__":
    profile_id = sys.argv[1] if len(sys.argv) > 1 else "rtu-2014"
    language: Language = "en" if len(sys.argv) > 2 and sys.argv[2] == "en" else "fr"
    print(table(asyncio.run(all_cards(profile_id, language))))
