"""From validated FHIR JSON to the `PatientContext` the rules read.

Every resource that the rules use is validated first (`parsing`), then reduced to plain facts.
The draft orders are validated completely (they are echoed back in suggestions): by the closed
schema of `fhir.drafts`, else by their `fhir.resources` model. Every other resource (current
orders, conditions, observations, allergies, co-medications: hundreds in a long record) gets
the lean check of the elements the rules read, and the dosage lines of current baclofen orders
are read lean too (`fhir.dosage`).
Observations with codes the rules never read are skipped unparsed: validating a thousand
irrelevant vitals would only slow the clinician's click.
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
from cds_service.fhir.dosage import LeanDosage, lean_dosage, read_dosages
from cds_service.fhir.drafts import closed_check
from cds_service.fhir.parsing import (
    InvalidFhir,
    bundle_entries,
    check_depth,
    check_resource,
    parse_date,
    parse_resource,
)
from cds_service.fhir.prefetch import OBSERVATION_CODES

_INACTIVE_CONDITION = {"inactive", "remission", "resolved"}
_REFUTED = {"refuted", "entered-in-error"}
_USABLE_OBSERVATION = {"final", "amended", "corrected"}
_WEIGHT_LOINC = "29463-7"
_RELEVANT_LOINC = frozenset(OBSERVATION_CODES)


_CODES: dict[tuple[str, str, str | None], Code] = {}
_CODES_MAX = 8192


def _code(system: str, code: str, display: str | None) -> Code:
    """One shared `Code` per distinct coding (they are immutable): a lab series or a renewed
    prescription repeats the same codings hundreds of times."""
    key = (system, code, display)
    found = _CODES.get(key)
    if found is None:
        if len(_CODES) >= _CODES_MAX:
            _CODES.clear()
        found = _CODES[key] = Code(system=system, code=code, display=display)
    return found


def codes_of(concept: Any) -> tuple[Code, ...]:
    """The codings of a CodeableConcept (JSON), trimmed; never fails on odd input."""
    if not isinstance(concept, dict):
        return ()
    codings = concept.get("coding")
    if not isinstance(codings, list):
        return ()
    found = []
    for coding in codings:
        if isinstance(coding, dict) and isinstance(coding.get("code"), str):
            display = coding.get("display")
            found.append(_code(str(coding.get("system") or ""), coding["code"].strip(),
                               display if isinstance(display, str) else None))
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
        refuted=verification in _REFUTED,
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
        check_resource(resource, location, ("Medication",))
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
    dosages: tuple[Any, ...] | None = None,
) -> MedicationFact:
    """The fact of a MedicationRequest, with its dosages from `model` (its `fhir.resources`
    model) or `dosages` (lean Dosage lines, `fhir.dosage`). With neither (a co-medication,
    checked lean), the dosages and the strength of its Medication are left out: only codes and
    dates are read."""
    with_dose = model is not None or dosages is not None
    codes = list(codes_of(resource.get("medicationCodeableConcept")))
    text = _text(resource.get("medicationCodeableConcept"))
    strength: float | None = None
    reference = (resource.get("medicationReference") or {}).get("reference")
    medication = medications.resolve(resource, reference)
    if medication is not None:
        where = f"{location}.medicationReference"
        if with_dose:
            medication_model = parse_resource(medication, where, ("Medication",))
            strength = medication_logic.strength_from_medication_resource(medication_model)
        else:
            check_resource(medication, where, ("Medication",))
        codes.extend(codes_of(medication.get("code")))
        text = text or _text(medication.get("code"))
        for ingredient in medication.get("ingredient") or []:
            codes.extend(codes_of(ingredient.get("itemCodeableConcept")))
    text = text or (resource.get("medicationReference") or {}).get("display")
    if dosages is None:
        dosages = tuple(model.dosageInstruction or ()) if model is not None else ()
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
    value = latest.value or 0.0
    return value * 0.45359237 if latest.unit in ("[lb_av]", "lb") else value


def _repeated_draft(
    resource: dict[str, Any], where: str, seen: dict[tuple[str, str], tuple[dict[str, Any], str]]
) -> bool:
    """True for a second identical copy of a draft (skipped); a different draft under the same
    id is ambiguous (which one is signed?) and rejected."""
    rid = resource.get("id")
    if not isinstance(rid, str):
        return False
    key = (str(resource.get("resourceType")), rid)
    if key not in seen:
        seen[key] = (resource, where)
        return False
    first, first_where = seen[key]
    if first == resource:
        return True
    raise InvalidFhir(where, f"a different draft order with the same id {key[0]}/{rid} as {first_where}")


_YEARS = (1900, 2200)


def _check_evaluation_year(draft: MedicationFact, where: str) -> None:
    """The draft's authoredOn becomes the evaluation date, from which the rules count days."""
    if draft.authored_on is not None and not _YEARS[0] <= draft.authored_on.year <= _YEARS[1]:
        raise InvalidFhir(where, f"authoredOn: year outside {_YEARS[0]}-{_YEARS[1]}")


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
        check_resource(patient, "prefetch.patient", ("Patient",))
    patient = patient or {}

    medications = MedicationIndex()
    conditions: list[ConditionFact] = []
    for resource, where in bundle_entries(data.get("conditions"), "prefetch.conditions"):
        check_resource(resource, where, ("Condition",))
        conditions.append(condition_fact(resource))
    conditions_by_id = {c.id: c for c in conditions if c.id}

    med_resources: list[tuple[dict[str, Any], str]] = []
    for resource, where in bundle_entries(data.get("medications"), "prefetch.medications"):
        if resource.get("resourceType") == "Medication":
            medications.add(resource, where)
        else:
            med_resources.append((resource, where))
    statements: list[tuple[dict[str, Any], str]] = []
    for resource, where in bundle_entries(data.get("medicationStatements"), "prefetch.medicationStatements"):
        if resource.get("resourceType") == "Medication":
            medications.add(resource, where)
        else:
            check_resource(resource, where, ("MedicationStatement",))
            statements.append((resource, where))

    draft_resources: list[tuple[dict[str, Any], str]] = []
    for resource, where in bundle_entries(draft_orders, "context.draftOrders"):
        if resource.get("resourceType") == "Medication":
            medications.add(resource, where)
        else:
            draft_resources.append((resource, where))

    drafts: list[MedicationFact] = []
    draft_ids: set[str] = set()
    seen: dict[tuple[str, str], tuple[dict[str, Any], str]] = {}
    for resource, where in draft_resources:
        if _repeated_draft(resource, where, seen):
            continue
        check_depth(resource, where)  # a draft is echoed back in the `update` suggestion
        # Validated completely: by the closed schema when it knows every element, else (and for
        # the error's wording) by fhir.resources, whose model then gives the dosage lines.
        model = None if closed_check(resource) else parse_resource(resource, where)
        if resource["resourceType"] == "MedicationRequest":
            lines = None if model is not None else tuple(
                lean_dosage(line) for line in resource.get("dosageInstruction") or ())
            fact = medication_fact(resource, model, medications, conditions_by_id, where, dosages=lines)
            _check_evaluation_year(fact, where)
            drafts.append(fact)
            if fact.id:
                draft_ids.add(fact.id)

    current: list[MedicationFact] = []
    baclofen = medication_logic.BaclofenMemo()
    dosage_memo: dict[bytes, LeanDosage] = {}
    for resource, where in med_resources:
        check_resource(resource, where, ("MedicationRequest", "MedicationStatement"))
        if resource["resourceType"] == "MedicationStatement":
            current.append(_statement_fact(resource, medications, where))
            continue
        if resource.get("id") in draft_ids or resource.get("status") == "draft":
            continue
        fact = medication_fact(resource, None, medications, conditions_by_id, where)
        if baclofen(fact):  # a possible current regimen: the dose arithmetic reads its dosage lines
            fact = medication_fact(resource, None, medications, conditions_by_id, where,
                                   dosages=read_dosages(resource, where, dosage_memo))
        current.append(fact)
    current.extend(_statement_fact(resource, medications, where) for resource, where in statements)

    observations: list[ObservationFact] = []
    for resource, where in bundle_entries(data.get("observations"), "prefetch.observations"):
        if not _is_relevant_observation(resource):
            continue
        check_resource(resource, where, ("Observation",))
        if resource.get("status") in _USABLE_OBSERVATION:
            observations.append(observation_fact(resource))

    allergies: list[AllergyFact] = []
    for resource, where in bundle_entries(data.get("allergies"), "prefetch.allergies"):
        check_resource(resource, where, ("AllergyIntolerance",))
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
    """Whether a coding carries a LOINC code the rules read (on raw JSON: most are skipped)."""
    concept = resource.get("code")
    if not isinstance(concept, dict):
        return False
    codings = concept.get("coding")
    if not isinstance(codings, list):
        return False
    for coding in codings:
        if isinstance(coding, dict):
            code = coding.get("code")
            if isinstance(code, str) and code.strip() in _RELEVANT_LOINC:
                return True
    return False


