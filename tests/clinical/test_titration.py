"""Titration arithmetic (allowed steps, review levels, intake splits, next step, schedule) and
properties: splits add up, the next step never passes the maximum nor a review the base dose
has not had, and every suggestion the rules make is itself compliant."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cds_service.clinical.findings import UpdateDose
from cds_service.clinical.profile import PROFILE_NAMES, load_profile
from cds_service.clinical.titration import (
    Step,
    allowed_step,
    fmt,
    next_step,
    review_needed,
    schedule,
    split_intakes,
)
from tests.builders import egfr
from tests.clinical.rtu_helpers import ago, born_aged, order_of, run, taking

RTU = load_profile("rtu-2014")
POLICY = RTU.titration
START = date(2026, 3, 10)
TITRATION = {"titration-start", "titration-step", "titration-interval", "titration-intakes"}


@pytest.mark.parametrize(
    ("current", "renal", "expected"),
    [
        (15, False, Step(30, 2, "first", 15)),
        (20, False, Step(30, 2, "first", 15)),
        (25, False, Step(30, 2, "first", 15)),
        (10, False, Step(25, 2, "first", 15)),
        (30, False, Step(40, 3, "second", 10)),
        (115, False, Step(125, 3, "second", 10)),
        (15, True, Step(20, 7, "renal", 5)),
        (40, True, Step(45, 7, "renal", 5)),
    ],
)
def test_allowed_step(current: float, renal: bool, expected: Step) -> None:
    assert allowed_step(current, POLICY, renal) == expected


@pytest.mark.parametrize(
    ("mg", "age", "level"),
    [(119, 40, 0), (120, 40, 1), (180, 40, 1), (181, 40, 2), (121, 65, 1), (121, 66, 2), (120, 66, 1),
     (300, 40, 2), (301, 40, 3), (125, None, 1)],
)
def test_review_needed(mg: float, age: int | None, level: int) -> None:
    assert review_needed(mg, age, RTU.doses) == level


@pytest.mark.parametrize(("mg", "level"), [(80, 0), (81, 3), (200, 3)])
def test_review_needed_without_thresholds(mg: float, level: int) -> None:
    assert review_needed(mg, 70, load_profile("rtu-2017").doses) == level


@pytest.mark.parametrize(
    ("mg", "intakes", "split"),
    [(15, 3, (5, 5, 5)), (30, 3, (10, 10, 10)), (40, 3, (15, 10, 15)), (50, 3, (15, 15, 20)),
     (45, 3, (15, 15, 15)), (60, 4, (15, 15, 15, 15)), (70, 4, (20, 15, 15, 20)), (115, 3, (40, 35, 40)),
     (12.5, 3, (5, 7.5)), (10, 3, (5, 5)), (5, 3, (5,)), (2.5, 3, (2.5,)), (300, 3, (100, 100, 100)),
     (10, 1, (10,)), (10, 0, (10,))],
)
def test_split_intakes(mg: float, intakes: int, split: tuple[float, ...]) -> None:
    assert split_intakes(mg, intakes, 5) == split


@pytest.mark.parametrize(("value", "text"), [(30, "30"), (30.0, "30"), (7.5, "7.5"), (112.5, "112.5")])
def test_fmt(value: float, text: str) -> None:
    assert fmt(value) == text


@given(units=st.integers(min_value=1, max_value=120), intakes=st.integers(min_value=1, max_value=6))
def test_split_sums_to_the_dose_in_half_tablets(units: int, intakes: int) -> None:
    mg = units * 5.0
    split = split_intakes(mg, intakes, 5)
    assert len(split) == min(intakes, units)
    assert sum(split) == mg
    assert min(split) >= 5
    assert all(value % 5 == 0 for value in split)
    assert max(split) - min(split) <= 5


@given(mg=st.floats(min_value=0.5, max_value=600, allow_nan=False).map(lambda v: round(v, 2)),
       intakes=st.integers(min_value=1, max_value=6))
def test_split_of_any_dose_sums_to_it(mg: float, intakes: int) -> None:
    split = split_intakes(mg, intakes, 5)
    assert 1 <= len(split) <= intakes
    assert len(split) == intakes or mg < 5 * intakes
    assert abs(sum(split) - mg) < 0.011
    assert all(value > 0 for value in split)


def step_after(mg: float, *, age: int | None = 40, renal: bool = False, profile: str = "rtu-2014",
               intakes: int = 3) -> tuple[float, tuple[float, ...], date, str | None, bool]:
    found = next_step(mg, START, age=age, profile=load_profile(profile), renal_slow=renal, intakes=intakes)
    return found.mg_per_day, found.intake_mg, found.earliest, found.held_for, found.at_max


@pytest.mark.parametrize(
    ("base", "kwargs", "expected"),
    [
        (15, {}, (30, (10, 10, 10), START + timedelta(days=2), None, False)),
        (25, {}, (30, (10, 10, 10), START + timedelta(days=2), None, False)),
        (30, {}, (40, (15, 10, 15), START + timedelta(days=3), None, False)),
        (40, {"renal": True}, (45, (15, 15, 15), START + timedelta(days=7), None, False)),
        (100, {}, (110, (35, 35, 40), START + timedelta(days=3), None, False)),
        (110, {}, (115, (40, 35, 40), START + timedelta(days=3), None, False)),
        (115, {}, (125, (40, 40, 45), START + timedelta(days=3), "specialist", False)),
        (120, {}, (130, (45, 40, 45), START + timedelta(days=3), None, False)),
        (175, {}, (180, (60, 60, 60), START + timedelta(days=3), None, False)),
        (180, {}, (190, (65, 60, 65), START + timedelta(days=3), "collegial", False)),
        (120, {"age": 70}, (130, (45, 40, 45), START + timedelta(days=3), "collegial", False)),
        (110, {"age": 70}, (115, (40, 35, 40), START + timedelta(days=3), None, False)),
        (190, {}, (200, (65, 65, 70), START + timedelta(days=3), None, False)),
        (295, {}, (300, (100, 100, 100), START + timedelta(days=3), None, True)),
        (300, {}, (300, (100, 100, 100), START + timedelta(days=3), None, True)),
        (310, {}, (300, (100, 100, 100), START + timedelta(days=3), None, True)),
        (75, {"profile": "rtu-2017"}, (80, (25, 25, 30), START + timedelta(days=3), None, True)),
        (70, {"profile": "amm-2018"}, (80, (25, 25, 30), START + timedelta(days=3), None, True)),
        (60, {"intakes": 4}, (70, (20, 15, 15, 20), START + timedelta(days=3), None, False)),
        (60, {"intakes": 2}, (70, (25, 20, 25), START + timedelta(days=3), None, False)),
    ],
)
def test_next_step(base: float, kwargs: dict[str, object], expected: tuple[object, ...]) -> None:
    assert step_after(base, **kwargs) == expected  # type: ignore[arg-type]


@given(base=st.integers(min_value=1, max_value=70).map(lambda u: u * 5.0),
       age=st.one_of(st.none(), st.integers(min_value=18, max_value=95)),
       renal=st.booleans(), profile=st.sampled_from(PROFILE_NAMES))
def test_next_step_never_exceeds_the_maximum_nor_an_uncrossed_review(base: float, age: int | None, renal: bool,
                                                                     profile: str) -> None:
    spec = load_profile(profile)
    found = next_step(base, START, age=age, profile=spec, renal_slow=renal, intakes=3)
    assert found.mg_per_day <= spec.doses.max_mg_per_day
    assert sum(found.intake_mg) == pytest.approx(found.mg_per_day)
    assert found.earliest > START
    allowed = allowed_step(base, spec.titration, renal)
    assert found.earliest == START + timedelta(days=allowed.interval_days)
    if base >= spec.doses.max_mg_per_day:
        assert found.at_max and found.mg_per_day == spec.doses.max_mg_per_day
    elif found.held_for is None:
        assert base < found.mg_per_day <= allowed.max_mg
        assert review_needed(found.mg_per_day, age, spec.doses) <= review_needed(base, age, spec.doses)
    else:
        assert review_needed(found.mg_per_day, age, spec.doses) > review_needed(base, age, spec.doses)


def test_schedule_follows_the_protocol_and_stops_at_the_specialist_threshold() -> None:
    days = schedule(15, START, START + timedelta(days=60), age=40, profile=RTU, renal_slow=False, intakes=3)
    changes = [(d.day - START).days for d in days if d.note == "step"]
    doses = sorted({d.mg_per_day for d in days})
    assert doses == [15, 30, 40, 50, 60, 70, 80, 90, 100, 110, 115]
    assert changes[:3] == [2, 5, 8]
    assert days[-1].note == "specialist"
    assert days[0].intake_mg == (5, 5, 5)


def test_slow_schedule_in_moderate_renal_insufficiency() -> None:
    days = schedule(30, START, START + timedelta(days=21), age=40, profile=RTU, renal_slow=True, intakes=3)
    assert [(d.day - START).days for d in days if d.note == "step"] == [7, 14, 21]
    assert days[-1].mg_per_day == 45


# --- the rules' suggestions are compliant ---------------------------------------------------------


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    current=st.one_of(st.none(), st.integers(min_value=1, max_value=62).map(lambda u: u * 5)),
    days=st.integers(min_value=0, max_value=10),
    new=st.integers(min_value=1, max_value=66).map(lambda u: u * 5),
    per_day=st.sampled_from([1, 2, 3, 4]),
    renal=st.booleans(),
    elderly=st.booleans(),
)
def test_accepted_suggestions_are_protocol_compliant(current: int | None, days: int, new: int, per_day: int,
                                                     renal: bool, elderly: bool) -> None:
    """Whatever the draft, the titration card's and the plan's updates, once accepted and signed,
    raise no titration card; a fix never raises the peak dose, and the plan never needs a review
    that its base dose does not already have."""
    meds = [taking(current, days=days)] if current is not None else []
    age = 72 if elderly else 45
    kwargs: dict[str, Any] = {"medications": meds, "observations": [egfr(45 if renal else 90, ago(5))],
                              "birth_date": born_aged(age)}
    result = run([order_of(new, per_day)], **kwargs)
    peak = result.evaluations[0].assessment.new_mg_per_day
    plan = result.get("plan-next-dose")
    plan_doses = [[s.mg_per_day for s in p.steps] for p in plan.proposals if isinstance(p, UpdateDose)]
    for card in result.cards():
        codes = card["extension"]["baclofen-rtu-rules"]
        if not set(codes) & (TITRATION | {"plan-next-dose"}):
            continue
        for suggestion in card.get("suggestions", []):
            (action,) = suggestion["actions"]
            after = run([action["resource"]], **kwargs)
            assert not set(after.codes) & TITRATION, (suggestion["label"], after.codes)
            after_peak = after.evaluations[0].assessment.new_mg_per_day
            assert after_peak is not None and after_peak <= RTU.doses.max_mg_per_day
            regimen = after.evaluations[0].assessment.regimen
            assert regimen is not None
            if [s.mg_per_day for s in regimen.steps] in plan_doses:
                base = float(str(plan.params["base"]))
                assert review_needed(after_peak, age, RTU.doses) <= review_needed(base, age, RTU.doses)
            elif peak is not None:
                assert after_peak <= peak
