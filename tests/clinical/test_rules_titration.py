"""Titration rules (spec "Titration"): start, step, interval, intakes and the next-dose plan,
including the slower schedule of moderate renal insufficiency."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from cds_service.clinical.findings import Label, PlannedStep, UpdateDose
from tests.builders import condition, dosage, egfr
from tests.clinical.rtu_helpers import (
    TODAY,
    ago,
    born_aged,
    current,
    draft,
    in_days,
    lines,
    order_of,
    run,
    step_lines,
    taking,
)

TITRATION = {"titration-start", "titration-step", "titration-interval", "titration-intakes"}
MODERATE = [egfr(45, ago(10))]


def titration_codes(new_mg: int, current_mg: int | None, days: int, *, renal_moderate: bool = False,
                    per_day: int = 3) -> set[str]:
    meds = [taking(current_mg, days=days)] if current_mg is not None else []
    result = run([order_of(new_mg, per_day)], medications=meds,
                 observations=MODERATE if renal_moderate else None)
    return set(result.codes) & TITRATION


def steps_of(update: UpdateDose) -> list[tuple[float, tuple[float, ...], str | None, str | None]]:
    return [(s.mg_per_day, s.intake_mg, s.start.isoformat() if s.start else None,
             s.end.isoformat() if s.end else None) for s in update.steps]


# --- titration-start --------------------------------------------------------------------


def test_new_patient_at_15_mg_is_the_recommended_start() -> None:
    assert titration_codes(15, None, 0) == set()


@pytest.mark.parametrize("mg", [20, 30, 40])
def test_new_patient_above_15_mg_fires_start_and_suggests_5_5_5(mg: int) -> None:
    result = run([order_of(mg)])
    found = result.get("titration-start")
    assert found.indicator == "warning"
    assert (found.params["dose"], found.params["start"]) == (str(mg), "15")
    assert steps_of(result.update("titration-start")) == [(15.0, (5.0, 5.0, 5.0), TODAY.isoformat(), None)]
    assert not {"titration-step", "titration-interval"} & set(result.codes)


def test_below_the_start_dose_is_fine() -> None:
    assert titration_codes(10, None, 0) == set()


def completed_order(mg: int, ended_days_ago: int) -> dict[str, Any]:
    return current(0, 3, days=ended_days_ago + 10, status="completed",
                   dosages=step_lines(mg, ago(ended_days_ago + 10), ago(ended_days_ago)))


@pytest.mark.parametrize(("ended", "is_current"), [(0, True), (1, True), (7, True), (8, False), (21, False)])
def test_an_order_completed_within_7_days_is_the_current_regimen(ended: int, is_current: bool) -> None:
    result = run([order_of(40)], medications=[completed_order(30, ended)])
    assert ("titration-start" not in result.codes) is is_current
    assert "titration-step" not in result.codes


@pytest.mark.parametrize("status", ["stopped", "cancelled", "entered-in-error"])
def test_a_stopped_order_is_not_current(status: str) -> None:
    result = run([draft(10, 3)], medications=[taking(30, days=3, status=status)])
    assert "titration-start" in result.codes


def test_the_draft_echoed_in_the_medication_list_is_not_the_current_regimen() -> None:
    echoed = order_of(35, oid="draft-1")
    result = run([order_of(35)], medications=[echoed, taking(15, days=3)])
    assert "titration-step" in result.codes
    assert "titration-start" not in result.codes


def test_the_most_recent_active_order_is_the_current_regimen() -> None:
    stale = taking(20, days=90, oid="old")
    result = run([order_of(50)], medications=[stale, taking(40, days=4, oid="recent")])
    assert set(result.codes) & TITRATION == set()


def test_no_start_check_when_the_medication_list_is_unavailable() -> None:
    result = run([order_of(40)], unavailable={"medications"})
    assert "titration-start" not in result.codes
    assert "data-unavailable" in result.codes


# --- titration-step ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("current_mg", "new_mg", "fires"),
    [
        (15, 30, False), (15, 35, True), (20, 30, False), (20, 35, True),
        (25, 30, False), (25, 35, True), (30, 40, False), (30, 45, True),
        (40, 50, False), (40, 60, True), (110, 120, False), (110, 125, True),
    ],
)
def test_step_size(current_mg: int, new_mg: int, fires: bool) -> None:
    assert ("titration-step" in titration_codes(new_mg, current_mg, 10)) is fires


@pytest.mark.parametrize(("new_mg", "fires"), [(45, False), (50, True)])
def test_moderate_renal_allows_5_mg_steps_only(new_mg: int, fires: bool) -> None:
    codes = titration_codes(new_mg, 40, 10, renal_moderate=True)
    assert ("titration-step" in codes) is fires
    assert "titration-interval" not in codes


def test_step_suggests_the_allowed_dose_with_the_same_intakes() -> None:
    result = run([draft(20, 3)], medications=[taking(40, days=4)])
    found = result.get("titration-step")
    assert (found.params["current"], found.params["dose"], found.params["allowed"]) == ("40", "60", "50")
    assert steps_of(result.update("titration-step")) == [(50.0, (15.0, 15.0, 20.0), TODAY.isoformat(), None)]


def test_below_30_the_step_is_capped_at_30() -> None:
    result = run([order_of(35)], medications=[taking(15, days=3)])
    assert result.get("titration-step").params["allowed"] == "30"
    assert [s.mg_per_day for s in result.update("titration-step").steps] == [30.0]


def test_the_step_fix_never_exceeds_the_maximum() -> None:
    result = run([order_of(320)], medications=[taking(295, days=5)])
    assert {"dose-over-max", "titration-step", "dose-collegial"} <= set(result.codes)
    # the draft needs a collegial decision not yet taken: the fix keeps the current dose
    assert [s.mg_per_day for s in result.update("titration-step").steps] == [295.0]


def test_a_decrease_is_never_a_titration_violation() -> None:
    assert titration_codes(30, 60, 0) == set()


# --- titration-interval -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("current_mg", "new_mg", "days", "fires"),
    [
        (15, 30, 0, True), (15, 30, 1, True), (15, 30, 2, False), (15, 30, 3, False),
        (30, 40, 1, True), (30, 40, 2, True), (30, 40, 3, False),
        (60, 70, 2, True), (60, 70, 3, False),
    ],
)
def test_interval(current_mg: int, new_mg: int, days: int, fires: bool) -> None:
    codes = titration_codes(new_mg, current_mg, days)
    assert ("titration-interval" in codes) is fires
    assert "titration-step" not in codes


@pytest.mark.parametrize(("days", "fires"), [(4, True), (6, True), (7, False), (8, False)])
def test_moderate_renal_interval_is_7_days(days: int, fires: bool) -> None:
    codes = titration_codes(45, 40, days, renal_moderate=True)
    assert ("titration-interval" in codes) is fires
    assert "titration-step" not in codes


def test_interval_suggests_keeping_the_current_dose_until_the_allowed_day() -> None:
    result = run([order_of(40)], medications=[taking(30, days=2)])
    found = result.get("titration-interval")
    allowed = TODAY + timedelta(days=1)
    assert found.params == {"current": "30", "dose": "40", "days": 2, "required": 3, "date": allowed}
    assert steps_of(result.update("titration-interval")) == [
        (30.0, (10.0, 10.0, 10.0), TODAY.isoformat(), allowed.isoformat()),
        (40.0, (10.0, 15.0, 15.0), allowed.isoformat(), None),
    ]


def test_interval_counts_from_the_start_of_the_current_bounds_period() -> None:
    """Authored 4 days ago but its boundsPeriod starts 2 days ago: the dose began 2 days ago."""
    result = run([order_of(40)], medications=[current(0, days=4, dosages=step_lines(30, ago(2)))])
    assert result.get("titration-interval").params["days"] == 2


def test_step_and_interval_together_give_one_corrected_plan() -> None:
    result = run([draft(20, 3)], medications=[taking(40, days=1)])
    assert {"titration-step", "titration-interval"} <= set(result.codes)
    allowed = (TODAY + timedelta(days=2)).isoformat()
    assert [(s.mg_per_day, s.start.isoformat() if s.start else None) for s in
            result.update("titration-step").steps] == [(40.0, TODAY.isoformat()), (50.0, allowed)]
    assert result.get("titration-interval").proposals == ()


# --- schedules ---------------------------------------------------------------------------


def test_a_compliant_protocol_schedule_gives_no_titration_card() -> None:
    """The seed's protocol as one order: 5-5-5 for 3 days, 10-10-10 for 3 days, then 40 mg."""
    three_days = {"value": 3, "unit": "d", "system": "http://unitsofmeasure.org", "code": "d"}
    schedule = [
        {**dosage(5, 3, boundsDuration=three_days), "sequence": 1},
        {**dosage(10, 3, boundsDuration=three_days), "sequence": 2},
        *({**line, "sequence": 3} for line in lines(40)),
    ]
    result = run([draft(dosages=schedule)])
    assert set(result.codes) & TITRATION == set()
    assert [s.mg_per_day for s in result.update("plan-next-dose").steps] == [15.0, 30.0, 40.0, 50.0]


