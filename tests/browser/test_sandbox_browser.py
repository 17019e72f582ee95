"""The sandbox in a real headless Chromium against the real service (uvicorn, SQLite).

What a clinician or an integrator does: pick scenarios, read the cards, accept a suggestion,
override a card, switch language, compose a case, open the titration plan. Every tab fails on
a console error, so a CSP violation (an inline script or style) fails the run.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.browser.conftest import Service

try:
    from playwright.sync_api import Page, expect
except ImportError:  # only where the test extra is not installed
    if os.environ.get("CDS_TEST_REQUIRE_BROWSER") == "1":
        raise
    pytest.skip("the playwright package is not installed", allow_module_level=True)

pytestmark = pytest.mark.browser

CRITICAL_SCENARIO = "ci-epilepsy"
UPDATE_SCENARIO = "titration-step-40-to-60-too-big"
OVERRIDE_SCENARIO = "dose-125mg-age66-collegial"
DOCS_IMAGE = Path(__file__).resolve().parents[2] / "docs" / "img" / "sandbox.png"


def open_sandbox(page: Page, service: Service, query: str = "") -> None:
    page.goto(f"{service.base}/sandbox{query}")
    expect(page.locator("body[data-ready='true']")).to_be_attached()
    expect(page.locator("#cards[data-status]")).to_be_attached()


def pick(page: Page, scenario: str) -> None:
    page.select_option("#scenario", scenario)
    expect(page.locator(f"#cards[data-scenario='{scenario}']")).to_be_attached()


def daily_dose(request: dict[str, object]) -> float:
    dosages = request["dosageInstruction"]
    assert isinstance(dosages, list)
    total = 0.0
    for dosage in dosages:
        quantity = dosage["doseAndRate"][0]["doseQuantity"]
        assert quantity["unit"] == "mg"
        repeat = dosage["timing"]["repeat"]
        if "boundsPeriod" in repeat and repeat["boundsPeriod"].get("end"):
            continue  # an earlier step of a schedule
        total += quantity["value"] * repeat.get("frequency", 1)
    return total


def test_critical_card_is_red(page: Page, service: Service, artifacts: Path) -> None:
    open_sandbox(page, service)
    pick(page, CRITICAL_SCENARIO)
    critical = page.locator(".card[data-indicator='critical']").first
    expect(critical).to_be_visible()
    expect(critical).to_have_attribute("data-rules", "ci-epilepsy")
    expect(critical.locator(".card-indicator")).to_have_text("Critique")
    colour = critical.evaluate("card => getComputedStyle(card).borderLeftColor")
    assert colour == "rgb(180, 35, 24)"
    expect(critical.locator(".card-detail p").first).to_be_visible()
    expect(page.locator("#dev-response")).to_contain_text('"indicator": "critical"')
    expect(page.locator("#dev-request-line")).to_contain_text("POST /cds-services/baclofen-rtu")
    page.screenshot(path=str(artifacts / "critical.png"), full_page=True)


def test_accept_then_override_store_feedback(page: Page, service: Service, artifacts: Path) -> None:
    before = len(service.feedback_rows())
    open_sandbox(page, service)
    pick(page, UPDATE_SCENARIO)
    original = json.loads(page.locator("#draft-json").inner_text())
    assert original["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]["unit"] == "comprimé"
    card = page.locator(".card[data-rules~='titration-step']")
    suggestion = card.locator("button.suggestion.recommended")
    expect(suggestion).to_have_attribute("data-action-types", "update")
    suggestion_id = suggestion.get_attribute("data-suggestion")
    card_id = card.get_attribute("data-uuid")
    suggestion.click()
    expect(card).to_have_attribute("data-feedback", "stored")
    draft = json.loads(page.locator("#draft-json").inner_text())
    assert daily_dose(draft) == 50
    assert draft["id"] == "mr-draft-85a817"
    expect(page.locator("#draft-state")).to_have_attribute("data-state", "updated")
    expect(card.locator("button.suggestion").first).to_be_disabled()
    rows = service.feedback_rows()
    assert len(rows) == before + 1
    assert rows[-1]["outcome"] == "accepted"
    assert rows[-1]["card_uuid"] == card_id
    assert json.loads(rows[-1]["accepted_suggestions"]) == [suggestion_id]
    assert "titration-step" in json.loads(rows[-1]["rule_codes"])
    page.screenshot(path=str(artifacts / "accepted.png"), full_page=True)

    pick(page, OVERRIDE_SCENARIO)
    card = page.locator(".card[data-rules~='dose-collegial']")
    card.locator("button.override").click()
    dialog = page.locator("#override-dialog")
    expect(dialog).to_be_visible()
    page.select_option("#override-reason", "collegial-decision-obtained")
    page.fill("#override-comment", "RCP addictologie du 3 juin")
    page.screenshot(path=str(artifacts / "override-dialog.png"))
    page.click("#override-confirm")
    expect(dialog).to_be_hidden()
    expect(card).to_have_attribute("data-feedback", "stored")
    expect(page.locator("#feedback-log li")).to_have_count(2)
    rows = service.feedback_rows()
    assert len(rows) == before + 2
    assert rows[-1]["outcome"] == "overridden"
    assert rows[-1]["override_reason_code"] == "collegial-decision-obtained"
    assert rows[-1]["override_reason_system"] == "urn:baclofen-rtu:override-reason"
    assert rows[-1]["override_comment"] == "RCP addictologie du 3 juin"


def test_language_switch_changes_cards(page: Page, service: Service, artifacts: Path) -> None:
    open_sandbox(page, service)
    pick(page, CRITICAL_SCENARIO)
    summary = page.locator(".card[data-indicator='critical'] .card-summary")
    french = summary.inner_text()
    page.select_option("#lang", "en")
    expect(page.locator("#cards[data-lang='en']")).to_be_attached()
    expect(summary).not_to_have_text(french)
    expect(page.locator("#h-cards")).to_have_text("CDS cards")
    expect(page.locator(".card[data-indicator='critical'] .card-indicator")).to_have_text("Critical")
    assert page.evaluate("document.documentElement.lang") == "en"
    page.screenshot(path=str(artifacts / "english.png"), full_page=True)


def test_composed_case_fires_collegial(page: Page, service: Service, artifacts: Path) -> None:
    open_sandbox(page, service, "?lang=en")
    page.fill("#age", "70")
    page.fill("#cur-mg", "40")
    page.fill("#cur-n", "3")
    page.fill("#new-mg", "32.5")
    page.fill("#new-n", "4")
    expect(page.locator("#new-total")).to_have_text("Total: 130 mg/day")
    collegial = page.locator("#cards[data-hook='order-select'] .card[data-rules~='dose-collegial']")
    expect(collegial).to_be_visible()
    request = json.loads(page.locator("#dev-request").inner_text())
    draft = request["context"]["draftOrders"]["entry"][0]["resource"]
    dosage = draft["dosageInstruction"][0]
    assert draft["medicationCodeableConcept"]["coding"][0]["code"] == "M03BX01"
    assert dosage["doseAndRate"][0]["doseQuantity"] == {"value": 32.5, "unit": "mg",
                                                        "system": "http://unitsofmeasure.org", "code": "mg"}
    assert dosage["timing"]["repeat"] | {"boundsPeriod": None} == {
        "frequency": 4, "period": 1, "periodUnit": "d", "boundsPeriod": None}
    assert request["context"]["selections"] == ["MedicationRequest/mr-draft-sandbox"]
    assert set(request["prefetch"]) == {"patient", "conditions", "medications", "medicationStatements",
                                        "observations", "allergies"}

    page.check("#med-furosemide")
    page.click("#sign")
    signed = page.locator("#cards[data-hook='order-sign']")
    expect(signed.locator(".card[data-rules~='dose-collegial']")).to_be_visible()
    expect(signed.locator(".card[data-rules~='ix-diuretic']")).to_be_visible()
    page.screenshot(path=str(artifacts / "composed.png"), full_page=True)


def test_plan_link_opens_printable_plan(page: Page, service: Service, artifacts: Path) -> None:
    open_sandbox(page, service, "?lang=en")
    pick(page, UPDATE_SCENARIO)
    link = page.locator(".card-links a", has_text="Titration plan")
    expect(link).to_have_attribute("target", "_blank")
    errors: list[str] = []
    with page.context.expect_page() as popup_info:
        link.click()
    plan = popup_info.value
    plan.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    plan.wait_for_load_state()
    expect(plan.locator("h1")).to_have_text("Baclofen titration plan")
    expect(plan.locator("svg.chart path.chart-dose")).to_be_attached()
    expect(plan.locator("table.plan tbody tr").first).to_contain_text("50")
    assert plan.locator("nav").is_visible()
    plan.emulate_media(media="print")
    assert not plan.locator("nav").is_visible()
    plan.screenshot(path=str(artifacts / "plan-print.png"), full_page=True)
    assert not errors, errors


def test_markdown_renderer_is_safe(page: Page, service: Service) -> None:
    open_sandbox(page, service)
    html = page.evaluate("""async () => {
        const { markdownToHtml } = await import('/sandbox/static/js/markdown.js');
        return markdownToHtml('### T\\n\\n**b** _i_ <img src=x onerror=alert(1)> <script>x()</script>\\n\\n'
            + '> quote\\n\\n- a\\n- [bad](javascript:alert(1)) [good](https://example.org/a_b_c)\\n\\n---');
    }""")
    assert "<h4>T</h4>" in html
    assert "<strong>b</strong> <em>i</em>" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html and "<img" not in html
    assert "<script" not in html and "javascript:" not in html.split("bad")[0]
    assert 'href="javascript' not in html
    assert '<a href="https://example.org/a_b_c" target="_blank" rel="noopener noreferrer">good</a>' in html
    assert "<blockquote><p>quote</p></blockquote>" in html and "<hr>" in html and "<ul><li>a</li>" in html


def test_docs_screenshot(page: Page, service: Service, artifacts: Path) -> None:
    """The tour's picture: English, a titration-step scenario. Copied into docs/img/ only when
    CDS_UPDATE_DOCS_SCREENSHOT=1 (a test run must not rewrite tracked files by itself)."""
    page.set_viewport_size({"width": 1360, "height": 1100})
    open_sandbox(page, service, f"?lang=en&scenario={UPDATE_SCENARIO}")
    expect(page.locator(f"#cards[data-scenario='{UPDATE_SCENARIO}']")).to_be_attached()
    target = artifacts / "sandbox.png"
    page.screenshot(path=str(target))
    if os.environ.get("CDS_UPDATE_DOCS_SCREENSHOT") == "1":
        DOCS_IMAGE.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(target, DOCS_IMAGE)


def test_create_and_delete_actions(page: Page, service: Service) -> None:
    """A referral suggestion adds a ServiceRequest; a cancel suggestion deletes the draft, and the
    next order-sign no longer carries it."""
    open_sandbox(page, service, "?lang=en")
    pick(page, OVERRIDE_SCENARIO)
    referral = page.locator(".card[data-rules~='dose-collegial'] button.suggestion[data-action-types='create']")
    referral.click()
    created = page.locator("#created details.created")
    expect(created).to_have_count(1)
    expect(created.locator("summary")).to_contain_text("ServiceRequest")
    expect(page.locator(".card[data-rules~='dose-collegial']")).to_have_attribute("data-feedback", "stored")

    pick(page, "renal-egfr-29-severe")
    cancel = page.locator(".card[data-indicator='critical'] button.suggestion[data-action-types='delete']")
    cancel.click()
    expect(page.locator("#draft-state")).to_have_attribute("data-state", "deleted")
    page.click("#sign")
    expect(page.locator("#cards[data-hook='order-sign'] .no-cards")).to_be_visible()
    request = json.loads(page.locator("#dev-request").inner_text())
    assert request["context"]["draftOrders"]["entry"] == []


def test_every_form_option_is_valid_fhir(page: Page, service: Service) -> None:
    """Every checkbox ticked: the service accepts the composed FHIR and finds each finding."""
    open_sandbox(page, service, "?lang=en")
    page.select_option("#sex", "female")
    page.select_option("#renal-kind", "creatinine")
    page.fill("#renal-value", "80")
    for box in page.locator("#compose input[type='checkbox']").all():
        box.check()
    page.click("#sign")
    signed = page.locator("#cards[data-hook='order-sign'][data-status='200']")
    expect(signed.locator(".card").first).to_be_visible()
    rules = set(" ".join(signed.locator(".card").evaluate_all("cards => cards.map(c => c.dataset.rules)")).split())
    expected = {
        "ci-epilepsy", "ci-gluten", "ci-pregnancy", "ci-breastfeeding", "ci-hypersensitivity", "renal-severe",
        "pr-psychosis", "pr-depression", "pr-confusion", "pr-cerebrovascular", "pr-respiratory",
        "pr-withdrawal-seizures", "pr-urinary", "pr-hepatic", "ix-diuretic", "ix-antihypertensive",
        "ix-tricyclic", "ix-cns-depressant", "ix-levodopa",
    }
    assert expected <= rules, expected - rules


def test_taper_suggestion_applies_a_decreasing_schedule_and_its_plan_agrees(
    page: Page, service: Service, artifacts: Path,
) -> None:
    """Issue 11: a patient on 90 mg/day with severe renal insufficiency is offered a progressive
    reduction; accepting it writes the schedule into the draft, and the plan prints that schedule."""
    open_sandbox(page, service)
    pick(page, "safety-taper-renal-severe-on-90mg")
    card = page.locator(".card[data-indicator='critical']")
    expect(card.locator("button.suggestion[data-action-types='delete']")).to_have_count(0)
    taper = card.locator("button.suggestion[data-action-types='update']")
    expect(taper).to_contain_text("Réduire progressivement")
    taper.click()
    draft = json.loads(page.locator("#draft-json").inner_text())
    by_sequence: dict[int, float] = {}
    for line in draft["dosageInstruction"]:
        repeat = line["timing"]["repeat"]
        per_day = repeat.get("frequency", len(repeat.get("when", [])) or 1)
        by_sequence[line["sequence"]] = by_sequence.get(line["sequence"], 0) + line["doseAndRate"][0][
            "doseQuantity"]["value"] * per_day
    assert list(by_sequence.values()) == [60, 30]
    last = draft["dosageInstruction"][-1]["timing"]["repeat"]["boundsPeriod"]
    assert "end" in last  # the stop is dated
    with page.expect_popup() as popup_info:
        card.locator(".card-links a", has_text="Plan de réduction progressive").click()
    plan = popup_info.value
    plan.wait_for_load_state()
    doses = plan.locator("table.plan tbody tr td.num:nth-of-type(2)").all_inner_texts()
    assert doses[0] == "60" and doses[-1] == "0" and "30" in doses
    expect(plan.locator("p.alert.critical").first).to_contain_text("jamais arrêter le baclofène brutalement")
    plan.emulate_media(media="print")
    plan.screenshot(path=str(artifacts / "plan-taper-print.png"), full_page=True)
