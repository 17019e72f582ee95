"""The suggestion policy: which doses may be offered as one-click actions.

Spec "Suggestion safety" (2026-12): a suggested dose must never contradict a card beside it.
The rules say what is wrong; this module alone decides what to propose, from every finding of
the order at once, so that no rule can offer an increase that another rule forbids:

- blockers (a contraindication, renal function unknown, part of the record unreadable, a
  review the current dose has not passed, a dose that cannot be computed) cap every suggested
  step at the current daily dose, and a new patient gets no dose at all;
- the review thresholds and the maximum cap every step, corrected steps included;
- a patient already on baclofen who must stop, or who is above the maximum, is offered a
  progressive reduction, never a bare delete;
- the next dose is offered only while titrating, after the next review, and never after a
  reduction until a full review interval has passed (then more slowly).

`docs/clinical-policy.md` states each rule and its source.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta

from cds_service.clinical import medication as medication_logic
from cds_service.clinical.assessment import Assessment
from cds_service.clinical.findings import (
    CancelDraft,
    Finding,
    Label,
    PlannedStep,
    ProfileName,
    Proposal,
    UpdateDose,
)
from cds_service.clinical.rules.common import finding
from cds_service.clinical.rules.followup import is_stable_renewal, review_interval
from cds_service.clinical.rules.titration import corrected_schedule
from cds_service.clinical.titration import allowed_step, fmt, review_needed, split_intakes

CONTRAINDICATION_CODES = frozenset({
    "ci-epilepsy", "ci-hypersensitivity", "ci-gluten", "ci-pregnancy", "ci-breastfeeding", "renal-severe",
})
REVIEW_CODES = ("dose-collegial", "dose-specialist")
TITRATION_CODES = ("titration-start", "titration-step", "titration-interval", "titration-intakes")
_EPSILON = 1e-6


@dataclass(frozen=True)
class Limits:
    """What any suggested dose of this order must respect.

    `current_mg` is the daily dose taken now: 0 for a patient known to take no baclofen, None
    when it cannot be known (history unreadable, dose not computable). `ceiling_mg` is the
    highest daily dose any suggested step may have; None means no dose may be suggested.
    `blockers` are the reasons no increase is allowed, as rule codes (or `dose-unknown`).
    """

    current_mg: float | None
    blockers: tuple[str, ...]
    contraindications: tuple[str, ...]
    ceiling_mg: float | None

    @property
    def blocked(self) -> bool:
        return bool(self.blockers)


def _floor_unit(value: float, unit: float) -> float:
    return math.floor(round(value / unit, 6)) * unit


def _ceil_unit(value: float, unit: float) -> float:
    return math.ceil(round(value / unit, 6)) * unit


def review_level(a: Assessment, mg: float) -> int:
    """0 none, 1 specialist opinion, 2 collegial decision, 3 above the maximum. The alcohol
    thresholds do not apply to a spasticity (AMM) order: only its maximum does."""
    if a.indication == "amm":
        return 3 if mg > a.max_mg_per_day + _EPSILON else 0
    return review_needed(mg, a.age, a.profile.doses)


def review_cap(a: Assessment, current_mg: float) -> float:
    """The highest dose (in whole units) that passes no review threshold the current dose has
    not passed, and not above the maximum. Each threshold is its own gate: below 120 until the
    specialist's opinion, at most 120 after 65 (or at an unknown age) and at most 180 until the
    collegial decision, even for an elderly patient already past 120."""
    unit, doses = a.profile.titration.unit_mg, a.profile.doses
    cap = a.max_mg_per_day
    if a.indication != "amm":
        elderly = a.age is None or a.age > doses.elderly_above_age
        gates = [(doses.collegial_above_mg, False)]
        if elderly:
            gates.append((doses.collegial_elderly_above_mg, False))
        gates.append((doses.specialist_from_mg, True))
        for threshold, inclusive in gates:
            if threshold is None:
                continue
            passed = current_mg >= threshold - _EPSILON if inclusive else current_mg > threshold + _EPSILON
            if not passed:
                cap = min(cap, threshold - unit if inclusive else threshold)
    return max(_floor_unit(cap, unit), 0.0)


def _known_current(a: Assessment) -> float | None:
    if a.current is not None:
        return a.current.mg_per_day
    if "medications" in a.context.unavailable:
        return None
    return 0.0


def limits_of(a: Assessment, findings: Sequence[Finding]) -> Limits:
    codes = {f.code for f in findings}
    contraindications = tuple(sorted(codes & CONTRAINDICATION_CODES))
    blockers = list(contraindications)
    blockers += [code for code in ("renal-unknown", "data-unavailable") if code in codes]
    blockers += [f.code for f in findings if f.code in REVIEW_CODES and f.indicator != "info"]
    if a.regimen is None:
        blockers.append("dose-unknown")
    current = _known_current(a)
    ceiling: float | None = None
    if current is not None:
        ceiling = min(max(review_cap(a, current), current), a.max_mg_per_day)
        if blockers:
            ceiling = min(ceiling, current)
        if ceiling <= 0:
            ceiling = None
    return Limits(current, tuple(blockers), contraindications, ceiling)


# --- shapes of proposals ----------------------------------------------------------------------


def _intakes(a: Assessment) -> int:
    """Intakes a day of a suggested step: as ordered (the split the prescriber is signing), else
    as the patient takes it now, else the start's; never fewer than the profile's minimum (a new
    patient on 5-5-5 stays on 3 intakes even where the AMM would allow 2)."""
    count = a.regimen.steps[-1].intakes_per_day if a.regimen is not None else None
    if not count and a.current is not None:
        count = a.current.intakes_per_day
    return max(count or a.profile.titration.start_intakes, a.profile.titration.min_intakes)


def taper(a: Assessment, from_mg: float, to_mg: float, start: date) -> tuple[PlannedStep, ...]:
    """[local policy] A progressive reduction from `from_mg` to `to_mg` (0: stop): the first step
    keeps at least 2/3 of the dose, each later one at least half of the one before, in whole
    half-tablet units, one step every few days; a stop comes after a step of 30 mg/day or less."""
    policy, unit = a.profile.suggestions, a.profile.titration.unit_mg
    stop = to_mg <= 0
    floor = policy.taper_stop_at_or_below_mg if stop else to_mg
    doses: list[float] = []
    dose = from_mg
    while dose > floor + _EPSILON:
        fraction = policy.taper_next_step_min_fraction if doses else policy.taper_first_step_min_fraction
        lower = _ceil_unit(round(dose * fraction, 1), unit)
        if lower >= dose - _EPSILON:
            lower = dose - unit
        dose = lower if stop else max(lower, to_mg)
        doses.append(dose)
    steps = []
    day = start
    for index, mg in enumerate(doses):
        last = index == len(doses) - 1
        end = day + timedelta(days=policy.taper_step_days) if (stop or not last) else None
        steps.append(PlannedStep(split_intakes(mg, _intakes(a), unit), day, end))
        if end is not None:
            day = end
    return tuple(steps)


def _progressive(a: Assessment, steps: tuple[PlannedStep, ...], current: float | None) -> tuple[PlannedStep, ...]:
    """A suggestion that starts far below the current dose gets a progressive lead-in: no
    one-click dose ever cuts more than the taper policy allows."""
    keep = a.profile.suggestions.taper_first_step_min_fraction
    if current is None or not steps or steps[0].mg_per_day >= current * keep - _EPSILON:
        return steps
    start = steps[0].start or a.today
    lead = taper(a, current, steps[0].mg_per_day, start)
    if not lead:
        return steps
    lead_end = lead[-2].end if len(lead) > 1 else start
    shifted = [replace(step, start=max(step.start or start, lead_end or start)) for step in steps]
    return (*lead[:-1], *(step for step in shifted if step.end is None or step.end > (step.start or start)))


def clip(a: Assessment, steps: tuple[PlannedStep, ...], limits: Limits) -> tuple[PlannedStep, ...] | None:
    """The steps with none above the ceiling (equal neighbours merged); None when no dose may be
    suggested or a step cannot be taken in enough half-tablet intakes."""
    if limits.ceiling_mg is None or not steps:
        return None
    unit, min_intakes = a.profile.titration.unit_mg, a.profile.titration.min_intakes
    clipped: list[PlannedStep] = []
    for step in steps:
        if step.mg_per_day > limits.ceiling_mg + _EPSILON:
            step = PlannedStep(split_intakes(limits.ceiling_mg, max(len(step.intake_mg), min_intakes), unit),
                               step.start, step.end)
        if clipped and clipped[-1].intake_mg == step.intake_mg:
            clipped[-1] = PlannedStep(step.intake_mg, clipped[-1].start, step.end)
            continue
        clipped.append(step)
    result = _progressive(a, tuple(clipped), limits.current_mg)
    if any(len(step.intake_mg) < min_intakes for step in result):
        return None
    return result


def stop_proposals(a: Assessment, limits: Limits) -> list[Proposal]:
    """A contraindication: reduce progressively if the patient takes more than 30 mg/day,
    cancel the draft for a new patient or a small dose, nothing when the current dose is
    unknown (a delete could be an abrupt stop)."""
    current = limits.current_mg
    if current is None:
        return []
    if current > a.profile.suggestions.taper_stop_at_or_below_mg + _EPSILON:
        return [UpdateDose(taper(a, current, 0, a.today), purpose="taper")]
    return [CancelDraft()]


def over_max_proposals(a: Assessment, limits: Limits) -> list[Proposal]:
    """Above the maximum: a taper down to it for a patient already above it, else the draft
    with every step brought down to what is allowed."""
    current, maximum = limits.current_mg, a.max_mg_per_day
    if current is not None and current > maximum + _EPSILON:
        return [UpdateDose(taper(a, current, maximum, a.today), purpose="taper")]
    capped = clip(a, _draft_steps(a), limits)
    return [UpdateDose(capped, purpose="cap")] if capped else []


def _draft_steps(a: Assessment) -> tuple[PlannedStep, ...]:
    steps = a.regimen.steps if a.regimen is not None else ()
    return tuple(PlannedStep(step.intake_mg, step.start or a.today, step.end) for step in steps)


# --- the next dose ------------------------------------------------------------------------------


@dataclass(frozen=True)
class NextDose:
    """What the plan card says: a state, the dose kept, and the next step if one is offered."""

    state: str  # step, threshold, max, hold, hold-new, reduced
    base_mg: float | None
    reason: str | None = None
    next_mg: float | None = None
    next_split: tuple[float, ...] = ()
    earliest: date | None = None
    schedule: tuple[PlannedStep, ...] = ()


def _hard_reason(limits: Limits) -> str:
    """Why nothing may be started: a contraindication first, then a check to make, then a review."""
    if limits.contraindications:
        return "contraindicated"
    hard = [code for code in limits.blockers if code not in REVIEW_CODES]
    if hard:
        return hard[0]
    return "review-collegial" if "dose-collegial" in limits.blockers else "review-specialist"


def _reduction_reason(a: Assessment, base: float, limits: Limits) -> date | None:
    """The day re-escalation becomes possible after a reduction (in the draft, or a recent one
    in the record), or None when the patient is not coming down from a higher dose."""
    interval = review_interval(a)
    if limits.current_mg is not None and base < limits.current_mg - _EPSILON:
        return a.today + timedelta(days=interval + 1)
    current = a.current
    if current is not None and current.reduced_from is not None and current.started is not None:
        allowed = current.started + timedelta(days=interval + 1)
        if a.today < allowed:
            return allowed
    return None


def _reescalating(a: Assessment, base: float) -> bool:
    current = a.current
    return current is not None and current.reduced_from is not None and base < current.reduced_from - _EPSILON


def next_dose(a: Assessment, limits: Limits, corrected: tuple[PlannedStep, ...] | None,
              last_began: date | None) -> NextDose | None:
    """The plan card's content; None when no plan card is due (a contraindication, a spasticity
    order, a patient above the maximum whose critical card carries the reduction, a stable
    renewal)."""
    above_max = limits.current_mg is not None and limits.current_mg > a.max_mg_per_day + _EPSILON
    if limits.contraindications or a.indication == "amm" or above_max:
        return None
    base_steps = corrected or _draft_steps(a)
    base = base_steps[-1].mg_per_day if base_steps else limits.current_mg
    hard = [code for code in limits.blockers if code not in REVIEW_CODES]
    if hard or base is None:
        reason = hard[0] if hard else "dose-unknown"
        state = "hold-new" if limits.current_mg == 0 else "hold"
        return NextDose(state, base if base else limits.current_mg, reason)
    review_blocker = next((code for code in limits.blockers if code in REVIEW_CODES), None)
    if review_blocker is not None:
        reason = "review-collegial" if review_blocker == "dose-collegial" else "review-specialist"
        return NextDose("hold", limits.current_mg, reason)
    reduced_until = _reduction_reason(a, base, limits)
    if reduced_until is not None:
        return NextDose("reduced", base, "reduced", earliest=reduced_until)
    if is_stable_renewal(a):
        return None
    policy = a.profile.titration
    unit = policy.unit_mg
    began = last_began or a.today
    slow = _reescalating(a, base)
    step = allowed_step(base, policy, a.renal_slow)
    step_mg, interval = step.max_mg - base, step.interval_days
    if slow:
        step_mg = min(step_mg, a.profile.suggestions.reescalation_step_mg)
        interval = max(interval, a.profile.suggestions.reescalation_interval_days)
    review = a.today + timedelta(days=review_interval(a))
    earliest = max(began + timedelta(days=interval), review + timedelta(days=1),
                   base_steps[-1].start or a.today if base_steps else a.today)
    ceiling = limits.ceiling_mg if limits.ceiling_mg is not None else base
    candidate = min(_floor_unit(base + step_mg, unit), ceiling)
    if candidate <= base + _EPSILON:
        if base >= a.max_mg_per_day - _EPSILON:
            return NextDose("max", base)
        needed = review_level(a, _floor_unit(base + step_mg, unit))
        return NextDose("threshold", base, "review-collegial" if needed >= 2 else "review-specialist",
                        next_mg=_floor_unit(base + step_mg, unit))
    split = split_intakes(candidate, _intakes(a), unit)
    kept = list(base_steps[:-1])
    last = base_steps[-1] if base_steps else PlannedStep(split_intakes(base, _intakes(a), unit), a.today)
    kept.append(PlannedStep(last.intake_mg, last.start or a.today, earliest))
    schedule = (*kept, PlannedStep(split, earliest))
    if any(len(s.intake_mg) < policy.min_intakes for s in schedule):
        schedule = ()
    return NextDose("step", base, "slow" if slow else None, candidate, split, earliest, schedule)


def _reason(plan: NextDose) -> Label | str:
    """Why no step is offered: « tant que <hold_reason> », or « demande d'abord <review> »."""
    if not plan.reason or plan.reason == "slow":
        return ""
    if plan.state == "threshold":
        return Label(plan.reason.replace("-", "_"))
    return Label(f"hold_reason_{plan.reason}")


