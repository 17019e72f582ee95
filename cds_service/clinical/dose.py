"""The daily dose of a baclofen order, step by step (spec "Daily dose").

Every `dosageInstruction` counts. Lines that share a `sequence` (or have none) and the same
`timing.repeat.boundsPeriod` are taken together and summed into one step; other sequences or
other bounds are successive steps of a schedule (a titration written as one order). Where
FHIR allows a range (`frequencyMax`, `doseRange`, `periodMax`) the reading that gives the
higher dose is taken. Anything that cannot be read with confidence raises `DoseUnknown`, so
that the rules warn (`dose-unknown`) instead of checking a guessed dose. Arithmetic is exact
(`Fraction`: every 8 h is exactly 3 a day) and results are rounded to 0.01 mg, so 3 × 3.33 mg
is 9.99 mg, not 9.990000000000002.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

from cds_service.clinical.context import MedicationFact
from cds_service.clinical.medication import Strength, product_strength, quantity_kind

MAX_MG_PER_DAY = Fraction(10_000)  # above 10 g/day a value is an entry error, not a dose
MAX_INTAKES_PER_DAY = 24  # Q1H; more is an entry error for an oral drug
_CENT = Decimal("0.01")

GTS_SYSTEMS = frozenset({
    "http://terminology.hl7.org/CodeSystem/v3-GTSAbbreviation",
    "urn:oid:2.16.840.1.113883.5.1022",
    "http://hl7.org/fhir/v3/GTSAbbreviation",
})

# Days per UCUM unit of time (FHIR periodUnit / Duration); a month and a year are averages.
_UNIT_DAYS: Mapping[str, Fraction] = {
    "s": Fraction(1, 86400), "min": Fraction(1, 1440), "h": Fraction(1, 24),
    "d": Fraction(1), "wk": Fraction(7), "mo": Fraction(30), "a": Fraction(365),
}
_UNIT_WORDS: Mapping[str, str] = {
    "second": "s", "sec": "s", "minute": "min", "hour": "h", "hr": "h", "heure": "h",
    "day": "d", "jour": "d", "j": "d", "week": "wk", "semaine": "wk", "sem": "wk",
    "month": "mo", "mois": "mo", "year": "a", "an": "a", "annee": "a", "y": "a",
}

# Approximate clock time (minutes after midnight) of each FHIR EventTiming code, used only to
# put the intakes of a day in order; every code has its own minute so none is merged away.
_EVENT_MINUTES: Mapping[str, int] = {
    "WAKE": 390, "MORN.early": 420, "ACM": 460, "MORN": 480, "CM": 490, "PCM": 520,
    "MORN.late": 600, "ACD": 700, "NOON": 720, "CD": 730, "PCD": 760, "AFT.early": 810,
    "AFT": 900, "AFT.late": 990, "EVE.early": 1050, "ACV": 1120, "EVE": 1140, "CV": 1150,
    "PCV": 1180, "EVE.late": 1230, "NIGHT": 1320, "PHS": 1350, "HS": 1380,
}
# "At / before / after a meal" without saying which: read as each of the three meals, the
# conservative reading (more intakes, higher daily dose).
_MEALS: Mapping[str, tuple[str, ...]] = {
    "C": ("CM", "CD", "CV"), "AC": ("ACM", "ACD", "ACV"), "PC": ("PCM", "PCD", "PCV"),
}

_Slots = tuple[int | None, ...]
_StrengthOf = Callable[[], Strength | None]  # looked up only when a dose needs it
# v3 GTSAbbreviation (FHIR timing-abbreviation value set) plus the common Q12H.
_TIMING_CODES: Mapping[str, tuple[Fraction, _Slots | None]] = {
    "QD": (Fraction(1), (None,)), "AM": (Fraction(1), (480,)), "PM": (Fraction(1), (1080,)),
    "BED": (Fraction(1), (1380,)), "BID": (Fraction(2), (None,) * 2),
    "TID": (Fraction(3), (None,) * 3), "QID": (Fraction(4), (None,) * 4),
    "Q1H": (Fraction(24), (None,) * 24), "Q2H": (Fraction(12), (None,) * 12),
    "Q3H": (Fraction(8), (None,) * 8), "Q4H": (Fraction(6), (None,) * 6),
    "Q6H": (Fraction(4), (None,) * 4), "Q8H": (Fraction(3), (None,) * 3),
    "Q12H": (Fraction(2), (None,) * 2), "QOD": (Fraction(1, 2), None),
    "WK": (Fraction(1, 7), None), "MO": (Fraction(1, 30), None),
}


class DoseUnknown(Exception):
    """The daily dose can't be computed; `reason` says why in one short English sentence."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class DoseStep:
    """One period of constant daily dose.

    `end` is exclusive: the step covers `start <= day < end` (a boundsPeriod ending on
    3 March, which FHIR reads as including that day, gives `end` = 4 March). `None` means
    unknown or open. `intake_mg` lists each intake of a day, in clock order when the timing
    says when (`when`, `timeOfDay`), else from the smallest dose; it is empty, and
    `intakes_per_day` None, when the timing gives no whole count per day (e.g. weekly).
    """

    mg_per_day: float
    intakes_per_day: int | None
    intake_mg: tuple[float, ...]
    start: date | None
    end: date | None
    sequence: int | None

    def covers(self, day: date) -> bool:
        """Whether `day` falls in this step (open ends included)."""
        return (self.start is None or self.start <= day) and (self.end is None or day < self.end)


