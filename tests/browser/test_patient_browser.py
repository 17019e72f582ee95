"""The patient handout in a real headless Chromium (issue 12, part 3).

For a new patient, a moderate renal patient and a taper: both views of the card's plan are
opened and photographed (screen, and the handout as printed) into the test artifacts, the
prescriber page's « Version patient » link is followed, and Chromium's own `--print-to-pdf`
proves the print stylesheet keeps the handout on one A4 page, in French and in English.
"""

from __future__ import annotations

import copy
import os
import re
import subprocess
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest

from cds_service.fixtures import Scenario, fixtures_dir, list_scenarios
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, Service

try:
    from playwright.sync_api import Page, expect
except ImportError:  # only where the test extra is not installed
    if os.environ.get("CDS_TEST_REQUIRE_BROWSER") == "1":
        raise
    pytest.skip("the playwright package is not installed", allow_module_level=True)

pytestmark = pytest.mark.browser

NAMES = ("titration-start-15mg-new-patient", "renal-egfr-59-moderate-slow-step-ok",
         "safety-taper-renal-severe-on-90mg")
A4_MM = (210, 297)
PAGE_OBJECT = re.compile(rb"/Type\s*/Page(?![a-zA-Z])")


def _scenario(name: str) -> Scenario:
    directory = fixtures_dir()
    assert directory is not None, "fhir_fixtures/ not found"
    return next(s for s in list_scenarios(directory) if s.name == name)


def plan_link(service: Service, name: str, lang: str) -> str:
    """The plan link (path and query) of the scenario's card, as the service writes it."""
    scenario = _scenario(name)
    request = copy.deepcopy(scenario.request)
    request.pop("fhirServer", None)
    response = httpx.post(f"{service.base}/cds-services/{scenario.service}", json=request,
                          headers={"Accept-Language": lang}, timeout=10)
    assert response.status_code == 200
    links = [link["url"] for card in response.json()["cards"] for link in card.get("links", [])
             if "/plan?" in link["url"]]
    assert links, f"{name}: no plan link"
    return links[0].split(service.base, 1)[-1]


def pdf_pages(url: str, target: Path, profile: Path) -> int:
    """Print `url` with Chromium's own `--print-to-pdf` and count the page objects."""
    command = [str(CHROMIUM), *CHROMIUM_ARGS, f"--user-data-dir={profile}", "--no-pdf-header-footer",
               "--print-to-pdf-no-header", f"--print-to-pdf={target}", url]
    subprocess.run(command, check=True, capture_output=True, timeout=60)
    return len(PAGE_OBJECT.findall(target.read_bytes()))


@pytest.mark.parametrize("name", NAMES)
def test_both_views_are_photographed(page: Page, service: Service, artifacts: Path, name: str) -> None:
    link = plan_link(service, name, "fr")
    page.goto(f"{service.base}{link}")
    expect(page.locator("h1")).to_contain_text("baclofène")
    page.screenshot(path=str(artifacts / f"plan-{name}-prescriber.png"), full_page=True)
    page.locator("nav a.patient-view").click()
    expect(page.locator("h1")).to_have_text("Votre traitement par baclofène")
    expect(page.locator("table.schedule th.slot").first).to_have_text("Matin")
    expect(page.locator(".advice")).to_contain_text("ne pas augmenter la dose, en parler à votre médecin")
    assert page.locator("text=seuil").count() == 0
    page.screenshot(path=str(artifacts / f"plan-{name}-patient.png"), full_page=True)
    page.emulate_media(media="print")
    assert not page.locator("nav").is_visible()
    page.screenshot(path=str(artifacts / f"plan-{name}-patient-print.png"), full_page=True)


def assert_one_a4_page(url: str, target: Path, profile: Path) -> None:
    assert pdf_pages(url, target, profile) == 1, f"{target} is not one page"
    media = re.search(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", target.read_bytes())
    assert media is not None
    width_mm, height_mm = (float(value) / 72 * 25.4 for value in media.groups())
    assert (round(width_mm), round(height_mm)) == A4_MM


@pytest.mark.parametrize("lang", ["fr", "en"])
@pytest.mark.parametrize("name", NAMES)
def test_the_handout_prints_on_one_a4_page(page: Page, service: Service, artifacts: Path, name: str,
                                            lang: str, tmp_path: Path) -> None:
    query = "&view=patient&prescriber=Dr%20Camille%20Durand%20(addictologie)&contact=01%2023%2045%2067%2089"
    url = f"{service.base}{plan_link(service, name, lang)}{query}"
    page.goto(url)
    page.emulate_media(media="print")
    expect(page.locator("table.schedule")).to_be_visible()
    if lang == "en":
        page.screenshot(path=str(artifacts / f"plan-{name}-patient-en-print.png"), full_page=True)
    assert_one_a4_page(url, artifacts / f"plan-{name}-patient-{lang}.pdf", tmp_path / "chromium")


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_the_longest_handout_still_prints_on_one_page(service: Service, artifacts: Path, lang: str,
                                                      tmp_path: Path) -> None:
    """The most a link can hold: 12 steps down to the stop, 4 intakes, the longest free-text
    fields, and a strength that leaves some doses in mg (the notice)."""
    steps = ",".join(f"{mg}@2026-03-{day:02d}" for mg, day in zip(range(110, -1, -10), range(1, 25, 2), strict=True))
    query = urlencode({"steps": steps, "state": "taper", "renal": "severe", "intakes": "4", "lang": lang,
                       "view": "patient", "strength": "20", "form": "unscored",
                       "prescriber": "Dr " + "Marie-Christine de La Rochefoucauld-Montmorency " * 3,
                       "contact": "Service d'addictologie, " + "01 23 45 67 89 " * 8})
    assert len(steps.split(",")) == 12 and steps.endswith("0@2026-03-23")
    assert_one_a4_page(f"{service.base}/plan?{query}", artifacts / f"plan-longest-patient-{lang}.pdf",
                       tmp_path / "chromium")
