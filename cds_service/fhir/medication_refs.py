"""Medication resources that a fetched search points to but did not bring, read by id.

A current order that names its drug only through `medicationReference` is recognised as
baclofen (and its strength read) only with the Medication it points to. The templates ask for
them with `_include`, but a server may ignore `_include`: each Medication still missing is then
read by id from the same server and added to the Bundle as an included entry, as the server
would have done. A reference that cannot be read makes the key unavailable (the rules say what
they could not check) rather than leaving a drug silently unidentified.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from cds_service.fhir import client as fhir_client
from cds_service.fhir.client import FhirEndpoint, FhirFetchError

MAX_READS_PER_KEY = 100  # distinct Medications: a record names far fewer products
_CONCURRENT_READS = 8


def _relative(reference: str, endpoint: FhirEndpoint) -> str | None:
    """`Medication/ID` for a reference to this server's Medication, else None (contained,
    another server, a version-specific suffix removed)."""
    reference = reference.split("/_history")[0].strip()
    if not reference or reference.startswith("#"):
        return None
    if "://" in reference:
        if not endpoint.same_origin(reference):
            return None  # never send the token elsewhere
        base = endpoint.url_for("")
        if not reference.startswith(base):
            return None
        reference = reference[len(base):]
    parts = reference.split("/")
    if len(parts) != 2 or parts[0] != "Medication" or not parts[1]:
        return None
    return reference


def missing_references(bundle: dict[str, Any], endpoint: FhirEndpoint) -> list[str]:
    """The `Medication/ID` references of the Bundle's resources that no entry answers."""
    have: set[str] = set()
    wanted: dict[str, None] = {}
    for entry in bundle.get("entry") or []:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            continue
        if resource.get("resourceType") == "Medication" and isinstance(resource.get("id"), str):
            have.add(f"Medication/{resource['id']}")
            continue
        reference = (resource.get("medicationReference") or {})
        target = reference.get("reference") if isinstance(reference, dict) else None
        if isinstance(target, str):
            relative = _relative(target, endpoint)
            if relative is not None:
                wanted[relative] = None
    return [reference for reference in wanted if reference not in have]


async def add_missing_medications(
    http: httpx.AsyncClient, endpoint: FhirEndpoint, bundle: dict[str, Any]
) -> int:
    """Read every referenced Medication the search did not include and append it to `bundle`;
    returns how many were read. Raises `FhirFetchError` when one cannot be read, or when more
    than `MAX_READS_PER_KEY` are missing."""
    missing = missing_references(bundle, endpoint)
    if not missing:
        return 0
    if len(missing) > MAX_READS_PER_KEY:
        raise FhirFetchError("too-many-medication-reads")
    gate = asyncio.Semaphore(_CONCURRENT_READS)

    async def read(reference: str) -> dict[str, Any]:
        async with gate:
            resource = await fhir_client.read(http, endpoint, reference)
        if resource.get("resourceType") != "Medication":
            raise FhirFetchError("not-a-medication")
        return resource

    results = await asyncio.gather(*(read(reference) for reference in missing), return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result if isinstance(result, FhirFetchError) else FhirFetchError("error")
    entries = bundle.setdefault("entry", [])
    for result in results:
        entries.append({"resource": result, "search": {"mode": "include"}})
    return len(results)
