"""`/metrics` after fixture runs shows every series the operators' dashboards read."""

from __future__ import annotations

import os
import re
from pathlib import Path

import httpx

from cds_service.fixtures import fixtures_dir, list_scenarios
from cds_service.storage.database import migrate
from tests.builders import hook_request
from tests.fhir_server import FakeFhir
from tests.processes import serving


def _value(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{key}="{value}"' in line for key, value in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


async def test_metrics_after_fixture_runs(client: httpx.AsyncClient, fhir_server: FakeFhir) -> None:
    directory = fixtures_dir()
    assert directory is not None
    before = (await client.get("/metrics")).text
    last_cards: list[dict[str, object]] = []
    for scenario in list_scenarios(directory):
        request = dict(scenario.request)
        request["fhirServer"] = "http://127.0.0.1:9/fhir"
        response = await client.post(f"/cds-services/{scenario.service}", json=request)
        if response.status_code == 200 and response.json()["cards"]:
            last_cards = response.json()["cards"]
    fhir_server.load([])
    await client.post("/cds-services/baclofen-rtu", json=hook_request(omit=("allergies",),
                                                                       fhir_server=fhir_server.url("status-500")))
    card = last_cards[0]
    await client.post("/cds-services/baclofen-rtu/feedback", json={"feedback": [
        {"card": card["uuid"], "outcome": "overridden", "outcomeTimestamp": "2026-03-10T10:00:00Z",
         "overrideReason": {"reason": {"code": "benefit-outweighs-risk",
                                       "system": "urn:baclofen-rtu:override-reason"}}}]})
    response = await client.get("/metrics")
    assert response.status_code == 200
    text = response.text
    ok = _value(text, "cds_requests_total", service="baclofen-rtu", status="200")
    assert ok - _value(before, "cds_requests_total", service="baclofen-rtu", status="200") >= 80
    assert _value(text, "cds_requests_total", status="412") >= 1
    assert _value(text, "cds_request_duration_seconds_count", service="baclofen-rtu-select") >= 1
    for rule in ("dose-specialist", "dose-collegial", "renal-severe", "ci-epilepsy", "ix-diuretic", "plan-next-dose"):
        assert _value(text, "cds_rule_firings_total", rule=rule, profile="rtu-2014") >= 1, rule
    for indicator in ("info", "warning", "critical"):
        assert _value(text, "cds_cards_total", indicator=indicator) >= 1, indicator
    # scope-non-baclofen-* fixtures: answered by the out-of-scope fast path, counted, not audited
    assert _value(text, "cds_out_of_scope_total", service="baclofen-rtu") - _value(
        before, "cds_out_of_scope_total", service="baclofen-rtu") >= 2
    assert _value(text, "cds_fhir_fetch_duration_seconds_count", key="allergies") >= 1
    assert _value(text, "cds_fhir_fetch_errors_total", key="allergies", reason="http-error") >= 1
    rule = card["extension"]["baclofen-rtu-rules"][0]  # type: ignore[index]
    assert _value(text, "cds_feedback_total", service="baclofen-rtu", outcome="overridden", rule=rule) >= 1


def test_metrics_are_merged_across_worker_processes(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
    migrate(url)
    metrics_dir = tmp_path / "prom"
    metrics_dir.mkdir()
    env = {**os.environ, "CDS_AUTH": "off", "CDS_DATABASE_URL": url, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    with serving(env, "--workers", "2") as (base, process):
        with httpx.Client(base_url=base, timeout=10) as http:
            for _ in range(12):
                http.headers["Connection"] = "close"  # new connections spread over both workers
                assert http.post("/cds-services/baclofen-rtu", json=hook_request()).status_code == 200
            text = http.get("/metrics").text
        assert _value(text, "cds_requests_total", service="baclofen-rtu", status="200") == 12
        pids = set(re.findall(r"_(\d+)\.db", " ".join(os.listdir(metrics_dir))))
        assert len(pids) >= 1
        process.terminate()
        assert process.wait(timeout=20) == 0


async def test_metrics_token_guards_the_metrics_when_set(database_url: str) -> None:
    from cds_service.app import create_app
    from cds_service.settings import Settings

    settings = Settings(auth="off", database_url=database_url, metrics_token="scrape-secret-1")
    application = create_app(settings)
    async with application.router.lifespan_context(application), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=application), base_url="http://testserver"
    ) as http:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic scrape-secret-1"},
                        {"Authorization": "Bearer scrape-secret-1x"}):
            response = await http.get("/metrics", headers=headers)
            assert response.status_code == 401, headers
            assert response.headers["www-authenticate"] == "Bearer"
            assert "cds_requests_total" not in response.text
        response = await http.get("/metrics", headers={"Authorization": "Bearer scrape-secret-1"})
        assert response.status_code == 200 and "cds_requests_total" in response.text
