"""Evaluate the draft orders of one hook call: scope, then every rule, as pure functions.

Out of scope (no card at all): orders that are not baclofen, and intrathecal baclofen. For an
order whose reason is spasticity the AMM applies and only the profile's AMM rules run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from cds_service.clinical import medication as medication_logic
from cds_service.clinical.assessment import Assessment, assess, patient_facts
from cds_service.clinical.context import MedicationFact, PatientContext
from cds_service.clinical.findings import Finding, Labels
from cds_service.clinical.profile import Profile
from cds_service.clinical.rules import ORDER_RULES
from cds_service.clinical.rules.common import finding
from cds_service.clinical.rules.followup import FOLLOWUP_CODES, followup_due
from cds_service.clinical.suggestion_policy import apply_policy

Hook = Literal["order-sign", "order-select"]

# What each unavailable prefetch key stops the service from checking: label keys of the profile,
# so the card names the checks in words; the rule codes go in the card's extension.
CHECKS_BY_KEY: dict[str, tuple[str, ...]] = {
    "conditions": ("indication", "ci-epilepsy", "ci-gluten", "ci-pregnancy", "ci-breastfeeding", "pr-*",
                   "renal-severe", "renal-moderate"),
    "medications": ("titration-*", "ix-*"),
    "medicationStatements": ("ix-*",),
    "observations": ("renal-unknown", "ci-pregnancy", "ci-breastfeeding"),
    "allergies": ("ci-hypersensitivity",),
}


@dataclass(frozen=True)
class OrderEvaluation:
    assessment: Assessment
    findings: tuple[Finding, ...]


def is_selected(order: MedicationFact, selections: list[str] | None) -> bool:
    """For order-select: whether the EHR selected this draft (every draft when none are named)."""
    return not selections or f"MedicationRequest/{order.id}" in selections or order.id in selections


def orders_in_scope(context: PatientContext, selections: list[str] | None) -> list[MedicationFact]:
    """Oral (or unspecified route) baclofen drafts; for order-select, the selected ones only."""
    chosen = []
    for order in context.draft_orders:
        if not medication_logic.is_baclofen(order) or medication_logic.is_intrathecal(order):
            continue
        if not is_selected(order, selections):
            continue
        chosen.append(order)
    return chosen


def unchecked(a: Assessment) -> tuple[str, ...]:
    """The checks (rule codes, `pr-*` for a family) that did not run for lack of data."""
    keys = sorted(key for key in a.context.unavailable if key != "patient")
    return tuple(dict.fromkeys(check for key in keys for check in CHECKS_BY_KEY.get(key, ())))


def _data_unavailable(a: Assessment) -> list[Finding]:
    keys = sorted(key for key in a.context.unavailable if key != "patient")
    if not keys:
        return []
    return [finding(a, "data-unavailable", keys=Labels(tuple(f"record_{key}" for key in keys)),
                    checks=Labels(tuple(f"checks_{key}" for key in keys)))]


def evaluate_order(assessment: Assessment, hook: Hook) -> OrderEvaluation:
    """Every rule, then the suggestion policy over all the findings at once (so that no
    suggestion contradicts any finding, shown or not), then what the hook shows."""
    policy = assessment.profile.policy
    findings: list[Finding] = []
    for rule in ORDER_RULES:
        findings.extend(rule(assessment))
    findings.extend(_data_unavailable(assessment))
    if not followup_due(assessment, findings):
        findings = [f for f in findings if f.code not in FOLLOWUP_CODES]
    if assessment.indication == "amm":
        findings = [f for f in findings if f.code == "data-unavailable" or policy.applies_to_amm(f.code)]
    findings = apply_policy(assessment, findings)
    if hook == "order-select":
        keep = policy.order_select_rules | {"data-unavailable"}
        findings = [f for f in findings if f.code in keep]
    return OrderEvaluation(assessment=assessment, findings=tuple(findings))


def evaluate(
    context: PatientContext,
    profile: Profile,
    hook: Hook = "order-sign",
    selections: list[str] | None = None,
) -> list[OrderEvaluation]:
    """One evaluation per baclofen draft in scope; an empty list means no card at all."""
    orders = orders_in_scope(context, selections)
    if not orders:
        return []
    facts = patient_facts(context, profile)
    return [evaluate_order(assess(order, context, profile, facts), hook) for order in orders]
