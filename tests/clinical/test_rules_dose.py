"""Dose thresholds (spec "Dose thresholds"): 120 specialist, >180 or >120 after 65 collegial,
>300 over the maximum (80 in rtu-2017 / amm-2018), renewals as info, dose-unknown."""

from __future__ import annotations

import pytest

from cds_service.clinical.findings import Label, Referral, UpdateDose
from cds_service.clinical.profile import Language
from tests.builders import dosage
from tests.clinical.rtu_helpers import ago, born_aged, draft, in_days, order_of, run, step_lines, taking

REVIEW_CODES = {"dose-specialist", "dose-collegial", "dose-over-max"}


def review_codes(mg_per_day: int, *, age: int = 45, birthday_today: bool = False,
                 profile: str = "rtu-2014") -> set[str]:
    """Dose codes for a draft of `mg_per_day` (3 equal intakes), +5 mg/day on a current dose of
    11 days (so titration never interferes)."""
    result = run([order_of(mg_per_day)], medications=[taking(mg_per_day - 5, days=11)],
                 birth_date=born_aged(age, birthday_today=birthday_today), profile=profile)
    return set(result.codes) & REVIEW_CODES


@pytest.mark.parametrize(
    ("mg", "expected"),
    [
        (115, set()),
        (119, set()),
        (120, {"dose-specialist"}),
        (121, {"dose-specialist"}),
        (180, {"dose-specialist"}),
        (181, {"dose-collegial"}),
        (300, {"dose-collegial"}),
        (301, {"dose-collegial", "dose-over-max"}),
    ],
)
def test_thresholds_at_45(mg: int, expected: set[str]) -> None:
    assert review_codes(mg) == expected


@pytest.mark.parametrize(
    ("mg", "age", "expected"),
    [
        (121, 65, {"dose-specialist"}),
        (125, 65, {"dose-specialist"}),
        (121, 66, {"dose-collegial"}),
        (125, 66, {"dose-collegial"}),
        (120, 66, {"dose-specialist"}),
        (119, 80, set()),
    ],
)
def test_collegial_over_65(mg: int, age: int, expected: set[str]) -> None:
    assert review_codes(mg, age=age) == expected


def test_age_is_counted_in_completed_years_at_the_evaluation_date() -> None:
    """66 today (birthday on the order date) is over 65; the day before it is still 65."""
    assert review_codes(125, age=66, birthday_today=True) == {"dose-collegial"}
    assert review_codes(125, age=65, birthday_today=False) == {"dose-specialist"}


def test_specialist_finding_is_a_warning_with_a_referral() -> None:
    result = run([draft(40, 3)], medications=[taking(110, days=4)])
    found = result.get("dose-specialist")
    assert found.indicator == "warning"
    assert found.params["dose"] == "120"
    assert found.params["threshold"] == "120"
    assert found.proposals == (Referral("specialist", 120.0, 120.0),)


def test_collegial_finding_names_its_reason() -> None:
    by_dose = run([order_of(190)], medications=[taking(180, days=10)]).get("dose-collegial")
    assert by_dose.indicator == "warning"
    assert by_dose.params["reason"] == Label("collegial_reason_dose")
    assert by_dose.proposals == (Referral("collegial", 190.0, 180.0),)
    by_age = run([order_of(125)], medications=[taking(115, days=6)],
                 birth_date=born_aged(70)).get("dose-collegial")
    assert by_age.params["reason"] == Label("collegial_reason_age")
    assert by_age.params["age"] == 70
    assert by_age.proposals == (Referral("collegial", 125.0, 120.0),)


def test_over_max_is_critical_and_brings_the_draft_down_to_the_maximum() -> None:
    result = run([order_of(310)], medications=[taking(300, days=12)])
    found = result.get("dose-over-max")
    assert found.indicator == "critical"
    assert (found.params["dose"], found.params["max"]) == ("310", "300")
    (proposal,) = found.proposals
    assert isinstance(proposal, UpdateDose)
    assert [step.intake_mg for step in proposal.steps] == [(100.0, 100.0, 100.0)]


def test_over_max_stays_critical_on_a_renewal() -> None:
    result = run([draft(105, 3)], medications=[taking(315, days=30)])
    assert result.indicator("dose-over-max") == "critical"
    assert result.indicator("dose-collegial") == "info"


