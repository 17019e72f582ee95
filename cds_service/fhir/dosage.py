"""The Dosage lines of baclofen orders, read by the fields the dose arithmetic uses.

Drafts are validated completely (they are echoed back in suggestions: `fhir.drafts`), then
their lines read here, or from their `fhir.resources` model when only `fhir.resources` knows
them. The patient's current orders, like the rest of the prefetch, are checked for the fields
the rules read (`fhir.parsing.check_resource`), and their lines read here: a `fhir.resources`
Dosage model per line cost ~0.1 ms, 7 % of an evaluation. This reads the same elements into
plain frozen dataclasses with the attribute names and the Python types of those models
(Decimal numbers, `date`/`datetime` for full dates, the partial ones as text, `time`), so that
`clinical.dose` reads either; `tests/fhir/test_dosage.py` checks that every dosage of the
fixtures, and generated ones, give the same daily regimen both ways.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal as Number
from typing import Annotated, Any

import orjson
from pydantic import AfterValidator, TypeAdapter, ValidationError, with_config
from typing_extensions import TypedDict

from cds_service.fhir.parsing import (
    STRICT,
    Code,
    CodeableConcept,
    DateTime,
    Decimal,
    Integer,
    InvalidFhir,
    Period,
    PositiveInt,
    Quantity,
    Range,
    String,
    UnsignedInt,
    describe_error,
)

_TIME = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?$")


def _time(value: str) -> str:
    if _TIME.fullmatch(value) is None:
        raise ValueError("not a FHIR time (hh:mm:ss)")
    return value


Time = Annotated[str, AfterValidator(_time)]


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


class Timing(TypedDict, total=False):
    event: list[DateTime]
    repeat: Repeat
    code: CodeableConcept


class DoseAndRate(TypedDict, total=False):
    type: CodeableConcept
    doseRange: Range
    doseQuantity: Quantity


class Dosage(TypedDict, total=False):
    """The elements of a Dosage line the service knows (no config: see `fhir.parsing`)."""

    sequence: Integer
    text: String
    timing: Timing
    asNeededBoolean: bool
    asNeededCodeableConcept: CodeableConcept
    route: CodeableConcept
    doseAndRate: list[DoseAndRate]


@with_config(STRICT)
class _LeanDosage(Dosage):
    """A line on its own, as the lean checks read: strict, other elements not looked at."""


_CHECK = TypeAdapter(_LeanDosage)
_CHOICES = {
    "asNeeded[x]": ("asNeededBoolean", "asNeededCodeableConcept"),
    "bounds[x]": ("boundsDuration", "boundsRange", "boundsPeriod"),
    "dose[x]": ("doseRange", "doseQuantity"),
    "rate[x]": ("rateRatio", "rateRange", "rateQuantity"),
}


# --- the elements, as the dose arithmetic reads them ----------------------------------------


@dataclass(frozen=True)
class LeanCoding:
    system: str | None
    code: str | None
    display: str | None


@dataclass(frozen=True)
class LeanConcept:
    coding: list[LeanCoding] | None
    text: str | None


@dataclass(frozen=True)
class LeanQuantity:
    value: Number | None
    unit: str | None
    system: str | None
    code: str | None


@dataclass(frozen=True)
class LeanRange:
    low: LeanQuantity | None
    high: LeanQuantity | None


@dataclass(frozen=True)
class LeanPeriod:
    start: date | datetime | str | None
    end: date | datetime | str | None


@dataclass(frozen=True)
class LeanRepeat:
    boundsDuration: LeanQuantity | None
    boundsRange: LeanRange | None
    boundsPeriod: LeanPeriod | None
    count: int | None
    frequency: int | None
    frequencyMax: int | None
    period: Number | None
    periodUnit: str | None
    timeOfDay: list[time | str] | None
    when: list[str] | None


@dataclass(frozen=True)
class LeanTiming:
    repeat: LeanRepeat | None
    code: LeanConcept | None


@dataclass(frozen=True)
class LeanDoseAndRate:
    type: LeanConcept | None
    doseRange: LeanRange | None
    doseQuantity: LeanQuantity | None


@dataclass(frozen=True)
class LeanDosage:
    sequence: int | None
    timing: LeanTiming | None
    asNeededBoolean: bool | None
    asNeededCodeableConcept: LeanConcept | None
    route: LeanConcept | None
    doseAndRate: list[LeanDoseAndRate] | None


def read_dosage(data: Any, label: str, index: int) -> LeanDosage:
    """One `dosageInstruction` line, checked by the fields read; `InvalidFhir` names the field."""
    try:
        _CHECK.validate_python(data)
    except ValidationError as exc:
        error: dict[str, Any] = dict(exc.errors(include_url=False, include_input=False)[0])
        error["loc"] = ("dosageInstruction", index, *tuple(error.get("loc") or ()))
        raise InvalidFhir(label, describe_error(error)) from None
    problem = choice_problem(data)
    if problem is not None:
        raise InvalidFhir(label, f"dosageInstruction.{index}.{problem}")
    return lean_dosage(data)


def lean_dosage(data: dict[str, Any]) -> LeanDosage:
    """A line already checked (by `read_dosage`, or with its draft by `fhir.drafts`), as read."""
    timing = data.get("timing")
    return LeanDosage(
        sequence=data.get("sequence"),
        timing=None if timing is None else LeanTiming(_repeat(timing.get("repeat")), _concept(timing.get("code"))),
        asNeededBoolean=data.get("asNeededBoolean"),
        asNeededCodeableConcept=_concept(data.get("asNeededCodeableConcept")),
        route=_concept(data.get("route")),
        doseAndRate=None if data.get("doseAndRate") is None else [
            LeanDoseAndRate(_concept(entry.get("type")), _range(entry.get("doseRange")),
                            _quantity(entry.get("doseQuantity")))
            for entry in data["doseAndRate"]
        ],
    )


def choice_problem(data: dict[str, Any]) -> str | None:
    """Two values of one choice type (`dose[x]`...) in a line, its repeat or a doseAndRate."""
    repeat = (data.get("timing") or {}).get("repeat") or {}
    places: list[tuple[str, dict[str, Any]]] = [("", data), ("timing.repeat.", repeat)]
    places += [(f"doseAndRate.{i}.", entry) for i, entry in enumerate(data.get("doseAndRate") or [])]
    for prefix, element in places:
        for name, keys in _CHOICES.items():
            if sum(key in element for key in keys) > 1:
                return f"{prefix}{name}: only one of {', '.join(keys)} may be present"
    return None


def _concept(data: dict[str, Any] | None) -> LeanConcept | None:
    if data is None:
        return None
    codings = data.get("coding")
    return LeanConcept(
        None if codings is None else [LeanCoding(c.get("system"), c.get("code"), c.get("display")) for c in codings],
        data.get("text"),
    )


def _number(value: Any) -> Number | None:
    """As fhir_core reads a decimal: from its JSON text (0.1 is 0.1, not the binary float)."""
    return None if value is None else Number(value if isinstance(value, str) else repr(value))


def _quantity(data: dict[str, Any] | None) -> LeanQuantity | None:
    if data is None:
        return None
    return LeanQuantity(_number(data.get("value")), data.get("unit"), data.get("system"), data.get("code"))


def _range(data: dict[str, Any] | None) -> LeanRange | None:
    return None if data is None else LeanRange(_quantity(data.get("low")), _quantity(data.get("high")))


def _date_time(value: str | None) -> date | datetime | str | None:
    """A full date as a `date`, a date and time as a `datetime`, a partial one (YYYY, YYYY-MM)
    kept as text: what fhir_core gives."""
    if value is None or len(value) < 10:
        return value
    if len(value) == 10:
        return date.fromisoformat(value)
    try:
        return datetime.fromisoformat(value)
    except ValueError:  # a leap second (…:60) is valid FHIR; fhir_core keeps it as text too
        return value


def _time_of_day(value: str) -> time | str:
    try:
        return time.fromisoformat(value)
    except ValueError:  # 23:59:60, kept as text as fhir_core does
        return value


def _repeat(data: dict[str, Any] | None) -> LeanRepeat | None:
    if data is None:
        return None
    bounds = data.get("boundsPeriod")
    times = data.get("timeOfDay")
    return LeanRepeat(
        boundsDuration=_quantity(data.get("boundsDuration")),
        boundsRange=_range(data.get("boundsRange")),
        boundsPeriod=None if bounds is None else LeanPeriod(_date_time(bounds.get("start")),
                                                            _date_time(bounds.get("end"))),
        count=data.get("count"),
        frequency=data.get("frequency"),
        frequencyMax=data.get("frequencyMax"),
        period=_number(data.get("period")),
        periodUnit=data.get("periodUnit"),
        timeOfDay=None if times is None else [_time_of_day(value) for value in times],
        when=data.get("when"),
    )


def _memo_key(value: Any) -> bytes | None:
    """The JSON of a line as a memo key; None for what orjson cannot encode (not memoised)."""
    try:
        return orjson.dumps(value)
    except (orjson.JSONEncodeError, TypeError):
        return None


def read_dosages(resource: dict[str, Any], location: str,
                 memo: dict[bytes, LeanDosage] | None = None) -> tuple[LeanDosage, ...]:
    """The `dosageInstruction` of an order, read lean. `memo` (one per request): the lines
    already read, by their JSON; a history of renewals repeats the same line on every order."""
    dosages = resource.get("dosageInstruction")
    if dosages is None:
        return ()
    label = f"{location} ({resource.get('resourceType')}/{resource.get('id', '?')})"
    if not isinstance(dosages, list):
        raise InvalidFhir(label, "dosageInstruction: must be an array")
    lines = []
    for index, dosage in enumerate(dosages):
        key = _memo_key(dosage) if memo is not None else None
        if key is not None and memo is not None and key in memo:
            lines.append(memo[key])
            continue
        line = read_dosage(dosage, label, index)
        if key is not None and memo is not None:
            memo[key] = line
        lines.append(line)
    return tuple(lines)
