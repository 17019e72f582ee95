"""Suggested FHIR actions: valid R4 resources, a dosage that reads back as the proposed doses
(round trip through `regimen_of`), and suggestions that the rules then accept."""

from __future__ import annotations

from typing import Any

import pytest
from fhir.resources.R4B.medicationrequest import MedicationRequest
from fhir.resources.R4B.servicerequest import ServiceRequest

from cds_service.clinical.actions import dosage_lines
from cds_service.clinical.dose import Regimen, regimen_of
from cds_service.clinical.findings import PlannedStep, UpdateDose
from cds_service.clinical.profile import PROFILE_NAMES, load_profile
from cds_service.fhir.context_builder import build_context
from tests.builders import PATIENT_ID
from tests.clinical.rtu_helpers import TODAY, catalogue, order_of, run, taking

CATALOGUES = {name: catalogue(name) for name in PROFILE_NAMES}
TITRATION = {"titration-start", "titration-step", "titration-interval", "titration-intakes"}


def regimen(resource: dict[str, Any]) -> Regimen:
    """The regimen of a MedicationRequest as the service reads a draft."""
    context = build_context(patient_id=PATIENT_ID, draft_orders={"resourceType": "Bundle", "type": "collection",
                                                                 "entry": [{"resource": resource}]},
                            data={}, unavailable=(), today=TODAY)
    (order,) = context.draft_orders
    return regimen_of(order)


def actions(profile: str) -> list[tuple[str, Any, dict[str, Any]]]:
    """(scenario, proposal, action) for every action of every card of the catalogue."""
    found = []
    for name, result in CATALOGUES[profile].items():
        proposals = [p for f in result.findings for p in f.proposals]
        for card in result.cards():
            for suggestion in card.get("suggestions", []):
                for action in suggestion["actions"]:
                    found.append((name, proposals, action))
    return found


@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_every_suggested_resource_is_valid_fhir(profile: str) -> None:
    kinds = set()
    for _, _, action in actions(profile):
        kinds.add(action["type"])
        if action["type"] == "update":
            order = MedicationRequest.model_validate(action["resource"])
            assert order.id == "draft-1" and order.status == "draft"
        elif action["type"] == "create":
            request = ServiceRequest.model_validate(action["resource"])
            assert request.status == "draft"
            assert request.subject.reference == f"Patient/{PATIENT_ID}"
            assert request.basedOn is not None and request.basedOn[0].reference == "MedicationRequest/draft-1"
            assert request.requester is not None and request.requester.reference == "Practitioner/prac-1"
            assert request.encounter is not None and request.encounter.reference == "Encounter/enc-1"
        else:
            assert action == {"type": "delete", "description": action["description"],
                              "resourceId": "MedicationRequest/draft-1"}
    assert kinds == {"update", "create", "delete"}


def shape(steps: Any) -> list[tuple[float, tuple[float, ...], Any, Any]]:
    return [(s.mg_per_day, tuple(s.intake_mg), s.start, s.end) for s in steps]


@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_updated_drafts_read_back_as_the_proposed_doses(profile: str) -> None:
    """Each update action's dosage, read as the service reads a draft, gives exactly the steps
    (daily dose, intakes, dates) of one proposal of the card, with at least 3 intakes."""
    checked = 0
    for name, result in CATALOGUES[profile].items():
        for card in result.cards():
            codes = card["extension"]["baclofen-rtu-rules"]
            proposals = [shape(p.steps) for f in result.findings if f.code in codes
                         for p in f.proposals if isinstance(p, UpdateDose)]
            updates = [a["resource"] for s in card.get("suggestions", []) for a in s["actions"]
                       if a["type"] == "update"]
            assert len(updates) == len(proposals), (name, codes)
            for resource in updates:
                steps = regimen(resource).steps
                assert shape(steps) in proposals, (name, codes, shape(steps), proposals)
                assert all((s.intakes_per_day or 0) >= load_profile(profile).titration.min_intakes for s in steps)
                checked += 1
    assert checked >= 6