@dataclass(frozen=True)
class Regimen:
    """The steps of an order's dosage, in chronological order (never empty)."""

    steps: tuple[DoseStep, ...]

    def __post_init__(self) -> None:
        if not self.steps:
            raise ValueError("a regimen has at least one step")

    @property
    def first(self) -> DoseStep:
        return self.steps[0]

    @property
    def last(self) -> DoseStep:
        return self.steps[-1]

    @property
    def is_schedule(self) -> bool:
        """Whether the order holds several successive doses (checked step by step)."""
        return len(self.steps) > 1

    @property
    def max_mg_per_day(self) -> float:
        return max(step.mg_per_day for step in self.steps)

    def step_on(self, day: date) -> DoseStep | None:
        """The step in force on `day`, if any."""
        return next((step for step in self.steps if step.covers(day)), None)


@dataclass(frozen=True)
class _Schedule:
    per_day: Fraction
    slots: _Slots | None  # clock minute of each intake, when the count per day is whole


@dataclass(frozen=True)
class _Line:
    sequence: int | None
    start: date | None
    end: date | None
    length_days: int | None
    mg_per_day: Fraction
    intakes: tuple[tuple[int | None, Fraction], ...] | None


def regimen_of(order: MedicationFact, *, start: date | None = None) -> Regimen:
    """The order's regimen; the first step without a start begins at `start` or `authoredOn`.

    Raises only `DoseUnknown`: odd input of any shape becomes a reason, never a crash, since
    a dose we can't read must end as a `dose-unknown` warning, not a failed hook call.
    """
    try:
        return _regimen(order, start if start is not None else order.authored_on)
    except DoseUnknown:
        raise
    except Exception as exc:
        raise DoseUnknown(f"The dosage could not be read ({type(exc).__name__}).") from exc


def _regimen(order: MedicationFact, start: date | None) -> Regimen:
    if not order.dosages:
        raise DoseUnknown("The order has no dosage instructions.")
    strength_cache: list[Strength | None] = []

    def strength() -> Strength | None:
        if not strength_cache:
            strength_cache.append(product_strength(order))
        return strength_cache[0]

    groups: dict[tuple[int | None, date | None, date | None], list[_Line]] = {}
    for dosage in order.dosages:
        line = _line(dosage, strength)
        groups.setdefault((line.sequence, line.start, line.end), []).append(line)
    ordered = sorted(
        groups.items(),
        key=lambda item: (
            item[0][0] is None, item[0][0] or 0, item[0][1] is None, item[0][1] or date.min,
        ),
    )
    return Regimen(tuple(_chain([_step(key, lines) for key, lines in ordered], start)))


