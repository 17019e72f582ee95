"""Follow-up and RTU frame (info). Seed: « La prescription de baclofène est ouverte à tout
médecin mais elle est soumise au cadre de la RTU… évaluer la situation… toutes les 2
semaines. Certains patients fragiles peuvent être vus toutes les semaines »."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from cds_service.clinical.assessment import Assessment
from cds_service.clinical.findings import Finding, Labels
from cds_service.clinical.rules.common import finding
from cds_service.clinical.rules.precautions import has_precaution


def fragile_reasons(a: Assessment) -> list[str]:
    """Label keys of what makes the patient fragile (weekly review)."""
    reasons = []
    if a.age is not None and a.age > a.profile.doses.elderly_above_age:
        reasons.append("fragile_age")
    if a.renal.category in ("moderate", "severe"):
        reasons.append("fragile_renal")
    if has_precaution(a):
        reasons.append("fragile_precaution")
    return reasons


def review_interval(a: Assessment) -> int:
    policy = a.profile.policy
    return policy.fragile_review_interval_days if fragile_reasons(a) else policy.review_interval_days


def rtu_register(a: Assessment) -> Sequence[Finding]:
    if not a.profile.policy.register_applies or a.indication == "amm":
        return []
    return [finding(a, "rtu-register", url=a.profile.register_url)]


def monitoring(a: Assessment) -> Sequence[Finding]:
    interval = review_interval(a)
    reasons = fragile_reasons(a)
    return [finding(a, "monitoring", interval=interval, review_date=a.today + timedelta(days=interval),
                    fragile=Labels(tuple(reasons)), variant="fragile" if reasons else None)]


def indication_missing(a: Assessment) -> Sequence[Finding]:
    """No alcohol dependence on the order nor on the active problems; unsaid when the problem
    list could not be fetched (the data-unavailable card names the indication check instead)."""
    if a.indication != "missing" or "conditions" in a.context.unavailable:
        return []
    return [finding(a, "indication-missing")]


def indication_amm(a: Assessment) -> Sequence[Finding]:
    if a.indication != "amm":
        return []
    doses = a.profile.doses
    return [finding(a, "indication-amm", evidence=a.indication_evidence or "",
                    amm_min=int(doses.amm_min_mg), amm_max=int(doses.amm_max_mg))]


RULES = (rtu_register, monitoring, indication_missing, indication_amm)
