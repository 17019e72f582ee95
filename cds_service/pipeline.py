"""From a validated CDS Hooks request to cards: prefetch, patient context, rules, cards.

Shared by the HTTP endpoint and the offline `check` command, so both give the same answer.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx

from cds_service.clinical import medication as medication_logic
from cds_service.clinical.cards import RULES_EXTENSION, CardRequest, build_cards
from cds_service.clinical.context import PatientContext
from cds_service.clinical.engine import Hook, evaluate
from cds_service.clinical.profile import Language, Profile
from cds_service.fhir import prefetch as prefetch_logic
from cds_service.fhir.client import FhirEndpoint
from cds_service.fhir.context_builder import build_context
from cds_service.fhir.patient_match import check_same_patient
from cds_service.fhir.prefetch import DEFAULT_PAGE_SIZE, FetchObserver
from cds_service.fhir.scope import has_baclofen_draft
from cds_service.observability.tracing import span
from cds_service.protocol.models import HookRequest


class TooManyResources(Exception):
    """More draft orders or prefetch entries than this service evaluates (HTTP 413)."""

    def __init__(self, field: str, count: int, limit: int, setting: str) -> None:
        super().__init__(f"{field}: {count} entries, more than the limit of {limit} ({setting})")
        self.field = field
        self.count = count
        self.limit = limit
        self.setting = setting


@dataclass(frozen=True)
class Limits:
    """How much one call may ask the service to evaluate. The clinical work is linear in the
    input, but a CPU-bound evaluation cannot be interrupted by the request time-out, so the
    input is bounded too (settings `CDS_MAX_DRAFT_ORDERS`, `CDS_MAX_PREFETCH_ENTRIES`)."""

    max_draft_orders: int = 100
    max_prefetch_entries: int = 10_000


def entry_count(value: Any) -> int:
    """Entries of a Bundle (JSON); a single resource counts as one, anything else as none."""
    if not isinstance(value, dict):
        return 0
    entries = value.get("entry")
    if isinstance(entries, list):
        return len(entries)
    return 0 if value.get("resourceType") == "Bundle" else 1


def check_draft_limit(request: HookRequest, limits: Limits) -> None:
    """Refuse, before the scope is decided, a call with too many drafts."""
    drafts = entry_count(request.context.draftOrders)
    if drafts > limits.max_draft_orders:
        raise TooManyResources("context.draftOrders", drafts, limits.max_draft_orders,
                               "CDS_MAX_DRAFT_ORDERS")


def check_prefetch_limit(request: HookRequest, limits: Limits) -> None:
    """Refuse, before any parsing or fetching, a prefetch with too many entries (not read at all
    when no draft is baclofen)."""
    for key, value in (request.prefetch or {}).items():
        count = entry_count(value)
        if count > limits.max_prefetch_entries:
            raise TooManyResources(f"prefetch.{key}", count, limits.max_prefetch_entries,
                                   "CDS_MAX_PREFETCH_ENTRIES")


def _drop_oversized(resolved: prefetch_logic.PrefetchResult, limits: Limits) -> None:
    """A key fetched from the FHIR server with too many entries is not evaluated: the card says
    which checks could not run (reason `too-many-entries`), as for any unavailable key."""
    for key in resolved.fetched:
        if entry_count(resolved.data.get(key)) > limits.max_prefetch_entries:
            resolved.data.pop(key, None)
            resolved.unavailable[key] = "too-many-entries"


@dataclass
class HookOutcome:
    """The cards, plus what the audit and metrics need."""

    cards: list[dict[str, Any]]
    unavailable: dict[str, str] = field(default_factory=dict)
    drug_codes: dict[str, int] = field(default_factory=dict)  # "cip/shape/unknown" -> count (no patient data)

    @property
    def rule_codes(self) -> list[str]:
        return [code for card in self.cards for code in card["extension"][RULES_EXTENSION]]

    def response(self) -> dict[str, Any]:
        return {"cards": self.cards}


def in_scope(request: HookRequest, limits: Limits) -> bool:
    """Is any draft (or, for order-select, any selected draft) baclofen? Decided from the drafts
    alone (`fhir.scope`), before the prefetch is read or the FHIR server called. Raises
    `TooManyResources` (413) and `InvalidFhir` (400) for a malformed draft Bundle."""
    check_draft_limit(request, limits)
    return has_baclofen_draft(request.context.draftOrders, request.context.selections)


async def evaluate_hook(
    request: HookRequest,
    *,
    hook: Hook,
    profile: Profile,
    http: httpx.AsyncClient,
    lang: Language,
    today: date,
    base_url: str,
    deadline_seconds: float,
    max_pages: int,
    page_size: int = DEFAULT_PAGE_SIZE,
    observe_fetch: FetchObserver | None = None,
    limits: Limits = Limits(),
) -> HookOutcome:
    """Cards for a call `in_scope` found a baclofen draft in. Raises `TooManyResources` (413),
    `PatientUnavailable` (412), `InvalidFhir` (400) and its `PatientMismatch` (400: a resource
    of the request is about another patient)."""
    context = request.context
    check_prefetch_limit(request, limits)
    check_same_patient(request.prefetch, context.draftOrders, context.patientId)
    endpoint = None
    if request.fhirServer:
        token = request.fhirAuthorization.access_token if request.fhirAuthorization else None
        endpoint = FhirEndpoint(request.fhirServer, token)
    with span("cds.prefetch"):
        resolved = await prefetch_logic.resolve(
            request.prefetch,
            patient_id=context.patientId,
            endpoint=endpoint,
            http=http,
            deadline_seconds=deadline_seconds,
            max_pages=max_pages,
            page_size=page_size,
            observe=observe_fetch,
        )
        _drop_oversized(resolved, limits)
    with span("cds.evaluate", hook=hook, profile=profile.id):
        patient_context = build_context(
            patient_id=context.patientId,
            draft_orders=context.draftOrders,
            data=resolved.data,
            unavailable=resolved.unavailable,
            today=today,
        )
        evaluations = evaluate(patient_context, profile, hook, context.selections)
        cards = build_cards(
            evaluations,
            CardRequest(
                hook_instance=request.hookInstance,
                patient_id=context.patientId,
                user_id=context.userId,
                encounter_id=context.encounterId,
                lang=lang,
                base_url=base_url,
            ),
        )
    return HookOutcome(cards=cards, unavailable=resolved.unavailable, drug_codes=drug_code_counts(patient_context))


def drug_code_counts(context: PatientContext) -> dict[str, int]:
    """French drug codes of the call by kind, how the system was recognised (URI or shape) and
    whether the index knew them: for the log, so that codes read by shape are visible."""
    counts: Counter[str] = Counter()
    for fact in (*context.medications, *context.draft_orders):
        for kind, via, known in medication_logic.identify(fact).french_codes:
            counts[f"{kind}/{via}/{'known' if known else 'unknown'}"] += 1
    return dict(counts)
