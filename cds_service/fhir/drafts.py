"""The draft orders' fast complete check: a closed schema of the MedicationRequest as EHRs sign it.

A draft is validated completely (it is echoed back in the `update` suggestion). `fhir.resources`
does that in ~0.3 ms a draft, most of it fhir_core's Python validators running once per nested
element: the largest single cost of an evaluation. This is a closed pydantic-core schema of the
elements drafts carry (no element outside it, no null, strict JSON types, FHIR primitive rules,
one value per choice type, the required elements) that is *at least as strict* as
`fhir.resources` on everything it accepts; it runs in a few tens of µs.

What it does not accept is not refused here: an element it does not list (an extension, `meta`,
`contained`, a `_status` primitive extension...) or a value it is stricter about goes to
`fhir.resources`, which accepts or refuses it and words the error exactly as before. So the
answer to any draft is the one `fhir.resources` gives; only its cost changes.
`tests/fhir/test_drafts.py` mutates every fixture draft, element by element, and requires that
every draft accepted here is accepted by `fhir.resources` and read to the same dose.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Required

from pydantic import ConfigDict, Field, StringConstraints, TypeAdapter, ValidationError, with_config
from typing_extensions import TypedDict

from cds_service.fhir.dosage import Time
from cds_service.fhir.parsing import Code, DateTime, Decimal, String, Uri, choice_problem

CLOSED = ConfigDict(strict=True, allow_inf_nan=False, extra="forbid")

# Stricter than fhir_core where it is lenient: an id of FHIR's 64 characters (fhir_core allows
# 255), integers within FHIR's 32 bits.
Id = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9\-.]{1,64}$")]
Integer = Annotated[int, Field(ge=-(2**31), le=2**31 - 1)]
PositiveInt = Annotated[int, Field(ge=1, le=2**31 - 1)]
UnsignedInt = Annotated[int, Field(ge=0, le=2**31 - 1)]


@with_config(CLOSED)
class Coding(TypedDict, total=False):
    system: Uri
    version: String
    code: Code
    display: String
    userSelected: bool


@with_config(CLOSED)
class CodeableConcept(TypedDict, total=False):
    coding: list[Coding]
    text: String


@with_config(CLOSED)
class Reference(TypedDict, total=False):
    reference: String
    type: Uri
    display: String


@with_config(CLOSED)
class Quantity(TypedDict, total=False):
    value: Decimal
    comparator: Code
    unit: String
    system: Uri
    code: Code


@with_config(CLOSED)
class Range(TypedDict, total=False):
    low: Quantity
    high: Quantity


@with_config(CLOSED)
class Period(TypedDict, total=False):
    start: DateTime
    end: DateTime


@with_config(CLOSED)
class Repeat(TypedDict, total=False):
    boundsDuration: Quantity
    boundsRange: Range
    boundsPeriod: Period
    count: PositiveInt
    countMax: PositiveInt
    duration: Decimal
    durationMax: Decimal
    durationUnit: Code
    frequency: PositiveInt
    frequencyMax: PositiveInt
    period: Decimal
    periodMax: Decimal
    periodUnit: Code
    dayOfWeek: list[Code]
    timeOfDay: list[Time]
    when: list[Code]
    offset: UnsignedInt


@with_config(CLOSED)
class Timing(TypedDict, total=False):
    event: list[DateTime]
    repeat: Repeat
    code: CodeableConcept


@with_config(CLOSED)
class DoseAndRate(TypedDict, total=False):
    type: CodeableConcept
    doseRange: Range
    doseQuantity: Quantity


@with_config(CLOSED)
class Dosage(TypedDict, total=False):
    sequence: Integer
    text: String
    timing: Timing
    asNeededBoolean: bool
    asNeededCodeableConcept: CodeableConcept
    route: CodeableConcept
    doseAndRate: list[DoseAndRate]


@with_config(CLOSED)
class DispenseRequest(TypedDict, total=False):
    validityPeriod: Period
    numberOfRepeatsAllowed: UnsignedInt
    quantity: Quantity
    expectedSupplyDuration: Quantity


@with_config(CLOSED)
class MedicationRequest(TypedDict, total=False):
    resourceType: Required[Literal["MedicationRequest"]]
    id: Id
    status: Required[Code]
    intent: Required[Code]
    category: list[CodeableConcept]
    priority: Code
    subject: Required[Reference]
    encounter: Reference
    requester: Reference
    authoredOn: DateTime
    medicationCodeableConcept: CodeableConcept
    medicationReference: Reference
    reasonCode: list[CodeableConcept]
    reasonReference: list[Reference]
    dosageInstruction: list[Dosage]
    dispenseRequest: DispenseRequest


_CHECK = TypeAdapter(MedicationRequest)
_DOSAGE_CHOICES = (
    ("asNeededBoolean", "asNeededCodeableConcept"),
    ("boundsDuration", "boundsRange", "boundsPeriod"),
    ("doseRange", "doseQuantity"),
)


def _one_per_choice(element: dict[str, Any]) -> bool:
    return all(sum(key in element for key in keys) <= 1 for keys in _DOSAGE_CHOICES)


def closed_check(draft: dict[str, Any]) -> bool:
    """Whether the draft is a complete, valid MedicationRequest within the closed schema.
    False does not mean invalid: `fhir.resources` decides then."""
    try:
        _CHECK.validate_python(draft)
    except ValidationError:
        return False
    if choice_problem(draft, "MedicationRequest") is not None:
        return False
    for dosage in draft.get("dosageInstruction") or ():
        places = [dosage, ((dosage.get("timing") or {}).get("repeat") or {}), *(dosage.get("doseAndRate") or ())]
        if not all(_one_per_choice(place) for place in places):
            return False
    return True