def test_each_step_of_a_schedule_is_checked_against_the_previous_one() -> None:
    schedule = step_lines(40, ago(0), in_days(2)) + step_lines(60, in_days(3))
    result = run([draft(dosages=schedule)], medications=[taking(30, days=10)])
    found = result.get("titration-step")
    assert (found.params["current"], found.params["dose"]) == ("40", "60")
    assert "titration-interval" not in result.codes
    assert [(s.mg_per_day, s.start.isoformat() if s.start else None) for s in
            result.update("titration-step").steps] == [(40.0, TODAY.isoformat()), (50.0, in_days(3))]


def test_a_step_repeating_the_current_dose_does_not_restart_the_interval() -> None:
    """30 mg since yesterday, the draft keeps 30 mg two days then 40 mg: 3 days on 30 mg."""
    schedule = step_lines(30, ago(0), in_days(1), sequence=1) + step_lines(40, in_days(2), sequence=2)
    result = run([draft(dosages=schedule)], medications=[taking(30, days=1)])
    assert set(result.codes) & TITRATION == set()


def test_a_schedule_too_fast_within_itself() -> None:
    schedule = step_lines(15, ago(0), ago(0), sequence=1) + step_lines(30, in_days(1), sequence=2)
    result = run([draft(dosages=schedule)])
    assert set(result.codes) & TITRATION == {"titration-interval"}
    assert [(s.mg_per_day, s.start.isoformat() if s.start else None) for s in
            result.update("titration-interval").steps] == [(15.0, TODAY.isoformat()), (30.0, in_days(2))]