def plan_finding(a: Assessment, plan: NextDose) -> Finding:
    """The plan card: one wording per state (profile variants of `plan-next-dose`)."""
    proposals = [UpdateDose(plan.schedule, purpose="titrate")] if plan.schedule else []
    review = a.today + timedelta(days=review_interval(a))
    pace: Label | str = ""
    if plan.reason == "slow":
        pace = Label("plan_reescalation")
    elif a.renal_slow:
        pace = Label("plan_slow")
    return finding(
        a, "plan-next-dose", proposals, variant=plan.state,
        base=fmt(plan.base_mg) if plan.base_mg is not None else "?",
        next=fmt(plan.next_mg) if plan.next_mg is not None else "",
        split="-".join(fmt(v) for v in plan.next_split),
        date=plan.earliest or review,
        review_date=review,
        reason=_reason(plan),
        why=plan.reason or "",
        pace=pace,
        max=fmt(a.max_mg_per_day),
        profile=ProfileName(),
        step=fmt(a.profile.suggestions.reescalation_step_mg),
        interval=a.profile.suggestions.reescalation_interval_days,
    )


def _fits(step: PlannedStep, unit: float, min_intakes: int) -> tuple[float, ...] | None:
    """The step in whole `unit`s with as many intakes, or None if that unit cannot give it."""
    if step.mg_per_day <= 0:
        return step.intake_mg
    units = step.mg_per_day / unit
    if abs(units - round(units)) > _EPSILON:
        return None
    split = split_intakes(step.mg_per_day, max(len(step.intake_mg), min_intakes), unit)
    if len(split) < min(len(step.intake_mg), min_intakes) or abs(sum(split) - step.mg_per_day) > _EPSILON:
        return None
    return split


