"""Interactions (warning) by ATC class of the active co-medications. Seed: « une
surveillance particulière est nécessaire… ». Opioid substitution (N07BC) is compatible."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from cds_service.clinical.assessment import Assessment
from cds_service.clinical.context import MedicationFact
from cds_service.clinical.findings import Finding
from cds_service.clinical.rules.common import finding

INTERACTION_CODES = ("ix-diuretic", "ix-antihypertensive", "ix-tricyclic", "ix-cns-depressant",
                     "ix-levodopa")


def _name(fact: MedicationFact) -> str:
    return fact.text or next((c.display for c in fact.codes if c.display), None) or fact.codes[0].code


def _interaction(code: str) -> Callable[[Assessment], Sequence[Finding]]:
    def rule(a: Assessment) -> Sequence[Finding]:
        name = a.profile.rules[code].atc_value_set
        if name is None:
            return []
        value_set = a.profile.value_set(name)
        compatible = a.profile.value_set("opioid_substitution")
        drugs = []
        for fact in a.co_medications:
            if value_set.first_match(fact.codes) and not compatible.first_match(fact.codes):
                drugs.append(_name(fact))
        unique = list(dict.fromkeys(drugs))
        return [finding(a, code, drug=", ".join(unique))] if unique else []

    rule.__name__ = code.replace("-", "_")
    rule.__doc__ = f"Rule {code}: an active co-medication in the ATC class of the profile."
    return rule


RULES = tuple(_interaction(code) for code in INTERACTION_CODES)
