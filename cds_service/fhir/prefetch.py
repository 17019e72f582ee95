"""Prefetch first, then the FHIR server for what is missing, all within one deadline.

A key that is absent, or holds an OperationOutcome (the EHR's own prefetch failed), is fetched
concurrently from `fhirServer`, with the `fhirAuthorization` token when the EHR sent one and
anonymously otherwise (a server that refuses makes the key unavailable). A `null` key means the
EHR found nothing: an empty result.

The searches ask for large pages (`_count`, `CDS_FHIR_PAGE_SIZE`) so that a long history fits in
the page cap, and for the `Medication` resources the orders and statements point to
(`_include`). A server may ignore both: the next links are followed anyway, and a referenced
Medication that did not come with the search is read by id (`medication_refs`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from cds_service.fhir import client as fhir_client
from cds_service.fhir import medication_refs
from cds_service.fhir.client import FhirEndpoint, FhirFetchError
from cds_service.observability.tracing import span

# The LOINC codes the rules read: eGFR, creatinine clearance, serum creatinine, pregnancy,
# breastfeeding and body weight. Kept here because the discovery document publishes them.
OBSERVATION_CODES: tuple[str, ...] = (
    "98979-8", "62238-1", "33914-3", "48642-3", "48643-1", "69405-9",
    "35591-7", "2164-2",
    "2160-0", "38483-4", "14682-9", "77140-2",
    "82810-3", "63895-7", "29463-7",
)

DEFAULT_PAGE_SIZE = 200

# Status filters only where no status left out is one the rules read: MedicationRequest has none
# (completed and stopped orders are the history: a previous course, a dose just reduced, an order
# completed within 7 days that is still the current regimen), nor have Condition (a resolved
# condition is still history) and AllergyIntolerance (one without clinicalStatus applies).
# Observations: the rules read only final, amended and corrected results. MedicationStatements
# are co-medications only, and only active, intended and on-hold ones count.
_OBSERVATION_STATUSES = "final,amended,corrected"
_STATEMENT_STATUSES = "active,intended,on-hold"


def prefetch_templates(page_size: int = DEFAULT_PAGE_SIZE) -> dict[str, str]:
    """The templates published in discovery and used to fetch what the EHR did not prefetch."""
    count = f"&_count={page_size}"
    return {
        "patient": "Patient/{{context.patientId}}",
        "conditions": "Condition?patient={{context.patientId}}" + count,
        "medications": "MedicationRequest?patient={{context.patientId}}"
        "&_include=MedicationRequest:medication" + count,
        "medicationStatements": "MedicationStatement?patient={{context.patientId}}"
        f"&status={_STATEMENT_STATUSES}&_include=MedicationStatement:medication" + count,
        "observations": "Observation?patient={{context.patientId}}&code="
        + ",".join(f"http://loinc.org|{code}" for code in OBSERVATION_CODES)
        + f"&status={_OBSERVATION_STATUSES}" + count,
        "allergies": "AllergyIntolerance?patient={{context.patientId}}" + count,
    }


PREFETCH_TEMPLATES: dict[str, str] = prefetch_templates()

SEARCH_KEYS = ("conditions", "medications", "medicationStatements", "observations", "allergies")
# Keys whose resources point to Medication resources that the search should bring along.
MEDICATION_KEYS = frozenset({"medications", "medicationStatements"})

FetchObserver = Callable[[str, float, str | None], None]


class PatientUnavailable(Exception):
    """The Patient could be had neither from prefetch nor from the FHIR server (HTTP 412)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class PrefetchResult:
    """Resolved data: raw FHIR JSON per key, and the keys that could not be obtained."""

    data: dict[str, Any] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)
    fetched: list[str] = field(default_factory=list)


def render_query(template: str, patient_id: str) -> str:
    """Fill a prefetch template (only `context.patientId` is used by this service)."""
    return template.replace("{{context.patientId}}", patient_id)


def _needs_fetch(prefetch: dict[str, Any] | None, key: str) -> bool:
    if prefetch is None or key not in prefetch:
        return True
    value = prefetch[key]
    return isinstance(value, dict) and value.get("resourceType") == "OperationOutcome"


async def _fetch_one(
    http: httpx.AsyncClient, endpoint: FhirEndpoint, key: str, patient_id: str, max_pages: int,
    page_size: int,
) -> Any:
    query = render_query(prefetch_templates(page_size)[key], patient_id)
    if key == "patient":
        return await fhir_client.read(http, endpoint, query)
    bundle = await fhir_client.search(http, endpoint, query, max_pages=max_pages)
    if key in MEDICATION_KEYS:
        await medication_refs.add_missing_medications(http, endpoint, bundle)
    return bundle


async def resolve(
    prefetch: dict[str, Any] | None,
    *,
    patient_id: str,
    endpoint: FhirEndpoint | None,
    http: httpx.AsyncClient,
    deadline_seconds: float,
    max_pages: int,
    page_size: int = DEFAULT_PAGE_SIZE,
    observe: FetchObserver | None = None,
) -> PrefetchResult:
    """Every prefetch key resolved, fetching what is missing concurrently within the deadline."""
    result = PrefetchResult()
    missing = [key for key in PREFETCH_TEMPLATES if _needs_fetch(prefetch, key)]
    for key in PREFETCH_TEMPLATES:
        if key not in missing:
            result.data[key] = (prefetch or {}).get(key)
    if missing and endpoint is None:
        for key in missing:
            result.unavailable[key] = "no-fhir-server"
    elif missing and endpoint is not None:
        await _fetch_all(result, missing, http, endpoint, patient_id, deadline_seconds, max_pages,
                         page_size, observe)
    if "patient" in result.unavailable:
        raise PatientUnavailable(result.unavailable["patient"])
    if result.data.get("patient") is None:  # `null`: the EHR has no such patient
        raise PatientUnavailable("not-found")
    return result


async def _fetch_all(
    result: PrefetchResult,
    keys: list[str],
    http: httpx.AsyncClient,
    endpoint: FhirEndpoint,
    patient_id: str,
    deadline_seconds: float,
    max_pages: int,
    page_size: int,
    observe: FetchObserver | None,
) -> None:
    async def timed(key: str) -> Any:
        started = time.perf_counter()
        error: str | None = None
        try:
            with span("cds.fhir.fetch", key=key):
                return await _fetch_one(http, endpoint, key, patient_id, max_pages, page_size)
        except FhirFetchError as exc:
            error = exc.reason
            raise
        except asyncio.CancelledError:
            error = "timeout"
            raise
        finally:
            if observe is not None:
                observe(key, time.perf_counter() - started, error)

    tasks = {key: asyncio.ensure_future(timed(key)) for key in keys}
    _, pending = await asyncio.wait(tasks.values(), timeout=deadline_seconds)
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.gather(*pending, return_exceptions=True)
    for key, task in tasks.items():
        if task.cancelled():
            result.unavailable[key] = "timeout"
            continue
        exc = task.exception()
        if isinstance(exc, FhirFetchError):
            result.unavailable[key] = exc.reason
        elif exc is not None:
            result.unavailable[key] = "error"
        else:
            result.data[key] = task.result()
            result.fetched.append(key)