def test_over_max_in_a_schedule_caps_only_the_steps_above_the_maximum() -> None:
    schedule = step_lines(285, ago(0), in_days(2), sequence=1) + step_lines(315, in_days(3), sequence=2)
    result = run([draft(dosages=schedule)], medications=[taking(285, days=20)])
    (proposal,) = result.get("dose-over-max").proposals
    assert isinstance(proposal, UpdateDose)
    # 315 also needs a collegial decision not yet taken for it: no step above the current dose
    assert [(s.mg_per_day, s.start.isoformat() if s.start else None) for s in proposal.steps] == [(285.0, ago(0))]


def test_over_max_for_a_patient_already_above_it_is_a_taper_to_the_maximum() -> None:
    result = run([order_of(150)], medications=[taking(150, days=40)], profile="rtu-2017")
    (proposal,) = result.get("dose-over-max").proposals
    assert isinstance(proposal, UpdateDose) and proposal.purpose == "taper"
    assert [s.mg_per_day for s in proposal.steps] == [100.0, 80.0]
    assert proposal.steps[-1].end is None  # the maximum is kept, not stopped


def test_a_dose_refused_outright_is_not_referred() -> None:
    result = run([order_of(310)], medications=[taking(300, days=12)])
    assert result.get("dose-collegial").proposals == ()


@pytest.mark.parametrize("profile", ["rtu-2017", "amm-2018"])
@pytest.mark.parametrize(("mg", "expected"), [(80, set()), (81, {"dose-over-max"}), (120, {"dose-over-max"}),
                                               (200, {"dose-over-max"})])
def test_later_profiles_cap_at_80_without_review_thresholds(profile: str, mg: int, expected: set[str]) -> None:
    assert review_codes(mg, age=70, profile=profile) == expected


@pytest.mark.parametrize("profile", ["rtu-2017", "amm-2018"])
def test_later_profiles_say_off_label_above_80(profile: str) -> None:
    result = run([draft(30, 3)], medications=[taking(85, days=11)], profile=profile)
    found = result.get("dose-over-max")
    assert found.params["max"] == "80"
    (proposal,) = found.proposals
    assert isinstance(proposal, UpdateDose) and proposal.steps[0].mg_per_day == 80.0
    languages: tuple[tuple[Language, str], ...] = (("fr", "hors"), ("en", "off-label"))
    for lang, words in languages:
        card = next(c for c in result.cards(lang) if c["source"]["topic"]["code"] == "dose-over-max")
        assert words in card["detail"]
        assert "80" in card["summary"]


def test_renewal_at_an_unchanged_dose_above_120_is_info_without_referral() -> None:
    result = run([order_of(140)], medications=[taking(140, days=50)])
    found = result.get("dose-specialist")
    assert found.indicator == "info"
    assert found.proposals == ()
    assert not {"titration-step", "titration-interval", "titration-start"} & set(result.codes)


def test_renewal_above_collegial_threshold_is_info() -> None:
    result = run([draft(70, 3)], medications=[taking(210, days=40)])
    assert result.indicator("dose-collegial") == "info"
    assert "dose-specialist" not in result.codes


def test_a_change_of_dose_is_not_a_renewal() -> None:
    result = run([order_of(130)], medications=[taking(140, days=50)])
    assert result.indicator("dose-specialist") == "warning"


def test_a_schedule_is_judged_by_its_peak() -> None:
    schedule = step_lines(110, ago(0), in_days(2), sequence=1) + step_lines(120, in_days(3), sequence=2)
    result = run([draft(dosages=schedule)], medications=[taking(100, days=6)])
    assert result.get("dose-specialist").params["dose"] == "120"


def test_dose_unknown_is_a_warning_and_silences_the_dose_checks() -> None:
    line = {"text": "1/2 à 1 comprimé si envie de boire", "asNeededBoolean": True}
    result = run([draft(dosages=[line])], medications=[taking(30, days=10)])
    assert result.indicator("dose-unknown") == "warning"
    assert result.get("dose-unknown").params["reason"]
    assert not {"dose-specialist", "dose-collegial", "dose-over-max", "titration-step", "titration-start",
                "titration-interval", "titration-intakes"} & set(result.codes)


def test_dose_unknown_silent_when_the_dose_is_computable() -> None:
    assert "dose-unknown" not in run([draft(10, 3)], medications=[taking(30, days=10)]).codes


def test_tablets_without_a_strength_are_dose_unknown() -> None:
    line = dosage(1, 3)
    line["doseAndRate"][0]["doseQuantity"] = {"value": 1, "unit": "comprimé"}
    order = draft(dosages=[line])
    order["medicationCodeableConcept"]["text"] = "Baclofène"
    result = run([order])
    assert "dose-unknown" in result.codes
