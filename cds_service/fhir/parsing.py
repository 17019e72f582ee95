"""Validating FHIR R4 JSON with `fhir.resources` (R4B models), with errors that name the place.

An EHR integrator who sends an invalid resource gets a 400 saying which resource and which
field, e.g. `prefetch.conditions.entry[3].resource (Condition/c7): clinicalStatus: …`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from datetime import date
from functools import cache
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError


class InvalidFhir(ValueError):
    """A FHIR payload that does not validate; `location` says where it is in the request."""

    def __init__(self, location: str, message: str) -> None:
        super().__init__(f"{location}: {message}")
        self.location = location
        self.message = message


@cache
def _model_class(resource_type: str) -> Any:
    return get_fhir_model_class(resource_type)


def _describe(error: dict[str, Any]) -> str:
    where = ".".join(str(part) for part in error.get("loc", ()) if part != "__root__")
    message = str(error.get("msg", "invalid"))
    return f"{where}: {message}" if where else message


def parse_resource(data: Any, location: str, expected: Collection[str] | None = None) -> Any:
    """Validate one resource and return its `fhir.resources` model."""
    if not isinstance(data, dict):
        raise InvalidFhir(location, "expected a FHIR resource (JSON object)")
    resource_type = data.get("resourceType")
    if not isinstance(resource_type, str):
        raise InvalidFhir(location, "resourceType is missing")
    if expected is not None and resource_type not in expected:
        raise InvalidFhir(location, f"expected {' or '.join(sorted(expected))}, got {resource_type}")
    try:
        model_class = _model_class(resource_type)
    except (KeyError, ValueError, AttributeError, ImportError) as exc:
        raise InvalidFhir(location, f"unknown resourceType {resource_type!r}") from exc
    try:
        return model_class.model_validate(data)
    except ValidationError as exc:
        label = f"{location} ({resource_type}/{data.get('id', '?')})"
        errors = exc.errors(include_url=False, include_input=False)
        raise InvalidFhir(label, _describe(dict(errors[0]))) from None
    except (ValueError, TypeError) as exc:  # validators of fhir.resources may raise these directly
        raise InvalidFhir(f"{location} ({resource_type})", str(exc)[:300]) from None


def bundle_entries(data: Any, location: str) -> Iterator[tuple[dict[str, Any], str]]:
    """The resources of a Bundle with their locations; the Bundle's own shape is checked."""
    if data is None:
        return
    if not isinstance(data, dict):
        raise InvalidFhir(location, "expected a FHIR Bundle (JSON object)")
    if data.get("resourceType") != "Bundle":
        raise InvalidFhir(location, f"expected a Bundle, got {data.get('resourceType')!r}")
    entries = data.get("entry") or []
    if not isinstance(entries, list):
        raise InvalidFhir(f"{location}.entry", "must be an array")
    for index, entry in enumerate(entries):
        where = f"{location}.entry[{index}]"
        if not isinstance(entry, dict):
            raise InvalidFhir(where, "must be an object")
        resource = entry.get("resource")
        if resource is None:
            continue
        if not isinstance(resource, dict):
            raise InvalidFhir(f"{where}.resource", "must be a FHIR resource")
        search = entry.get("search")
        if isinstance(search, dict) and search.get("mode") == "outcome":
            continue
        yield resource, f"{where}.resource"


def parse_date(value: Any) -> date | None:
    """A FHIR date or dateTime (possibly partial) as a date; None when absent or unreadable."""
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or len(value) < 4:
        return None
    try:
        year = int(value[0:4])
        month = int(value[5:7]) if len(value) >= 7 else 1
        day = int(value[8:10]) if len(value) >= 10 else 1
        return date(year, month, day)
    except ValueError:
        return None
