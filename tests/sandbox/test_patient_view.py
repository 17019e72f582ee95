"""Issue 12 part 3: the plan as a patient handout (`/plan?…&view=patient`).

Every fixture's plan link renders in both languages and says, in tablets, the very doses of the
prescriber page up to the next review (a taper: down to the stop); free-text fields are escaped;
no threshold, no sandbox link.
"""

from __future__ import annotations

import re
from datetime import date
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from cds_service.fixtures import Scenario
from cds_service.sandbox.patient_texts import PATIENT_TEXTS, patient_text
from cds_service.sandbox.patient_view import tablets
from cds_service.sandbox.plan_params import Handout
from tests.sandbox.plan_links import SCENARIOS, plan_links
from tests.sandbox.test_sandbox_http import assert_no_inline_code, assert_security_headers

PRESCRIBER_ROW = re.compile(
    r'<th scope="row">\S+ <time datetime="(\d{4}-\d{2}-\d{2})">[^<]*</time></th><td class="num">([\d.]+)</td>'
)
PATIENT_ROW = re.compile(r"<tr[^>]*><th scope=\"row\">(.*?)</th>(.*?)</tr>")
DATETIME = re.compile(r'<time datetime="(\d{4}-\d{2}-\d{2})">')
TOTAL = re.compile(r'<td class="total">([\d,.]+)\xa0mg</td>')
THRESHOLD_WORDS = ("seuil", "collégial", "maximale", "threshold", "collegial", "maximum", "RTU", "mg/j",
                   "Bac à sable", "Sandbox")
NEW_PATIENT = "/plan?steps=15@2026-11-14&state=step&since=2026-11-14&until=2026-11-28&age=45&renal=normal"
TAPER = "/plan?steps=60@2026-03-10,30@2026-03-13,0@2026-03-16&state=taper&since=2026-03-10&renal=severe"


def _patient_periods(html: str) -> list[tuple[date, date, float | None]]:
    """(first day, last day, mg/day; None for the stop) per row of the handout."""
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    found = []
    for when, cells in PATIENT_ROW.findall(body):
        days = [date.fromisoformat(day) for day in DATETIME.findall(when)]
        total = TOTAL.search(cells)
        found.append((days[0], days[-1], float(total.group(1).replace(",", ".")) if total else None))
    return found


@pytest.mark.parametrize("lang", ["fr", "en"])
@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
async def test_the_handout_renders_for_every_plan_link(client: httpx.AsyncClient, scenario: Scenario,
                                                       lang: str) -> None:
    for card, url in await plan_links(client, scenario, lang):
        prescriber = await client.get(f"{url.path}?{url.query}")
        patient = await client.get(f"{url.path}?{url.query}&view=patient")
        assert prescriber.status_code == 200 and patient.status_code == 200, patient.text
        html = patient.text
        assert_no_inline_code(html)
        assert f'<html lang="{lang}">' in html
        assert ("Votre traitement par baclofène" if lang == "fr" else "Your baclofen treatment") in html
        words = re.sub(r"<[^>]+>", " ", html)  # the text a patient reads (links carry `state=threshold`)
        assert not [word for word in THRESHOLD_WORDS if word in words], card["summary"]
        assert 'href="/sandbox"' not in html
        assert ("arrêter le baclofène brutalement" if lang == "fr" else "stop baclofen abruptly") in html
        assert "view=patient" in prescriber.text
        query = {key: values[0] for key, values in parse_qs(url.query).items()}
        daily = {date.fromisoformat(day): float(mg) for day, mg in PRESCRIBER_ROW.findall(prescriber.text)}
        if not daily:
            assert "<table" not in html
            continue
        periods = _patient_periods(html)
        assert periods, card["summary"]
        for first, last, mg in periods:
            for day, dose in daily.items():
                if first <= day <= last:
                    assert dose == (mg or 0.0), (card["summary"], day, dose, mg)
        if query.get("state") == "taper":
            assert periods[-1][2] is None or periods[-1][1] == max(daily), card["summary"]
        else:
            review = DATETIME.search(html.split('class="appointment"', 1)[1])
            assert review is not None
            assert periods[-1][1] == date.fromisoformat(review.group(1)), card["summary"]
            assert all(dose > 0 for *_, dose in periods)


