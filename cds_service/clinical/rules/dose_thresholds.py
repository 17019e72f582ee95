"""Dose thresholds. Seed: « À partir de la dose de 120 mg/j… Toute posologie supérieure à
180 mg/jour ou supérieure à 120 mg/jour chez un patient âgé de plus de 65 ans… la dose maximale
autorisée est de 300 mg/jour ». A renewal at an unchanged dose gives the review codes as info."""

from __future__ import annotations

from collections.abc import Sequence

from cds_service.clinical.assessment import Assessment
from cds_service.clinical.findings import Finding, PlannedStep, Referral, UpdateDose
from cds_service.clinical.rules.common import finding
from cds_service.clinical.titration import fmt, split_intakes


def _intakes(a: Assessment) -> int:
    counts = [s.intakes_per_day for s in (a.regimen.steps if a.regimen else ()) if s.intakes_per_day]
    return max([a.profile.titration.min_intakes, *counts])


def _capped(a: Assessment) -> tuple[PlannedStep, ...]:
    """The draft with every step above the maximum brought down to it (dates kept)."""
    doses, titration = a.profile.doses, a.profile.titration
    steps: list[PlannedStep] = []
    for step in a.regimen.steps if a.regimen else ():
        if step.mg_per_day > doses.max_mg_per_day or len(step.intake_mg) < titration.min_intakes:
            mg = min(step.mg_per_day, doses.max_mg_per_day)
            split = split_intakes(mg, _intakes(a), titration.unit_mg)
        else:
            split = step.intake_mg
        if steps and steps[-1].intake_mg == split:
            steps[-1] = PlannedStep(split, steps[-1].start, step.end)
            continue
        steps.append(PlannedStep(split, step.start or a.today, step.end))
    return tuple(steps)


def dose_over_max(a: Assessment) -> Sequence[Finding]:
    """Above the profile's maximum (300 mg/day; 80 in rtu-2017 and amm-2018): critical, and the
    draft brought down to the maximum."""
    new, doses = a.new_mg_per_day, a.profile.doses
    if new is None or new <= doses.max_mg_per_day:
        return []
    proposal = UpdateDose(_capped(a))
    return [finding(a, "dose-over-max", [proposal], dose=fmt(new), max=fmt(doses.max_mg_per_day),
                    profile=("profile", "name"))]


def collegial_reason(a: Assessment, new: float) -> tuple[str, float] | None:
    """Why a collegial decision is needed (label key, threshold), or None."""
    doses = a.profile.doses
    if doses.collegial_above_mg is not None and new > doses.collegial_above_mg:
        return "collegial_reason_dose", doses.collegial_above_mg
    elderly = a.age is not None and a.age > doses.elderly_above_age
    if elderly and doses.collegial_elderly_above_mg is not None and new > doses.collegial_elderly_above_mg:
        return "collegial_reason_age", doses.collegial_elderly_above_mg
    return None


def dose_collegial(a: Assessment) -> Sequence[Finding]:
    new = a.new_mg_per_day
    reason = collegial_reason(a, new) if new is not None else None
    if new is None or reason is None:
        return []
    label, threshold = reason
    renewal = a.is_renewal
    proposals = [] if renewal else [Referral("collegial", new, threshold)]
    return [finding(a, "dose-collegial", proposals, indicator="info" if renewal else None,
                    dose=fmt(new), threshold=fmt(threshold), age=a.age or "?",
                    reason=("label", label))]


def dose_specialist(a: Assessment) -> Sequence[Finding]:
    new, threshold = a.new_mg_per_day, a.profile.doses.specialist_from_mg
    if new is None or threshold is None or new < threshold or collegial_reason(a, new):
        return []
    renewal = a.is_renewal
    proposals = [] if renewal else [Referral("specialist", new, threshold)]
    return [finding(a, "dose-specialist", proposals, indicator="info" if renewal else None,
                    dose=fmt(new), threshold=fmt(threshold))]


def dose_unknown(a: Assessment) -> Sequence[Finding]:
    if a.dose_error is None:
        return []
    return [finding(a, "dose-unknown", reason=a.dose_error)]


RULES = (dose_over_max, dose_collegial, dose_specialist, dose_unknown)
