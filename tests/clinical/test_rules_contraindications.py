"""Contraindications (spec: critical, one card each, suggest cancelling the draft): epilepsy,
hypersensitivity, gluten intolerance, pregnancy, breastfeeding — and what must stay silent."""

from __future__ import annotations

from typing import Any

import pytest

from cds_service.clinical.findings import CancelDraft
from tests.builders import ATC, ICD10, LOINC, PATIENT_ID, SNOMED, allergy, condition, egfr
from tests.clinical.rtu_helpers import RXNORM, ago, order_of, run

CI = {"ci-epilepsy", "ci-hypersensitivity", "ci-gluten", "ci-pregnancy", "ci-breastfeeding"}


def ci_codes(**kwargs: Any) -> set[str]:
    kwargs.setdefault("gender", "female")
    kwargs.setdefault("birth_date", "1990-04-02")
    return set(run([order_of(15)], **kwargs).codes) & CI


def status_observation(loinc: str, value: dict[str, Any], date: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": f"obs-{loinc}-{date}",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": loinc}]},
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
        "effectiveDateTime": date,
        **value,
    }


def coded(system: str, code: str, display: str) -> dict[str, Any]:
    return {"valueCodeableConcept": {"coding": [{"system": system, "code": code, "display": display}]}}


PREGNANT = coded(SNOMED, "77386006", "Pregnant")
NOT_PREGNANT = coded(SNOMED, "60001007", "Not pregnant")


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        (condition("G40.9"), "ci-epilepsy"),
        (condition("G41.0"), "ci-epilepsy"),
        (condition("84757009", SNOMED, "Epilepsy"), "ci-epilepsy"),
        (condition("K90.0"), "ci-gluten"),
        (condition("396331005", SNOMED, "Coeliac disease"), "ci-gluten"),
        (condition("Z33"), "ci-pregnancy"),
        (condition("Z33.1"), "ci-pregnancy"),
        (condition("O26.9"), "ci-pregnancy"),
        (condition("77386006", SNOMED, "Pregnant"), "ci-pregnancy"),
        (condition("Z39.1"), "ci-breastfeeding"),
    ],
)
def test_condition_contraindications(resource: dict[str, Any], expected: str) -> None:
    result = run([order_of(15)], conditions=[resource], gender="female", birth_date="1990-04-02")
    assert set(result.codes) & CI == {expected}
    found = result.get(expected)
    assert found.indicator == "critical"
    assert found.proposals == (CancelDraft(),)  # a new patient: the draft is cancelled
    assert resource["code"]["coding"][0]["code"] in str(found.params["evidence"])


@pytest.mark.parametrize("status", ["inactive", "resolved", "remission"])
def test_inactive_conditions_are_silent(status: str) -> None:
    conditions = [condition(code, status=status) for code in ("K90.0", "Z33", "Z39.1")]
    assert ci_codes(conditions=conditions) == set()


@pytest.mark.parametrize("status", ["inactive", "resolved", "remission"])
def test_epilepsy_is_a_history_rule(status: str) -> None:
    """« Antécédent d'épilepsie »: a resolved or inactive epilepsy still contraindicates."""
    assert ci_codes(conditions=[condition("G40.9", status=status)]) == {"ci-epilepsy"}


