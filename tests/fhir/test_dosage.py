"""The lean Dosage reader against `fhir.resources`: every dosage line of the fixtures, and
generated ones, gives the same daily dose, schedule, bounds and units read either way; a
well-typed line `fhir.resources` accepts is never refused; a line it refuses for a field the
dose reads is refused too (and JSON types are strict, as in every lean check)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.dosage import Dosage
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from cds_service.clinical import dose
from cds_service.clinical.medication import Strength, _dose_units
from cds_service.fhir.dosage import read_dosage, read_dosages
from cds_service.fhir.parsing import InvalidFhir
from cds_service.fixtures import fixtures_dir

STRENGTHS: tuple[Strength | None, ...] = (None, Strength(10.0, "unit"), Strength(5.0, "mL"), Strength(10.0, None))


def _lines(value: Any) -> Iterator[Any]:
    """Every `dosageInstruction` line anywhere in a JSON document."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "dosageInstruction" and isinstance(item, list):
                yield from item
            else:
                yield from _lines(item)
    elif isinstance(value, list):
        for item in value:
            yield from _lines(item)


def fixture_lines() -> list[Any]:
    found: dict[str, Any] = {}
    for path in sorted(Path(fixtures_dir()).rglob("*.json")):
        for line in _lines(json.loads(path.read_text(encoding="utf-8"))):
            found.setdefault(json.dumps(line, sort_keys=True), line)
    return list(found.values())


def _outcome(call: Any) -> Any:
    try:
        return ("ok", call())
    except dose.DoseUnknown as exc:
        return ("unknown", str(exc))


def _line_outcome(dosage: Any, strength: Strength | None) -> Any:
    return _outcome(lambda: dose._line(dosage, lambda: strength))


def _read(line: Any) -> tuple[Any, Any]:
    """(model or None, lean or None): None where that reader refuses the line."""
    try:
        model = Dosage.model_validate(line)
    except (ValidationError, ValueError, TypeError):
        model = None
    try:
        lean = read_dosage(line, "order", 0)
    except InvalidFhir:
        lean = None
    return model, lean


def assert_same_reading(line: Any) -> None:
    model, lean = _read(line)
    if model is None:
        return  # refused by fhir.resources: the lean reader may be more lenient (see below)
    assert lean is not None, f"lean reader refused a valid line: {line}"
    for strength in STRENGTHS:
        assert _line_outcome(lean, strength) == _line_outcome(model, strength), line
    assert list(_dose_units(lean)) == list(_dose_units(model))
    assert (lean.route is None) == (model.route is None)


def test_fixtures_hold_dosage_lines() -> None:
    assert len(fixture_lines()) > 50


@pytest.mark.parametrize("line", fixture_lines(), ids=lambda line: json.dumps(line)[:60])
def test_every_fixture_line_reads_the_same(line: Any) -> None:
    assert_same_reading(line)


def _quantity(units: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {},
        optional={
            "value": st.one_of(st.integers(-2, 400), st.floats(0.001, 400, allow_nan=False).map(lambda x: round(x, 3)),
                               st.sampled_from([0.1, 0.5, 2.5, 1e-3, 12.75])),
            "unit": st.sampled_from(units),
            "code": st.sampled_from(units),
            "system": st.sampled_from(["http://unitsofmeasure.org", "urn:oid:0.4.0.127.0.16.1.1.2.1"]),
        },
    )


UNITS = ["mg", "g", "ug", "mL", "comprimé", "{tbl}", "TAB", "tablet", "1", "kg", "d"]
DATES = st.sampled_from(["2026", "2026-03", "2026-03-10", "2026-03-10T08:00:00+01:00", "2026-03-31T00:00:00Z",
                         "2026-02-28T23:59:59.5-05:00", "2025-12-31", "2026-06-30T23:59:60Z",
                         "2026-03-10T08:00:00.1234567+01:00"])
REPEAT = st.fixed_dictionaries(
    {},
    optional={
        "frequency": st.integers(0, 30),
        "frequencyMax": st.integers(1, 8),
        "period": st.one_of(st.integers(0, 14), st.sampled_from([0.5, 1.5, 0.25, 8.0, 12])),
        "periodUnit": st.sampled_from(["d", "h", "wk", "mo", "min", "a", "s"]),
        "when": st.lists(st.sampled_from(["MORN", "NOON", "EVE", "NIGHT", "ACM", "PCM", "HS", "C", "CM", "WAKE"]),
                         max_size=4),
        "timeOfDay": st.lists(st.sampled_from(["08:00:00", "12:30:00", "20:00:00", "22:15:30", "23:59:60",
                                               "08:00:00.1234567"]), max_size=3),
        "count": st.integers(1, 90),
        "boundsDuration": _quantity(["d", "wk", "mo", "h", "a"]),
        "boundsPeriod": st.fixed_dictionaries({}, optional={"start": DATES, "end": DATES}),
    },
)
LINE = st.fixed_dictionaries(
    {},
    optional={
        "sequence": st.integers(1, 3),
        "timing": st.fixed_dictionaries({}, optional={
            "repeat": REPEAT,
            "code": st.fixed_dictionaries({"coding": st.lists(st.fixed_dictionaries(
                {"code": st.sampled_from(["BID", "TID", "QID", "QD", "AM", "PM", "Q8H", "Q12H", "WEEK"])},
                optional={"system": st.just("http://terminology.hl7.org/CodeSystem/v3-GTSAbbreviation")}),
                min_size=1, max_size=2)}),
        }),
        "asNeededBoolean": st.booleans(),
        "route": st.just({"coding": [{"system": "http://standardterms.edqm.eu", "code": "20053000"}]}),
        "doseAndRate": st.lists(st.fixed_dictionaries({}, optional={
            "type": st.just({"coding": [{"code": "ordered"}]}),
            "doseQuantity": _quantity(UNITS),
            "doseRange": st.fixed_dictionaries({}, optional={"low": _quantity(UNITS), "high": _quantity(UNITS)}),
        }), max_size=2),
    },
)


