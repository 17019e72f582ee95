"""The engine: scope (baclofen, oral), order-select filtering, AMM filtering, missing data,
several drafts — on contexts built from FHIR JSON, plus one built by hand."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from cds_service.clinical.context import Code, MedicationFact, PatientContext
from cds_service.clinical.engine import evaluate, orders_in_scope
from cds_service.clinical.findings import Labels
from cds_service.clinical.profile import load_profile
from tests.builders import ATC, SNOMED, UCUM, condition, other_order
from tests.clinical.rtu_helpers import RXNORM, TODAY, draft, order_of, run, taking


def intrathecal() -> dict[str, Any]:
    order = draft(dosages=[{
        "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
        "route": {"coding": [{"system": SNOMED, "code": "72607000", "display": "Intrathecal route"}]},
        "doseAndRate": [{"doseQuantity": {"value": 300, "unit": "µg", "system": UCUM, "code": "ug"}}],
    }], reason="G35")
    order["medicationCodeableConcept"]["text"] = "Baclofène 0,5 mg/mL solution intrathécale"
    return order


def paracetamol(oid: str = "draft-2") -> dict[str, Any]:
    order = other_order("N02BE01", "Paracétamol 1 g", oid=oid, status="draft")
    order["dosageInstruction"] = [{"timing": {"repeat": {"frequency": 3, "period": 1, "periodUnit": "d"}},
                                   "doseAndRate": [{"doseQuantity": {"value": 1, "unit": "g", "system": UCUM,
                                                                     "code": "g"}}]}]
    return order


def test_intrathecal_baclofen_is_out_of_scope() -> None:
    result = run([intrathecal()])
    assert result.evaluations == []
    assert result.cards() == []


@pytest.mark.parametrize(("atc", "name"), [("N07BB03", "Acamprosate"), ("N02BE01", "Paracétamol"),
                                           ("M03BX02", "Tizanidine")])
def test_other_drugs_are_out_of_scope(atc: str, name: str) -> None:
    order = other_order(atc, name, oid="draft-1", status="draft")
    assert run([order], medications=[taking(40, days=20)]).evaluations == []


def test_rxnorm_product_only_is_in_scope() -> None:
    order = order_of(30)
    order["medicationCodeableConcept"] = {"coding": [{"system": RXNORM, "code": "197381",
                                                      "display": "baclofen 10 MG Oral Tablet"}]}
    assert len(run([order]).evaluations) == 1


def test_text_only_baclofene_is_in_scope() -> None:
    order = order_of(15)
    order["medicationCodeableConcept"] = {"text": "Baclofène 10 mg comprimé"}
    assert len(run([order]).evaluations) == 1


def test_medication_reference_with_baclofen_ingredient_is_in_scope() -> None:
    order = order_of(15)
    del order["medicationCodeableConcept"]
    order["contained"] = [{"resourceType": "Medication", "id": "med1",
                           "code": {"text": "Lioresal 10 mg"},
                           "ingredient": [{"itemCodeableConcept": {"coding": [{"system": ATC, "code": "M03BX01"}]}}]}]
    order["medicationReference"] = {"reference": "#med1"}
    assert len(run([order]).evaluations) == 1


def test_each_baclofen_draft_is_evaluated_once() -> None:
    result = run([order_of(15), paracetamol(), order_of(15, oid="draft-3")])
    assert [e.assessment.order.id for e in result.evaluations] == ["draft-1", "draft-3"]
    assert result.codes.count("monitoring") == 2


# --- order-select -------------------------------------------------------------------------

SELECT_RULES = {"dose-over-max", "dose-collegial", "dose-specialist", "titration-start", "titration-step",
                "titration-interval", "titration-intakes", "plan-next-dose", "renal-severe", "renal-moderate",
                "dose-unknown", "data-unavailable"}


def test_order_select_emits_only_the_profile_rules() -> None:
    drafts = [order_of(70, 2)]
    sign = run(drafts, medications=[taking(40, days=5)], conditions=[condition("J44.9")], observations=[])
    select = run(drafts, medications=[taking(40, days=5)], conditions=[condition("J44.9")], observations=[],
                 hook="order-select", selections=["MedicationRequest/draft-1"])
    assert {"pr-respiratory", "rtu-register", "monitoring", "renal-unknown"} <= set(sign.codes)
    assert set(select.codes) == {"titration-step", "titration-intakes", "plan-next-dose"}
    assert set(select.codes) <= SELECT_RULES
    assert load_profile("rtu-2014").policy.order_select_rules | {"data-unavailable"} == SELECT_RULES


def test_order_select_evaluates_the_selected_orders_only() -> None:
    drafts = [paracetamol("draft-2"), order_of(15)]
    assert len(run(drafts, hook="order-select", selections=["MedicationRequest/draft-1"]).evaluations) == 1
    assert run(drafts, hook="order-select", selections=["MedicationRequest/draft-2"]).evaluations == []
    assert len(run(drafts, hook="order-select", selections=["draft-1"]).evaluations) == 1


def test_order_select_keeps_data_unavailable_and_severe_renal() -> None:
    result = run([order_of(15)], hook="order-select", selections=["MedicationRequest/draft-1"],
                 conditions=[condition("N18.5")], unavailable={"allergies"})
    # a contraindication: no plan card, whichever the hook
    assert set(result.codes) == {"renal-severe", "data-unavailable"}


# --- missing data -------------------------------------------------------------------------


def test_data_unavailable_names_the_keys_and_the_checks() -> None:
    found = run([order_of(15)], unavailable={"observations", "allergies"}).get("data-unavailable")
    assert found.indicator == "warning"
    assert found.params["keys"] == Labels(("record_allergies", "record_observations"))
    assert found.params["checks"] == Labels(("checks_allergies", "checks_observations"))
    (card,) = [c for c in run([order_of(15)], unavailable={"observations", "allergies"}).cards("fr")
               if "data-unavailable" in c["extension"]["baclofen-rtu-rules"]]
    assert card["extension"]["baclofen-rtu-unchecked"] == [
        "ci-hypersensitivity", "renal-unknown", "ci-pregnancy", "ci-breastfeeding"]
    assert "renal-unknown" not in card["detail"] and "ci-" not in card["summary"]  # words, not codes
    assert "n\u2019ont pas pu être lus" in card["detail"].lower()


def test_no_data_unavailable_when_every_key_was_had() -> None:
    assert "data-unavailable" not in run([order_of(15)], observations=[]).codes


def test_a_missing_patient_key_is_not_a_data_unavailable_card() -> None:
    context = hand_built_context(unavailable=frozenset({"patient"}))
    (evaluation,) = evaluate(context, load_profile("rtu-2014"))
    assert "data-unavailable" not in [f.code for f in evaluation.findings]


def hand_built_context(**changes: Any) -> PatientContext:
    from fhir.resources.R4B.dosage import Dosage

    order = MedicationFact(
        id="draft-9", status="draft", intent="order",
        codes=(Code("http://www.whocc.no/atc", "M03BX01", "baclofen"),), text="Baclofène 10 mg",
        authored_on=TODAY, is_draft=True,
        dosages=(Dosage.model_validate({"timing": {"repeat": {"frequency": 3, "period": 1, "periodUnit": "d"}},
                                        "doseAndRate": [{"doseQuantity": {"value": 5, "unit": "mg",
                                                                          "system": UCUM, "code": "mg"}}]}),),
        reason_codes=(Code("http://hl7.org/fhir/sid/icd-10", "F10.2"),),
    )
    base = PatientContext(today=TODAY, patient_id="pat-1", birth_date=date(1970, 1, 1), sex="female",
                          draft_orders=(order,))
    return PatientContext(**{**base.__dict__, **changes})


def test_data_unavailable_on_a_hand_built_context() -> None:
    context = hand_built_context(unavailable=frozenset({"observations"}))
    (evaluation,) = evaluate(context, load_profile("rtu-2014"))
    codes = [f.code for f in evaluation.findings]
    assert {"data-unavailable", "renal-unknown", "plan-next-dose", "monitoring", "rtu-register"} <= set(codes)
    assert "titration-start" not in codes
    assert orders_in_scope(context, None) == [context.draft_orders[0]]


def test_unavailable_medications_skip_interactions_and_start() -> None:
    result = run([order_of(40)], unavailable={"medications"})
    assert "titration-start" not in result.codes
    assert "ix-" not in " ".join(result.codes)
    assert result.get("data-unavailable").params["checks"] == Labels(("checks_medications",))


def test_findings_are_in_catalogue_order() -> None:
    result = run([order_of(200)], conditions=[condition("G40.9"), condition("J44.9")],
                 observations=[], birth_date="1950-01-01")
    assert result.codes == ["ci-epilepsy", "renal-unknown", "dose-collegial", "titration-start",
                            "pr-respiratory", "rtu-register", "monitoring"]
