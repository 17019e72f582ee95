"""Validating FHIR R4 JSON, with errors that name the place.

An EHR integrator who sends an invalid resource gets a 400 saying which resource and which
field, e.g. `prefetch.conditions.entry[3].resource (Condition/c7): clinicalStatus: …`.

Two depths, because full `fhir.resources` validation costs 40-150 µs a resource (Python
validators in fhir_core) and a real record holds hundreds of resources:

* `parse_resource`: the complete `fhir.resources` (R4B) model: for the Medications whose
  strength the dose arithmetic reads, and for the draft orders that `fhir.drafts`' closed
  schema (complete too, and faster) does not know.
* `check_resource`: a lean pydantic-core schema of the elements the rules read from every other
  resource (codes, statuses, dates, values, references), with the FHIR primitive rules that
  fhir_core applies (regexes, real calendar dates, finite decimals, no nulls, required elements,
  one value of a choice type), about 100 times faster. Elements the rules never read are not
  checked, so an unknown or malformed element there no longer costs the clinician a 400.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection, Iterator
from datetime import date
from functools import cache
from typing import Annotated, Any, Required

from fhir.resources.R4B import get_fhir_model_class
from pydantic import (
    AfterValidator,
    ConfigDict,
    Field,
    PlainValidator,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    with_config,
)
from typing_extensions import TypedDict


class InvalidFhir(ValueError):
    """A FHIR payload that does not validate; `location` says where it is in the request."""

    def __init__(self, location: str, message: str) -> None:
        super().__init__(f"{location}: {message}")
        self.location = location
        self.message = message


@cache
def _model_class(resource_type: str) -> Any:
    return get_fhir_model_class(resource_type)


def describe_error(error: dict[str, Any]) -> str:
    where = ".".join(str(part) for part in error.get("loc", ()) if part != "__root__")
    message = str(error.get("msg", "invalid"))
    return f"{where}: {message}" if where else message


def parse_resource(data: Any, location: str, expected: Collection[str] | None = None) -> Any:
    """Validate one resource completely and return its `fhir.resources` model."""
    resource_type = _resource_type(data, location, expected)
    try:
        model_class = _model_class(resource_type)
    except (KeyError, ValueError, AttributeError, ImportError) as exc:
        raise InvalidFhir(location, f"unknown resourceType {resource_type!r}") from exc
    _check_contained(data, location)
    try:
        return model_class.model_validate(data)
    except ValidationError as exc:
        label = f"{location} ({resource_type}/{data.get('id', '?')})"
        errors = exc.errors(include_url=False, include_input=False)
        raise InvalidFhir(label, describe_error(dict(errors[0]))) from None
    except (ValueError, TypeError) as exc:  # validators of fhir.resources may raise these directly
        raise InvalidFhir(f"{location} ({resource_type})", str(exc)[:300]) from None
    except KeyError as exc:  # fhir.resources looks nested resource types up in its own table
        raise InvalidFhir(f"{location} ({resource_type})", f"unknown resource type {exc}"[:300]) from None
    except RecursionError:  # fhir_core validates nested elements recursively, in Python
        raise InvalidFhir(f"{location} ({resource_type})", TOO_DEEP) from None


def _check_contained(data: dict[str, Any], location: str) -> None:
    """Each contained resource names a FHIR resource type (fhir.resources would raise KeyError)."""
    contained = data.get("contained")
    if not isinstance(contained, list):
        return
    for index, item in enumerate(contained):
        if isinstance(item, dict):
            where = f"{location}.contained[{index}]"
            contained_type = _resource_type(item, where, None)
            try:
                _model_class(contained_type)
            except (KeyError, ValueError, AttributeError, ImportError):
                raise InvalidFhir(where, f"unknown resourceType {contained_type!r}") from None


MAX_DEPTH = 32
TOO_DEEP = f"nested deeper than {MAX_DEPTH} levels"


def check_depth(data: Any, location: str, limit: int = MAX_DEPTH) -> None:
    """Reject JSON nested deeper than `limit` (real FHIR resources stay under 15 levels).

    For resources echoed back in a suggestion (the draft orders): deep nesting would otherwise
    exhaust recursion in validation, copying or JSON encoding (orjson stops at 255 levels).
    """
    if not _within(data, limit - 1):
        raise InvalidFhir(location, TOO_DEEP)


def _within(value: Any, levels: int) -> bool:
    """Whether the containers inside `value` nest at most `levels` more levels (recursion
    bounded by `levels`, not by the input)."""
    children = value.values() if isinstance(value, dict) else value
    for child in children:
        if isinstance(child, dict | list) and (levels == 0 or not _within(child, levels - 1)):
            return False
    return True



# --- lean validation -----------------------------------------------------------------------
# The primitive types as fhir_core checks them (fhir_core/types.py), anchored.

_YEAR = r"([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)"
_TIME = r"T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|([+\-])((0[0-9]|1[0-3]):[0-5][0-9]|14:00))"
_DATE = rf"^{_YEAR}(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1]))?)?$"
_DATETIME = rf"^{_YEAR}(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1])({_TIME})?)?)?$"
_INSTANT = rf"^{_YEAR}-(0[1-9]|1[0-2])-(0[1-9]|[1-2][0-9]|3[0-1]){_TIME}$"
_DECIMAL = r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$"


def _temporal(kind: str, pattern: str, shape: str) -> Callable[[str], str]:
    """A validator of a FHIR date, dateTime or instant: its regex, then a real calendar date."""
    compiled = re.compile(pattern)

    def validate(value: str) -> str:
        if compiled.fullmatch(value) is None:
            raise ValueError(f"not a FHIR {kind} ({shape})")
        if len(value) >= 10:
            try:
                date(int(value[0:4]), int(value[5:7]), int(value[8:10]))
            except ValueError:
                raise ValueError(f"not a real date: {value[:10]}") from None
        return value

    return validate


def _decimal(value: Any) -> Any:
    """A FHIR decimal: a finite JSON number (fhir_core also accepts its string form)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError("not a FHIR decimal (a JSON number)")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("not a finite number")
    if isinstance(value, str) and _DECIMAL_STRING.fullmatch(value) is None:
        raise ValueError("not a FHIR decimal (a JSON number)")
    return value


