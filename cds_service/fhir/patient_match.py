"""The prefetched record must be the record of `context.patientId`.

An EHR that mixes up patients (a stale prefetch cache, a wrong template) would otherwise have
the rules read one patient's renal function or epilepsy for another's order. The FHIR server is
queried by `context.patientId`, so only what the EHR sends (prefetch and draft orders) is checked:
a Patient with another id, and any resource whose `subject` or `patient` reference names another
Patient, is refused with a 400 naming both.
"""

from __future__ import annotations

from typing import Any

from cds_service.fhir.parsing import InvalidFhir, bundle_entries
from cds_service.fhir.prefetch import PREFETCH_TEMPLATES

_PATIENT_FIELDS = ("subject", "patient")


class PatientMismatch(InvalidFhir):
    """A resource of the request belongs to another patient than `context.patientId` (400)."""


def referenced_patient(reference: Any) -> str | None:
    """The Patient id a Reference names (`Patient/p1`, absolute or versioned); None otherwise."""
    if not isinstance(reference, dict):
        return None
    value = reference.get("reference")
    if not isinstance(value, str):
        return None
    parts = value.strip().split("/_history/")[0].rstrip("/").split("/")
    if len(parts) >= 2 and parts[-2] == "Patient" and parts[-1]:
        return parts[-1]
    return None


def _check_resource(resource: dict[str, Any], where: str, patient_id: str) -> None:
    label = f"{where} ({resource.get('resourceType')}/{resource.get('id', '?')})"
    for name in _PATIENT_FIELDS:
        other = referenced_patient(resource.get(name))
        if other is not None and other != patient_id:
            raise PatientMismatch(label, f"{name} is Patient/{other}, but context.patientId is {patient_id}")


def check_same_patient(prefetch: dict[str, Any] | None, draft_orders: dict[str, Any], patient_id: str) -> None:
    """Raise `PatientMismatch` for the first resource of the request about another patient."""
    for resource, where in bundle_entries(draft_orders, "context.draftOrders"):
        _check_resource(resource, where, patient_id)
    for key in PREFETCH_TEMPLATES:
        value = (prefetch or {}).get(key)
        if not isinstance(value, dict):
            continue
        kind = value.get("resourceType")
        if kind == "Patient":
            if isinstance(value.get("id"), str) and value["id"] != patient_id:
                raise PatientMismatch(f"prefetch.{key}",
                                      f"Patient/{value['id']} is not context.patientId {patient_id}")
        elif kind == "Bundle":
            for resource, where in bundle_entries(value, f"prefetch.{key}"):
                if resource.get("resourceType") == "Patient":
                    if isinstance(resource.get("id"), str) and resource["id"] != patient_id:
                        raise PatientMismatch(where, f"Patient/{resource['id']} is not context.patientId "
                                                     f"{patient_id}")
                    continue
                _check_resource(resource, where, patient_id)
