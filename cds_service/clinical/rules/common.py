"""Helpers shared by the rules: finding builders and value-set lookups on the patient."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from cds_service.clinical.assessment import Assessment
from cds_service.clinical.context import Code, ConditionFact
from cds_service.clinical.findings import Finding, Param, Proposal
from cds_service.clinical.profile import Indicator
from cds_service.clinical.wording import record_text


def finding(a: Assessment, code: str, proposals: Iterable[Proposal] = (), *,
            indicator: Indicator | None = None, variant: str | None = None,
            params: Mapping[str, Param] | None = None, **more: Param) -> Finding:
    """A finding with the profile's indicator for `code` unless one is given."""
    spec = a.profile.rules[code]
    return Finding(code=code, indicator=indicator or spec.indicator, params={**(params or {}), **more},
                   proposals=tuple(proposals), variant=variant)


def describe(code: Code, text: str | None = None) -> str:
    """Evidence as a clinician reads it: the code, and the EHR's own label quoted as such."""
    return record_text(code.code, code.display or text)


def matching_conditions(a: Assessment, value_set_name: str, *, history: bool = False
                        ) -> list[tuple[ConditionFact, Code]]:
    """Conditions in the value set: active ones, or for a "history of" rule any that is not
    refuted or entered in error (a resolved withdrawal seizure is an antécédent)."""
    value_set = a.profile.value_set(value_set_name)
    found = []
    for condition in a.context.conditions:
        if condition.refuted or not (condition.active or history):
            continue
        code = value_set.first_match(condition.codes)
        if code is not None:
            found.append((condition, code))
    return found


def condition_evidence(a: Assessment, value_set_name: str, *, history: bool = False) -> str | None:
    matches = matching_conditions(a, value_set_name, history=history)
    if not matches:
        return None
    return "; ".join(describe(code, condition.text) for condition, code in matches[:3])