async def test_a_baclocur_20_order_prints_20mg_tablets(client: httpx.AsyncClient) -> None:
    """The sheet counts the tablets the patient holds (the ordered product), not 10 mg ones."""
    [scenario] = [s for s in SCENARIOS if s.name == "fr-baclocur-20-cip13-oid"]
    [(_, url)] = await plan_links(client, scenario, "fr")
    html = (await client.get(f"{url.path}?{url.query}&view=patient")).text
    assert "Comprimé de baclofène 20\xa0mg" in html or "Comprimé de baclofène 20 mg" in html
    assert "10 mg" not in html.replace("\xa0", " ")


@pytest.mark.parametrize(("mg", "strength", "scored", "expected"), [
    (5, 10, True, "½"), (10, 10, True, "1"), (15, 10, True, "1\xa0½"), (20, 10, True, "2"),
    (5, 10, False, None), (10, 20, True, "½"), (7.5, 10, True, None), (30, 20, False, None), (40, 20, False, "2"),
])
def test_tablets(mg: float, strength: float, scored: bool, expected: str | None) -> None:
    assert tablets(mg, Handout(strength_mg=strength, scored=scored)) == expected


async def test_new_patient_in_french(client: httpx.AsyncClient) -> None:
    response = await client.get(NEW_PATIENT + "&lang=fr&view=patient")
    assert response.status_code == 200
    assert_security_headers(response)
    html = response.text
    for label in ("Matin", "Midi", "Soir"):
        assert f'<th scope="col" class="slot">{label}</th>' in html
    assert "Coucher" not in html
    assert "Nombre de comprimés de 10\xa0mg" in html and "sécable" in html
    assert html.count('<td class="tabs">½</td>') == 3 and "15\xa0mg" in html
    assert '<time datetime="2026-11-14">14/11/2026</time>' in html
    assert "Prochain rendez-vous\xa0:</strong> le <time datetime=\"2026-11-28\">28/11/2026</time>" in html
    assert "ne pas augmenter la dose, en parler à votre médecin" in html
    assert "Ne pas conduire" in html and "L’alcool" in html
    assert html.count('class="blank"') == 3  # patient, prescriber, contact: lines to fill by hand
    assert "2026-11-29" not in html and "<svg" not in html
    assert 'href="/plan/static/patient.css"' in html


async def test_english_dates_and_four_intakes(client: httpx.AsyncClient) -> None:
    html = (await client.get(NEW_PATIENT.replace("15@", "20@") + "&intakes=4&lang=en&view=patient")).text
    assert [label for label in ("Morning", "Noon", "Evening", "Bedtime")
            if f'class="slot">{label}<' in html] == ["Morning", "Noon", "Evening", "Bedtime"]
    assert html.count('<td class="tabs">½</td>') == 4
    assert '<time datetime="2026-11-14">14 Nov 2026</time>' in html
    assert "Next appointment:</strong> on" in html and "do not increase the dose, talk to your doctor" in html
    assert "Do not drive" in html


async def test_the_handout_stops_at_the_review(client: httpx.AsyncClient) -> None:
    """The prescriber page shows the next step after the review; the patient's sheet does not."""
    url = ("/plan?steps=50@2026-06-09,60@2026-06-24&state=step&since=2026-06-09&until=2026-06-23&age=45"
           "&renal=normal&lang=en")
    prescriber = (await client.get(url)).text
    patient = (await client.get(url + "&view=patient")).text
    assert "2026-06-24" in prescriber.split("<tbody>", 1)[1] and "2026-06-24" not in patient.split("<main", 1)[1]
    assert _patient_periods(patient) == [(date(2026, 6, 9), date(2026, 6, 23), 50.0)]
    assert "60\xa0mg" not in patient


async def test_taper_is_a_reduction_to_the_stop(client: httpx.AsyncClient) -> None:
    html = (await client.get(TAPER + "&lang=fr&view=patient")).text
    assert "Diminution progressive" in html and "sans aller plus vite" in html
    assert _patient_periods(html) == [(date(2026, 3, 10), date(2026, 3, 12), 60.0),
                                      (date(2026, 3, 13), date(2026, 3, 15), 30.0),
                                      (date(2026, 3, 16), date(2026, 3, 16), None)]
    assert "Arrêt\xa0: ne plus prendre de baclofène" in html
    assert "le ____ / ____ / ________" in html  # no review date in a taper link: written by hand
    assert "insuffisance" not in html and "contre-indiqué" not in html


async def test_unscored_tablets_that_cannot_make_the_dose(client: httpx.AsyncClient) -> None:
    html = (await client.get(NEW_PATIENT + "&lang=fr&view=patient&strength=20&form=unscored")).text
    assert "Nombre de comprimés de 20\xa0mg" in html and "non sécable" in html
    assert "ne se prennent pas avec des comprimés de 20\xa0mg" in html
    assert "½" not in html.split("<tbody>", 1)[1]
    html = (await client.get(NEW_PATIENT.replace("15@", "30@") + "&lang=en&view=patient&strength=10"
                                                                    "&form=unscored")).text
    assert html.count('<td class="tabs">1</td>') == 3 and "cannot be taken" not in html


