"""The titration protocol as arithmetic: allowed steps, intake splits, the next dose and a plan.

Seed: start 15 mg/day in 3 intakes; +5 mg on each of the 3 intakes every 2-3 days up to
30 mg/day; then +10 mg/day every 3 days; [policy] +5 mg/day at least 7 days apart in moderate
renal insufficiency. The next dose is capped by the review thresholds and the maximum.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from cds_service.clinical.profile import DoseThresholds, Profile, TitrationPolicy

ReviewKind = Literal["specialist", "collegial"]


@dataclass(frozen=True)
class Step:
    """What the protocol allows after a dose: at most `max_mg` once `interval_days` have passed.

    `phase` (first, second, renal) and `step_mg` let the cards say which protocol rule applied.
    """

    max_mg: float
    interval_days: int
    phase: Literal["first", "second", "renal"]
    step_mg: float


def allowed_step(current_mg: float, policy: TitrationPolicy, renal_slow: bool) -> Step:
    if renal_slow:
        return Step(current_mg + policy.renal_moderate_step_mg, policy.renal_moderate_interval_days, "renal",
                    policy.renal_moderate_step_mg)
    if current_mg < policy.first_phase_ceiling_mg:
        return Step(min(current_mg + policy.first_phase_step_mg, policy.first_phase_ceiling_mg),
                    policy.first_phase_interval_days, "first", policy.first_phase_step_mg)
    return Step(current_mg + policy.second_phase_step_mg, policy.second_phase_interval_days, "second",
                policy.second_phase_step_mg)


def review_needed(mg_per_day: float, age: int | None, doses: DoseThresholds) -> int:
    """0 none, 1 specialist opinion, 2 collegial decision, 3 above the maximum."""
    if mg_per_day > doses.max_mg_per_day:
        return 3
    elderly = age is not None and age > doses.elderly_above_age
    if doses.collegial_above_mg is not None and mg_per_day > doses.collegial_above_mg:
        return 2
    if (
        elderly
        and doses.collegial_elderly_above_mg is not None
        and mg_per_day > doses.collegial_elderly_above_mg
    ):
        return 2
    if doses.specialist_from_mg is not None and mg_per_day >= doses.specialist_from_mg:
        return 1
    return 0


def split_intakes(mg_per_day: float, intakes: int, unit_mg: float) -> tuple[float, ...]:
    """Split a daily dose into intakes of whole `unit_mg` (half tablets), evening then morning
    heavier: 40 mg in 3 → (15, 10, 15). Never an empty intake: a dose too small for that many
    half tablets gets fewer intakes (10 mg in 3 → (5, 5))."""
    units = math.floor(round(mg_per_day / unit_mg, 6))
    intakes = max(1, min(intakes, units))
    remainder_mg = round(mg_per_day - units * unit_mg, 2)
    base, extra = divmod(units, intakes)
    split = [float(base * unit_mg)] * intakes
    order = [intakes - 1, 0, *range(1, intakes - 1)]
    for index in order[:extra]:
        split[index] += unit_mg
    if remainder_mg:
        split[-1] += remainder_mg
    return tuple(round(value, 2) for value in split)


def fmt(value: float) -> str:
    """A dose as a prescriber writes it: 30, 7.5."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


@dataclass(frozen=True)
class NextStep:
    mg_per_day: float
    intake_mg: tuple[float, ...]
    earliest: date
    held_for: ReviewKind | None
    at_max: bool


def _floor_to_unit(value: float, unit: float) -> float:
    return math.floor(round(value / unit, 6)) * unit


def next_step(
    base_mg: float,
    base_start: date,
    *,
    age: int | None,
    profile: Profile,
    renal_slow: bool,
    intakes: int,
) -> NextStep:
    """The protocol's next dose after `base_mg` (taken since `base_start`), capped so that it
    never needs a review the base dose does not already have, nor exceeds the maximum."""
    titration, doses = profile.titration, profile.doses
    step = allowed_step(base_mg, titration, renal_slow)
    earliest = base_start + timedelta(days=step.interval_days)
    intakes = max(intakes, titration.min_intakes)
    if base_mg >= doses.max_mg_per_day:
        capped = doses.max_mg_per_day
        return NextStep(capped, split_intakes(capped, intakes, titration.unit_mg), earliest, None, True)
    candidate = min(_floor_to_unit(step.max_mg, titration.unit_mg), doses.max_mg_per_day)
    base_level = review_needed(base_mg, age, doses)
    held: ReviewKind | None = None
    if review_needed(candidate, age, doses) > base_level:
        below = candidate
        while below > base_mg and review_needed(below, age, doses) > base_level:
            below -= titration.unit_mg
        if below > base_mg:
            candidate = below
        else:
            held = "collegial" if review_needed(candidate, age, doses) >= 2 else "specialist"
    return NextStep(candidate, split_intakes(candidate, intakes, titration.unit_mg), earliest, held,
                    candidate >= doses.max_mg_per_day)


@dataclass(frozen=True)
class PlanDay:
    day: date
    mg_per_day: float
    intake_mg: tuple[float, ...]
    note: str | None = None


def schedule(
    base_mg: float,
    base_start: date,
    until: date,
    *,
    age: int | None,
    profile: Profile,
    renal_slow: bool,
    intakes: int,
) -> list[PlanDay]:
    """Day-by-day doses from `base_start` to `until` following the protocol at its fastest pace,
    stopping at a review threshold or the maximum (the prescriber may stop earlier: the aim is
    the minimal effective dose)."""
    days: list[PlanDay] = []
    dose, since = base_mg, base_start
    intakes = max(intakes, profile.titration.min_intakes)
    split = split_intakes(dose, intakes, profile.titration.unit_mg)
    day = base_start
    while day <= until and len(days) < 400:
        note = None
        if dose > 0:
            step = next_step(dose, since, age=age, profile=profile, renal_slow=renal_slow,
                             intakes=intakes)
            if day >= step.earliest and step.held_for is None and step.mg_per_day > dose:
                dose, since, split = step.mg_per_day, day, step.intake_mg
                note = "step"
            elif day >= step.earliest and step.held_for is not None and step.mg_per_day > dose:
                note = step.held_for
        days.append(PlanDay(day, dose, split, note))
        day += timedelta(days=1)
    return days