def fit_to_tablet(a: Assessment, proposal: UpdateDose) -> UpdateDose:
    """Every step of a suggested schedule in whole (or, if scored, half) tablets of the ordered
    product; when one step cannot be given with it, the whole schedule switches to 10 mg scored
    tablets (the profile's unit) and says so. Doses are never changed, only their split."""
    tablet = medication_logic.ordered_tablet(a.order)
    unit = a.profile.titration.unit_mg
    if tablet is None or abs(tablet.unit_mg - unit) < _EPSILON or not proposal.steps:
        return proposal
    min_intakes = a.profile.titration.min_intakes
    fitted = [_fits(step, tablet.unit_mg, min_intakes) for step in proposal.steps]
    if all(split is not None for split in fitted):
        steps = tuple(replace(step, intake_mg=split) for step, split in zip(proposal.steps, fitted, strict=True)
                      if split is not None)
        return replace(proposal, steps=steps, tablet=tablet.name)
    steps = tuple(replace(step, intake_mg=split_intakes(step.mg_per_day, len(step.intake_mg), unit))
                  if step.mg_per_day > 0 else step for step in proposal.steps)
    return replace(proposal, steps=steps, switch_to_10mg=True, tablet=tablet.name)


def _fit_all(a: Assessment, item: Finding) -> Finding:
    if not any(isinstance(p, UpdateDose) for p in item.proposals):
        return item
    proposals = tuple(fit_to_tablet(a, p) if isinstance(p, UpdateDose) else p for p in item.proposals)
    if item.code == "plan-next-dose":
        update = next(p for p in proposals if isinstance(p, UpdateDose))
        item = replace(item, params={**item.params,
                                     "split": "-".join(fmt(v) for v in update.steps[-1].intake_mg)})
    return replace(item, proposals=proposals)


