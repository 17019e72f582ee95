"""Out-of-scope fast path (issue 14.1): no baclofen draft, no card, before the prefetch is read."""

from __future__ import annotations

import copy
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from cds_service.fhir.parsing import InvalidFhir
from cds_service.fhir.scope import has_baclofen_draft
from cds_service.fixtures import Scenario, fixtures_dir, list_scenarios
from tests.builders import SNOMED, baclofen_order, hook_request, other_order
from tests.fhir_server import FakeFhir

DIRECTORY = fixtures_dir()
SCENARIOS = list_scenarios(DIRECTORY) if DIRECTORY else []


def _bundle(*resources: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in resources]}


def _intrathecal() -> dict[str, Any]:
    order = baclofen_order()
    order["dosageInstruction"][0]["route"] = {
        "coding": [{"system": SNOMED, "code": "72607000", "display": "Intrathecal route"}]}
    return order


def test_scope_recognises_baclofen_by_code_product_and_text() -> None:
    assert has_baclofen_draft(_bundle(baclofen_order()))
    assert not has_baclofen_draft(_bundle(other_order("N02BE01", "paracétamol", status="draft")))
    rxnorm = other_order("x", "x", status="draft")
    rxnorm["medicationCodeableConcept"] = {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                                                       "code": "1292"}]}
    assert has_baclofen_draft(_bundle(rxnorm))
    text = other_order("x", "x", status="draft")
    text["medicationCodeableConcept"] = {"text": "LIORESAL 10 mg cp"}
    assert has_baclofen_draft(_bundle(text))
    assert not has_baclofen_draft(_bundle(_intrathecal()))
    assert has_baclofen_draft(_bundle(other_order("N02BE01", "paracétamol", status="draft"), baclofen_order()))


def test_scope_reads_a_medication_in_the_draft_bundle_and_defers_when_it_is_elsewhere() -> None:
    order = other_order("x", "x", status="draft")
    del order["medicationCodeableConcept"]
    order["medicationReference"] = {"reference": "Medication/med-1"}
    paracetamol = {"resourceType": "Medication", "id": "med-1",
                   "code": {"coding": [{"system": "http://www.whocc.no/atc", "code": "N02BE01"}]}}
    assert not has_baclofen_draft(_bundle(paracetamol, order))
    baclofen = copy.deepcopy(paracetamol)
    baclofen["code"]["coding"][0]["code"] = "M03BX01"
    assert has_baclofen_draft(_bundle(baclofen, order))
    # Not in the drafts: it may be in the prefetch, so the full pipeline decides.
    assert has_baclofen_draft(_bundle(order))


def test_scope_selections_of_order_select() -> None:
    drafts = _bundle(other_order("N02BE01", "paracétamol", oid="p", status="draft"), baclofen_order(oid="b"))
    assert not has_baclofen_draft(drafts, ["MedicationRequest/p"])
    assert has_baclofen_draft(drafts, ["MedicationRequest/b"])


def test_scope_malformed_bundle_is_invalid_fhir() -> None:
    with pytest.raises(InvalidFhir):
        has_baclofen_draft({"resourceType": "Bundle", "entry": [3]})


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_scope_agrees_with_every_fixture(scenario: Scenario) -> None:
    """A scenario with cards is in scope; a scenario out of scope expects no card."""
    context = scenario.request.get("context") or {}
    drafts = context.get("draftOrders")
    if not isinstance(drafts, dict):
        return
    try:
        in_scope = has_baclofen_draft(drafts, context.get("selections"))
    except InvalidFhir:
        return
    if not in_scope:
        assert scenario.expected.get("no_cards"), scenario.name
    elif scenario.name.startswith("scope-non-baclofen") or "intrathecal" in scenario.name:
        pytest.fail(f"{scenario.name} should be out of scope")


async def test_out_of_scope_needs_no_prefetch_nor_fhir_server(client: httpx.AsyncClient, app: Any) -> None:
    from cds_service.observability import metrics
    from cds_service.storage.tables import Evaluation

    counter = metrics.OUT_OF_SCOPE.labels(service="baclofen-rtu")
    before = counter._value.get()
    request = hook_request([other_order("N02BE01", "paracétamol", status="draft")])
    request.pop("prefetch")
    response = await client.post("/cds-services/baclofen-rtu", json=request)
    assert response.status_code == 200, response.text
    assert response.json() == {"cards": []}
    assert counter._value.get() == before + 1
    async with app.state.cds.engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(Evaluation))).scalar() == 0
    # The same request with a baclofen draft needs the Patient: 412 without fhirServer.
    request["context"]["draftOrders"] = _bundle(baclofen_order())
    assert (await client.post("/cds-services/baclofen-rtu", json=request)).status_code == 412


async def test_out_of_scope_ignores_an_invalid_prefetch(client: httpx.AsyncClient) -> None:
    request = hook_request([other_order("N02BE01", "paracétamol", status="draft")])
    request["prefetch"]["conditions"]["entry"].append({"resource": {"resourceType": "Condition"}})
    response = await client.post("/cds-services/baclofen-rtu", json=request)
    assert response.status_code == 200 and response.json() == {"cards": []}


async def test_out_of_scope_makes_no_fhir_request(client: httpx.AsyncClient, fhir_server: FakeFhir) -> None:
    request = hook_request([other_order("N02BE01", "paracétamol", status="draft")], omit=("patient", "conditions"),
                           fhir_server=fhir_server.url(), token="t")
    seen = len(fhir_server.seen)
    response = await client.post("/cds-services/baclofen-rtu", json=request)
    assert response.status_code == 200 and response.json() == {"cards": []}
    assert len(fhir_server.seen) == seen


@pytest.mark.parametrize(
    "mutate",
    [
        lambda r: r.pop("hookInstance"),
        lambda r: r["context"].pop("draftOrders"),
        lambda r: r["context"].update(draftOrders={"resourceType": "Bundle", "entry": [3]}),
        lambda r: r["context"].pop("patientId"),
    ],
)
async def test_malformed_out_of_scope_request_is_still_400(client: httpx.AsyncClient, mutate: Any) -> None:
    request = hook_request([other_order("N02BE01", "paracétamol", status="draft")])
    mutate(request)
    response = await client.post("/cds-services/baclofen-rtu", json=request)
    assert response.status_code == 400, response.text


def test_scope_verdicts_follow_the_installed_terminology() -> None:
    """The remembered "not baclofen" of a French code is forgotten when a terminology that knows
    the code is installed (and remembered again once it is removed)."""
    from cds_service import terminology
    from cds_service.terminology.entries import DrugEntry, Substance

    order = other_order("x", "x", status="draft")
    order["medicationCodeableConcept"] = {"coding": [{"system": "http://data.esante.gouv.fr/ansm/medicament/UCD",
                                                      "code": "3400890000048"}]}  # a UCD
    assert not has_baclofen_draft(_bundle(order))
    assert not has_baclofen_draft(_bundle(order))  # remembered
    formulary = terminology.Terminology()
    formulary.add_formulary([("ucd", "3400890000048", DrugEntry("BACLOFENE 10 mg", "comprimé", substances=(
        Substance("baclofène", "baclofene", 10.0),), source="formulary"))])
    previous = terminology.install(formulary)
    try:
        assert has_baclofen_draft(_bundle(order))
    finally:
        terminology.install(previous)
    assert not has_baclofen_draft(_bundle(order))