def _step(
    key: tuple[int | None, date | None, date | None], lines: list[_Line]
) -> tuple[DoseStep, int | None]:
    mg_per_day = sum((line.mg_per_day for line in lines), Fraction(0))
    if mg_per_day > MAX_MG_PER_DAY:
        raise DoseUnknown("The daily dose is above 10 g, which can only be an entry error.")
    if _round(mg_per_day) == 0:
        raise DoseUnknown("The daily dose is below 0.01 mg, which can only be an entry error.")
    intakes = _merge_intakes(lines)
    lengths = [line.length_days for line in lines if line.length_days is not None]
    step = DoseStep(
        mg_per_day=_round(mg_per_day),
        intakes_per_day=len(intakes) if intakes is not None else None,
        intake_mg=tuple(_round(mg) for _, mg in intakes) if intakes is not None else (),
        start=key[1],
        end=key[2],
        sequence=key[0],
    )
    return step, max(lengths) if lengths else None


def _merge_intakes(lines: list[_Line]) -> list[tuple[int | None, Fraction]] | None:
    """Intakes of a day across lines; two lines at the same clock time are one intake."""
    if any(line.intakes is None for line in lines):
        return None
    timed: dict[int, Fraction] = {}
    untimed: list[tuple[int | None, Fraction]] = []
    for line in lines:
        for minute, mg in line.intakes or ():
            if minute is None:
                untimed.append((None, mg))
            else:
                timed[minute] = timed.get(minute, Fraction(0)) + mg
    if len(timed) + len(untimed) > MAX_INTAKES_PER_DAY:
        raise DoseUnknown("More than 24 intakes a day, which can only be an entry error.")
    merged: list[tuple[int | None, Fraction]] = [(m, mg) for m, mg in sorted(timed.items())]
    if untimed:
        return sorted(merged + untimed, key=lambda intake: intake[1])
    return merged


def _chain(steps: list[tuple[DoseStep, int | None]], start: date | None) -> list[DoseStep]:
    """Give each step its dates: a step without a start begins when the previous one ends."""
    dated: list[DoseStep] = []
    cursor = start
    for step, length in steps:
        begin = step.start or cursor
        end = step.end
        if end is None and begin is not None and length is not None:
            end = begin + timedelta(days=length)
        dated.append(replace(step, start=begin, end=end))
        cursor = end
    for index, step in enumerate(dated[:-1]):
        following = dated[index + 1].start
        if step.end is None and following is not None and (step.start or date.min) < following:
            dated[index] = replace(step, end=following)
    return dated


def _round(value: Fraction) -> float:
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return float(exact.quantize(_CENT, rounding=ROUND_HALF_UP))


# --- one dosage line ----------------------------------------------------------------------


def _line(dosage: Any, strength: _StrengthOf) -> _Line:
    timing = dosage.timing
    schedule = _schedule(timing)
    as_needed = bool(dosage.asNeededBoolean) or dosage.asNeededCodeableConcept is not None
    if schedule is None:
        if as_needed:
            raise DoseUnknown("The dosage is as needed, with no schedule to compute a daily dose.")
        raise DoseUnknown("The dosage has no schedule (frequency, when, time of day or code).")
    dose = _dose_mg(dosage, strength)
    mg_per_day = dose * schedule.per_day
    if mg_per_day > MAX_MG_PER_DAY:
        raise DoseUnknown("The daily dose is above 10 g, which can only be an entry error.")
    repeat = timing.repeat if timing is not None else None
    start, end, length = _bounds(repeat, schedule.per_day)
    return _Line(
        sequence=dosage.sequence,
        start=start,
        end=end,
        length_days=length,
        mg_per_day=mg_per_day,
        intakes=(
            tuple((slot, dose) for slot in schedule.slots) if schedule.slots is not None else None
        ),
    )


