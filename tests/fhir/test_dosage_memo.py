"""Dosage models of current baclofen orders: validated once per distinct dosage line in a
request (a renewal history repeats the same line), and still refused when invalid."""

from __future__ import annotations

from typing import Any

import pytest

from cds_service.fhir.context_builder import build_context
from cds_service.fhir.parsing import InvalidFhir
from tests.builders import PATIENT_ID
from tests.clinical.rtu_helpers import TODAY, current, draft, searchset


def context_with(medications: list[dict[str, Any]]) -> Any:
    return build_context(patient_id=PATIENT_ID,
                         draft_orders={"resourceType": "Bundle", "type": "collection",
                                       "entry": [{"resource": draft()}]},
                         data={"medications": searchset(medications)}, unavailable=(), today=TODAY)


def test_identical_lines_share_one_model_different_lines_do_not() -> None:
    orders = [current(5, oid="c1", days=40), current(5, oid="c2", days=20), current(10, oid="c3", days=5)]
    context = context_with(orders)
    by_id = {fact.id: fact for fact in context.medications}
    assert by_id["c1"].dosages[0] is by_id["c2"].dosages[0]
    assert by_id["c3"].dosages[0] is not by_id["c1"].dosages[0]
    assert by_id["c3"].dosages[0].doseAndRate[0].doseQuantity.value != by_id["c1"].dosages[0].doseAndRate[0]\
        .doseQuantity.value


def test_an_invalid_line_is_refused_after_a_valid_one() -> None:
    good = current(5, oid="c1", days=40)
    bad = current(5, oid="c2", days=20)
    bad["dosageInstruction"][0]["timing"]["repeat"]["frequency"] = "often"
    with pytest.raises(InvalidFhir) as raised:
        context_with([good, bad])
    assert "c2" in raised.value.location and "dosageInstruction" in raised.value.message
