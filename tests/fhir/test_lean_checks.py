"""The FHIR data types are declared once and take the config of the resource that holds them:
strict and open in the lean checks, strict and closed in the drafts' schema."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from cds_service.fhir.dosage import read_dosage
from cds_service.fhir.drafts import closed_check
from cds_service.fhir.parsing import InvalidFhir, check_resource
from tests import builders as b


def _condition(coding: dict[str, Any]) -> dict[str, Any]:
    condition = b.condition("F10.2")
    condition["code"]["coding"][0] = coding
    return condition


@pytest.mark.parametrize("coding", [
    {"system": b.ICD10, "code": 102},
    {"system": 5, "code": "F10.2"},
    {"system": b.ICD10, "code": "F10.2", "userSelected": "true"},
])
def test_lean_checks_are_strict_in_nested_data_types(coding: dict[str, Any]) -> None:
    with pytest.raises(InvalidFhir, match=r"code\.coding\.0"):
        check_resource(_condition(coding), "prefetch.conditions", ("Condition",))


def test_lean_checks_are_open_in_nested_data_types() -> None:
    """An element the rules do not read, inside a data type they do read, is not looked at."""
    coding = {"system": b.ICD10, "code": "F10.2", "extension": [{"url": "http://example.org/x"}]}
    check_resource(_condition(coding), "prefetch.conditions", ("Condition",))


def test_the_drafts_schema_is_closed_in_nested_data_types() -> None:
    draft = b.baclofen_order(10, 3)
    assert closed_check(draft)
    with_extension = copy.deepcopy(draft)
    with_extension["medicationCodeableConcept"]["coding"][0]["extension"] = [{"url": "http://example.org/x"}]
    assert not closed_check(with_extension)
    in_a_dosage = copy.deepcopy(draft)
    in_a_dosage["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]["comment"] = "x"
    assert not closed_check(in_a_dosage)


@pytest.mark.parametrize(("repeat", "field"), [
    ({"frequency": 0, "period": 1, "periodUnit": "d"}, "frequency"),
    ({"frequency": 3, "period": 1, "periodUnit": "d", "count": 2**31}, "count"),
    ({"frequency": 3, "period": 1, "periodUnit": "d", "offset": -1}, "offset"),
])
def test_dosage_integers_have_fhirs_bounds(repeat: dict[str, Any], field: str) -> None:
    """positiveInt, unsignedInt and integer as fhir_core bounds them."""
    line = b.dosage(10, 3)
    line["timing"] = {"repeat": repeat}
    with pytest.raises(InvalidFhir, match=field):
        read_dosage(line, "prefetch.medications", 0)
