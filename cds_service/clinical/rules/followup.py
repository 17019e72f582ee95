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
    """Label keys of what makes the patient fragile (weekly review); once per assessment, since
    the monitoring rule and the suggestion policy ask several times and the precaution check
    scans every condition."""
    known = a.derived.get("fragile_reasons")
    if isinstance(known, tuple):
        return list(known)
    reasons = []
    if a.age is not None and a.age > a.profile.doses.elderly_above_age:
        reasons.append("fragile_age")
    if a.renal.category in ("moderate", "severe"):
        reasons.append("fragile_renal")
    if has_precaution(a):
        reasons.append("fragile_precaution")
    a.derived["fragile_reasons"] = tuple(reasons)
    return reasons


def review_interval(a: Assessment) -> int:
    policy = a.profile.policy
    return policy.fragile_review_interval_days if fragile_reasons(a) else policy.review_interval_days


def is_stable_renewal(a: Assessment) -> bool:
    """Same single dose as the current regimen, held for at least a review interval: nothing
    starts, no step is taken, no threshold is crossed."""
    current = a.current
    if not a.is_renewal or current is None or current.started is None:
        return False
    return (a.today - current.started).days >= review_interval(a)


FOLLOWUP_CODES = ("rtu-register", "monitoring")


def followup_due(a: Assessment, findings: Sequence[Finding]) -> bool:
    """Register and monitoring only when they change something (profile policy): the first
    prescription, a titration step, a threshold crossed, or anything else worth a warning; not
    a stable renewal with nothing else to say."""
    if a.profile.policy.followup_on_stable_renewal or not is_stable_renewal(a):
        return True
    return any(f.indicator != "info" for f in findings if f.code not in FOLLOWUP_CODES)


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
