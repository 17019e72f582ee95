"""Renal function. Seed: « il faut impérativement vérifier la fonction rénale avant toute
prescription »; contraindicated when severe, very slow titration when moderate."""

from __future__ import annotations

from collections.abc import Sequence

from cds_service.clinical.assessment import Assessment
from cds_service.clinical.findings import Finding, Label, OrderCreatinine, Param
from cds_service.clinical.rules.common import finding
from cds_service.clinical.titration import fmt


def _value(a: Assessment) -> str:
    renal = a.renal
    if renal.egfr is not None:
        return f"{fmt(round(renal.egfr))} mL/min/1,73 m²"
    return renal.condition_code or "?"


def _params(a: Assessment) -> dict[str, Param]:
    renal = a.renal
    return {
        "egfr": _value(a),
        "source": Label(f"source_{renal.source or 'condition'}"),
        "date": renal.observed_on or renal.condition_code or "",
    }


def renal_severe(a: Assessment) -> Sequence[Finding]:
    if a.renal.category != "severe":
        return []
    return [finding(a, "renal-severe", params=_params(a))]


def renal_moderate(a: Assessment) -> Sequence[Finding]:
    if a.renal.category != "moderate":
        return []
    titration = a.profile.titration
    return [finding(a, "renal-moderate", params=_params(a), step=fmt(titration.renal_moderate_step_mg),
                    interval=titration.renal_moderate_interval_days)]


def renal_unknown(a: Assessment) -> Sequence[Finding]:
    """No usable result. When the observations could not be read, say so: "no result in the
    record" would be false."""
    if a.renal.category != "unknown":
        return []
    unreadable = "observations" in a.context.unavailable
    return [finding(a, "renal-unknown", [OrderCreatinine()], max_age=a.profile.renal.max_age_days,
                    variant="unreadable" if unreadable else None)]


RULES = (renal_severe, renal_moderate, renal_unknown)
