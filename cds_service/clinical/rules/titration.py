"""Titration. Seed: « La dose initiale recommandée est de 15 mg/jour, répartie en trois prises
pendant 2 ou 3 jours. L'augmentation des doses se fait par paliers… »; moderate renal
insufficiency: « très lente ». One corrected regimen is proposed for the whole group (by the suggestion policy).

A draft that holds a schedule is checked step by step, each step against the one before it
(the current regimen for the first step). A dose "began" when it last changed: a step that
repeats the previous dose does not restart the interval clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from cds_service.clinical.assessment import Assessment
from cds_service.clinical.findings import Finding, Label, Param, PlannedStep
from cds_service.clinical.rules.common import finding
from cds_service.clinical.titration import allowed_step, fmt, split_intakes

_EPSILON = 1e-6


@dataclass(frozen=True)
class Violation:
    code: str
    params: dict[str, Param]


@dataclass(frozen=True)
class _Dose:
    """A daily dose, the day it began (None: unknown), its number of intakes and their doses."""

    mg: float
    began: date | None
    intakes: int | None
    intake_mg: tuple[float, ...] = ()


def _intakes(a: Assessment, count: int | None) -> int:
    return max(count or 0, a.profile.titration.min_intakes)


def _split(a: Assessment, mg: float, count: int | None) -> tuple[float, ...]:
    return split_intakes(mg, _intakes(a, count), a.profile.titration.unit_mg)


def _current_dose(a: Assessment) -> _Dose | None:
    current = a.current
    if current is None or current.mg_per_day is None:
        return None
    return _Dose(current.mg_per_day, current.started, current.intakes_per_day, current.intake_mg)


def _is_start(a: Assessment, index: int, mg: float) -> bool:
    """First step of a patient without current baclofen, above the starting dose. When the
    medication list could not be fetched the history is unknown: no start check."""
    if index != 0 or a.current is not None or "medications" in a.context.unavailable:
        return False
    return mg > a.profile.titration.start_mg_per_day + _EPSILON


def _advance(previous: _Dose | None, mg: float, start: date, intakes: int | None) -> _Dose:
    """The dose after a step: an unchanged dose keeps the day it began."""
    if previous is not None and abs(previous.mg - mg) < _EPSILON:
        return _Dose(previous.mg, previous.began, intakes or previous.intakes)
    return _Dose(mg, start, intakes)


def violations(a: Assessment) -> list[Violation]:
    """Start, step and interval violations of the draft as written, first one per code."""
    if a.regimen is None or not a.regimen.steps:
        return []
    policy = a.profile.titration
    found: dict[str, Violation] = {}
    previous = _current_dose(a)
    for index, step in enumerate(a.regimen.steps):
        start = step.start or a.today
        if _is_start(a, index, step.mg_per_day):
            found.setdefault("titration-start", Violation("titration-start", {
                "dose": fmt(step.mg_per_day), "start": fmt(policy.start_mg_per_day)}))
        elif previous is not None and step.mg_per_day > previous.mg + _EPSILON:
            allowed = allowed_step(previous.mg, policy, a.renal_slow)
            if previous.began is not None and (start - previous.began).days < allowed.interval_days:
                found.setdefault("titration-interval", Violation("titration-interval", {
                    "current": fmt(previous.mg), "dose": fmt(step.mg_per_day),
                    "days": (start - previous.began).days, "required": allowed.interval_days,
                    "date": previous.began + timedelta(days=allowed.interval_days)}))
            if step.mg_per_day > allowed.max_mg + _EPSILON:
                found.setdefault("titration-step", Violation("titration-step", {
                    "current": fmt(previous.mg), "dose": fmt(step.mg_per_day),
                    "allowed": fmt(allowed.max_mg), "rule": Label(f"step_rule_{allowed.phase}"),
                    "step_mg": fmt(allowed.step_mg), "interval": allowed.interval_days,
                    "ceiling": fmt(policy.first_phase_ceiling_mg)}))
        previous = _advance(previous, step.mg_per_day, start, step.intakes_per_day)
    order = ("titration-start", "titration-step", "titration-interval")
    return [found[code] for code in order if code in found]


@dataclass(frozen=True)
class Corrected:
    """The draft made compliant: its steps, and the day the last step's dose began."""

    steps: tuple[PlannedStep, ...]
    last_began: date