def apply_policy(a: Assessment, findings: Sequence[Finding]) -> list[Finding]:
    """The findings with the dose suggestions this policy allows attached, and the plan card."""
    limits = limits_of(a, findings)
    corrected = corrected_schedule(a)
    above_max = limits.current_mg is not None and limits.current_mg > a.max_mg_per_day + _EPSILON
    fixed = clip(a, corrected.steps, limits) if corrected is not None else None
    result: list[Finding] = []
    titration_fixed = False
    for item in findings:
        proposals: list[Proposal] = list(item.proposals)
        if item.code in CONTRAINDICATION_CODES:
            proposals = [*stop_proposals(a, limits), *proposals]
        elif item.code == "dose-over-max" and not limits.contraindications:
            proposals = [*over_max_proposals(a, limits), *proposals]
        elif item.code == "titration-start" and limits.ceiling_mg is None and limits.blockers:
            titration_fixed = True
            item = replace(item, variant="blocked",
                           params={**item.params, "reason": Label(f"hold_reason_{_hard_reason(limits)}")})
        elif item.code in TITRATION_CODES and not titration_fixed:
            titration_fixed = True
            if fixed and not limits.contraindications and not above_max:
                proposals = [UpdateDose(fixed, purpose="correct"), *proposals]
        result.append(replace(item, proposals=tuple(proposals)))
    plan = next_dose(a, limits, fixed, corrected.last_began if corrected is not None else None)
    if plan is not None and titration_fixed and not fixed:
        plan = replace(plan, schedule=())  # the draft could not be made compliant: no schedule on top of it
    if plan is not None:
        result.append(plan_finding(a, plan))
    return [_fit_all(a, item) for item in result]
