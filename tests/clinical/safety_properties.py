"""The properties every suggested dose must have (spec "Suggestion safety", issue 11), checked on
the cards as an EHR receives them.

Daily doses are recomputed here from the FHIR of each suggested MedicationRequest, independently
of the service's dose arithmetic: group the Dosage lines by `sequence`, add up mg per intake x
intakes per day, and date each step by its `boundsPeriod`. The facts the checks need about the
patient (the dose taken now, age, profile) come from the assessment the cards were built from.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from itertools import pairwise
from typing import Any

from cds_service.clinical.assessment import Assessment
from cds_service.clinical.cards import RULES_EXTENSION
from cds_service.clinical.rules.followup import review_interval

CONTRAINDICATIONS = {"ci-epilepsy", "ci-hypersensitivity", "ci-gluten", "ci-pregnancy", "ci-breastfeeding",
                     "renal-severe"}
EPSILON = 1e-6


@dataclass(frozen=True)
class Step:
    mg_per_day: float
    start: date | None
    end: date | None  # inclusive, as FHIR writes it
    intakes: int = 0  # a day, over the step's dosage lines


def _intakes(line: dict[str, Any]) -> int:
    repeat = (line.get("timing") or {}).get("repeat") or {}
    if repeat.get("when"):
        return len(repeat["when"])
    if repeat.get("frequency"):
        assert repeat.get("period", 1) == 1 and repeat.get("periodUnit", "d") == "d", repeat
        return int(repeat["frequency"])
    return 1


def _mg(line: dict[str, Any]) -> float:
    quantity = line["doseAndRate"][0]["doseQuantity"]
    assert quantity.get("code", quantity.get("unit")) == "mg", quantity
    return float(quantity["value"])


def steps_of(resource: dict[str, Any]) -> list[Step]:
    """The daily dose of every step of a MedicationRequest's dosage, in order."""
    by_sequence: dict[int, list[dict[str, Any]]] = {}
    for line in resource.get("dosageInstruction", []):
        by_sequence.setdefault(int(line.get("sequence", 1)), []).append(line)
    steps = []
    for sequence in sorted(by_sequence):
        group = by_sequence[sequence]
        total = sum(_mg(line) * _intakes(line) for line in group)
        bounds = ((group[0].get("timing") or {}).get("repeat") or {}).get("boundsPeriod") or {}
        start = date.fromisoformat(bounds["start"][:10]) if "start" in bounds else None
        end = date.fromisoformat(bounds["end"][:10]) if "end" in bounds else None
        steps.append(Step(round(total, 2), start, end, sum(_intakes(line) for line in group)))
    return steps


def _codes(cards: list[dict[str, Any]]) -> dict[str, str]:
    """Rule code -> the indicator of the card it is on."""
    found: dict[str, str] = {}
    for card in cards:
        for code in card["extension"][RULES_EXTENSION]:
            found[code] = card["indicator"]
    return found


def _review_cap(a: Assessment, current: float) -> float:
    """The highest daily dose allowed without a review the current dose has not passed."""
    doses = a.profile.doses
    maximum = a.max_mg_per_day
    if a.indication == "amm":
        return maximum
    cap = maximum
    if doses.collegial_above_mg is not None and current <= doses.collegial_above_mg:
        cap = min(cap, doses.collegial_above_mg)
    elderly = a.age is None or a.age > doses.elderly_above_age
    if elderly and doses.collegial_elderly_above_mg is not None and current <= doses.collegial_elderly_above_mg:
        cap = min(cap, doses.collegial_elderly_above_mg)
    if doses.specialist_from_mg is not None and current < doses.specialist_from_mg:
        cap = min(cap, doses.specialist_from_mg - EPSILON)
    return cap


def violations(a: Assessment, cards: list[dict[str, Any]]) -> list[str]:
    """Every breach of the suggestion policy in the cards of one order (empty: safe)."""
    codes = _codes(cards)
    found: list[str] = []
    current_known = a.current is not None or "medications" not in a.context.unavailable
    current = (a.current.mg_per_day if a.current is not None else 0.0) if current_known else None
    blocked = sorted(
        code for code, indicator in codes.items()
        if code in CONTRAINDICATIONS or code in ("renal-unknown", "data-unavailable", "dose-unknown")
        or (code in ("dose-specialist", "dose-collegial") and indicator != "info")
    )
    contraindicated = any(code in CONTRAINDICATIONS for code in codes)
    policy = a.profile.suggestions
    for card in cards:
        for suggestion in card.get("suggestions", []):
            label = suggestion["label"]
            for action in suggestion["actions"]:
                resource = action.get("resource") or {}
                if action["type"] == "delete":
                    if current is None or current > policy.taper_stop_at_or_below_mg + EPSILON:
                        found.append(f"delete offered with current dose {current}: an abrupt stop ({label})")
                    continue
                if action["type"] != "update" or resource.get("resourceType") != "MedicationRequest":
                    continue
                steps = steps_of(resource)
                doses = [step.mg_per_day for step in steps]
                if current is None:
                    found.append(f"dose suggested while the current dose is unknown: {doses}")
                    continue
                if blocked and any(dose > current + EPSILON for dose in doses):
                    found.append(f"increase past blockers {blocked}: {doses} > {current} ({label})")
                ceiling = a.max_mg_per_day
                if any(dose > ceiling + EPSILON and dose > current + EPSILON for dose in doses):
                    found.append(f"a step exceeds the maximum {ceiling:g} (current {current:g}): {doses}")
                few = [step.intakes for step in steps
                       if step.mg_per_day > 0 and step.intakes < a.profile.titration.min_intakes]
                if few:
                    found.append(f"a step in {few[0]} intake(s), fewer than the profile's minimum: {doses}")
                cap = _review_cap(a, current)
                if any(dose > cap + EPSILON and dose > current + EPSILON for dose in doses):
                    found.append(f"a step exceeds the review cap {cap:g} (current {current:g}): {doses}")
                if current > 0 and doses and doses[0] < current * policy.taper_first_step_min_fraction - 0.05:
                    found.append(f"abrupt cut: first step {doses[0]} < 2/3 of {current} ({label})")
                for before, after in pairwise(doses):
                    if after < before and after < before * policy.taper_next_step_min_fraction - EPSILON:
                        found.append(f"abrupt cut inside the schedule: {before} -> {after}")
                decreasing = len(doses) > 1 and all(b > c for b, c in pairwise(doses))
                if decreasing and steps[-1].end is not None and doses[-1] > policy.taper_stop_at_or_below_mg:
                    found.append(f"taper stops from {doses[-1]} mg/day (> {policy.taper_stop_at_or_below_mg:g})")
                if contraindicated and any(d > current + EPSILON for d in doses):
                    found.append(f"increase beside a contraindication: {doses}")
                if a.regimen is not None and a.current is not None:
                    draft_last = a.regimen.steps[-1].mg_per_day
                    reduced = draft_last < current - EPSILON
                    if reduced and any(d > current + EPSILON for d in doses):
                        found.append(f"re-escalation after a reduction: {doses} (current {current:g})")
                review = a.today + timedelta(days=review_interval(a))
                # the plan card's next dose (worded as conditional); a corrected draft keeps the
                # prescriber's own dates, moved only as late as the protocol requires
                next_dose = "craving" in label
                if next_dose and len(steps) > 1 and doses[-1] > doses[-2] + EPSILON:
                    start = steps[-1].start
                    if start is None or start <= review:
                        found.append(f"next step on {start} is not after the review ({review})")
    return found