async def test_an_oral_solution_is_printed_in_mg_to_measure(client: httpx.AsyncClient) -> None:
    html = (await client.get(NEW_PATIENT + "&lang=fr&view=patient&form=liquid")).text
    body = html.split("<tbody>", 1)[1]
    assert "solution buvable" in html and "Dose à prendre (mg)" in html
    assert "comprimé" not in html and "½" not in body
    assert html.count('<td class="tabs">5\xa0mg</td>') == 3
    assert "ne se prennent pas" not in html  # not a tablet that cannot make the dose
    english = (await client.get(NEW_PATIENT + "&lang=en&view=patient&form=liquid")).text
    assert "Baclofen oral solution" in english and "tablet" not in english
    taper = (await client.get(TAPER + "&lang=fr&view=patient&form=liquid")).text
    assert "Quelle dose, et quand (la dose diminue)" in taper and "comprimé" not in taper


async def test_prescriber_and_contact_are_escaped(client: httpx.AsyncClient) -> None:
    hostile = {"prescriber": '<script>alert("x")</script> Dr Lévy', "contact": "\"><img src=x onerror=alert(1)> 01 23"}
    html = (await client.get(NEW_PATIENT + "&lang=fr&view=patient&" + urlencode(hostile))).text
    assert "<script>alert" not in html and "<img" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; Dr Lévy" in html
    assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt; 01 23" in html
    assert html.count('class="blank"') == 1  # the patient's name only
    switch = re.search(r'<a href="([^"]+)" hreflang="en"', html)
    assert switch is not None
    query = parse_qs(urlsplit(switch.group(1).replace("&amp;", "&")).query)
    assert query["prescriber"] == [hostile["prescriber"]] and query["view"] == ["patient"]


async def test_prescriber_page_links_to_the_patient_version(client: httpx.AsyncClient) -> None:
    html = (await client.get(NEW_PATIENT + "&lang=fr")).text
    link = re.search(r'<a href="([^"]+)" class="patient-view">Version patient</a>', html)
    assert link is not None
    patient = await client.get(link.group(1).replace("&amp;", "&"))
    assert patient.status_code == 200 and "Votre traitement par baclofène" in patient.text


async def test_do_not_start_prints_no_dose(client: httpx.AsyncClient) -> None:
    """The prescriber page says « ne pas débuter »: the patient's sheet must not list tablets."""
    url = "/plan?dose=15&state=hold-new&reason=renal-unknown&since=2026-11-14&until=2026-11-28&lang=fr"
    assert "Ne pas débuter" in (await client.get(url)).text
    html = (await client.get(url + "&view=patient")).text
    assert "<table" not in html and "Pas de plan de prise sur cette feuille" in html


async def test_the_dose_runs_to_the_appointment(client: httpx.AsyncClient) -> None:
    """A link whose range ends before the review (until = since): the sheet covers the days up to
    the appointment, not one day followed by nothing."""
    html = (await client.get("/plan?dose=30&state=hold&since=2026-01-01&until=2026-01-01&age=40&renal=normal"
                             "&lang=en&view=patient")).text
    assert _patient_periods(html) == [(date(2026, 1, 1), date(2026, 1, 15), 30.0)]
    assert 'Next appointment:</strong> on <time datetime="2026-01-15">15 Jan 2026</time>' in html


def test_french_typography_of_every_handout_text() -> None:
    for key in PATIENT_TEXTS:
        french = patient_text(key, "fr", mg="10", n=1, start="x", end="y", date="z")
        assert not re.search(r" [:;?!]", french), key
        assert "'" not in french, key  # typographic apostrophes only


@pytest.mark.parametrize(("extra", "field"), [
    ("view=nurse", "view"), ("strength=0", "strength"), ("strength=abc", "strength"),
    ("strength=500", "strength"), ("form=crushed", "form"), ("prescriber=" + "x" * 161, "prescriber"),
    ("contact=a%0Ab", "contact"),
])
async def test_bad_handout_parameters(client: httpx.AsyncClient, extra: str, field: str) -> None:
    response = await client.get(f"{NEW_PATIENT}&view=patient&{extra}".replace("view=patient&view", "view"))
    assert response.status_code == 400
    assert response.json()["field"] == field
