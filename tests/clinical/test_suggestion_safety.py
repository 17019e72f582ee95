"""Issue 11: every suggested dose, on every fixture and on generated patients, obeys the policy.

The properties (tests/clinical/safety_properties.py): no increase past a blocker, the review
thresholds cap every step, reductions are progressive (never a bare delete above 30 mg/day),
no re-escalation after a reduction, the next step only after the review.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cds_service.clinical.cards import CardRequest, build_cards
from cds_service.clinical.engine import OrderEvaluation, evaluate
from cds_service.clinical.profile import PROFILE_NAMES, load_profile
from cds_service.fhir import prefetch as prefetch_logic
from cds_service.fhir.context_builder import build_context
from cds_service.fixtures import Scenario, fixtures_dir, list_scenarios
from tests.builders import condition, egfr
from tests.clinical.rtu_helpers import TODAY, Run, ago, born_aged, order_of, run, taking
from tests.clinical.safety_properties import steps_of, violations

DIRECTORY = fixtures_dir()
SCENARIOS = [s for s in (list_scenarios(DIRECTORY) if DIRECTORY else []) if s.expected.get("status", 200) == 200]


async def _evaluations(scenario: Scenario, profile: str) -> list[OrderEvaluation]:
    request = scenario.request
    context = request["context"]
    async with httpx.AsyncClient() as http:
        resolved = await prefetch_logic.resolve(request.get("prefetch"), patient_id=context["patientId"],
                                                endpoint=None, http=http, deadline_seconds=1, max_pages=1)
    patient_context = build_context(patient_id=context["patientId"], draft_orders=context["draftOrders"],
                                    data=resolved.data, unavailable=resolved.unavailable, today=date.today())
    hook = "order-select" if request["hook"] == "order-select" else "order-sign"
    return evaluate(patient_context, load_profile(profile), hook, context.get("selections"))


def _cards(evaluation: OrderEvaluation, lang: str = "fr") -> list[dict[str, Any]]:
    request = CardRequest(hook_instance="h", patient_id="p", user_id=None, encounter_id=None,
                          lang="en" if lang == "en" else "fr", base_url="http://testserver")
    return build_cards([evaluation], request)


@pytest.mark.parametrize("profile", PROFILE_NAMES)
@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
async def test_every_suggestion_of_every_fixture_is_safe(scenario: Scenario, profile: str) -> None:
    for evaluation in await _evaluations(scenario, profile):
        assert violations(evaluation.assessment, _cards(evaluation)) == []


def _safe(result: Run) -> None:
    for evaluation in result.evaluations:
        breaches = violations(evaluation.assessment, _cards(evaluation))
        assert breaches == [], breaches


_CONDITIONS = ["G40.9", "K90.0", "Z33", "Z39.1", "F10.31", "N18.4", "N18.3", "F32.1", "G35"]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    current_mg=st.sampled_from([0, 15, 30, 45, 60, 90, 110, 115, 120, 125, 140, 175, 180, 185, 200, 290, 300, 320]),
    held_days=st.integers(min_value=1, max_value=40),
    draft_delta=st.sampled_from([-60, -20, -10, -5, 0, 5, 10, 15, 20, 40]),
    age=st.sampled_from([30, 65, 66, 80]),
    renal=st.sampled_from([None, 20, 45, 90]),
    extra=st.lists(st.sampled_from(_CONDITIONS), max_size=2, unique=True),
    unavailable=st.sampled_from([(), ("conditions",), ("medications",), ("observations",)]),
    profile=st.sampled_from(PROFILE_NAMES),
    spasticity=st.booleans(),
    per_day=st.sampled_from([1, 2, 3, 4]),
)
def test_generated_patients_get_only_safe_suggestions(
    current_mg: int, held_days: int, draft_delta: int, age: int, renal: int | None, extra: list[str],
    unavailable: tuple[str, ...], profile: str, spasticity: bool, per_day: int,
) -> None:
    """Hidden scenarios of the same kinds: any mix of dose, history, age, renal function,
    contraindications, unreadable record parts, profile and indication."""
    draft_mg = max(current_mg + draft_delta, 15) if current_mg else max(15 + draft_delta, 15)
    reason = {"reason": "G35"} if spasticity else {}
    medications = [taking(current_mg, days=held_days)] if current_mg else []
    observations = [egfr(renal, ago(10))] if renal is not None else []
    result = run([order_of(draft_mg, per_day, **reason)], birth_date=born_aged(age), medications=medications,
                 observations=observations, conditions=[condition(code) for code in extra],
                 unavailable=unavailable, profile=profile)
    _safe(result)


# --- one pair per property: it fires at its boundary, and stays silent just inside ---------------


def _doses(result: Run, code: str) -> list[list[float]]:
    """The daily doses of each update suggested on the card carrying `code`."""
    for card in result.cards():
        if code in card["extension"]["baclofen-rtu-rules"]:
            return [steps_and(action["resource"]) for suggestion in card.get("suggestions", [])
                    for action in suggestion["actions"] if action["type"] == "update"]
    raise AssertionError(f"no card for {code}")


def steps_and(resource: dict[str, Any]) -> list[float]:
    return [step.mg_per_day for step in steps_of(resource)]


def _actions(result: Run, code: str) -> list[str]:
    for card in result.cards():
        if code in card["extension"]["baclofen-rtu-rules"]:
            return [action["type"] for s in card.get("suggestions", []) for action in s["actions"]]
    raise AssertionError(f"no card for {code}")


def test_severe_renal_on_45_mg_is_offered_a_taper_not_an_increase() -> None:
    result = run([order_of(55)], medications=[taking(45, days=10)], observations=[egfr(29, ago(5))])
    assert _doses(result, "renal-severe") == [[30.0]]
    assert "plan-next-dose" not in result.codes
    _safe(result)


def test_severe_renal_on_180_mg_tapers_by_thirds_then_halves_to_a_stop() -> None:
    result = run([order_of(180)], medications=[taking(180, days=60)], observations=[egfr(25, ago(5))])
    update = result.update("renal-severe")
    assert [step.mg_per_day for step in update.steps] == [120, 60, 30]
    assert update.steps[0].start == TODAY and update.steps[-1].end is not None  # the stop is dated
    assert "delete" not in _actions(result, "renal-severe")


@pytest.mark.parametrize(("current_mg", "action"), [(30, "delete"), (35, "update")])
def test_delete_alone_only_at_30_mg_or_less(current_mg: int, action: str) -> None:
    result = run([order_of(current_mg)], medications=[taking(current_mg, days=30)],
                 conditions=[condition("G40.9")])
    assert _actions(result, "ci-epilepsy") == [action]


def test_a_new_patient_with_a_contraindication_gets_the_draft_cancelled() -> None:
    result = run([order_of(15)], conditions=[condition("Z33")])
    assert _actions(result, "ci-pregnancy") == ["delete"]


def test_unreadable_history_gets_no_dose_and_no_delete() -> None:
    """The patient may already take baclofen: a delete could be an abrupt stop."""
    result = run([order_of(30)], conditions=[condition("G40.9")], unavailable=["medications"])
    assert _actions(result, "ci-epilepsy") == []


@pytest.mark.parametrize(("unavailable", "observations", "code"), [
    ((), [], "renal-unknown"),
    (("observations",), None, "data-unavailable"),
])
def test_renal_unknown_or_unreadable_record_gives_a_new_patient_no_dose(
    unavailable: tuple[str, ...], observations: list[dict[str, Any]] | None, code: str,
) -> None:
    result = run([order_of(30)], observations=observations, unavailable=unavailable)
    assert code in result.codes
    assert result.get("titration-start").proposals == ()
    assert result.get("plan-next-dose").variant == "hold-new"
    _safe(result)


def test_a_normal_new_patient_is_offered_the_start_dose() -> None:
    result = run([order_of(30)])
    assert _doses(result, "titration-start")[0] == [15.0]


@pytest.mark.parametrize(("age", "current_mg", "draft_mg", "held"), [
    (70, 115, 125, "review-collegial"),
    (40, 110, 120, "review-specialist"),
    (40, 175, 185, "review-collegial"),
])
def test_a_review_not_yet_held_blocks_every_increase(age: int, current_mg: int, draft_mg: int, held: str) -> None:
    result = run([order_of(draft_mg)], birth_date=born_aged(age), medications=[taking(current_mg, days=10)])
    plan = result.get("plan-next-dose")
    assert plan.variant == "hold" and plan.proposals == ()
    _safe(result)


@pytest.mark.parametrize(("age", "current_mg", "ceiling"), [(70, 110, 115), (70, 120, 120), (40, 110, 115),
                                                           (40, 120, 180), (40, 175, 180)])
def test_thresholds_cap_the_corrected_step(age: int, current_mg: int, ceiling: int) -> None:
    """A step too large (titration-step) is corrected to at most what needs no new review."""
    result = run([order_of(current_mg + 40)], birth_date=born_aged(age), medications=[taking(current_mg, days=10)])
    assert "titration-step" in result.codes
    for doses in _doses(result, "titration-step"):
        assert max(doses) <= min(ceiling, current_mg)  # a review is pending: hold the current dose
    _safe(result)


def test_the_next_step_stops_below_the_threshold_it_would_cross() -> None:
    result = run([order_of(110)], medications=[taking(100, days=10)])
    plan = result.get("plan-next-dose")
    assert plan.variant == "step"
    assert _doses(result, "plan-next-dose")[0][-1] == 115


def test_stable_renewal_gets_no_next_dose() -> None:
    assert "plan-next-dose" not in run([order_of(140)], medications=[taking(140, days=50)]).codes


def test_renewal_during_titration_gets_a_conditional_next_dose_after_the_review() -> None:
    result = run([order_of(40)], medications=[taking(40, days=4)])
    plan = result.get("plan-next-dose")
    assert plan.variant == "step"
    update = result.update("plan-next-dose")
    assert update.steps[-1].start is not None and update.steps[-1].start > TODAY + timedelta(days=14)
    card = next(c for c in result.cards() if "plan-next-dose" in c["extension"]["baclofen-rtu-rules"])
    assert "si le craving persiste" in card["suggestions"][0]["label"]
    _safe(result)


def test_after_a_reduction_the_lower_dose_is_held() -> None:
    result = run([order_of(50)], medications=[taking(60, days=20)])
    assert result.get("plan-next-dose").variant == "reduced"
    assert result.get("plan-next-dose").proposals == ()


def test_a_recent_reduction_in_the_record_is_not_undone_three_days_later() -> None:
    earlier = taking(60, days=20, oid="earlier")
    earlier["status"] = "stopped"
    result = run([order_of(50)], medications=[earlier, taking(50, days=3, oid="reduced")])
    assert result.get("plan-next-dose").variant == "reduced"


def test_after_a_full_interval_re_escalation_is_slower() -> None:
    earlier = taking(60, days=40, oid="earlier")
    earlier["status"] = "stopped"
    result = run([order_of(55)], medications=[earlier, taking(50, days=16, oid="reduced")])
    plan = result.get("plan-next-dose")
    assert plan.variant == "step"
    assert _doses(result, "plan-next-dose")[0][-1] == 60  # +5, not +10


def test_resolved_withdrawal_seizures_count_as_history() -> None:
    seizure = condition("F10.31")
    seizure["clinicalStatus"]["coding"][0]["code"] = "resolved"
    assert "pr-withdrawal-seizures" in run([order_of(30)], medications=[taking(30, days=5)],
                                           conditions=[seizure]).codes


def test_refuted_epilepsy_never_counts() -> None:
    epilepsy = condition("G40.9")
    epilepsy["verificationStatus"] = {"coding": [{"code": "refuted"}]}
    assert "ci-epilepsy" not in run([order_of(30)], medications=[taking(30, days=5)],
                                    conditions=[epilepsy]).codes


def test_spasticity_order_still_gets_renal_and_contraindication_checks() -> None:
    result = run([order_of(90, reason="G35")], medications=[taking(90, days=40)],
                 observations=[egfr(20, ago(3))])
    codes = set(result.codes)
    assert {"indication-amm", "renal-severe", "dose-over-max"} <= codes
    assert not codes & {"rtu-register", "monitoring", "plan-next-dose", "dose-specialist"}
    _safe(result)


def test_spasticity_order_within_the_amm_gets_no_rtu_card() -> None:
    result = run([order_of(60, reason="G35")], medications=[taking(60, days=40)])
    assert set(result.codes) == {"indication-amm"}


@pytest.mark.parametrize(("age", "current_mg"), [(66, 175), (80, 170), (30, 175)])
def test_the_180_threshold_is_its_own_gate_even_after_the_elderly_collegial_decision(
    age: int, current_mg: int,
) -> None:
    """An elderly patient past 120 mg/day had a collegial decision for that dose, not for
    going past 180: the next step stops at 180."""
    result = run([order_of(current_mg)], birth_date=born_aged(age), medications=[taking(current_mg, days=1)],
                 observations=[egfr(90, ago(10))])
    for doses in _doses(result, "plan-next-dose"):
        assert max(doses) <= 180
    _safe(result)


# --- product-aware splits (issue 13 part 2) --------------------------------------------------

def _coded_tablet_order(code: str, tablets: float) -> dict[str, Any]:
    from tests.clinical.rtu_helpers import draft

    order = draft(dosages=[{
        "text": "cp x 3", "timing": {"repeat": {"frequency": 3, "period": 1, "periodUnit": "d"}},
        "doseAndRate": [{"doseQuantity": {"value": tablets, "unit": "comprimé", "code": "TAB",
                                          "system": "http://terminology.hl7.org/CodeSystem/v3-orderableDrugForm"}}]}])
    order["medicationCodeableConcept"] = {"coding": [{"system": "https://smt.esante.gouv.fr/terminologie-cip_ucd",
                                                      "code": code}]}
    return order


def _updates_of(result: Any) -> list[Any]:
    from cds_service.clinical.findings import UpdateDose

    return [p for f in result.findings for p in f.proposals if isinstance(p, UpdateDose)]


def test_a_dose_the_ordered_tablet_cannot_give_switches_to_10mg_tablets_and_says_so() -> None:
    from tests.clinical.rtu_helpers import run, taking

    result = run([_coded_tablet_order("3400930186886", 1)], medications=[taking(80, days=10)])  # Baclocur 30
    [update] = _updates_of(result)
    assert [s.mg_per_day for s in update.steps] == [90, 100]
    assert update.switch_to_10mg and update.tablet is not None and "BACLOCUR 30" in update.tablet
    card = next(c for c in result.cards("fr") if c.get("suggestions"))
    assert "comprimés sécables à 10 mg" in card["suggestions"][0]["label"]
    resource = card["suggestions"][0]["actions"][0]["resource"]
    assert resource["medicationCodeableConcept"]["coding"][0]["code"] == "M03BX01"
    assert resource["medicationCodeableConcept"]["text"] == "Baclofène 10 mg, comprimé sécable"


def test_doses_the_ordered_tablet_can_give_use_its_whole_or_half_tablets() -> None:
    from cds_service.clinical.findings import PlannedStep, UpdateDose
    from cds_service.clinical.suggestion_policy import fit_to_tablet
    from tests.clinical.rtu_helpers import run, taking

    result = run([_coded_tablet_order("3400930186886", 1)], medications=[taking(80, days=10)])
    assessment = result.evaluations[0].assessment
    fitted = fit_to_tablet(assessment, UpdateDose((PlannedStep((35.0, 20.0, 35.0)), PlannedStep((40.0, 35.0, 45.0)))))
    assert [s.intake_mg for s in fitted.steps] == [(30.0, 30.0, 30.0), (45.0, 30.0, 45.0)]  # 15 mg half tablets
    assert not fitted.switch_to_10mg


def test_a_baclocur_order_without_strength_gets_no_dose_suggestion() -> None:
    from tests.builders import ATC
    from tests.clinical.rtu_helpers import run, taking

    order = _coded_tablet_order("0", 1)
    order["medicationCodeableConcept"] = {"coding": [{"system": ATC, "code": "M03BX01"}], "text": "Baclocur"}
    for meds in ([], [taking(60, days=10)]):
        result = run([order], medications=meds)
        assert "dose-unknown" in result.codes
        assert _updates_of(result) == []


def _plan_query(card: dict[str, Any]) -> dict[str, str]:
    from urllib.parse import parse_qs, urlsplit

    [link] = [link for link in card.get("links", []) if "/plan?" in link["url"]]
    return {key: values[0] for key, values in parse_qs(urlsplit(link["url"]).query).items()}


def test_the_patient_sheet_counts_in_the_ordered_tablets() -> None:
    """A Baclocur 20 mg order: the handout counts 20 mg tablets (a sheet in 10 mg tablets would
    have the patient take twice each intake)."""
    from tests.clinical.rtu_helpers import run, taking

    result = run([_coded_tablet_order("3400930163597", 1)], medications=[taking(50, days=5)])  # Baclocur 20
    card = next(c for c in result.cards("fr") if "plan-next-dose" in c["extension"]["baclofen-rtu-rules"])
    query = _plan_query(card)
    assert (query["strength"], query["form"]) == ("20", "scored")


def test_a_switch_to_10mg_tablets_prints_10mg_tablets() -> None:
    from tests.clinical.rtu_helpers import run, taking

    result = run([_coded_tablet_order("3400930186886", 1)], medications=[taking(80, days=10)])  # Baclocur 30
    card = next(c for c in result.cards("fr") if any("/plan?" in link["url"] for link in c.get("links", [])))
    assert _plan_query(card)["strength"] == "10"


def test_an_oral_solution_prints_doses_in_mg_not_tablets() -> None:
    from tests.clinical.rtu_helpers import draft, run, taking

    order = draft(dosages=[{
        "text": "10 mL x 3", "timing": {"repeat": {"frequency": 3, "period": 1, "periodUnit": "d"}},
        "doseAndRate": [{"doseQuantity": {"value": 10, "unit": "mL", "code": "mL", "system": "http://unitsofmeasure.org"}}]}])
    order["medicationCodeableConcept"] = {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                                                      "code": "250976"}]}  # baclofen 1 mg/mL oral solution
    result = run([order], medications=[taking(20, days=5)])
    card = next(c for c in result.cards("fr") if "plan-next-dose" in c["extension"]["baclofen-rtu-rules"])
    assert _plan_query(card)["form"] == "liquid"


def test_a_new_patient_keeps_three_intakes_where_the_amm_allows_two() -> None:
    """amm-2018 accepts 2 to 4 intakes, but a patient started on 5-5-5 is not moved to 10-15."""
    from tests.clinical.rtu_helpers import order_of, run

    result = run([order_of(15)], profile="amm-2018")
    [update] = _updates_of(result)
    assert [len(step.intake_mg) for step in update.steps] == [3, 3]


def test_the_next_step_keeps_the_ordered_split_the_profile_allows() -> None:
    """amm-2018, 40 mg/day ordered as 20-20: the next step stays on two intakes (25-25)."""
    from tests.clinical.rtu_helpers import draft, run, taking

    result = run([draft(20, 2)], medications=[taking(30, days=5)], profile="amm-2018")
    [update] = _updates_of(result)
    assert [len(step.intake_mg) for step in update.steps] == [2, 2]


@pytest.mark.parametrize(("text", "strength", "form"), [
    ("BACLOCUR 20 mg, comprimé pelliculé sécable", "20", "scored"),
    # scoring unknown, whole 30 mg tablets cannot give the next step (100 mg/day): the suggestion
    # switches to 10 mg scored tablets, and so does the sheet
    ("Baclocur 30 mg cp", "10", "scored"),
])
def test_a_tablet_named_only_in_text_sets_the_sheet(text: str, strength: str, form: str) -> None:
    from tests.builders import ATC
    from tests.clinical.rtu_helpers import run, taking

    order = _coded_tablet_order("0", 1)
    order["medicationCodeableConcept"] = {"coding": [{"system": ATC, "code": "M03BX01"}], "text": text}
    dose = 60 if "20" in text else 90
    result = run([order], medications=[taking(dose - 10, days=5)])
    card = next(c for c in result.cards("fr") if any("/plan?" in link["url"] for link in c.get("links", [])))
    query = _plan_query(card)
    assert (query["strength"], query["form"]) == (strength, form)


def test_a_standard_10mg_text_keeps_the_half_tablet_default() -> None:
    from tests.builders import ATC
    from tests.clinical.rtu_helpers import run, taking

    order = _coded_tablet_order("0", 1)
    order["medicationCodeableConcept"] = {"coding": [{"system": ATC, "code": "M03BX01"}], "text": "Baclofène 10 mg"}
    result = run([order], medications=[taking(20, days=5)])
    card = next(c for c in result.cards("fr") if any("/plan?" in link["url"] for link in c.get("links", [])))
    assert "strength" not in _plan_query(card)
