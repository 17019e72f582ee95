"""Titration. Seed: « La dose initiale recommandée est de 15 mg/jour, répartie en trois prises
pendant 2 ou 3 jours. L'augmentation des doses se fait par paliers… »; moderate renal
insufficiency: « très lente ». One corrected regimen is proposed for the whole group."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from cds_service.clinical.assessment import Assessment
from cds_service.clinical.findings import Finding, PlannedStep, UpdateDose
from cds_service.clinical.rules.common import finding
from cds_service.clinical.rules.followup import review_interval
from cds_service.clinical.titration import allowed_step, fmt, next_step, split_intakes


@dataclass(frozen=True)
class Violation:
    code: str
    params: dict[str, Any]
    corrected: tuple[PlannedStep, ...] | None = None


def _intakes(a: Assessment, count: int | None) -> int:
    return max(count or 0, a.profile.titration.min_intakes)


def _split(a: Assessment, mg: float, count: int | None) -> tuple[float, ...]:
    return split_intakes(mg, _intakes(a, count), a.profile.titration.unit_mg)


def violations(a: Assessment) -> list[Violation]:
    """Start, step and interval violations, first one per code, each with a corrected regimen."""
    if a.regimen is None or not a.regimen.steps:
        return []
    policy = a.profile.titration
    found: dict[str, Violation] = {}
    current = a.current
    prev_mg = current.mg_per_day if current else None
    prev_start = current.started if current else None
    prev_intakes = current.intakes_per_day if current else None
    for index, step in enumerate(a.regimen.steps):
        start = step.start or a.today
        if index == 0 and current is None and step.mg_per_day > policy.start_mg_per_day:
            corrected = (PlannedStep(_split(a, policy.start_mg_per_day, policy.start_intakes), start),)
            found.setdefault("titration-start", Violation("titration-start", {
                "dose": fmt(step.mg_per_day), "start": fmt(policy.start_mg_per_day)}, corrected))
        elif prev_mg is not None and step.mg_per_day > prev_mg:
            allowed = allowed_step(prev_mg, policy, a.renal_slow)
            target = min(step.mg_per_day, allowed.max_mg)
            hold_until = None
            if prev_start is not None and (start - prev_start).days < allowed.interval_days:
                hold_until = prev_start + timedelta(days=allowed.interval_days)
                found.setdefault("titration-interval", Violation("titration-interval", {
                    "current": fmt(prev_mg), "dose": fmt(step.mg_per_day),
                    "days": (start - prev_start).days, "required": allowed.interval_days,
                    "date": hold_until.isoformat()}))
            if step.mg_per_day > allowed.max_mg + 1e-6:
                found.setdefault("titration-step", Violation("titration-step", {
                    "current": fmt(prev_mg), "dose": fmt(step.mg_per_day),
                    "allowed": fmt(allowed.max_mg), "rule": allowed.rule}))
            if ("titration-step" in found or "titration-interval" in found) and "_fix" not in found:
                steps = []
                if hold_until is not None:
                    steps.append(PlannedStep(_split(a, prev_mg, prev_intakes), start, hold_until))
                steps.append(PlannedStep(_split(a, target, step.intakes_per_day), hold_until or start))
                found["_fix"] = Violation("_fix", {}, tuple(steps))
        prev_mg, prev_start, prev_intakes = step.mg_per_day, start, step.intakes_per_day
    fix = found.pop("_fix", None)
    result = list(found.values())
    if fix is not None:
        result = [Violation(v.code, v.params, v.corrected or fix.corrected) for v in result]
    return result


def _few_intakes(a: Assessment) -> int | None:
    if a.regimen is None:
        return None
    counts = [s.intakes_per_day for s in a.regimen.steps if s.intakes_per_day is not None]
    few = [count for count in counts if count < a.profile.titration.min_intakes]
    return min(few) if few else None


def titration_rules(a: Assessment) -> Sequence[Finding]:
    findings: list[Finding] = []
    proposal_made = False
    for violation in violations(a):
        proposals = []
        if violation.corrected and not proposal_made:
            proposals = [UpdateDose(violation.corrected)]
            proposal_made = True
        findings.append(finding(a, violation.code, proposals, **violation.params))
    few = _few_intakes(a)
    if few is not None:
        proposals = []
        if not proposal_made and a.regimen is not None:
            steps = tuple(PlannedStep(_split(a, s.mg_per_day, None), s.start, s.end)
                          for s in a.regimen.steps)
            proposals = [UpdateDose(steps)]
        findings.append(finding(a, "titration-intakes", proposals, intakes=few))
    return findings


def _base(a: Assessment) -> tuple[float, date, int | None] | None:
    """The dose the patient will be on once this order is signed (as corrected, if it must be)."""
    fixes = [v.corrected for v in violations(a) if v.corrected]
    if fixes:
        last = fixes[0][-1]
        return last.mg_per_day, last.start or a.today, len(last.intake_mg)
    if a.regimen is not None and a.regimen.steps:
        last_step = a.regimen.steps[-1]
        return last_step.mg_per_day, last_step.start or a.today, last_step.intakes_per_day
    if a.current is not None and a.current.mg_per_day is not None:
        return a.current.mg_per_day, a.current.started or a.today, a.current.intakes_per_day
    return None


def plan_next_dose(a: Assessment) -> Sequence[Finding]:
    """The protocol's next step, capped by the thresholds, with a one-click schedule."""
    policy = a.profile.titration
    review = a.today + timedelta(days=review_interval(a))
    base = _base(a)
    if base is None:
        split = split_intakes(policy.start_mg_per_day, policy.start_intakes, policy.unit_mg)
        return [finding(a, "plan-next-dose", [UpdateDose((PlannedStep(split, a.today),))],
                        next=fmt(policy.start_mg_per_day), split=_split_text(split),
                        date=a.today.isoformat(), review_date=review.isoformat(), note="",
                        slow="", profile=("profile", "name"))]
    base_mg, base_start, intakes = base
    step = next_step(base_mg, base_start, age=a.age, profile=a.profile, renal_slow=a.renal_slow,
                     intakes=_intakes(a, intakes))
    note: object = ""
    proposals = []
    if step.at_max and step.mg_per_day <= base_mg:
        note = ("label", "plan_max")
    elif step.held_for is not None:
        note = ("label", "plan_hold")
    else:
        proposals = [UpdateDose((
            PlannedStep(_split(a, base_mg, intakes), max(base_start, a.today), step.earliest),
            PlannedStep(step.intake_mg, step.earliest),
        ))]
    slow = ("label", "plan_slow") if a.renal_slow else ""
    return [finding(a, "plan-next-dose", proposals, next=fmt(step.mg_per_day),
                    split=_split_text(step.intake_mg), date=step.earliest.isoformat(),
                    review_date=review.isoformat(), note=note, slow=slow,
                    review=("label", f"review_{step.held_for or 'specialist'}"),
                    base=fmt(base_mg), profile=("profile", "name"))]


def _split_text(split: tuple[float, ...]) -> str:
    return "-".join(fmt(value) for value in split)


RULES = (titration_rules, plan_next_dose)
