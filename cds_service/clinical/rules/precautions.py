"""Precautions (warning; hepatic is info). Seed: « doit être utilisé prudemment en cas de… »."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from cds_service.clinical.assessment import Assessment
from cds_service.clinical.findings import Finding
from cds_service.clinical.rules.common import condition_evidence, finding

PRECAUTION_CODES: tuple[str, ...] = (
    "pr-psychosis", "pr-confusion", "pr-depression", "pr-cerebrovascular", "pr-respiratory",
    "pr-withdrawal-seizures", "pr-urinary", "pr-hepatic",
)


def _precaution(code: str) -> Callable[[Assessment], Sequence[Finding]]:
    def rule(a: Assessment) -> Sequence[Finding]:
        spec = a.profile.rules[code]
        if spec.value_set is None:
            return []
        evidence = condition_evidence(a, spec.value_set, history=spec.history)
        return [finding(a, code, evidence=evidence)] if evidence else []

    rule.__name__ = code.replace("-", "_")
    rule.__doc__ = f"Rule {code}: a condition in the profile's value set (active, or any for a history rule)."
    return rule


def has_precaution(a: Assessment) -> bool:
    """Fragile patient for the monitoring rule: any precaution other than the hepatic one."""
    return any(rule(a) for rule in RULES if rule.__name__ != "pr_hepatic")


RULES = tuple(_precaution(code) for code in PRECAUTION_CODES)
