"""The `drug_codes` log field: French codes by kind, how recognised, known or not (no patient data)."""

from __future__ import annotations

from datetime import date

from cds_service.fhir.context_builder import build_context
from cds_service.pipeline import drug_code_counts
from tests.builders import PATIENT_ID, coded_order, patient, searchset
from tests.clinical.rtu_helpers import order_of


def test_codes_read_by_shape_are_counted() -> None:
    meds = [coded_order("https://ehr.example/cip", "3400939999996", oid="a"),
            coded_order("https://smt.esante.gouv.fr/terminologie-bdpm", "60000001", oid="b"),
            coded_order("http://www.whocc.no/atc", "C03CA01", oid="c")]
    context = build_context(patient_id=PATIENT_ID,
                            draft_orders={"resourceType": "Bundle", "type": "collection",
                                          "entry": [{"resource": order_of(40)}]},
                            data={"patient": patient(), "medications": searchset(meds)},
                            unavailable=(), today=date(2026, 3, 18))
    assert drug_code_counts(context) == {"cip/shape/unknown": 1, "cis/system/unknown": 1}