def _statement_fact(
    resource: dict[str, Any], medications: MedicationIndex, location: str
) -> MedicationFact:
    """A MedicationStatement counts as a co-medication (interactions), never as the regimen: it
    records what the patient says or was seen taking, without the prescriber's dosage and dates
    that the titration rules compare (see docs/integrator-guide.md)."""
    codes = list(codes_of(resource.get("medicationCodeableConcept")))
    text = _text(resource.get("medicationCodeableConcept"))
    medication = medications.resolve(
        resource, (resource.get("medicationReference") or {}).get("reference")
    )
    if medication is not None:
        check_resource(medication, f"{location}.medicationReference", ("Medication",))
        codes.extend(codes_of(medication.get("code")))
        text = text or _text(medication.get("code"))
        for ingredient in medication.get("ingredient") or []:
            codes.extend(codes_of(ingredient.get("itemCodeableConcept")))
    text = text or (resource.get("medicationReference") or {}).get("display")
    status = str(resource.get("status") or "unknown")
    return MedicationFact(
        id=resource.get("id"),
        status=status,
        intent="statement",
        codes=tuple(codes),
        text=text if isinstance(text, str) else None,
        authored_on=parse_date(resource.get("dateAsserted")),
        is_draft=False,
    )


__all__ = ["InvalidFhir", "build_context"]