def _written_split(a: Assessment, count: int | None, split: tuple[float, ...]) -> tuple[float, ...] | None:
    """The prescriber's own split, when it has enough intakes."""
    if count is None or count < a.profile.titration.min_intakes or len(split) != count:
        return None
    return split


def corrected_schedule(a: Assessment) -> Corrected | None:
    """The draft walked step by step and made protocol-compliant: a first dose above the start
    becomes the start, a step too large is cut to the allowed dose, a step too soon is moved to
    its earliest day (the previous dose held until then), no dose above the maximum, intakes at
    least the minimum. Compliant steps are kept as written. None when the draft's dose is unknown.
    The review thresholds and blockers are applied after, by the suggestion policy."""
    if a.regimen is None or not a.regimen.steps:
        return None
    policy = a.profile.titration
    previous = _current_dose(a)
    planned: list[tuple[float, tuple[float, ...], date]] = []
    for index, step in enumerate(a.regimen.steps):
        start = max(step.start or a.today, planned[-1][2] if planned else date.min)
        mg = step.mg_per_day
        split = _written_split(a, step.intakes_per_day, step.intake_mg)
        if _is_start(a, index, mg):
            mg, split = policy.start_mg_per_day, _split(a, policy.start_mg_per_day, policy.start_intakes)
        elif previous is not None and mg > previous.mg + _EPSILON:
            allowed = allowed_step(previous.mg, policy, a.renal_slow)
            if mg > allowed.max_mg + _EPSILON:
                mg, split = allowed.max_mg, None
            if previous.began is not None:
                earliest = previous.began + timedelta(days=allowed.interval_days)
                if start < earliest:
                    if not planned:  # hold the current regimen, as taken, until the step is allowed
                        held = _written_split(a, previous.intakes, previous.intake_mg)
                        planned.append((previous.mg, held or _split(a, previous.mg, previous.intakes), start))
                    start = earliest
        if mg > a.max_mg_per_day + _EPSILON:
            mg, split = a.max_mg_per_day, None
        split = split or _split(a, mg, step.intakes_per_day)
        planned.append((mg, split, start))
        previous = _advance(previous, mg, start, len(split))
    last_began = previous.began if previous is not None and previous.began is not None else a.today
    last_end = a.regimen.steps[-1].end
    steps = _steps(planned, last_end)
    return Corrected(steps, last_began)


def _steps(planned: list[tuple[float, tuple[float, ...], date]], last_end: date | None) -> tuple[PlannedStep, ...]:
    """Dated steps (each ends when the next begins); empty steps dropped, equal ones merged."""
    merged: list[tuple[float, tuple[float, ...], date]] = []
    for index, (mg, split, start) in enumerate(planned):
        following = planned[index + 1][2] if index + 1 < len(planned) else None
        if following is not None and following <= start:
            continue
        if merged and merged[-1][1] == split:
            continue
        merged.append((mg, split, start))
    result = []
    for index, (_, split, start) in enumerate(merged):
        end = merged[index + 1][2] if index + 1 < len(merged) else last_end
        result.append(PlannedStep(split, start, end if end is not None and end > start else None))
    return tuple(result)


def _few_intakes(a: Assessment) -> int | None:
    if a.regimen is None:
        return None
    counts = [s.intakes_per_day for s in a.regimen.steps if s.intakes_per_day is not None]
    few = [count for count in counts if count < a.profile.titration.min_intakes]
    return min(few) if few else None


def titration_rules(a: Assessment) -> Sequence[Finding]:
    """titration-start, -step, -interval and -intakes. The corrected draft they share is
    attached by the suggestion policy, capped by every other finding."""
    found = list(violations(a))
    few = _few_intakes(a)
    if few is not None:
        found.append(Violation("titration-intakes", {"intakes": few}))
    return [finding(a, violation.code, params=violation.params) for violation in found]


RULES = (titration_rules,)