def test_update_keeps_the_rest_of_the_draft() -> None:
    result = run([order_of(30)])  # a new patient with a normal eGFR: the 15 mg/day start is offered
    (card,) = [c for c in result.cards() if c["source"]["topic"]["code"] == "titration-start"]
    resource = card["suggestions"][0]["actions"][0]["resource"]
    draft = result.evaluations[0].assessment.order.raw
    assert draft is not None
    assert {k: v for k, v in resource.items() if k != "dosageInstruction"} == \
           {k: v for k, v in draft.items() if k != "dosageInstruction"}
    nested = [k for k, v in draft.items() if isinstance(v, dict | list) and k != "dosageInstruction"]
    assert nested and all(resource[k] is not draft[k] for k in nested)  # a copy: the draft stays as signed
    assert resource["dosageInstruction"] == [{
        "sequence": 1,
        "route": {"coding": [{"system": "http://snomed.info/sct", "code": "26643006", "display": "Oral route"}]},
        "text": "5 mg × 3 (15 mg/j)",
        "timing": {"repeat": {"boundsPeriod": {"start": "2026-03-10"}, "frequency": 3, "period": 1,
                              "periodUnit": "d"}},
        "doseAndRate": [{"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/dose-rate-type",
                                              "code": "ordered", "display": "Ordered"}]},
                         "doseQuantity": {"value": 5.0, "unit": "mg", "system": "http://unitsofmeasure.org",
                                          "code": "mg"}}],
    }]


def test_referral_and_creatinine_requests() -> None:
    result = CATALOGUES["rtu-2014"]["collegial-age"]
    (card,) = [c for c in result.cards() if c["source"]["topic"]["code"] == "dose-collegial"]
    referral = card["suggestions"][0]["actions"][0]["resource"]
    assert referral["intent"] == "proposal"
    assert referral["code"]["coding"][0]["code"] == "3457005"
    assert referral["code"]["text"] == ("Décision collégiale en CSAPA ou service hospitalier d'addictologie "
                                        "(baclofène 125 mg/j)")
    assert referral["authoredOn"] == "2026-03-10"
    (renal,) = [c for c in CATALOGUES["rtu-2014"]["start"].cards("en")
                if c["source"]["topic"]["code"] == "renal-unknown"]
    test = renal["suggestions"][0]["actions"][0]["resource"]
    assert test["intent"] == "order"
    assert [c["code"] for c in test["code"]["coding"]] == ["14682-9", "2160-0"]
    assert renal["suggestions"][0]["label"] == "Order a serum creatinine (eGFR)"


@pytest.mark.parametrize(
    "intakes",
    [(5.0, 5.0, 5.0), (10.0, 15.0, 15.0), (15.0, 10.0, 15.0), (10.0, 10.0, 10.0, 10.0), (20.0, 25.0, 25.0, 30.0),
     (7.5, 7.5, 10.0), (10.0, 10.0, 10.0, 10.0, 15.0)],
)
def test_dosage_lines_round_trip(intakes: tuple[float, ...]) -> None:
    steps = (PlannedStep(intakes, TODAY),)
    resource = order_of(15)
    resource["dosageInstruction"] = dosage_lines(steps, load_profile("rtu-2014"), "fr")
    MedicationRequest.model_validate(resource)
    (step,) = regimen(resource).steps
    assert step.mg_per_day == sum(intakes)
    assert step.intakes_per_day == len(intakes)
    assert sorted(step.intake_mg) == sorted(intakes)


@pytest.mark.parametrize(
    ("draft_mg", "per_day", "current_mg", "days"),
    [(30, 3, None, 0), (60, 3, 40, 1), (70, 2, 40, 5), (40, 3, 15, 1), (35, 3, 15, 3), (310, 3, 300, 12)],
)
def test_accepting_a_suggestion_silences_the_rule(draft_mg: int, per_day: int, current_mg: int | None,
                                                  days: int) -> None:
    meds = [taking(current_mg, days=days)] if current_mg is not None else []
    result = run([order_of(draft_mg, per_day)], medications=meds)
    assert set(result.codes) & (TITRATION | {"dose-over-max"})
    for card in result.cards():
        for suggestion in card.get("suggestions", []):
            for action in suggestion["actions"]:
                if action["type"] != "update":
                    continue
                after = set(run([action["resource"]], medications=meds).codes)
                if card["source"]["topic"]["code"] in TITRATION:
                    assert not after & TITRATION, (suggestion["label"], after)
                if card["source"]["topic"]["code"] == "dose-over-max":
                    assert "dose-over-max" not in after
