"""Interactions (warning) by ATC class of the active co-medications. Seed: « une
surveillance particulière est nécessaire… ». Opioid substitution (N07BC) is compatible.

The drugs of each class are found once per call (`assessment.interaction_drugs`), not once per
draft: an order set of n drafts would otherwise cost n × n value-set lookups per rule.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from cds_service.clinical.assessment import Assessment
from cds_service.clinical.findings import Finding
from cds_service.clinical.rules.common import finding

INTERACTION_CODES = ("ix-diuretic", "ix-antihypertensive", "ix-tricyclic", "ix-cns-depressant",
                     "ix-levodopa")


def _interaction(code: str) -> Callable[[Assessment], Sequence[Finding]]:
    def rule(a: Assessment) -> Sequence[Finding]:
        drugs = a.interaction_drugs.get(code, ())
        return [finding(a, code, drug=", ".join(drugs))] if drugs else []

    rule.__name__ = code.replace("-", "_")
    rule.__doc__ = f"Rule {code}: an active co-medication in the ATC class of the profile."
    return rule


RULES = tuple(_interaction(code) for code in INTERACTION_CODES)
