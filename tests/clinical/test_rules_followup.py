"""Follow-up and RTU frame (spec "Follow-up and RTU frame"): register, monitoring interval,
indication (RTU, missing, AMM)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import pytest

from cds_service.clinical.findings import Labels
from cds_service.clinical.rules.followup import fragile_reasons
from cds_service.clinical.wording import finish
from tests.builders import ICD10, SNOMED, condition, egfr
from tests.clinical.rtu_helpers import TODAY, ago, born_aged, draft, order_of, run, taking

# --- rtu-register -----------------------------------------------------------------------


def test_register_is_info_with_the_register_url() -> None:
    found = run([order_of(15)]).get("rtu-register")
    assert found.indicator == "info"
    assert found.params["url"] == "https://www.rtubaclofene.org"


@pytest.mark.parametrize(("profile", "fires"), [("rtu-2014", True), ("rtu-2017", True), ("amm-2018", False)])
def test_register_belongs_to_the_rtu_profiles(profile: str, fires: bool) -> None:
    assert ("rtu-register" in run([order_of(15)], profile=profile).codes) is fires


def test_register_with_a_missing_indication() -> None:
    assert {"rtu-register", "indication-missing"} <= set(run([order_of(15, reason=None)]).codes)


# --- monitoring -------------------------------------------------------------------------


def monitoring(**kwargs: Any) -> tuple[int, str, object]:
    found = run([order_of(40)], medications=[taking(30, days=5)], **kwargs).get("monitoring")
    assert found.indicator == "info"
    fragile = found.params["fragile"]
    assert isinstance(fragile, Labels) and (found.variant == "fragile") == bool(fragile.keys)
    return int(str(found.params["interval"])), str(found.params["review_date"]), fragile.keys


def test_monitoring_every_two_weeks() -> None:
    interval, review, fragile = monitoring()
    assert (interval, review, fragile) == (14, "2026-03-24", ())


@pytest.mark.parametrize(("age", "interval"), [(64, 14), (65, 14), (66, 7), (80, 7)])
def test_monitoring_weekly_over_65(age: int, interval: int) -> None:
    assert monitoring(birth_date=born_aged(age))[0] == interval


@pytest.mark.parametrize(("value", "interval"), [(25, 7), (45, 7), (59, 7), (60, 14)])
def test_monitoring_weekly_in_renal_insufficiency(value: float, interval: int) -> None:
    assert monitoring(observations=[egfr(value, ago(5))])[0] == interval


def test_monitoring_weekly_with_a_ckd_condition() -> None:
    assert monitoring(conditions=[condition("N18.3")], observations=[egfr(70, ago(5))])[0] == 7


@pytest.mark.parametrize("code", ["F20.0", "F05.0", "F32.1", "I63.9", "J44.9", "F10.31", "R33"])
def test_monitoring_weekly_with_a_precaution(code: str) -> None:
    interval, review, fragile = monitoring(conditions=[condition(code)])
    assert (interval, review) == (7, "2026-03-17")
    assert fragile == ("fragile_precaution",)


def test_hepatic_caution_alone_keeps_the_two_week_review() -> None:
    """pr-hepatic is information only (cirrhosis studies were reassuring): not a fragility."""
    assert monitoring(conditions=[condition("K70.3")])[0] == 14


def test_every_fragility_is_named() -> None:
    _, _, fragile = monitoring(birth_date=born_aged(70), observations=[egfr(40, ago(5))],
                               conditions=[condition("F32.1")])
    assert fragile == ("fragile_age", "fragile_renal", "fragile_precaution")


def test_fragile_reasons_are_those_of_the_assessment_asked() -> None:
    """Remembered per assessment: one made by `replace` with another profile gets its own."""
    a = run([order_of(15)], birth_date=born_aged(70)).evaluations[0].assessment
    assert fragile_reasons(a) == ["fragile_age"]
    older = replace(a.profile.doses, elderly_above_age=80)
    other = replace(a, profile=replace(a.profile, doses=older))
    assert fragile_reasons(other) == []
    assert fragile_reasons(a) == ["fragile_age"]


def test_unknown_renal_function_is_not_a_fragility() -> None:
    assert monitoring(observations=[])[0] == 14


# --- indication ---------------------------------------------------------------------------


def reason_reference(condition_id: str) -> dict[str, Any]:
    order = order_of(40, reason=None)
    order["reasonReference"] = [{"reference": f"Condition/{condition_id}"}]
    return order


def test_reason_code_f10_2_is_the_rtu_indication() -> None:
    result = run([order_of(40)], medications=[taking(30, days=5)])
    assert not {"indication-missing", "indication-amm"} & set(result.codes)


@pytest.mark.parametrize(("code", "system"), [("F10.20", ICD10), ("F10.21", ICD10), ("F102", ICD10),
                                              ("7200002", SNOMED), ("66590003", SNOMED)])
def test_reason_reference_or_condition_is_the_rtu_indication(code: str, system: str) -> None:
    resource = condition(code, system, cid="cond-alcohol")
    by_reference = run([reason_reference("cond-alcohol")], conditions=[resource])
    assert "indication-missing" not in by_reference.codes
    by_problem_list = run([order_of(40, reason=None)], conditions=[resource])
    assert "indication-missing" not in by_problem_list.codes


def test_no_indication_is_info_and_the_rtu_rules_still_run() -> None:
    result = run([order_of(130, reason=None)], medications=[taking(120, days=5)],
                 conditions=[condition("F10.1"), condition("I10")])
    assert result.indicator("indication-missing") == "info"
    assert {"dose-specialist", "rtu-register", "monitoring", "plan-next-dose"} <= set(result.codes)


@pytest.mark.parametrize("status", ["inactive", "resolved", "remission"])
def test_an_inactive_alcohol_condition_is_not_an_indication(status: str) -> None:
    result = run([order_of(15, reason=None)], conditions=[condition("F10.2", status=status)])
    assert "indication-missing" in result.codes


def test_an_unrelated_reason_falls_back_on_the_problem_list() -> None:
    order = order_of(15, reason="F41.1")
    assert "indication-missing" not in run([order], conditions=[condition("F10.2")]).codes
    assert "indication-missing" in run([order]).codes


def test_no_indication_missing_when_the_problem_list_could_not_be_fetched() -> None:
    result = run([order_of(15, reason=None)], unavailable={"conditions"})
    assert "indication-missing" not in result.codes
    assert "data-unavailable" in result.codes


@pytest.mark.parametrize(("code", "system"), [("G35", ICD10), ("24700007", SNOMED), ("G80.0", ICD10),
                                              ("221360009", SNOMED)])
def test_spasticity_reason_applies_the_amm_only(code: str, system: str) -> None:
    """The RTU cards are off; renal function (here unknown) is still checked."""
    order = order_of(60, reason=None)
    order["reasonCode"] = [{"coding": [{"system": system, "code": code}]}]
    result = run([order], medications=[taking(45, days=3)], observations=[])
    assert result.codes == ["renal-unknown", "indication-amm"]
    found = result.get("indication-amm")
    assert found.indicator == "info"
    assert (found.params["amm_min"], found.params["amm_max"]) == (30, 75)
    assert code in str(found.params["evidence"])


def test_spasticity_by_reason_reference() -> None:
    result = run([reason_reference("cond-ms")], conditions=[condition("G35", cid="cond-ms")])
    assert result.codes == ["indication-amm"]


def test_spasticity_on_the_problem_list_only_does_not_switch_to_the_amm() -> None:
    result = run([order_of(15)], conditions=[condition("G35")])
    assert "indication-amm" not in result.codes
    assert "rtu-register" in result.codes


def test_alcohol_reason_wins_over_spasticity() -> None:
    order = order_of(15)
    order["reasonCode"].append({"coding": [{"system": ICD10, "code": "G35"}]})
    assert "indication-amm" not in run([order]).codes


def test_amm_order_keeps_data_unavailable() -> None:
    order = order_of(60, reason="G35")
    assert run([order], unavailable={"allergies"}).codes == ["indication-amm", "data-unavailable"]


def test_draft_authored_on_sets_the_evaluation_date() -> None:
    found = run([draft(5, 3, authored="2026-01-02")]).get("monitoring")
    assert found.params["review_date"] == date(2026, 1, 16)
    assert TODAY.isoformat() == "2026-03-10"


def test_spasticity_evidence_quotes_the_records_own_label() -> None:
    """The EHR's display (often English) is shown as the record's words, never as ours."""
    order = order_of(60, reason=None)
    order["reasonCode"] = [{"coding": [{"system": ICD10, "code": "G35", "display": "Multiple sclerosis"}]}]
    result = run([order], medications=[taking(45, days=3)], observations=[])
    assert finish(str(result.get("indication-amm").params["evidence"]), "fr") == \
        "G35, libellé du dossier\u00a0: «\u00a0Multiple sclerosis\u00a0»"
