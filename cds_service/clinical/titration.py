"""The titration protocol as arithmetic: allowed steps, review levels, intake splits, plan days.

Seed: start 15 mg/day in 3 intakes; +5 mg on each of the 3 intakes every 2-3 days up to
30 mg/day; then +10 mg/day every 3 days; [policy] +5 mg/day at least 7 days apart in moderate
renal insufficiency. What is offered as the next dose is the suggestion policy's decision
(`suggestion_policy`), capped by the review thresholds and the maximum.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Literal

from cds_service.clinical.profile import DoseThresholds, TitrationPolicy

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
class PlanDay:
    day: date
    mg_per_day: float
    intake_mg: tuple[float, ...]
    note: str | None = None
