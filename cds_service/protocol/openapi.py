"""The OpenAPI 3.1 description of the service, served at `GET /openapi.json`.

Built from the same pydantic models that validate the wire format (`protocol.models`), so the
document cannot drift from what the endpoints accept and answer. Integrators read it; the fuzz
tests (schemathesis) generate requests from it and check every answer against it.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import JsonSchemaMode, models_json_schema
from starlette.requests import Request
from starlette.responses import Response

from cds_service import __version__
from cds_service.protocol.discovery import SERVICES
from cds_service.protocol.models import Discovery, FeedbackRequest, HookRequest, HookResponse

REF = "#/components/schemas/{model}"


class ErrorBody(BaseModel):
    """Every 4xx/5xx answer: a stable code, a human message and, for input errors, the field."""

    model_config = ConfigDict(extra="forbid")

    error: str = Field(examples=["invalid-request"])
    message: str
    field: str | None = Field(default=None, examples=["context.patientId"])


class FeedbackStored(BaseModel):
    model_config = ConfigDict(extra="forbid")

    stored: int = Field(ge=0, description="feedback items stored by this call")
    repeated: int = Field(ge=0, description="items identical to feedback already stored (stored once)")


class Health(BaseModel):
    status: str
    profile: str | None = None
    reason: str | None = None


def _json(schema_name: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": REF.format(model=schema_name)}}}


def _errors(*statuses: int) -> dict[str, Any]:
    meaning = {
        400: "malformed JSON, wrong types, missing or unknown fields, wrong hook (unsupported-hook), invalid FHIR, "
             "a resource about another patient (patient-mismatch); names the field",
        401: "authentication required (CDS_AUTH=required)",
        404: "unknown service; on feedback, a card uuid this service never issued (unknown-card)",
        412: "the Patient is neither in prefetch nor obtainable from fhirServer",
        413: "body larger than CDS_MAX_BODY_BYTES",
        503: "time-out, or storage unavailable (feedback: retry)",
    }
    return {str(status): {"description": meaning[status], "content": _json("ErrorBody")} for status in statuses}


def _hook_operation(service_id: str) -> dict[str, Any]:
    service = SERVICES[service_id]
    request_schema = {
        "allOf": [
            {"$ref": REF.format(model="HookRequest")},
            {"type": "object", "properties": {"hook": {"const": service.hook}}},
        ]
    }
    return {
        "post": {
            "operationId": f"hook-{service_id}",
            "summary": service.title,
            "description": service.description,
            "tags": ["CDS Hooks"],
            "security": [{"bearer": []}, {}],
            "parameters": [{"name": "Accept-Language", "in": "header", "required": False,
                            "schema": {"type": "string"}, "description": "`en` for English cards (default French)"}],
            "requestBody": {"required": True, "content": {"application/json": {"schema": request_schema}}},
            "responses": {"200": {"description": "cards (possibly none)", "content": _json("HookResponse")},
                          **_errors(400, 401, 412, 413, 503)},
        }
    }


def _schemas() -> dict[str, Any]:
    models: list[tuple[type[BaseModel], JsonSchemaMode]] = [
        (HookRequest, "validation"),
        (FeedbackRequest, "validation"),
        (HookResponse, "serialization"),
        (Discovery, "serialization"),
        (ErrorBody, "serialization"),
        (FeedbackStored, "serialization"),
        (Health, "serialization"),
    ]
    _, document = models_json_schema(models, ref_template=REF)
    schemas: dict[str, Any] = document["$defs"]
    # What `OrderContext` checks in code, stated in the schema: draftOrders is a FHIR Bundle.
    draft_orders = schemas["OrderContext"]["properties"]["draftOrders"]
    draft_orders.update({"properties": {"resourceType": {"const": "Bundle"}}, "required": ["resourceType"],
                         "description": "a FHIR R4 Bundle of the draft orders (MedicationRequest)"})
    return schemas


@cache
def document() -> dict[str, Any]:
    """The OpenAPI 3.1 document (built once)."""
    feedback_ids = sorted(SERVICES)
    paths: dict[str, Any] = {
        "/cds-services": {"get": {
            "operationId": "discovery",
            "summary": "CDS Hooks discovery: the services and their prefetch templates",
            "tags": ["CDS Hooks"],
            "security": [{"bearer": []}, {}],
            "responses": {"200": {"description": "the services", "content": _json("Discovery")},
                          **_errors(401)},
        }},
        **{f"/cds-services/{service_id}": _hook_operation(service_id) for service_id in sorted(SERVICES)},
        "/cds-services/{service_id}/feedback": {"post": {
            "operationId": "feedback",
            "summary": "CDS Hooks feedback on cards, committed before the 200",
            "tags": ["CDS Hooks"],
            "security": [{"bearer": []}, {}],
            "parameters": [{"name": "service_id", "in": "path", "required": True,
                            "schema": {"type": "string", "enum": feedback_ids}}],
            "requestBody": {"required": True, "content": _json("FeedbackRequest")},
            "responses": {"200": {"description": "stored", "content": _json("FeedbackStored")},
                          **_errors(400, 401, 404, 413, 503)},
        }},
        "/healthz": {"get": {
            "operationId": "healthz", "summary": "liveness", "tags": ["operations"],
            "responses": {"200": {"description": "alive", "content": _json("Health")}},
        }},
        "/readyz": {"get": {
            "operationId": "readyz", "summary": "readiness: the database answers", "tags": ["operations"],
            "responses": {"200": {"description": "ready", "content": _json("Health")},
                          "503": {"description": "not ready", "content": _json("Health")}},
        }},
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "baclofen-cds",
            "version": __version__,
            "summary": "CDS Hooks 2.0 service applying the ANSM baclofen RTU (alcohol dependence)",
            "description": "Order-sign and order-select checks of baclofen prescriptions; see the README "
                           "and docs/integrator-guide.md.",
        },
        "paths": paths,
        "components": {
            "schemas": _schemas(),
            "securitySchemes": {"bearer": {
                "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                "description": "CDS Hooks JWT signed by a trusted EHR (not required when CDS_AUTH=off)"}},
        },
    }


@cache
def _rendered() -> bytes:
    return orjson.dumps(document())


async def endpoint(request: Request) -> Response:
    """`GET /openapi.json`: public (it holds no secret and no patient data), rendered once."""
    return Response(_rendered(), media_type="application/json")
