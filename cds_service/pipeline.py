"""From a validated CDS Hooks request to cards: prefetch, patient context, rules, cards.

Shared by the HTTP endpoint and the offline `check` command, so both give the same answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx

from cds_service.clinical.cards import RULES_EXTENSION, CardRequest, build_cards
from cds_service.clinical.engine import Hook, evaluate
from cds_service.clinical.profile import Language, Profile
from cds_service.fhir import prefetch as prefetch_logic
from cds_service.fhir.client import FhirEndpoint
from cds_service.fhir.context_builder import build_context
from cds_service.fhir.patient_match import check_same_patient
from cds_service.fhir.prefetch import FetchObserver
from cds_service.fhir.scope import has_baclofen_draft
from cds_service.observability.tracing import span
from cds_service.protocol.models import HookRequest


@dataclass
class HookOutcome:
    """The cards, plus what the audit and metrics need."""

    cards: list[dict[str, Any]]
    unavailable: dict[str, str] = field(default_factory=dict)
    out_of_scope: bool = False  # no baclofen draft: answered before the prefetch was read

    @property
    def rule_codes(self) -> list[str]:
        return [code for card in self.cards for code in card["extension"][RULES_EXTENSION]]

    def response(self) -> dict[str, Any]:
        return {"cards": self.cards}


async def run_hook(
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
    observe_fetch: FetchObserver | None = None,
) -> HookOutcome:
    """Cards for one hook call. Raises `PatientUnavailable` (412), `InvalidFhir` (400) and its
    `PatientMismatch` (400: a resource of the request is about another patient).

    Scope first: with no baclofen draft the answer is no card, without reading the prefetch
    or calling the FHIR server (`fhir.scope`).
    """
    context = request.context
    if not has_baclofen_draft(context.draftOrders, context.selections):
        return HookOutcome(cards=[], out_of_scope=True)
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
            observe=observe_fetch,
        )
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
    return HookOutcome(cards=cards, unavailable=resolved.unavailable)