_DECIMAL_STRING = re.compile(_DECIMAL)
String = Annotated[str, StringConstraints(min_length=1)]
Code = Annotated[str, StringConstraints(pattern=r"^[^\s]+(\s[^\s]+)*$")]
Uri = Annotated[str, StringConstraints(pattern=r"^\S*$")]
Id = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9\-.]+$")]
FhirDate = Annotated[str, AfterValidator(_temporal("date", _DATE, "YYYY, YYYY-MM or YYYY-MM-DD"))]
DateTime = Annotated[str, AfterValidator(_temporal("dateTime", _DATETIME,
                                                   "YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm:ss+zz:zz"))]
Instant = Annotated[str, AfterValidator(_temporal("instant", _INSTANT, "YYYY-MM-DDThh:mm:ss+zz:zz"))]
Decimal = Annotated[Any, PlainValidator(_decimal)]

Integer = Annotated[int, Field(ge=-(2**31), le=2**31 - 1)]  # FHIR's 32 bits, as fhir_core bounds them
PositiveInt = Annotated[int, Field(ge=1, le=2**31 - 1)]
UnsignedInt = Annotated[int, Field(ge=0, le=2**31 - 1)]

# The data types below carry no config of their own: they take the one of the resource that
# holds them (pydantic passes a TypedDict's config on to nested TypedDicts without one). The
# lean checks are strict and open (`STRICT`: elements the rules do not read are not looked at);
# the drafts' schema is strict and closed (`fhir.drafts`), over the same data types.
STRICT = ConfigDict(strict=True, allow_inf_nan=False)


class Coding(TypedDict, total=False):
    system: Uri
    version: String
    code: Code
    display: String
    userSelected: bool


class CodeableConcept(TypedDict, total=False):
    coding: list[Coding]
    text: String


class Reference(TypedDict, total=False):
    reference: String
    type: Uri
    display: String


class Quantity(TypedDict, total=False):
    value: Decimal
    comparator: Code
    unit: String
    system: Uri
    code: Code


