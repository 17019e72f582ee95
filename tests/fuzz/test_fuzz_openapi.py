"""Schemathesis against the app in process, from the OpenAPI document the app serves.

Positive cases (requests that match the schema) and negative ones (that violate it) for every
operation; each answer must be no 5xx, documented status, JSON content type, and a body that
matches the documented response schema. Schema-violating requests that the pydantic models
accept anyway (lax coercion, e.g. a timestamp "0") are counted and reported, not failed: that is
a finding to fix in `protocol/models.py` (the numeric timestamp one was), not a crash.

Schemathesis iterates sets while building strategies, so its examples vary with the hash seed
(`PYTHONHASHSEED=0` makes them identical run to run); the checks are invariants that must hold
for every input, so the outcome does not depend on which examples a run draws.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import schemathesis
from hypothesis import given, settings
from schemathesis import checks
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.schemas import BaseSchema

from cds_service.app import create_app
from cds_service.protocol.openapi import document
from cds_service.settings import Settings
from cds_service.storage.database import migrate
from tests.fuzz.asgi import FUZZ_SETTINGS, TOTALS
from tests.fuzz.strategies import contain

CHECKS = [checks.not_a_server_error, checks.status_code_conformance, checks.content_type_conformance,
          checks.response_schema_conformance]
ACCEPTED_NEGATIVE: list[str] = []  # schema-violating bodies answered 2xx (reported at the end)
POSITIVE, NEGATIVE = GenerationMode.POSITIVE, GenerationMode.NEGATIVE
CASES = [
    ("POST", "/cds-services/baclofen-rtu", POSITIVE, 600),
    ("POST", "/cds-services/baclofen-rtu", NEGATIVE, 600),
    ("POST", "/cds-services/baclofen-rtu-select", POSITIVE, 600),
    ("POST", "/cds-services/baclofen-rtu-select", NEGATIVE, 600),
    ("POST", "/cds-services/{service_id}/feedback", POSITIVE, 400),
    ("POST", "/cds-services/{service_id}/feedback", NEGATIVE, 400),
    ("GET", "/cds-services", POSITIVE, 10),
    ("GET", "/healthz", POSITIVE, 10),
    ("GET", "/readyz", POSITIVE, 10),
]


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BaseSchema]:
    database: Path = tmp_path_factory.mktemp("schemathesis") / "cds.db"
    url = f"sqlite+aiosqlite:///{database}"
    migrate(url)
    app = create_app(Settings(auth="off", database_url=url, public_url="http://testserver",
                              fhir_timeout_seconds=0.5))
    yield schemathesis.openapi.from_asgi("/openapi.json", app)


@pytest.mark.parametrize(("method", "path", "mode", "examples"), CASES,
                         ids=[f"{m} {p} {mode.value}" for m, p, mode, _ in CASES])
def test_operation_conforms(api_schema: BaseSchema, method: str, path: str, mode: GenerationMode,
                            examples: int) -> None:
    operation = api_schema[path][method]

    @settings(FUZZ_SETTINGS, max_examples=examples)
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        contain(case.body)  # fetches stay on a closed loopback port
        response = case.call()
        TOTALS.count(response.status_code)
        case.validate_response(response, checks=CHECKS)
        assert isinstance(orjson.loads(response.content), dict)
        if mode is NEGATIVE and response.status_code < 300:
            try:
                case.validate_response(response, checks=[checks.negative_data_rejection])
            except FailureGroup as finding:  # reported, not failed: see the module docstring
                why = next((line.strip() for line in str(finding).splitlines() if "Invalid component" in line), "")
                ACCEPTED_NEGATIVE.append(f"{method} {path}: {why}")

    run()
    if ACCEPTED_NEGATIVE:
        print(f"\n{len(ACCEPTED_NEGATIVE)} schema-violating requests accepted so far: {sorted(set(ACCEPTED_NEGATIVE))}")


async def test_feedback_rejects_a_numeric_timestamp(client: httpx.AsyncClient) -> None:
    feedback = {"feedback": [{"card": "c-1", "outcome": "accepted", "outcomeTimestamp": "0"}]}
    response = await client.post("/cds-services/baclofen-rtu/feedback", json=feedback)
    assert response.status_code == 400


def test_document_is_openapi_31_with_resolvable_refs() -> None:
    spec = document()
    assert spec["openapi"] == "3.1.0"
    assert {"/cds-services", "/cds-services/baclofen-rtu", "/cds-services/baclofen-rtu-select",
            "/cds-services/{service_id}/feedback", "/healthz", "/readyz"} <= set(spec["paths"])
    schemas = spec["components"]["schemas"]
    refs = {ref for ref in _refs(spec)}
    assert refs and all(ref.removeprefix("#/components/schemas/") in schemas for ref in refs), refs


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


async def test_served_at_openapi_json(client: httpx.AsyncClient) -> None:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == document()
