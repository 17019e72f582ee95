"""Titration arithmetic (allowed steps, review levels, intake splits) and
properties: splits add up, the next step never passes the maximum nor a review the base dose
has not had, and every suggestion the rules make is itself compliant."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cds_service.clinical.findings import UpdateDose
from cds_service.clinical.profile import load_profile
from cds_service.clinical.titration import (
    Step,
    allowed_step,
    fmt,
    review_needed,
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
    raise no titration card; a fix never goes above both the draft's peak and the current dose,
    and the plan never needs a review that its base dose does not already have."""
    meds = [taking(current, days=days)] if current is not None else []
    age = 72 if elderly else 45
    kwargs: dict[str, Any] = {"medications": meds, "observations": [egfr(45 if renal else 90, ago(5))],
                              "birth_date": born_aged(age)}
    result = run([order_of(new, per_day)], **kwargs)
    peak = result.evaluations[0].assessment.new_mg_per_day
    plans = [f for f in result.findings if f.code == "plan-next-dose"]
    plan_doses = [[s.mg_per_day for s in p.steps] for f in plans for p in f.proposals if isinstance(p, UpdateDose)]
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
                base = float(str(plans[0].params["base"]))
                assert review_needed(after_peak, age, RTU.doses) <= review_needed(base, age, RTU.doses)
            elif peak is not None:  # a fix may keep more of the current dose (a progressive reduction)
                assert after_peak <= max(peak, current or 0)