class Range(TypedDict, total=False):
    low: Quantity
    high: Quantity


class Ratio(TypedDict, total=False):
    numerator: Quantity
    denominator: Quantity


class Period(TypedDict, total=False):
    start: DateTime
    end: DateTime


class TimingRepeat(TypedDict, total=False):
    boundsPeriod: Period


class Timing(TypedDict, total=False):
    repeat: TimingRepeat


class DosageRead(TypedDict, total=False):
    """What the lean path reads of a Dosage: the route and the end of its bounds."""

    route: CodeableConcept
    timing: Timing


class DispenseRequest(TypedDict, total=False):
    validityPeriod: Period


@with_config(STRICT)
class PatientRead(TypedDict, total=False):
    id: Id
    gender: Code
    birthDate: FhirDate


@with_config(STRICT)
class ConditionRead(TypedDict, total=False):
    id: Id
    clinicalStatus: CodeableConcept
    verificationStatus: CodeableConcept
    code: CodeableConcept
    subject: Required[Reference]
    onsetDateTime: DateTime
    recordedDate: DateTime
    abatementDateTime: DateTime
    abatementAge: Quantity
    abatementPeriod: Period
    abatementRange: Range
    abatementString: String


@with_config(STRICT)
class ObservationRead(TypedDict, total=False):
    id: Id
    status: Required[Code]
    code: Required[CodeableConcept]
    effectiveDateTime: DateTime
    effectivePeriod: Period
    effectiveInstant: Instant
    issued: Instant
    valueQuantity: Quantity
    valueCodeableConcept: CodeableConcept
    valueString: String
    valueBoolean: bool


class AllergyReaction(TypedDict, total=False):
    substance: CodeableConcept
    manifestation: Required[list[CodeableConcept]]


@with_config(STRICT)
class AllergyIntoleranceRead(TypedDict, total=False):
    id: Id
    clinicalStatus: CodeableConcept
    verificationStatus: CodeableConcept
    code: CodeableConcept
    patient: Required[Reference]
    reaction: list[AllergyReaction]


@with_config(STRICT)
class MedicationRequestRead(TypedDict, total=False):
    id: Id
    status: Required[Code]
    intent: Required[Code]
    subject: Required[Reference]
    medicationCodeableConcept: CodeableConcept
    medicationReference: Reference
    authoredOn: DateTime
    reasonCode: list[CodeableConcept]
    reasonReference: list[Reference]
    dosageInstruction: list[DosageRead]
    dispenseRequest: DispenseRequest


@with_config(STRICT)
class MedicationStatementRead(TypedDict, total=False):
    id: Id
    status: Required[Code]
    subject: Required[Reference]
    medicationCodeableConcept: CodeableConcept
    medicationReference: Reference
    dateAsserted: DateTime


class MedicationIngredient(TypedDict, total=False):
    itemCodeableConcept: CodeableConcept
    itemReference: Reference
    strength: Ratio


@with_config(STRICT)
class MedicationRead(TypedDict, total=False):
    id: Id
    code: CodeableConcept
    ingredient: list[MedicationIngredient]


_LEAN: dict[str, TypeAdapter[Any]] = {
    "Patient": TypeAdapter(PatientRead),
    "Condition": TypeAdapter(ConditionRead),
    "Observation": TypeAdapter(ObservationRead),
    "AllergyIntolerance": TypeAdapter(AllergyIntoleranceRead),
    "MedicationRequest": TypeAdapter(MedicationRequestRead),
    "MedicationStatement": TypeAdapter(MedicationStatementRead),
    "Medication": TypeAdapter(MedicationRead),
}

