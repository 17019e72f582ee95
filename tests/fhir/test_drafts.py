"""The drafts' closed schema against `fhir.resources`: every draft it accepts, among the fixtures'
drafts and every single-element mutation of them, is accepted by `fhir.resources` and gives the
same dose; what it does not know goes to `fhir.resources`, so the service's answer is unchanged."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.medicationrequest import MedicationRequest
from pydantic import ValidationError

from cds_service.clinical import dose
from cds_service.fhir.context_builder import build_context
from cds_service.fhir.dosage import lean_dosage
from cds_service.fhir.drafts import closed_check
from cds_service.fhir.parsing import InvalidFhir
from cds_service.fixtures import fixtures_dir
from tests import builders as b


def fixture_drafts() -> list[dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(Path(fixtures_dir()).rglob("request.json")):
        request = json.loads(path.read_text(encoding="utf-8"))
        for entry in ((request.get("context") or {}).get("draftOrders") or {}).get("entry") or []:
            resource = entry.get("resource") or {}
            if resource.get("resourceType") == "MedicationRequest":
                found.setdefault(json.dumps(resource, sort_keys=True), resource)
    return list(found.values())


DRAFTS = fixture_drafts()
TODAY = date(2026, 3, 10)

# What each element is replaced by: absent, null, empty, blanks, other JSON types, numbers at the
# bounds of FHIR's integers, dates that are not real, codes with spaces, too long an id.
REPLACEMENTS: tuple[Any, ...] = (
    None, "", " ", "x", " x", "x  y", "a\u00a0b", "\x1c", "\t", "2026-13-01", "2026-02-30", "2026",
    "2026-01-01T10:00:00", "2026-01-01T10:00", "2026-01-01T10:00:00+01:00", 0, -1, 1, 1.5, 3.0, 2**31,
    2**31 - 1, -(2**31) - 1, True, False, [], {}, [None], [{}], [""], ["x"], {"x": 1}, "10", "1e2",
    "A" * 65, "A" * 64, "MORN", "10:00:00", "25:00:00", "http://x y",
)
DELETE = object()


def _paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if path:
        yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*path, index))


def _with(draft: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(draft)
    target = changed
    for key in path[:-1]:
        target = target[key]
    if value is DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return changed


def _fhir_accepts(draft: dict[str, Any]) -> MedicationRequest | None:
    try:
        return MedicationRequest.model_validate(draft)
    except (ValidationError, ValueError, TypeError, KeyError):
        return None


def _doses(dosages: Any) -> list[Any]:
    outcomes = []
    for line in dosages:
        try:
            outcomes.append(dose._line(line, lambda: None))
        except dose.DoseUnknown as exc:
            outcomes.append(str(exc))
    return outcomes


def mutations(draft: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for path in _paths(draft):
        yield _with(draft, path, DELETE)
        for value in REPLACEMENTS:
            yield _with(draft, path, value)


def test_the_fixture_drafts_are_known_to_the_closed_schema() -> None:
    """Without contained Medications, every fixture draft takes the fast path."""
    plain = [draft for draft in DRAFTS if "contained" not in draft]
    assert len(plain) > 100
    assert all(closed_check(draft) for draft in plain)


@pytest.mark.parametrize("index", range(0, len(DRAFTS), 5))
def test_every_mutated_draft_it_accepts_is_valid_fhir_read_the_same(index: int) -> None:
    accepted = refused = 0
    for mutated in mutations(DRAFTS[index]):
        if not closed_check(mutated):
            refused += 1
            continue
        accepted += 1
        model = _fhir_accepts(mutated)
        assert model is not None, f"closed schema accepted what fhir.resources refuses: {mutated}"
        lean = [lean_dosage(line) for line in mutated.get("dosageInstruction") or ()]  # as build_context reads
        assert _doses(lean) == _doses(model.dosageInstruction or ()), mutated
    assert accepted and refused


@pytest.mark.parametrize("extra", [
    {"asNeededCodeableConcept": {"text": "si besoin"}},
    {"timing": {"repeat": {"boundsPeriod": {"start": "2026-01-01"}, "boundsDuration": {"value": 7}}}},
    {"doseAndRate": [{"doseQuantity": {"value": 10}, "doseRange": {"low": {"value": 5}}}]},
])
def test_two_values_of_one_choice_type_in_a_dosage_are_not_accepted(extra: dict[str, Any]) -> None:
    draft = copy.deepcopy(DRAFTS[0])
    draft["dosageInstruction"][0].update({"asNeededBoolean": False} if "asNeededCodeableConcept" in extra else {})
    draft["dosageInstruction"][0].update(extra)
    assert not closed_check(draft)


def test_two_medications_are_not_accepted() -> None:
    draft = copy.deepcopy(DRAFTS[0])
    draft["medicationReference"] = {"reference": "Medication/m1"}
    assert not closed_check(draft)
    del draft["medicationCodeableConcept"]
    assert closed_check(draft)


@pytest.mark.parametrize("element", [
    {"meta": {"lastUpdated": "2026-03-10T10:00:00+01:00"}},
    {"extension": [{"url": "http://example.org/x", "valueString": "y"}]},
    {"_status": {"extension": [{"url": "http://example.org/x", "valueBoolean": True}]}},
    {"note": [{"text": "à jeun"}]},
])
def test_a_valid_draft_beyond_the_closed_schema_is_still_evaluated(element: dict[str, Any]) -> None:
    """Elements the closed schema does not list go to fhir.resources, which accepts them."""
    draft = {**b.baclofen_order(10, 3, status="draft"), **element}
    assert not closed_check(draft)
    context = build_context(patient_id="pat-1", draft_orders=b.searchset([draft]), data={}, unavailable=(),
                            today=TODAY)
    assert context.draft_orders[0].dosages


@pytest.mark.parametrize(("element", "message"), [
    ({"status": ""}, "status"),
    ({"intent": 5}, "intent"),
    ({"authoredOn": "2026-02-30"}, "authoredOn"),
    ({"extension": [{"url": "http://example.org/x", "valueString": ""}]}, "extension"),
])
def test_an_invalid_draft_is_refused_in_fhir_resources_words(element: dict[str, Any], message: str) -> None:
    draft = {**b.baclofen_order(10, 3, status="draft"), **element}
    with pytest.raises(InvalidFhir) as refused:
        build_context(patient_id="pat-1", draft_orders=b.searchset([draft]), data={}, unavailable=(), today=TODAY)
    assert message in str(refused.value)
