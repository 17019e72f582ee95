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
        value_set = a.profile.rules[code].value_set
        assert value_set is not None, f"{code} needs a value set"
        evidence = condition_evidence(a, value_set)
        return [finding(a, code, evidence=evidence)] if evidence else []

    rule.__name__ = code.replace("-", "_")
    rule.__doc__ = f"Rule {code}: an active condition in the profile's value set."
    return rule


def has_precaution(a: Assessment) -> bool:
    """Fragile patient for the monitoring rule: any precaution other than the hepatic one."""
    return any(rule(a) for rule in RULES if rule.__name__ != "pr_hepatic")


RULES = tuple(_precaution(code) for code in PRECAUTION_CODES)
