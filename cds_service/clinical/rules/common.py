"""Helpers shared by the rules: finding builders and value-set lookups on the patient."""

from __future__ import annotations

from collections.abc import Iterable

from cds_service.clinical.assessment import Assessment
from cds_service.clinical.context import Code, ConditionFact
from cds_service.clinical.findings import Finding, Proposal


def finding(a: Assessment, code: str, proposals: Iterable[Proposal] = (), *,
            indicator: str | None = None, **params: object) -> Finding:
    """A finding with the profile's indicator for `code` unless one is given."""
    spec = a.profile.rules[code]
    chosen = indicator or spec.indicator
    assert chosen in ("info", "warning", "critical")
    return Finding(code=code, indicator=chosen, params=params, proposals=tuple(proposals))  # type: ignore[arg-type]


def describe(code: Code, text: str | None = None) -> str:
    """Evidence as a clinician reads it: code and label."""
    label = code.display or text
    return f"{code.code} — {label}" if label else code.code


def matching_conditions(a: Assessment, value_set_name: str) -> list[tuple[ConditionFact, Code]]:
    value_set = a.profile.value_set(value_set_name)
    found = []
    for condition in a.context.conditions:
        if not condition.active:
            continue
        code = value_set.first_match(condition.codes)
        if code is not None:
            found.append((condition, code))
    return found


def condition_evidence(a: Assessment, value_set_name: str) -> str | None:
    matches = matching_conditions(a, value_set_name)
    if not matches:
        return None
    return "; ".join(describe(code, condition.text) for condition, code in matches[:3])
