"""Is any draft order baclofen? Decided from the raw `context.draftOrders`, before anything else.

An EHR registered for `order-sign` calls the service for every medication order signed in the
hospital; baclofen is a tiny fraction. A call whose drafts are all out of scope (not baclofen,
or intrathecal baclofen) gets no card whatever the record says, so it is answered before the
prefetch is validated or fetched: no FHIR request, no 412 without `fhirServer`.

The recognition is the clinical one (`clinical.medication.is_baclofen` / `is_intrathecal` on
the same `MedicationFact` the rules read); only the draft bundle is read, leanly. Whenever the
drafts alone cannot settle it (a `medicationReference` to a Medication outside the draft
bundle, a draft too odd to read leanly), the call is treated as in scope and the full pipeline
decides, and reports any invalid FHIR with its 400.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from cds_service.clinical import medication as medication_logic
from cds_service.clinical.engine import is_selected
from cds_service.fhir.context_builder import MedicationIndex, medication_fact
from cds_service.fhir.parsing import InvalidFhir, bundle_entries
from cds_service.terminology import active as active_terminology

#: a hospital's orders name a few thousand distinct drugs: past this many, start again
VERDICTS_KEPT = 4096


@dataclass
class ConceptVerdicts:
    """Whether a `medicationCodeableConcept` is baclofen, remembered per concept (serialised)
    for the terminology it was decided with: the same paracetamol is ordered all day long."""

    terminology: object = None
    known: dict[bytes, bool] = field(default_factory=dict)

    def is_baclofen(self, concept: dict[str, Any]) -> bool:
        terminology = active_terminology()
        if self.terminology is not terminology or len(self.known) >= VERDICTS_KEPT:
            self.terminology, self.known = terminology, {}
        key = orjson.dumps(concept, option=orjson.OPT_SORT_KEYS)
        verdict = self.known.get(key)
        if verdict is None:
            resource = {"resourceType": "MedicationRequest", "medicationCodeableConcept": concept}
            fact = medication_fact(resource, None, MedicationIndex(), {}, "concept")
            verdict = self.known[key] = medication_logic.is_baclofen(fact)
        return verdict


_VERDICTS = ConceptVerdicts()


def has_baclofen_draft(draft_orders: dict[str, Any], selections: list[str] | None = None) -> bool:
    """Whether the full evaluation could give a card: a (selected) draft MedicationRequest that
    is, or may be, non-intrathecal baclofen. Raises `InvalidFhir` for a malformed Bundle."""
    entries = list(bundle_entries(draft_orders, "context.draftOrders"))
    medications = MedicationIndex()
    requests = []
    for resource, where in entries:
        if resource.get("resourceType") == "Medication":
            try:
                medications.add(resource, where)
            except InvalidFhir:
                return True  # the full pipeline names the invalid Medication
        elif resource.get("resourceType") == "MedicationRequest":
            requests.append((resource, where))
    return any(_may_be_baclofen(resource, where, medications, selections) for resource, where in requests)


def _may_be_baclofen(
    resource: dict[str, Any], where: str, medications: MedicationIndex,
    selections: list[str] | None,
) -> bool:
    reference = resource.get("medicationReference")
    concept = resource.get("medicationCodeableConcept")
    if reference is None and isinstance(concept, dict):
        try:
            if not _VERDICTS.is_baclofen(concept):
                return False  # not baclofen, whatever its route or selection
        except (InvalidFhir, AttributeError, TypeError, ValueError, orjson.JSONEncodeError):
            return True  # unreadable leanly: the full pipeline validates it and answers 400
    if reference is not None:
        target = reference.get("reference") if isinstance(reference, dict) else None
        if not isinstance(target, str) or medications.resolve(resource, target) is None:
            return True  # the Medication may be in the prefetch: let the full pipeline look
    try:
        fact = medication_fact(resource, None, medications, {}, where)
    except (InvalidFhir, AttributeError, TypeError, ValueError):
        return True  # unreadable leanly: the full pipeline validates it and answers 400
    if not is_selected(fact, selections):
        return False
    return medication_logic.is_baclofen(fact) and not medication_logic.is_intrathecal(fact)