def test_a_schedule_starting_too_high_is_started_at_15_and_kept_compliant() -> None:
    schedule = step_lines(30, ago(0), in_days(2), sequence=1) + step_lines(40, in_days(3), sequence=2)
    result = run([draft(dosages=schedule)])
    assert set(result.codes) & TITRATION == {"titration-start"}
    assert [(s.mg_per_day, s.start.isoformat() if s.start else None) for s in
            result.update("titration-start").steps] == [(15.0, TODAY.isoformat()), (30.0, in_days(3))]


# --- titration-intakes ------------------------------------------------------------------


@pytest.mark.parametrize(("per_day", "fires"), [(1, True), (2, True), (3, False), (4, False), (6, False)])
def test_intakes(per_day: int, fires: bool) -> None:
    result = run([draft(60 / per_day, per_day)], medications=[taking(50, days=4)])
    assert ("titration-intakes" in result.codes) is fires
    if fires:
        assert result.get("titration-intakes").params["intakes"] == per_day
        assert steps_of(result.update("titration-intakes")) == [(60.0, (20.0, 20.0, 20.0), TODAY.isoformat(),
                                                                   None)]


@pytest.mark.parametrize(("per_day", "fires"), [(1, True), (2, False), (3, False)])
def test_intakes_under_the_amm_two_to_four(per_day: int, fires: bool) -> None:
    """Baclocur SmPC 4.2: 2 to 4 intakes a day, so two intakes are fine under amm-2018."""
    result = run([draft(60 / per_day, per_day)], medications=[taking(50, days=4)], profile="amm-2018")
    assert ("titration-intakes" in result.codes) is fires


