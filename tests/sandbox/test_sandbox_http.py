"""The sandbox routes and the plan page through the real ASGI app (no browser needed).

Also guards the strict CSP from the source side: no inline script or style may creep into the
page, the scripts or the server-rendered plan.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from cds_service.app import create_app
from cds_service.fixtures import fixtures_dir
from cds_service.settings import Settings

STATIC = Path(__file__).resolve().parents[2] / "cds_service" / "sandbox" / "static"
FIXTURES = fixtures_dir()
PLAN = ("/plan?steps=50@2026-06-09,60@2026-06-24&state=step&since=2026-06-09&until=2026-06-23&age=45"
        "&renal=normal&profile=rtu-2014&lang=en")


def assert_security_headers(response: httpx.Response) -> None:
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"


def assert_no_inline_code(html: str) -> None:
    assert not re.search(r"\sstyle\s*=", html, re.IGNORECASE)
    assert "<style" not in html.lower()
    assert not re.search(r"\son[a-z]+\s*=", html, re.IGNORECASE)
    for tag in re.findall(r"<script\b[^>]*>", html, re.IGNORECASE):
        assert "src=" in tag


# ---- the page and its assets ------------------------------------------------------------------

async def test_sandbox_page_is_html_with_security_headers(client: httpx.AsyncClient) -> None:
    response = await client.get("/sandbox")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert_security_headers(response)
    html = response.text
    assert '<script type="module" src="/sandbox/static/js/app.js"></script>' in html
    assert 'id="override-dialog"' in html and 'id="dev-request"' in html
    assert_no_inline_code(html)
    for control in re.findall(r'<(?:input|select|textarea)\b[^>]*\bid="([^"]+)"', html):
        assert f'for="{control}"' in html, f"#{control} has no label"


@pytest.mark.parametrize(("path", "kind"), [
    ("/sandbox/static/js/app.js", "javascript"),
    ("/sandbox/static/js/markdown.js", "javascript"),
    ("/sandbox/static/js/fhir.js", "javascript"),
    ("/sandbox/static/sandbox.css", "text/css"),
    ("/sandbox/static/plan.css", "text/css"),
    ("/sandbox/static/favicon.svg", "image/svg+xml"),
])
async def test_static_assets_are_served(client: httpx.AsyncClient, path: str, kind: str) -> None:
    response = await client.get(path)
    assert response.status_code == 200
    assert kind in response.headers["content-type"]
    assert_security_headers(response)


@pytest.mark.parametrize("path", ["/sandbox/static/nope.js", "/sandbox/static/../routes.py",
                                  "/sandbox/static/%2e%2e/routes.py"])
async def test_unknown_or_escaping_static_paths_are_404(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 404
    assert "def routes" not in response.text


def test_scripts_keep_to_the_csp() -> None:
    """No inline style through the DOM either; innerHTML only for the Markdown renderer's output."""
    for script in (STATIC / "js").glob("*.js"):
        source = script.read_text(encoding="utf-8")
        assert ".style." not in source and "setAttribute(\"style\"" not in source, script.name
        assert "eval(" not in source and "new Function" not in source, script.name
        assert "prompt(" not in source, script.name
        for line in source.splitlines():
            if "innerHTML" in line and not line.lstrip().startswith("//"):
                assert "markdownToHtml(" in line, f"{script.name}: {line.strip()}"


# ---- scenario API -----------------------------------------------------------------------------

async def test_scenario_list(client: httpx.AsyncClient) -> None:
    assert FIXTURES is not None
    response = await client.get("/sandbox/api/scenarios")
    assert response.status_code == 200
    scenarios = response.json()["scenarios"]
    names = [s["name"] for s in scenarios]
    assert names == sorted(p.name for p in (FIXTURES / "scenarios").iterdir() if (p / "request.json").is_file())
    by_name = {s["name"]: s for s in scenarios}
    epilepsy = by_name["ci-epilepsy"]
    assert epilepsy["service"] == "baclofen-rtu" and epilepsy["hook"] == "order-sign"
    assert epilepsy["critical"] is True
    assert "ci-epilepsy" in epilepsy["must"]
    assert epilepsy["title"] and epilepsy["description"]
    assert by_name["select-new-patient-15mg"]["service"] == "baclofen-rtu-select"


async def test_scenario_detail_is_the_request(client: httpx.AsyncClient) -> None:
    assert FIXTURES is not None
    response = await client.get("/sandbox/api/scenarios/ci-epilepsy")
    assert response.status_code == 200
    on_disk = json.loads((FIXTURES / "scenarios" / "ci-epilepsy" / "request.json").read_text(encoding="utf-8"))
    assert response.json() == on_disk