def _dose_mg(dosage: Any, strength: _StrengthOf) -> Fraction:
    chosen = None
    for entry in dosage.doseAndRate or []:
        if entry.doseQuantity is None and entry.doseRange is None:
            continue
        if chosen is None or (_is_ordered(entry) and not _is_ordered(chosen)):
            chosen = entry
    if chosen is None:
        raise DoseUnknown("The dosage has no dose quantity.")
    quantity = chosen.doseQuantity
    unit_source = quantity
    if quantity is None:
        quantity = chosen.doseRange.high
        if quantity is None or quantity.value is None:
            raise DoseUnknown("The dose range has no upper bound.")
        unit_source = quantity if (quantity.unit or quantity.code) else chosen.doseRange.low
    if quantity.value is None:
        raise DoseUnknown("The dose quantity has no value.")
    value = _number(quantity.value, "dose")
    if value <= 0:
        raise DoseUnknown("The dose is zero or negative.")
    unit, code, system = (unit_source.unit, unit_source.code, unit_source.system) if (
        unit_source is not None) else (None, None, None)
    kind = quantity_kind(unit, code, system)
    if kind is None:
        shown = code or unit
        raise DoseUnknown(f"The dose unit {shown!r} is not understood." if shown
                          else "The dose has no unit.")
    what, factor = kind
    if what == "mass":
        return Fraction(value * factor)
    known: Strength | None = strength()
    if what == "count":
        if known is None:
            raise DoseUnknown("The dose is in tablets but the strength of a tablet is unknown.")
        if known.per == "mL":
            raise DoseUnknown("The dose is in tablets but the product is an oral liquid.")
        return Fraction(value) * Fraction(str(known.mg))
    if known is None:
        raise DoseUnknown("The dose is in mL but the concentration (mg/mL) is unknown.")
    if known.per == "unit":
        raise DoseUnknown("The dose is in mL but the product is a tablet.")
    return Fraction(value * factor) * Fraction(str(known.mg))


def _number(value: Any, what: str) -> Decimal:
    """A FHIR decimal, refused when its magnitude can't be a dose or a period (1e-9..1e9):
    exact arithmetic on 1E+999999 would take the process down, not just give a wrong dose."""
    number = Decimal(value)
    if not number.is_finite() or (number != 0 and not -9 <= number.adjusted() <= 9):
        raise DoseUnknown(f"The {what} {value} is not a plausible number.")
    return number


def _is_ordered(entry: Any) -> bool:
    codings = getattr(entry.type, "coding", None) or []
    return any(coding.code == "ordered" for coding in codings)


# --- timing -----------------------------------------------------------------------------


def _schedule(timing: Any) -> _Schedule | None:
    """Intakes per day: from `timing.repeat` if it holds a schedule, else from `timing.code`."""
    if timing is None:
        return None
    if timing.repeat is not None:
        found = _from_repeat(timing.repeat)
        if found is not None:
            return found
    return _from_code(timing.code)


def _from_repeat(repeat: Any) -> _Schedule | None:
    events = _event_slots(repeat.when or ()) + _time_slots(repeat.timeOfDay or ())
    counts = [n for n in (repeat.frequency, repeat.frequencyMax) if n is not None]
    count = max(counts) if counts else None
    if repeat.period is None:
        if count is None and not events:
            return None
        if count is not None and not events:
            raise DoseUnknown("The timing gives a frequency without a period.")
        per_day = Fraction(max(count or 1, len(events)))
    else:
        days = _days(repeat.period, repeat.periodUnit)
        if days >= 1:
            # `when`/`timeOfDay` list the events of a dosing day; `frequency` then counts
            # per period, so 3/day with MORN, NOON, EVE is 3, and 1/day with MORN, EVE is 2.
            per_day = Fraction(max(count or 1, len(events))) / days
        else:
            per_day = max(Fraction(count or 1) / days, Fraction(len(events)))
    return _Schedule(per_day, _slots(per_day, events))


def _slots(per_day: Fraction, events: list[int | None]) -> _Slots | None:
    if per_day > MAX_INTAKES_PER_DAY:
        raise DoseUnknown("More than 24 intakes a day, which can only be an entry error.")
    if per_day.denominator != 1:
        return None
    whole = int(per_day)
    if whole < len(events):
        return (None,) * whole
    timed = sorted(minute for minute in events if minute is not None)
    return tuple(timed) + (None,) * (whole - len(timed))


