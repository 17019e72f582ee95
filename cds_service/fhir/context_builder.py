"""From validated FHIR JSON to the `PatientContext` the rules read.

Every resource that the rules use is validated with `fhir.resources` first (`parsing`), then
reduced to plain facts. Observations with codes the rules never read are skipped unparsed:
validating a thousand irrelevant vitals would only slow the clinician's click.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from cds_service.clinical import medication as medication_logic
from cds_service.clinical.context import (
    AllergyFact,
    Code,
    ConditionFact,
    MedicationFact,
    ObservationFact,
    PatientContext,
    Sex,
)
from cds_service.fhir.parsing import InvalidFhir, bundle_entries, parse_date, parse_resource
from cds_service.fhir.prefetch import OBSERVATION_CODES

_INACTIVE_CONDITION = {"inactive", "remission", "resolved"}
_REFUTED = {"refuted", "entered-in-error"}
_USABLE_OBSERVATION = {"final", "amended", "corrected"}
_WEIGHT_LOINC = "29463-7"
_RELEVANT_LOINC = frozenset(OBSERVATION_CODES)


def codes_of(concept: Any) -> tuple[Code, ...]:
    """The codings of a CodeableConcept (JSON), trimmed; never fails on odd input."""
    if not isinstance(concept, dict):
        return ()
    found = []
    for coding in concept.get("coding") or []:
        if isinstance(coding, dict) and isinstance(coding.get("code"), str):
            found.append(
                Code(
                    system=str(coding.get("system") or ""),
                    code=coding["code"].strip(),
                    display=coding.get("display") if isinstance(coding.get("display"), str) else None,
                )
            )
    return tuple(found)


def _text(concept: Any) -> str | None:
    if isinstance(concept, dict):
        text = concept.get("text")
        if isinstance(text, str):
            return text
        for coding in concept.get("coding") or []:
            if isinstance(coding, dict) and isinstance(coding.get("display"), str):
                return str(coding["display"])
    return None


def _status_code(concept: Any) -> str | None:
    for code in codes_of(concept):
        return code.code
    return None


def condition_fact(resource: dict[str, Any]) -> ConditionFact:
    clinical = _status_code(resource.get("clinicalStatus"))
    verification = _status_code(resource.get("verificationStatus"))
    abated = any(key.startswith("abatement") for key in resource)
    active = clinical not in _INACTIVE_CONDITION and verification not in _REFUTED and not abated
    return ConditionFact(
        id=resource.get("id"),
        codes=codes_of(resource.get("code")),
        text=_text(resource.get("code")),
        active=active,
        onset=parse_date(resource.get("onsetDateTime") or resource.get("recordedDate")),
    )


def observation_fact(resource: dict[str, Any]) -> ObservationFact:
    quantity = resource.get("valueQuantity") or {}
    value = quantity.get("value")
    return ObservationFact(
        id=resource.get("id"),
        codes=codes_of(resource.get("code")),
        effective=parse_date(
            resource.get("effectiveDateTime")
            or (resource.get("effectivePeriod") or {}).get("start")
            or resource.get("effectiveInstant")
            or resource.get("issued")
        ),
        value=float(value) if isinstance(value, int | float) else None,
        unit=quantity.get("code") or quantity.get("unit"),
        value_codes=codes_of(resource.get("valueCodeableConcept")),
        value_text=resource.get("valueString"),
        value_boolean=resource.get("valueBoolean"),
    )


def allergy_fact(resource: dict[str, Any]) -> AllergyFact:
    codes = list(codes_of(resource.get("code")))
    for reaction in resource.get("reaction") or []:
        codes.extend(codes_of(reaction.get("substance")))
    return AllergyFact(id=resource.get("id"), codes=tuple(codes), text=_text(resource.get("code")))


def _allergy_applies(resource: dict[str, Any]) -> bool:
    clinical = _status_code(resource.get("clinicalStatus"))
    verification = _status_code(resource.get("verificationStatus"))
    return clinical not in {"inactive", "resolved"} and verification not in _REFUTED


class MedicationIndex:
    """Medication resources by reference, from `contained` and from Bundle entries."""

    def __init__(self) -> None:
        self._by_reference: dict[str, dict[str, Any]] = {}

    def add(self, resource: dict[str, Any], location: str) -> None:
        parse_resource(resource, location, ("Medication",))
        if isinstance(resource.get("id"), str):
            self._by_reference[f"Medication/{resource['id']}"] = resource

    def resolve(self, owner: dict[str, Any], reference: str | None) -> dict[str, Any] | None:
        if not reference:
            return None
        if reference.startswith("#"):
            for contained in owner.get("contained") or []:
                if isinstance(contained, dict) and contained.get("id") == reference[1:]:
                    return contained
            return None
        return self._by_reference.get(_relative(reference.split("/_history")[0]))


def _relative(reference: str) -> str:
    parts = reference.rstrip("/").split("/")
    return "/".join(parts[-2:]) if len(parts) >= 2 else reference


def medication_fact(
    resource: dict[str, Any],
    model: Any,
    medications: MedicationIndex,
    conditions_by_id: Mapping[str, ConditionFact],
    location: str,
) -> MedicationFact:
    codes = list(codes_of(resource.get("medicationCodeableConcept")))
    text = _text(resource.get("medicationCodeableConcept"))
    strength: float | None = None
    reference = (resource.get("medicationReference") or {}).get("reference")
    medication = medications.resolve(resource, reference)
    if medication is not None:
        medication_model = parse_resource(medication, f"{location}.medicationReference",
                                          ("Medication",))
        codes.extend(codes_of(medication.get("code")))
        text = text or _text(medication.get("code"))
        for ingredient in medication.get("ingredient") or []:
            codes.extend(codes_of(ingredient.get("itemCodeableConcept")))
        strength = medication_logic.strength_from_medication_resource(medication_model)
    text = text or (resource.get("medicationReference") or {}).get("display")
    dosages = tuple(model.dosageInstruction or ())
    routes = [code for dosage in resource.get("dosageInstruction") or []
              for code in codes_of(dosage.get("route"))]
    reasons = [code for concept in resource.get("reasonCode") or [] for code in codes_of(concept)]
    reason_conditions = []
    for ref in resource.get("reasonReference") or []:
        target = _relative(str((ref or {}).get("reference") or ""))
        if target.startswith("Condition/") and target[10:] in conditions_by_id:
            reason_conditions.append(conditions_by_id[target[10:]])
    validity = (resource.get("dispenseRequest") or {}).get("validityPeriod") or {}
    bound_ends = [
        parse_date(((dosage.get("timing") or {}).get("repeat") or {}).get("boundsPeriod", {}).get("end"))
        for dosage in resource.get("dosageInstruction") or []
    ]
    known_ends = [end for end in bound_ends if end is not None]
    return MedicationFact(
        id=resource.get("id"),
        status=str(resource.get("status") or "unknown"),
        intent=resource.get("intent"),
        codes=tuple(codes),
        text=text,
        authored_on=parse_date(resource.get("authoredOn")),
        is_draft=resource.get("status") == "draft",
        dosages=dosages,
        route_codes=tuple(routes),
        strength_mg=strength,
        reason_codes=tuple(reasons),
        reason_conditions=tuple(reason_conditions),
        resource=model,
        end=max(known_ends) if known_ends else parse_date(validity.get("end")),
        raw=resource,
    )


def _sex(patient: dict[str, Any]) -> Sex:
    gender = patient.get("gender")
    return gender if gender in ("female", "male", "other") else "unknown"


def _latest_weight(observations: Iterable[ObservationFact]) -> float | None:
    weights = [
        obs
        for obs in observations
        if obs.value is not None
        and any(code.code == _WEIGHT_LOINC for code in obs.codes)
        and (obs.unit or "kg") in ("kg", "[lb_av]", "lb")
    ]
    if not weights:
        return None
    latest = max(weights, key=lambda obs: obs.effective or date.min)
    assert latest.value is not None
    return latest.value * 0.45359237 if latest.unit in ("[lb_av]", "lb") else latest.value


def _evaluation_date(drafts: Iterable[MedicationFact], fallback: date) -> date:
    drafts = list(drafts)
    preferred = [d for d in drafts if medication_logic.is_baclofen(d)] or drafts
    for draft in preferred:
        if draft.authored_on is not None:
            return draft.authored_on
    return fallback


def build_context(
    *,
    patient_id: str,
    draft_orders: dict[str, Any],
    data: Mapping[str, Any],
    unavailable: Iterable[str],
    today: date,
) -> PatientContext:
    """The patient context; raises `InvalidFhir` naming the first invalid resource."""
    patient = data.get("patient")
    if patient is not None:
        parse_resource(patient, "prefetch.patient", ("Patient",))
    patient = patient or {}

    medications = MedicationIndex()
    conditions: list[ConditionFact] = []
    for resource, where in bundle_entries(data.get("conditions"), "prefetch.conditions"):
        parse_resource(resource, where, ("Condition",))
        conditions.append(condition_fact(resource))
    conditions_by_id = {c.id: c for c in conditions if c.id}

    med_resources: list[tuple[dict[str, Any], str]] = []
    for resource, where in bundle_entries(data.get("medications"), "prefetch.medications"):
        if resource.get("resourceType") == "Medication":
            medications.add(resource, where)
        else:
            med_resources.append((resource, where))

    draft_resources: list[tuple[dict[str, Any], str]] = []
    for resource, where in bundle_entries(draft_orders, "context.draftOrders"):
        if resource.get("resourceType") == "Medication":
            medications.add(resource, where)
        else:
            draft_resources.append((resource, where))

    drafts: list[MedicationFact] = []
    draft_ids: set[str] = set()
    for resource, where in draft_resources:
        model = parse_resource(resource, where)
        if resource["resourceType"] == "MedicationRequest":
            fact = medication_fact(resource, model, medications, conditions_by_id, where)
            drafts.append(fact)
            if fact.id:
                draft_ids.add(fact.id)

    current: list[MedicationFact] = []
    for resource, where in med_resources:
        model = parse_resource(resource, where, ("MedicationRequest", "MedicationStatement"))
        if resource["resourceType"] == "MedicationStatement":
            current.append(_statement_fact(resource, medications, where))
            continue
        if resource.get("id") in draft_ids or resource.get("status") == "draft":
            continue
        current.append(medication_fact(resource, model, medications, conditions_by_id, where))

    observations: list[ObservationFact] = []
    for resource, where in bundle_entries(data.get("observations"), "prefetch.observations"):
        if not _is_relevant_observation(resource):
            continue
        parse_resource(resource, where, ("Observation",))
        if resource.get("status") in _USABLE_OBSERVATION:
            observations.append(observation_fact(resource))

    allergies: list[AllergyFact] = []
    for resource, where in bundle_entries(data.get("allergies"), "prefetch.allergies"):
        parse_resource(resource, where, ("AllergyIntolerance",))
        if _allergy_applies(resource):
            allergies.append(allergy_fact(resource))

    return PatientContext(
        today=_evaluation_date(drafts, today),
        patient_id=patient_id,
        birth_date=parse_date(patient.get("birthDate")),
        sex=_sex(patient),
        weight_kg=_latest_weight(observations),
        conditions=tuple(conditions),
        medications=tuple(current),
        draft_orders=tuple(drafts),
        observations=tuple(observations),
        allergies=tuple(allergies),
        unavailable=frozenset(unavailable),
    )


def _is_relevant_observation(resource: dict[str, Any]) -> bool:
    codes = codes_of(resource.get("code"))
    return any(code.code in _RELEVANT_LOINC for code in codes)


def _statement_fact(
    resource: dict[str, Any], medications: MedicationIndex, location: str
) -> MedicationFact:
    """A MedicationStatement counts as a co-medication (interactions), never as the regimen."""
    codes = list(codes_of(resource.get("medicationCodeableConcept")))
    medication = medications.resolve(
        resource, (resource.get("medicationReference") or {}).get("reference")
    )
    if medication is not None:
        codes.extend(codes_of(medication.get("code")))
        for ingredient in medication.get("ingredient") or []:
            codes.extend(codes_of(ingredient.get("itemCodeableConcept")))
    status = str(resource.get("status") or "unknown")
    return MedicationFact(
        id=resource.get("id"),
        status=status,
        intent="statement",
        codes=tuple(codes),
        text=_text(resource.get("medicationCodeableConcept")),
        authored_on=parse_date(resource.get("dateAsserted")),
        is_draft=False,
    )


__all__ = ["InvalidFhir", "build_context"]
