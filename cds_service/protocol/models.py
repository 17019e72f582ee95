"""Pydantic v2 models of the CDS Hooks 2.0 wire format (request, response, discovery, feedback).

FHIR resources inside (draft orders, prefetch) stay plain JSON objects here; the FHIR layer
parses them with `fhir.resources` so that the protocol layer does not depend on FHIR models.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, field_validator, model_validator

from cds_service.clinical.engine import Hook

JsonObject = dict[str, Any]


def _no_nul(value: str) -> str:
    """PostgreSQL text cannot hold NUL (SQLite can): refused at the edge, so that both databases
    answer the same 400 instead of one storing it and the other failing the whole batch."""
    if "\x00" in value:
        raise ValueError("must not contain a NUL character")
    return value


Text = Annotated[str, AfterValidator(_no_nul)]


class WireModel(BaseModel):
    """Base: unknown fields tolerated (forward compatibility), none emitted when unset."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Coding(WireModel):
    system: str | None = None
    code: str
    display: str | None = None


class FhirAuthorization(WireModel):
    access_token: str = Field(min_length=1, max_length=20_000)
    token_type: Literal["Bearer"]
    expires_in: int = Field(ge=0)
    scope: str
    subject: str
    patient: str | None = None


class OrderContext(WireModel):
    """Context of `order-sign` and `order-select`."""

    userId: Text = Field(min_length=1, max_length=512)
    patientId: str = Field(min_length=1, max_length=256, pattern=r"^[A-Za-z0-9\-\.]{1,64}$")
    encounterId: Text | None = Field(default=None, max_length=512)
    draftOrders: JsonObject
    selections: list[Text] | None = None

    @field_validator("draftOrders")
    @classmethod
    def _is_bundle(cls, value: JsonObject) -> JsonObject:
        if value.get("resourceType") != "Bundle":
            raise ValueError("draftOrders must be a FHIR Bundle")
        return value


Prefetch = dict[str, JsonObject | None]


class HookRequest(WireModel):
    hook: Text = Field(min_length=1, max_length=128)
    hookInstance: Text = Field(min_length=1, max_length=128)
    fhirServer: Text | None = Field(default=None, max_length=2048)
    fhirAuthorization: FhirAuthorization | None = None
    context: OrderContext
    prefetch: Prefetch | None = None

    @field_validator("fhirServer")
    @classmethod
    def _is_http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError("fhirServer must be an http(s) URL")
        return value


#: the `prefetch` member alone, validated as `HookRequest` would (it arrives later: `protocol.body`)
PREFETCH: TypeAdapter[Prefetch | None] = TypeAdapter(Prefetch | None)


class Source(WireModel):
    label: str
    url: str | None = None
    icon: str | None = None
    topic: Coding | None = None


class Action(WireModel):
    type: Literal["create", "update", "delete"]
    description: str
    resource: JsonObject | None = None
    resourceId: str | None = None


class Suggestion(WireModel):
    label: str
    uuid: str | None = None
    isRecommended: bool | None = None
    actions: list[Action] = Field(default_factory=list)


class Link(WireModel):
    label: str
    url: str
    type: Literal["absolute", "smart"] = "absolute"
    appContext: str | None = None


class Card(WireModel):
    uuid: str | None = None
    summary: str = Field(max_length=139)  # CDS Hooks 2.0: "<140 characters"
    detail: str | None = None
    indicator: Literal["info", "warning", "critical"]
    source: Source
    suggestions: list[Suggestion] | None = None
    selectionBehavior: Literal["at-most-one", "any"] | None = None
    overrideReasons: list[Coding] | None = None
    links: list[Link] | None = None
    extension: JsonObject | None = None


class HookResponse(WireModel):
    cards: list[Card] = Field(default_factory=list)
    systemActions: list[Action] | None = None


class ServiceDefinition(WireModel):
    hook: Hook  # the hooks this service answers
    title: str | None = None
    description: str
    id: str
    prefetch: dict[str, str] | None = None
    usageRequirements: str | None = None


class Discovery(WireModel):
    services: list[ServiceDefinition]


class StrictWireModel(WireModel):
    """Base of what the EHR reports back (feedback): an unknown field is refused, naming it, so a
    misspelled `overriddeReason` is not stored as "no reason". `extension` stays open (CDS Hooks
    extensions)."""

    @model_validator(mode="before")
    @classmethod
    def _no_unknown_fields(cls, value: object) -> object:
        if isinstance(value, dict):
            unknown = sorted(str(key) for key in value if key not in cls.model_fields and key != "extension")
            if unknown:
                expected = ", ".join(cls.model_fields)
                raise ValueError(f"unknown field(s) {', '.join(unknown)} (expected {expected})")
        return value


class AcceptedSuggestion(StrictWireModel):
    id: Text = Field(min_length=1, max_length=128)


class ReasonCoding(WireModel):
    """An override reason as stored: the lengths are those of the feedback table's columns."""

    system: Text | None = Field(default=None, max_length=256)
    code: Text = Field(max_length=128)
    display: Text | None = Field(default=None, max_length=1024)


class OverrideReason(StrictWireModel):
    reason: ReasonCoding | None = None
    userComment: Text | None = Field(default=None, max_length=4000)


_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


# Instants every database stores: PostgreSQL's range ends in year 294276, Python's in 9999, and a
# far offset (`9999-12-31T23:59:59-23:59`) moves an instant past it once converted to UTC.
TIMESTAMP_YEARS = (1900, 2200)


class FeedbackItem(StrictWireModel):
    card: Text = Field(min_length=1, max_length=128)
    outcome: Literal["accepted", "overridden"]
    acceptedSuggestions: list[AcceptedSuggestion] | None = None
    overrideReason: OverrideReason | None = None
    outcomeTimestamp: datetime

    @field_validator("outcomeTimestamp", mode="before")
    @classmethod
    def _is_rfc3339(cls, value: object) -> object:
        """CDS Hooks sends an ISO 8601 instant with a time zone; not a number, not a bare date."""
        if not isinstance(value, str) or not _RFC3339.match(value):
            raise ValueError("must be an ISO 8601 date-time with a time zone, e.g. 2026-03-10T10:00:00Z")
        return value

    @field_validator("outcomeTimestamp")
    @classmethod
    def _in_range(cls, value: datetime) -> datetime:
        low, high = TIMESTAMP_YEARS
        if not low <= value.year <= high:
            raise ValueError(f"year must be between {low} and {high}")
        try:
            in_utc = value.astimezone(UTC)
        except OverflowError:
            raise ValueError(f"year must be between {low} and {high}") from None
        if not low <= in_utc.year <= high:
            raise ValueError(f"year must be between {low} and {high}")
        return value


class FeedbackRequest(WireModel):
    feedback: list[FeedbackItem] = Field(min_length=1, max_length=100)