def test_a_bedtime_only_start_fires_intakes_not_start() -> None:
    line = dosage(15, 1)
    line["timing"] = {"repeat": {"when": ["HS"]}}
    result = run([draft(dosages=[line])])
    assert set(result.codes) & TITRATION == {"titration-intakes"}


def test_intakes_fix_is_merged_into_the_step_fix() -> None:
    result = run([draft(30, 2)], medications=[taking(40, days=4)])
    assert {"titration-step", "titration-intakes"} <= set(result.codes)
    assert result.get("titration-intakes").proposals == ()
    assert steps_of(result.update("titration-step")) == [(50.0, (15.0, 15.0, 20.0), TODAY.isoformat(), None)]


# --- plan-next-dose ---------------------------------------------------------------------


def plan(result_drafts: list[dict[str, object]], **kwargs: object) -> tuple[dict[str, object], list[PlannedStep]]:
    result = run(result_drafts, **kwargs)  # type: ignore[arg-type]
    found = result.get("plan-next-dose")
    assert found.indicator == "info"
    updates = [p for p in found.proposals if isinstance(p, UpdateDose)]
    return dict(found.params), list(updates[0].steps) if updates else []


def day(offset: int) -> date:
    return TODAY + timedelta(days=offset)


REVIEW = 14  # a man of 45 with a normal eGFR: reviewed every 2 weeks; the next step comes after it


def test_plan_after_the_15_mg_start_is_30_mg_after_the_review() -> None:
    params, steps = plan([draft(5, 3)])
    assert (params["next"], params["split"], params["date"]) == ("30", "10-10-10", day(REVIEW + 1))
    assert [(s.intake_mg, s.start, s.end) for s in steps] == [
        ((5.0, 5.0, 5.0), TODAY, day(REVIEW + 1)), ((10.0, 10.0, 10.0), day(REVIEW + 1), None)]


def test_plan_without_a_computable_dose_holds() -> None:
    found = run([draft(dosages=[{"text": "selon protocole"}])]).get("plan-next-dose")
    assert found.variant == "hold-new" and found.proposals == ()
    assert found.params["reason"] == Label("hold_reason_dose-unknown")


def test_plan_from_30_is_40_after_the_review() -> None:
    params, steps = plan([draft(10, 3)], medications=[taking(15, days=3)])
    assert (params["next"], params["split"], params["date"]) == ("40", "15-10-15", day(REVIEW + 1))
    assert [s.mg_per_day for s in steps] == [30.0, 40.0]


def test_plan_in_moderate_renal_insufficiency_is_5_mg_after_the_weekly_review() -> None:
    params, _ = plan([draft(15, 3)], medications=[taking(40, days=8)], observations=MODERATE)
    assert (params["next"], params["date"]) == ("50", day(8))
    assert params["pace"] == Label("plan_slow")


def test_a_stable_renewal_has_no_plan() -> None:
    assert "plan-next-dose" not in run([order_of(40)], medications=[taking(40, days=30)]).codes


def test_a_renewal_during_titration_plans_the_next_step_after_the_review() -> None:
    params, steps = plan([order_of(40)], medications=[taking(40, days=4)])
    assert (params["next"], params["date"]) == ("50", day(REVIEW + 1))
    assert [(s.mg_per_day, s.start) for s in steps] == [(40.0, TODAY), (50.0, day(REVIEW + 1))]