def _event_slots(codes: Iterable[Any]) -> list[int | None]:
    distinct: list[str] = []
    for code in codes:
        for each in _MEALS.get(str(code), (str(code),)):
            if each not in distinct:
                distinct.append(each)
    return [_EVENT_MINUTES.get(code) for code in distinct]


def _time_slots(times: Iterable[Any]) -> list[int | None]:
    minutes: list[int | None] = []
    for value in times:
        if isinstance(value, time):
            minute: int | None = value.hour * 60 + value.minute
        else:
            parts = str(value).split(":")
            minute = int(parts[0]) * 60 + int(parts[1]) if len(parts) >= 2 else None
        if minute is None or minute not in minutes:
            minutes.append(minute)
    return minutes


def _from_code(concept: Any) -> _Schedule | None:
    if concept is None:
        return None
    candidates = [
        coding.code for coding in concept.coding or []
        if coding.code and (coding.system or "") in GTS_SYSTEMS | {""}
    ]
    if concept.text:
        candidates.append(concept.text)
    for candidate in candidates:
        found = _TIMING_CODES.get(candidate.strip().upper())
        if found is not None:
            return _Schedule(*found)
    shown = next((c.code for c in concept.coding or [] if c.code), None) or concept.text
    if shown:
        raise DoseUnknown(f"The timing code {shown!r} is not understood.")
    return None


def _unit_of_time(unit: Any) -> str | None:
    if unit is None:
        return None
    text = str(unit).strip()
    if text in _UNIT_DAYS:
        return text
    word = text.lower().rstrip("s").replace("é", "e")
    return _UNIT_WORDS.get(word) or (word if word in _UNIT_DAYS else None)


def _days(value: Any, unit: Any) -> Fraction:
    known = _unit_of_time(unit)
    if known is None:
        raise DoseUnknown(f"The timing period unit {unit!r} is not understood.")
    period = _number(value, "timing period")
    if period <= 0:
        raise DoseUnknown("The timing period is zero or negative.")
    return Fraction(period) * _UNIT_DAYS[known]


# --- bounds -------------------------------------------------------------------------------


def _bounds(repeat: Any, per_day: Fraction) -> tuple[date | None, date | None, int | None]:
    """Explicit start, exclusive end and length in days of a line, when the timing says."""
    if repeat is None:
        return None, None, None
    start = end = None
    if repeat.boundsPeriod is not None:
        start = _as_date(repeat.boundsPeriod.start, end=False)
        end = _as_date(repeat.boundsPeriod.end, end=True)
    length = None
    if repeat.boundsDuration is not None:
        length = _length_days(repeat.boundsDuration)
    elif repeat.boundsRange is not None and repeat.boundsRange.low is not None:
        # A range of lengths: the shortest is when the next step may begin at the earliest.
        length = _length_days(repeat.boundsRange.low)
    if length is None and repeat.count is not None and per_day > 0:
        length = math.ceil(Fraction(repeat.count) / per_day)
    return start, end, length


def _length_days(duration: Any) -> int | None:
    if duration.value is None:
        return None
    unit = _unit_of_time(duration.code) or _unit_of_time(duration.unit)
    if unit is None:
        return None
    value = Decimal(duration.value)
    if not value.is_finite() or value <= 0 or not -6 <= value.adjusted() <= 6:
        return None
    return math.ceil(Fraction(value) * _UNIT_DAYS[unit])


def _as_date(value: Any, *, end: bool) -> date | None:
    """A FHIR date/dateTime as a day; an end is made exclusive (FHIR ends are inclusive)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        day = value.date()
        at_midnight = value.time() == time(0, 0)
        return day if (not end or at_midnight) else day + timedelta(days=1)
    if isinstance(value, date):
        return value + timedelta(days=1) if end else value
    parts = [int(part) for part in str(value).split("T")[0].split("-") if part]
    if len(parts) == 1:
        return date(parts[0] + 1, 1, 1) if end else date(parts[0], 1, 1)
    if len(parts) == 2:
        year, month = parts
        if not end:
            return date(year, month, 1)
        return date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return None