# Choice types (`value[x]`): at most one of them, or exactly one when the element is required.
_CHOICES: dict[str, dict[str, tuple[str, ...]]] = {
    "Condition": {
        "onset[x]": ("onsetDateTime", "onsetAge", "onsetPeriod", "onsetRange", "onsetString"),
        "abatement[x]": ("abatementDateTime", "abatementAge", "abatementPeriod", "abatementRange", "abatementString"),
    },
    "Observation": {
        "effective[x]": ("effectiveDateTime", "effectivePeriod", "effectiveTiming", "effectiveInstant"),
        "value[x]": ("valueQuantity", "valueCodeableConcept", "valueString", "valueBoolean", "valueInteger",
                     "valueRange", "valueRatio", "valueSampledData", "valueTime", "valueDateTime", "valuePeriod"),
    },
    "MedicationRequest": {"medication[x]": ("medicationCodeableConcept", "medicationReference")},
    "MedicationStatement": {"medication[x]": ("medicationCodeableConcept", "medicationReference")},
}
_REQUIRED_CHOICES: dict[str, tuple[str, ...]] = {
    "MedicationRequest": ("medication[x]",),
    "MedicationStatement": ("medication[x]",),
}
_CHOICE_OF: dict[str, dict[str, str]] = {
    resource_type: {key: name for name, keys in choices.items() for key in keys}
    for resource_type, choices in _CHOICES.items()
}


def choice_problem(data: dict[str, Any], resource_type: str) -> str | None:
    """One pass over the resource's keys (this runs for every resource of a large record)."""
    choice_of = _CHOICE_OF.get(resource_type)
    if choice_of is None:
        return None
    seen: set[str] = set()
    for key in data:
        name = choice_of.get(key)
        if name is not None:
            if name in seen:
                return f"{name}: only one of {', '.join(_CHOICES[resource_type][name])} may be present"
            seen.add(name)
    for name in _REQUIRED_CHOICES.get(resource_type, ()):
        if name not in seen:
            return f"{name}: Field required"
    return None


def check_resource(data: Any, location: str, expected: Collection[str]) -> None:
    """Validate the elements the rules read of one resource (lean); raises `InvalidFhir` naming the field."""
    resource_type = _resource_type(data, location, expected)
    adapter = _LEAN.get(resource_type)
    if adapter is None:  # a type the lean path does not know: validate it completely
        parse_resource(data, location, expected)
        return
    label = f"{location} ({resource_type}/{data.get('id', '?')})"
    try:
        adapter.validate_python(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False)
        raise InvalidFhir(label, describe_error(dict(errors[0]))) from None
    problem = choice_problem(data, resource_type)
    if problem is not None:
        raise InvalidFhir(label, problem)


def _resource_type(data: Any, location: str, expected: Collection[str] | None) -> str:
    if not isinstance(data, dict):
        raise InvalidFhir(location, "expected a FHIR resource (JSON object)")
    resource_type = data.get("resourceType")
    if not isinstance(resource_type, str):
        raise InvalidFhir(location, "resourceType is missing")
    if expected is not None and resource_type not in expected:
        raise InvalidFhir(location, f"expected {' or '.join(sorted(expected))}, got {resource_type}")
    return resource_type


def bundle_entries(data: Any, location: str) -> Iterator[tuple[dict[str, Any], str]]:
    """The resources of a Bundle with their locations; the Bundle's own shape is checked."""
    if data is None:
        return
    if not isinstance(data, dict):
        raise InvalidFhir(location, "expected a FHIR Bundle (JSON object)")
    if data.get("resourceType") != "Bundle":
        raise InvalidFhir(location, f"expected a Bundle, got {data.get('resourceType')!r}")
    entries = data.get("entry") or []
    if not isinstance(entries, list):
        raise InvalidFhir(f"{location}.entry", "must be an array")
    for index, entry in enumerate(entries):
        where = f"{location}.entry[{index}]"
        if not isinstance(entry, dict):
            raise InvalidFhir(where, "must be an object")
        resource = entry.get("resource")
        if resource is None:
            continue
        if not isinstance(resource, dict):
            raise InvalidFhir(f"{where}.resource", "must be a FHIR resource")
        search = entry.get("search")
        if isinstance(search, dict) and search.get("mode") == "outcome":
            continue
        yield resource, f"{where}.resource"


def parse_date(value: Any) -> date | None:
    """A FHIR date or dateTime (possibly partial) as a date; None when absent or unreadable."""
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or len(value) < 4:
        return None
    try:
        year = int(value[0:4])
        month = int(value[5:7]) if len(value) >= 7 else 1
        day = int(value[8:10]) if len(value) >= 10 else 1
        return date(year, month, day)
    except ValueError:
        return None