# Lines a prescriber would write (a schedule and a dose), with the variations the arithmetic
# reads: units, decimals, intakes, bounds of every kind, as-needed.
SCHEDULED_LINE = st.fixed_dictionaries(
    {
        "timing": st.one_of(
            st.fixed_dictionaries({"repeat": st.fixed_dictionaries(
                {"frequency": st.integers(1, 5), "period": st.sampled_from([1, 1.0, 0.5, 2, 7]),
                 "periodUnit": st.sampled_from(["d", "wk", "h"])},
                optional={"when": REPEAT.map(lambda r: r.get("when", [])),
                          "timeOfDay": st.lists(st.sampled_from(["08:00:00", "12:30:00", "20:00:00"]), max_size=3),
                          "boundsPeriod": st.fixed_dictionaries({}, optional={"start": DATES, "end": DATES}),
                          "count": st.integers(1, 60)})}),
            st.fixed_dictionaries({"repeat": st.fixed_dictionaries(
                {"when": st.lists(st.sampled_from(["MORN", "NOON", "EVE", "HS", "CM"]), min_size=1, max_size=3)},
                optional={"boundsDuration": st.fixed_dictionaries(
                    {"value": st.sampled_from([7, 14, 0.5, 30]), "code": st.sampled_from(["d", "wk", "mo"])})})}),
            st.fixed_dictionaries({"code": st.fixed_dictionaries({"coding": st.just([{"code": "TID"}])})}),
        ),
        "doseAndRate": st.lists(st.one_of(
            st.fixed_dictionaries({"doseQuantity": st.fixed_dictionaries({
                "value": st.sampled_from([5, 10, 2.5, 0.5, 7.5, 15, 1, 0.25, 12.5]),
                "unit": st.sampled_from(["mg", "comprimé", "mL", "g", "tablet"])})},
                optional={"type": st.just({"coding": [{"code": "ordered"}]})}),
            st.fixed_dictionaries({"doseRange": st.fixed_dictionaries({"high": st.fixed_dictionaries({
                "value": st.sampled_from([10, 20.5]), "unit": st.just("mg")})})}),
        ), min_size=1, max_size=2),
    },
    optional={"sequence": st.integers(1, 2), "asNeededBoolean": st.booleans()},
)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(LINE)
def test_generated_lines_read_the_same(line: dict[str, Any]) -> None:
    assert_same_reading(line)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(SCHEDULED_LINE)
def test_generated_prescriptions_read_the_same(line: dict[str, Any]) -> None:
    assert_same_reading(line)


@pytest.mark.parametrize(("path", "value"), [
    (("timing", "repeat", "frequency"), "often"),
    (("timing", "repeat", "period"), "one"),
    (("timing", "repeat", "period"), True),
    (("timing", "repeat", "timeOfDay"), ["8h"]),
    (("timing", "repeat", "boundsPeriod", "start"), "2026-02-30"),
    (("doseAndRate", 0, "doseQuantity", "value"), "ten"),
    (("doseAndRate", 0, "doseQuantity", "value"), float("inf")),
    (("sequence",), 1.5),
])
def test_what_fhir_refuses_in_a_field_the_dose_reads_is_refused(path: tuple[Any, ...], value: Any) -> None:
    line: dict[str, Any] = {"timing": {"repeat": {"frequency": 2, "period": 1, "periodUnit": "d",
                                                  "boundsPeriod": {"start": "2026-03-01"}}},
                            "doseAndRate": [{"doseQuantity": {"value": 10, "unit": "mg"}}]}
    target: Any = line
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    model, lean = _read(line)
    assert model is None and lean is None


def test_json_types_are_strict_as_in_every_lean_check() -> None:
    """fhir.resources reads "yes" as true; FHIR JSON wants a boolean, as the other lean checks do."""
    with pytest.raises(InvalidFhir):
        read_dosage({"asNeededBoolean": "yes"}, "order", 0)


def test_two_choices_of_one_element_are_refused() -> None:
    line = {"timing": {"repeat": {"boundsDuration": {"value": 7, "code": "d"},
                                  "boundsPeriod": {"start": "2026-03-01"}}}}
    with pytest.raises(InvalidFhir) as raised:
        read_dosage(line, "order", 2)
    assert "dosageInstruction.2.timing.repeat.bounds[x]" in raised.value.message


def test_lines_repeated_across_orders_are_read_once() -> None:
    line = {"timing": {"repeat": {"frequency": 3, "period": 1, "periodUnit": "d"}},
            "doseAndRate": [{"doseQuantity": {"value": 5, "unit": "mg"}}]}
    memo: dict[bytes, Any] = {}
    first = read_dosages({"resourceType": "MedicationRequest", "dosageInstruction": [line]}, "a", memo)
    second = read_dosages({"resourceType": "MedicationRequest", "dosageInstruction": [dict(line)]}, "b", memo)
    assert first[0] is second[0]
    with pytest.raises(InvalidFhir):
        read_dosages({"resourceType": "MedicationRequest", "dosageInstruction": {"text": "x"}}, "c", memo)
