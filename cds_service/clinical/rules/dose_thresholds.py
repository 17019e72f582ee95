"""Dose thresholds. Seed: « À partir de la dose de 120 mg/j… Toute posologie supérieure à
180 mg/jour ou supérieure à 120 mg/jour chez un patient âgé de plus de 65 ans… la dose maximale
autorisée est de 300 mg/jour ». A renewal at an unchanged dose gives the review codes as info."""

from __future__ import annotations

from collections.abc import Sequence

from cds_service.clinical.assessment import Assessment
from cds_service.clinical.findings import DoseReason, Finding, Label, ProfileName, Referral
from cds_service.clinical.rules.common import finding
from cds_service.clinical.titration import fmt


def _over_max(a: Assessment, new: float | None) -> bool:
    return new is not None and new > a.max_mg_per_day


def dose_over_max(a: Assessment) -> Sequence[Finding]:
    """Above the maximum (300 mg/day; 80 in rtu-2017 and amm-2018; the AMM's for a spasticity
    order): critical. What to offer (the draft capped, or a taper for a patient already above
    it) is the suggestion policy's."""
    new = a.new_mg_per_day
    if new is None or not _over_max(a, new):
        return []
    return [finding(a, "dose-over-max", dose=fmt(new), max=fmt(a.max_mg_per_day),
                    profile=ProfileName(), variant="amm" if a.indication == "amm" else None)]


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
    refer = not renewal and not _over_max(a, new)  # a dose refused outright is not referred
    proposals = [Referral("collegial", new, threshold)] if refer else []
    return [finding(a, "dose-collegial", proposals, indicator="info" if renewal else None,
                    dose=fmt(new), threshold=fmt(threshold), age=a.age if a.age is not None else "?",
                    reason=Label(label))]


def dose_specialist(a: Assessment) -> Sequence[Finding]:
    new, threshold = a.new_mg_per_day, a.profile.doses.specialist_from_mg
    if new is None or threshold is None or new < threshold or collegial_reason(a, new):
        return []
    renewal = a.is_renewal
    refer = not renewal and not _over_max(a, new)
    proposals = [Referral("specialist", new, threshold)] if refer else []
    return [finding(a, "dose-specialist", proposals, indicator="info" if renewal else None,
                    dose=fmt(new), threshold=fmt(threshold))]


def dose_unknown(a: Assessment) -> Sequence[Finding]:
    if a.dose_error is None:
        return []
    return [finding(a, "dose-unknown", reason=DoseReason(a.dose_error))]


RULES = (dose_over_max, dose_collegial, dose_specialist, dose_unknown)