def test_plan_follows_the_corrected_draft() -> None:
    """40 → 60 is cut to 50: the plan's next step is 60 after the review."""
    params, steps = plan([draft(20, 3)], medications=[taking(40, days=4)])
    assert (params["base"], params["next"], params["date"]) == ("50", "60", day(REVIEW + 1))
    assert [s.mg_per_day for s in steps] == [50.0, 60.0]


def test_plan_after_an_interval_hold() -> None:
    params, steps = plan([order_of(40)], medications=[taking(30, days=2)])
    assert (params["base"], params["next"], params["date"]) == ("40", "50", day(REVIEW + 1))
    assert [(s.mg_per_day, s.start) for s in steps] == [(30.0, TODAY), (40.0, day(1)), (50.0, day(REVIEW + 1))]


def test_plan_holds_when_the_draft_dose_is_unknown() -> None:
    found = run([draft(dosages=[{"text": "à adapter"}])], medications=[taking(30, days=1)]).get("plan-next-dose")
    assert (found.variant, found.params["base"], found.proposals) == ("hold", "30", ())


def test_plan_is_capped_below_the_specialist_threshold_then_holds() -> None:
    params, steps = plan([order_of(110)], medications=[taking(100, days=5)])
    assert params["next"] == "115"
    assert [s.mg_per_day for s in steps] == [110.0, 115.0]
    found = run([order_of(115)], medications=[taking(110, days=5)]).get("plan-next-dose")
    assert found.variant == "threshold" and found.proposals == ()
    assert found.params["reason"] == Label("review_specialist")


def test_a_draft_past_an_unheld_review_holds_the_current_dose() -> None:
    found = run([draft(40, 3)], medications=[taking(110, days=5)]).get("plan-next-dose")
    assert (found.variant, found.params["base"], found.proposals) == ("hold", "110", ())


def test_plan_above_the_specialist_threshold_continues_once_the_opinion_is_held() -> None:
    params, steps = plan([order_of(120)], medications=[taking(120, days=5)])
    assert params["next"] == "130"
    assert steps[-1].mg_per_day == 130.0


def test_plan_holds_at_the_collegial_threshold_after_65() -> None:
    found = run([order_of(120)], medications=[taking(120, days=5)], birth_date=born_aged(70)).get("plan-next-dose")
    assert found.variant == "threshold" and found.params["reason"] == Label("review_collegial")
    found = run([order_of(180)], medications=[taking(180, days=5)]).get("plan-next-dose")
    assert found.variant == "threshold" and found.proposals == ()


def test_plan_at_the_maximum_proposes_no_increase() -> None:
    found = run([order_of(300)], medications=[taking(300, days=5)]).get("plan-next-dose")
    assert found.variant == "max" and found.proposals == ()
    params, steps = plan([order_of(295)], medications=[taking(295, days=5)])
    assert params["next"] == "300" and steps[-1].mg_per_day == 300.0


@pytest.mark.parametrize("profile", ["rtu-2017", "amm-2018"])
def test_plan_is_capped_at_80_in_later_profiles(profile: str) -> None:
    params, steps = plan([draft(25, 3)], medications=[taking(70, days=5)], profile=profile)
    assert params["next"] == "80" and steps[-1].mg_per_day == 80.0
    found = run([order_of(80)], medications=[taking(80, days=5)], profile=profile).get("plan-next-dose")
    assert found.variant == "max" and found.proposals == ()


def test_plan_is_present_while_titrating() -> None:
    for drafts, meds in (([draft(5, 3)], []), ([draft(20, 3)], [taking(30, days=1)]),
                         ([draft(dosages=[{"text": "?"}])], [])):
        assert run(drafts, medications=meds).codes.count("plan-next-dose") == 1


def test_renal_condition_makes_the_schedule_slow() -> None:
    result = run([order_of(50)], medications=[taking(40, days=10)],
                 conditions=[condition("N18.3")], observations=[])
    assert {"renal-moderate", "titration-step"} <= set(result.codes)
