"""Interactions (warning) by drug class of the active co-medications. Seed: « une
surveillance particulière est nécessaire… ». Opioid substitution (N07BC) is compatible.

A class is a profile value set of ATC prefixes and substance names (DCI); a co-medication
belongs to it by an ATC code (its own, or the BDPM / formulary entry of its CIS, CIP or UCD
code) or by a substance. The drugs of each class are found once per call
(`assessment.interaction_drugs`), not once per draft. A co-medication that nothing identifies
is reported (`comed-unidentified`): its interactions were not checked, which must not be silent.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from cds_service.clinical.assessment import Assessment, medication_name
from cds_service.clinical.findings import Finding
from cds_service.clinical.rules.common import finding

INTERACTION_CODES = ("ix-diuretic", "ix-antihypertensive", "ix-tricyclic", "ix-cns-depressant",
                     "ix-levodopa")
UNIDENTIFIED_LISTED = 2  # names shown in the summary (the detail lists all); the count says how many
_NAME_CHARS = 32  # a summary stays within 140 characters


def _interaction(code: str) -> Callable[[Assessment], Sequence[Finding]]:
    def rule(a: Assessment) -> Sequence[Finding]:
        drugs = a.interaction_drugs.get(code, ())
        return [finding(a, code, drug=", ".join(drugs))] if drugs else []

    rule.__name__ = code.replace("-", "_")
    rule.__doc__ = f"Rule {code}: an active co-medication in the drug class of the profile."
    return rule


def comed_unidentified(a: Assessment) -> Sequence[Finding]:
    """Rule comed-unidentified: co-medications no code, index or substance name identifies."""
    names = list(dict.fromkeys(medication_name(fact) for fact, identity
                               in zip(a.co_medications, a.co_identities, strict=True) if not identity.identified))
    if not names:
        return []
    short = [name if len(name) <= _NAME_CHARS else name[:_NAME_CHARS - 1] + "…"
             for name in names[:UNIDENTIFIED_LISTED]]
    shown = ", ".join(short) + (", …" if len(names) > UNIDENTIFIED_LISTED else "")
    return [finding(a, "comed-unidentified", variant="one" if len(names) == 1 else None,
                    count=len(names), drugs=shown, all=", ".join(names))]


RULES = (*(_interaction(code) for code in INTERACTION_CODES), comed_unidentified)
