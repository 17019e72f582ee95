"""Valid FHIR never gets a 500: every fixture, with one element of one resource deleted.

FHIR makes most elements optional (`authoredOn`, `dosageInstruction`, `reasonCode`, a coding's
`display`…), and an EHR may leave any of them out. For each scenario of `fhir_fixtures/`, each
element of each resource in the draft orders and the prefetch is deleted in turn (the top level
of every draft, and a seeded sample of the nested elements to keep the run short) and the request
goes to the real app: never a 500; 200 when a resource's own optional element is gone; else
(a required element, or a nested one whose absence breaks a FHIR invariant, e.g. an empty
CodeableConcept) a 4xx with a message that names the problem.
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Iterator
from typing import Any

import pytest

from cds_service.fixtures import Scenario, fixtures_dir, list_scenarios
from tests.fuzz.asgi import CLOSED_FHIR_SERVER, InProcessApp

DIRECTORY = fixtures_dir()
SCENARIOS = list_scenarios(DIRECTORY) if DIRECTORY else []
NESTED_SAMPLE = 12  # nested deletions tried per scenario, besides every top-level one of a draft

# Elements FHIR R4 requires (min 1): deleting them makes the resource invalid, so a 4xx is right.
REQUIRED: dict[str, set[str]] = {
    "MedicationRequest": {"status", "intent", "subject", "medicationCodeableConcept", "medicationReference"},
    "MedicationStatement": {"status", "subject", "medicationCodeableConcept", "medicationReference"},
    "Observation": {"status", "code"},
    "Condition": {"subject"},
    "AllergyIntolerance": {"patient"},
    "Bundle": {"type"},
}
KEPT = {"resourceType", "id"}

Path = tuple[str | int, ...]


def _resources(request: dict[str, Any]) -> Iterator[tuple[Path, dict[str, Any], bool]]:
    """(path, resource, is_draft) of every resource of the draft orders and the prefetch."""
    for index, entry in enumerate(request["context"]["draftOrders"].get("entry") or []):
        if isinstance(entry, dict) and isinstance(entry.get("resource"), dict):
            yield ("context", "draftOrders", "entry", index, "resource"), entry["resource"], True
    for key, value in (request.get("prefetch") or {}).items():
        if not isinstance(value, dict):
            continue
        if value.get("resourceType") == "Bundle":
            for index, entry in enumerate(value.get("entry") or []):
                if isinstance(entry, dict) and isinstance(entry.get("resource"), dict):
                    yield ("prefetch", key, "entry", index, "resource"), entry["resource"], False
        else:
            yield ("prefetch", key), value, False


def _nested(value: Any, path: Path) -> Iterator[Path]:
    """Every element below the top level of a resource."""
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in children:
        if isinstance(key, str):
            yield (*path, key)
        yield from _nested(child, (*path, key))


def _deletions(scenario: Scenario) -> list[tuple[Path, bool]]:
    """(path, must answer 200): every top-level element of the drafts, and a seeded sample of
    the prefetch resources' top-level elements and of everyone's nested elements."""
    drafts: list[tuple[Path, bool]] = []
    sampled: list[tuple[Path, bool]] = []
    for path, resource, is_draft in _resources(scenario.request):
        required = REQUIRED.get(str(resource.get("resourceType")), set())
        for key, child in resource.items():
            if key in KEPT:
                continue
            (drafts if is_draft else sampled).append(((*path, key), key not in required))
            sampled.extend((nested, False) for nested in _nested(child, (*path, key)))
    rng = random.Random(scenario.name)
    return drafts + rng.sample(sampled, min(NESTED_SAMPLE, len(sampled)))


def _without(request: dict[str, Any], path: Path) -> dict[str, Any]:
    mutated = copy.deepcopy(request)
    target: Any = mutated
    for part in path[:-1]:
        target = target[part]
    del target[path[-1]]
    return mutated


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_deleting_an_element_never_gives_500(service: InProcessApp, scenario: Scenario) -> None:
    request = copy.deepcopy(scenario.request)
    if "fhirServer" in request:
        request["fhirServer"] = CLOSED_FHIR_SERVER
    path_of_service = f"/cds-services/{scenario.service}"
    baseline = service.request("POST", path_of_service, json.dumps(request).encode())
    for path, optional in _deletions(scenario):
        reply = service.request("POST", path_of_service, json.dumps(_without(request, path)).encode())
        where = ".".join(str(part) for part in path)
        assert reply.crash is None and reply.status != 500, f"{where}: {reply.status} {reply.crash!r}"
        if reply.status >= 400:
            body = json.loads(reply.body)
            assert body.get("message"), f"{where}: {reply.status} without a message"
        if optional and baseline.status == 200:
            assert reply.status == 200, f"{where} is optional in FHIR, got {reply.status}: {reply.body[:300]!r}"
