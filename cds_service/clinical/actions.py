"""Proposals as FHIR R4 resources, so that a suggestion is one click in the EHR.

An update replaces the draft MedicationRequest's dosage with complete Dosage lines (timing,
route, dose in mg per intake, bounds per step); referrals and the creatinine test are new
ServiceRequests; a contraindication deletes the draft.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from cds_service.clinical.findings import (
    CancelDraft,
    OrderCreatinine,
    PlannedStep,
    Proposal,
    Referral,
    UpdateDose,
)
from cds_service.clinical.profile import Language, Profile
from cds_service.clinical.titration import fmt

UCUM = "http://unitsofmeasure.org"
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
ORAL_ROUTE = {"coding": [{"system": SNOMED, "code": "26643006", "display": "Oral route"}]}
DOSE_TYPE_ORDERED = {
    "coding": [{"system": "http://terminology.hl7.org/CodeSystem/dose-rate-type", "code": "ordered",
                "display": "Ordered"}]
}
_WHEN = {3: ("MORN", "NOON", "EVE"), 4: ("MORN", "NOON", "EVE", "HS"), 2: ("MORN", "EVE")}
_WHEN_LABEL = {"MORN": "morning", "NOON": "noon", "EVE": "evening", "HS": "bedtime"}


@dataclass(frozen=True)
class OrderRefs:
    """Who and what the created resources point to."""

    patient_id: str
    user_id: str | None
    encounter_id: str | None
    order_id: str | None
    today: date


def _bounds(step: PlannedStep) -> dict[str, Any] | None:
    if step.start is None and step.end is None:
        return None
    period: dict[str, str] = {}
    if step.start is not None:
        period["start"] = step.start.isoformat()
    if step.end is not None:
        period["end"] = (step.end - timedelta(days=1)).isoformat()
    return {"boundsPeriod": period}


def _quantity(mg: float) -> dict[str, Any]:
    return {"value": mg, "unit": "mg", "system": UCUM, "code": "mg"}


def dosage_lines(steps: tuple[PlannedStep, ...], profile: Profile, lang: Language) -> list[dict[str, Any]]:
    """Complete R4 Dosage lines: one per step when intakes are equal, else one per intake."""
    lines: list[dict[str, Any]] = []
    unit = profile.label("mg_per_day", lang)
    for number, step in enumerate(steps, start=1):
        bounds = _bounds(step) or {}
        intakes = step.intake_mg
        base: dict[str, Any] = {"sequence": number, "route": ORAL_ROUTE}
        if len(set(intakes)) == 1:
            repeat = {**bounds, "frequency": len(intakes), "period": 1, "periodUnit": "d"}
            text = f"{fmt(intakes[0])} mg × {len(intakes)} ({fmt(step.mg_per_day)} {unit})"
            lines.append({**base, "text": text, "timing": {"repeat": repeat},
                          "doseAndRate": [{"type": DOSE_TYPE_ORDERED, "doseQuantity": _quantity(intakes[0])}]})
            continue
        events = _WHEN.get(len(intakes))
        for index, mg in enumerate(intakes):
            if events is not None:
                repeat = {**bounds, "when": [events[index]]}
                moment = profile.label(_WHEN_LABEL[events[index]], lang)
            else:
                repeat = {**bounds, "frequency": 1, "period": 1, "periodUnit": "d"}
                moment = f"#{index + 1}"
            lines.append({**base, "text": f"{fmt(mg)} mg {moment}", "timing": {"repeat": repeat},
                          "doseAndRate": [{"type": DOSE_TYPE_ORDERED, "doseQuantity": _quantity(mg)}]})
    return lines


def json_copy(value: Any) -> Any:
    """A deep copy of parsed JSON (dicts, lists, immutable scalars): a third of the cost of
    `copy.deepcopy`, which keeps a memo of every object for cycles JSON cannot have. orjson's
    round trip is faster still but would turn a NaN into null and refuse a 65-bit integer."""
    if isinstance(value, dict):
        return {key: json_copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [json_copy(item) for item in value]
    if isinstance(value, tuple):
        return tuple(json_copy(item) for item in value)
    return value


def updated_order(draft: dict[str, Any], proposal: UpdateDose, profile: Profile, lang: Language) -> dict[str, Any]:
    """The draft with its dosage replaced; everything else (ids, medication, reason) kept."""
    resource: dict[str, Any] = json_copy(draft)
    resource["dosageInstruction"] = dosage_lines(proposal.steps, profile, lang)
    if proposal.switch_to_10mg:
        # The ordered tablet cannot give the dose: the order becomes baclofen 10 mg scored tablets.
        reference = (resource.pop("medicationReference", None) or {}).get("reference", "")
        if reference.startswith("#"):
            resource["contained"] = [item for item in resource.get("contained", [])
                                     if item.get("id") != reference[1:]] or None
            if resource["contained"] is None:
                del resource["contained"]
        resource["medicationCodeableConcept"] = {
            "coding": [{"system": "http://www.whocc.no/atc", "code": "M03BX01", "display": "baclofen"}],
            "text": profile.label("tablet_10mg", lang),
        }
    return resource


def _service_request(refs: OrderRefs, code: dict[str, Any], category: dict[str, Any], reason: str,
                     intent: str) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "status": "draft",
        "intent": intent,
        "category": [category],
        "code": code,
        "subject": {"reference": f"Patient/{refs.patient_id}"},
        "authoredOn": refs.today.isoformat(),
        "reasonCode": [{"text": reason}],
    }
    if refs.encounter_id:
        resource["encounter"] = {"reference": f"Encounter/{refs.encounter_id}"}
    if refs.user_id and "/" in refs.user_id:
        resource["requester"] = {"reference": refs.user_id}
    if refs.order_id:
        resource["basedOn"] = [{"reference": f"MedicationRequest/{refs.order_id}"}]
    return resource


def referral(refs: OrderRefs, proposal: Referral, profile: Profile, lang: Language) -> dict[str, Any]:
    key = f"referral_{proposal.kind}"
    text = profile.label(key, lang).format(threshold=fmt(proposal.threshold), dose=fmt(proposal.mg_per_day))
    code = {"coding": [{"system": SNOMED, "code": "3457005", "display": "Patient referral"}], "text": text}
    category = {"coding": [{"system": SNOMED, "code": "3457005", "display": "Patient referral"}]}
    return _service_request(refs, code, category, text, "proposal")


def creatinine_test(refs: OrderRefs, profile: Profile, lang: Language) -> dict[str, Any]:
    code = {
        "coding": [
            {"system": LOINC, "code": "14682-9", "display": "Creatinine [Moles/volume] in Serum or Plasma"},
            {"system": LOINC, "code": "2160-0", "display": "Creatinine [Mass/volume] in Serum or Plasma"},
        ],
        "text": profile.label("suggest_creatinine", lang),
    }
    category = {"coding": [{"system": SNOMED, "code": "108252007", "display": "Laboratory procedure"}]}
    return _service_request(refs, code, category, profile.label("creatinine_reason", lang), "order")


def actions_for(proposal: Proposal, refs: OrderRefs, draft: dict[str, Any] | None, profile: Profile,
                lang: Language) -> list[dict[str, Any]]:
    """CDS Hooks actions (JSON) for one proposal; empty when it cannot be expressed."""
    if isinstance(proposal, UpdateDose):
        if draft is None:
            return []
        return [{"type": "update", "description": profile.label("suggest_update", lang),
                 "resource": updated_order(draft, proposal, profile, lang)}]
    if isinstance(proposal, Referral):
        return [{"type": "create", "description": profile.label(f"suggest_referral_{proposal.kind}", lang),
                 "resource": referral(refs, proposal, profile, lang)}]
    if isinstance(proposal, OrderCreatinine):
        return [{"type": "create", "description": profile.label("suggest_creatinine", lang),
                 "resource": creatinine_test(refs, profile, lang)}]
    if isinstance(proposal, CancelDraft) and refs.order_id:
        return [{"type": "delete", "description": profile.label("suggest_cancel", lang),
                 "resourceId": f"MedicationRequest/{refs.order_id}"}]
    return []
