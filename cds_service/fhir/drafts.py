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

from pydantic import ConfigDict, StringConstraints, TypeAdapter, ValidationError, with_config
from typing_extensions import TypedDict

from cds_service.fhir import dosage
from cds_service.fhir.parsing import (
    Code,
    CodeableConcept,
    DateTime,
    Period,
    Quantity,
    Reference,
    UnsignedInt,
    choice_problem,
)

# Closed: no element outside the schema, down to the last data type (they take this config).
CLOSED = ConfigDict(strict=True, allow_inf_nan=False, extra="forbid")

# Stricter than fhir_core, which allows 255 characters: FHIR's 64.
Id = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9\-.]{1,64}$")]


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
    dosageInstruction: list[dosage.Dosage]
    dispenseRequest: DispenseRequest


_CHECK = TypeAdapter(MedicationRequest)


def closed_check(draft: dict[str, Any]) -> bool:
    """Whether the draft is a complete, valid MedicationRequest within the closed schema.
    False does not mean invalid: `fhir.resources` decides then."""
    try:
        _CHECK.validate_python(draft)
    except ValidationError:
        return False
    if choice_problem(draft, "MedicationRequest") is not None:
        return False
    return all(dosage.choice_problem(line) is None for line in draft.get("dosageInstruction") or ())