def test_refuted_and_abated_conditions_are_silent() -> None:
    refuted = condition("G40.9")
    refuted["verificationStatus"] = {"coding": [{
        "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "refuted"}]}
    abated = condition("Z33")
    abated["abatementDateTime"] = ago(30)
    assert ci_codes(conditions=[refuted, abated]) == set()


def test_withdrawal_seizures_and_febrile_convulsions_are_not_epilepsy() -> None:
    assert ci_codes(conditions=[condition("F10.31"), condition("R56.0")]) == set()


@pytest.mark.parametrize(
    "resource",
    [
        allergy("M03BX01"),
        allergy("1292", RXNORM),
        allergy("387342009", SNOMED),
        allergy("X-LOCAL-42", "http://example.org/allergens", "Baclofène"),
    ],
)
def test_baclofen_allergy(resource: dict[str, Any]) -> None:
    result = run([order_of(15)], allergies=[resource])
    assert set(result.codes) & CI == {"ci-hypersensitivity"}
    assert result.indicator("ci-hypersensitivity") == "critical"


def test_baclofen_allergy_on_the_problem_list() -> None:
    noted = condition("T88.7", ICD10, "Allergie au baclofène")
    noted["code"]["text"] = "Allergie au baclofène (éruption, 2019)"
    assert ci_codes(conditions=[noted]) == {"ci-hypersensitivity"}


def test_baclofen_mentioned_without_allergy_is_not_hypersensitivity() -> None:
    note = condition("Z79.899", ICD10)
    note["code"]["text"] = "Traitement au long cours par baclofène"
    assert ci_codes(conditions=[note]) == set()


@pytest.mark.parametrize(("clinical", "verification"), [("active", "refuted"), ("active", "entered-in-error"),
                                                        ("resolved", "confirmed"), ("inactive", "confirmed")])
def test_refuted_or_resolved_allergy_is_silent(clinical: str, verification: str) -> None:
    resource = allergy("M03BX01")
    resource["clinicalStatus"]["coding"][0]["code"] = clinical
    resource["verificationStatus"] = {"coding": [{
        "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification", "code": verification}]}
    assert ci_codes(allergies=[resource]) == set()


def test_other_allergies_are_silent() -> None:
    assert ci_codes(allergies=[allergy("J01CA04", ATC, "Amoxicilline"), allergy("764146007", SNOMED, "Penicillin")]) \
        == set()


def test_gluten_allergy_counts_as_gluten_intolerance() -> None:
    assert ci_codes(allergies=[allergy("X-1", "http://example.org/allergens", "Gluten")]) == {"ci-gluten"}


def test_pregnancy_observation_positive() -> None:
    obs = [egfr(100, ago(20)), status_observation("82810-3", PREGNANT, ago(2))]
    result = run([order_of(15)], observations=obs, gender="female", birth_date="1994-01-01")
    assert set(result.codes) & CI == {"ci-pregnancy"}
    assert "82810-3" in str(result.get("ci-pregnancy").params["evidence"])


def test_pregnancy_observation_with_loinc_answer() -> None:
    answer = coded(LOINC, "LA15173-0", "Pregnant")
    assert ci_codes(observations=[egfr(100, ago(20)), status_observation("82810-3", answer, ago(1))]) \
        == {"ci-pregnancy"}


def test_not_pregnant_is_silent() -> None:
    assert ci_codes(observations=[egfr(100, ago(20)), status_observation("82810-3", NOT_PREGNANT, ago(2))]) == set()


def test_the_latest_pregnancy_status_wins() -> None:
    older = status_observation("82810-3", PREGNANT, ago(200))
    newer = status_observation("82810-3", NOT_PREGNANT, ago(3))
    assert ci_codes(observations=[egfr(100, ago(20)), older, newer]) == set()
    assert ci_codes(observations=[egfr(100, ago(20)), newer | {"effectiveDateTime": ago(250)},
                                  older | {"effectiveDateTime": ago(2)}]) == {"ci-pregnancy"}


@pytest.mark.parametrize(("days", "expected"), [(300, {"ci-pregnancy"}), (301, set()), (700, set())])
def test_a_pregnant_status_older_than_a_pregnancy_is_not_current(days: int, expected: set[str]) -> None:
    assert ci_codes(observations=[egfr(100, ago(20)), status_observation("82810-3", PREGNANT, ago(days))]) \
        == expected


def test_breastfeeding_observation() -> None:
    feeding = coded(LOINC, "LA29252-6", "Exclusively breastfeeding")
    assert ci_codes(observations=[egfr(100, ago(20)), status_observation("63895-7", feeding, ago(5))]) \
        == {"ci-breastfeeding"}
    assert ci_codes(observations=[egfr(100, ago(20)),
                                  status_observation("63895-7", {"valueBoolean": True}, ago(5))]) \
        == {"ci-breastfeeding"}
    assert ci_codes(observations=[egfr(100, ago(20)),
                                  status_observation("63895-7", {"valueBoolean": False}, ago(5))]) == set()


def test_each_contraindication_gets_its_own_critical_card_first() -> None:
    result = run([order_of(15)], conditions=[condition("G40.9"), condition("K90.0")],
                 allergies=[allergy("M03BX01")], gender="male")
    cards = result.cards()
    critical = [c for c in cards if c["indicator"] == "critical"]
    assert [c["extension"]["baclofen-rtu-rules"] for c in critical] == [
        ["ci-epilepsy"], ["ci-hypersensitivity"], ["ci-gluten"]]
    assert cards[: len(critical)] == critical
    for card in critical:
        (suggestion,) = card["suggestions"]
        assert suggestion["actions"] == [{"type": "delete", "description": "Annuler cette prescription de baclofène",
                                          "resourceId": "MedicationRequest/draft-1"}]