@pytest.mark.parametrize("name", ["no-such-scenario", "..", "%2e%2e%2fREADME.md", "ci-epilepsy%00"])
async def test_unknown_scenario_is_404_json(client: httpx.AsyncClient, name: str) -> None:
    response = await client.get(f"/sandbox/api/scenarios/{name}")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["error"] in ("unknown-scenario", "not-found")


async def test_scenario_request_runs_against_its_service(client: httpx.AsyncClient) -> None:
    """What the page does: fetch a scenario and post it to the service it names."""
    listing = {s["name"]: s for s in (await client.get("/sandbox/api/scenarios")).json()["scenarios"]}
    request = (await client.get("/sandbox/api/scenarios/ci-epilepsy")).json()
    response = await client.post(f"/cds-services/{listing['ci-epilepsy']['service']}", json=request)
    assert response.status_code == 200
    assert any(card["indicator"] == "critical" for card in response.json()["cards"])


@pytest.fixture
async def production(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(auth="required", profile="rtu-2014", database_url=database_url, public_url="http://testserver")
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


async def test_sandbox_is_off_when_authentication_is_required(production: httpx.AsyncClient) -> None:
    for path in ("/sandbox", "/sandbox/api/scenarios", "/sandbox/api/scenarios/ci-epilepsy"):
        response = await production.get(path)
        assert response.status_code == 404, path
        assert "CDS_AUTH=off" in response.json()["message"]
    assert (await production.get(PLAN)).status_code == 200
    for path in ("/plan/static/plan.css", "/plan/static/favicon.svg"):  # what production cards link to
        assert (await production.get(path)).status_code == 200, path
    for path in ("/sandbox/static/js/app.js", "/sandbox/static/sandbox.css", "/sandbox/static/plan.css",
                 "/sandbox/static/index.html", "/plan/static/sandbox.css", "/plan/static/../routes.py"):
        assert (await production.get(path)).status_code == 404, path


# ---- titration plan ---------------------------------------------------------------------------

def rows(html: str) -> list[str]:
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return re.findall(r"<tr[^>]*>.*?</tr>", body)


async def test_plan_normal_renal(client: httpx.AsyncClient) -> None:
    """The card's schedule, day by day: 50 mg/day to the review, the next step the day after."""
    response = await client.get(PLAN)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert_security_headers(response)
    html = response.text
    assert_no_inline_code(html)
    assert '<html lang="en">' in html and "<h1>Baclofen titration plan</h1>" in html
    table = rows(html)
    assert len(table) == 16  # 2026-06-09 .. 2026-06-24
    assert "2026-06-09" in table[0] and "15-15-20" in table[0] and "Current dose" in table[0]
    assert all(">50<" in row for row in table[:15])
    assert "Review" in table[14] and "2026-06-23" in table[14]
    assert 'class="row-step"' in table[15] and "Step: 50 → 60 mg/day, if craving persists" in table[15]
    assert "Take the next step only if craving persists and tolerance is good" in html
    assert '<svg class="chart"' in html and 'class="chart-dose"' in html
    assert "≥ 120 mg/day" in html and "&gt; 180 mg/day" in html and "300 mg/day" in html
    assert 'hreflang="fr"' in html and "lang=fr" in html


async def test_plan_moderate_renal_is_slow_and_weekly(client: httpx.AsyncClient) -> None:
    response = await client.get("/plan?steps=45@2026-08-31,50@2026-09-08&state=step&since=2026-08-31"
                                "&until=2026-09-07&age=59&renal=moderate&profile=rtu-2014&lang=fr")
    assert response.status_code == 200
    html = response.text
    steps = [row for row in rows(html) if "row-step" in row]
    assert [re.search(r"Palier : (\d+) → (\d+)", row).groups() for row in steps] == [  # type: ignore[union-attr]
        ("45", "50")]
    assert "2026-09-08" in steps[0]
    assert "insuffisance modérée" in html and "toutes les 7 jours" in html
    assert '<html lang="fr">' in html


async def test_plan_holds_before_the_specialist_threshold(client: httpx.AsyncClient) -> None:
    html = (await client.get("/plan?dose=115&state=threshold&reason=review-specialist&since=2026-06-09"
                             "&until=2026-06-23&age=40&renal=normal&lang=en")).text
    table = rows(html)
    assert all(">115<" in row for row in table) and not any("row-step" in row for row in table)
    assert "Keep 115 mg/day: the next step first needs an experienced physician&#x27;s opinion." in html


async def test_plan_taper_ends_with_the_stop(client: httpx.AsyncClient) -> None:
    html = (await client.get("/plan?steps=60@2026-03-10,30@2026-03-13,0@2026-03-16&state=taper"
                             "&since=2026-03-10&renal=severe&lang=fr")).text
    table = rows(html)
    assert len(table) == 7 and "Arrêt du baclofène" in table[-1] and ">0<" in table[-1]
    assert "Réduction : 60 → 30 mg/j" in table[3]
    assert "ne jamais arrêter le baclofène brutalement" in html
    assert "RCP du baclofène" in html and "politique locale" in html  # who says so: SmPC, local steps


async def test_plan_severe_renal_has_no_schedule(client: httpx.AsyncClient) -> None:
    html = (await client.get("/plan?dose=15&renal=severe&lang=en")).text
    assert "contraindicated" in html and "<table" not in html and "<svg" not in html


async def test_plan_unknown_renal_warns(client: httpx.AsyncClient) -> None:
    html = (await client.get("/plan?dose=15&since=2026-01-01&lang=en")).text
    assert "Renal function unknown" in html
    assert len(rows(html)) == 29  # default range: 28 days


async def test_plan_other_profile(client: httpx.AsyncClient) -> None:
    html = (await client.get("/plan?dose=80&state=max&since=2026-01-01&until=2026-01-20&renal=normal"
                             "&profile=rtu-2017&lang=en")).text
    assert "80 mg/day: maximum dose (above: outside the RTU, off-label)" in html
    assert "120 mg/day" not in html
    assert "Maximum dose reached" in html


async def test_plan_link_from_a_card_renders(client: httpx.AsyncClient) -> None:
    assert FIXTURES is not None
    request = json.loads((FIXTURES / "scenarios" / "renal-egfr-59-moderate-slow-step-ok" / "request.json")
                         .read_text(encoding="utf-8"))
    cards = (await client.post("/cds-services/baclofen-rtu", json=request)).json()["cards"]
    links = [link["url"] for card in cards for link in card.get("links", []) if "/plan?" in link["url"]]
    assert links
    url = urlsplit(links[0])
    response = await client.get(f"{url.path}?{url.query}")
    assert response.status_code == 200
    assert "row-review" in response.text


@pytest.mark.parametrize(("query", "field"), [
    ("", "dose"),
    ("dose=abc", "dose"),
    ("dose=-5", "dose"),
    ("dose=nan", "dose"),
    ("dose=1e400", "dose"),
    ("dose=5000", "dose"),
    ("dose=30&since=2026-13-01", "since"),
    ("dose=30&since=yesterday", "since"),
    ("dose=30&since=9999-12-31", "since"),
    ("dose=30&since=2026-06-10&until=2026-06-01", "until"),
    ("dose=30&since=2026-01-01&until=2026-12-31", "until"),
    ("dose=30&age=old", "age"),
    ("dose=30&age=-1", "age"),
    ("dose=30&age=%C2%B2", "age"),
    ("dose=30&age=999", "age"),
    ("dose=30&renal=bad", "renal"),
    ("dose=30&profile=../../etc/passwd", "profile"),
    ("dose=30&lang=de", "lang"),
    ("dose=30&intakes=0", "intakes"),
    ("dose=30&intakes=3.5", "intakes"),
    ("steps=30@2026-01-01,40@2025-12-01", "steps"),
    ("steps=30", "steps"),
    ("steps=" + ",".join(f"30@2026-01-{d:02d}" for d in range(1, 20)), "steps"),
    ("dose=30&state=up", "state"),
    ("dose=30&reason=because", "reason"),
])
async def test_plan_rejects_bad_parameters(client: httpx.AsyncClient, query: str, field: str) -> None:
    response = await client.get(f"/plan?{query}")
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid-parameter"
    assert body["field"] == field


async def test_plan_error_is_html_for_a_browser(client: httpx.AsyncClient) -> None:
    response = await client.get("/plan?dose=30&renal=bad&lang=en", headers={"Accept": "text/html"})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html")
    assert "<strong>renal</strong>" in response.text and "Invalid parameter" in response.text
    assert_no_inline_code(response.text)


async def test_plan_range_is_capped_at_180_days(client: httpx.AsyncClient) -> None:
    since = date(2026, 1, 1)
    ok = await client.get(f"/plan?dose=15&since={since}&until={since + timedelta(days=180)}&renal=normal")
    assert ok.status_code == 200
    assert len(rows(ok.text)) == 181
    too_long = await client.get(f"/plan?dose=15&since={since}&until={since + timedelta(days=181)}&renal=normal")
    assert too_long.status_code == 400
