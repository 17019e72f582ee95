"""The CDS Hooks HTTP endpoints: discovery, the two hook services, feedback, health.

Each handler validates the body into the pydantic models, authenticates the EHR (unless the
sandbox switched authentication off), runs the pipeline and records the audit. Client mistakes
become 4xx JSON naming the field; nothing a client sends can produce a 500.

The audit row of an evaluation is committed before its answer is sent, by group commit: the
requests that finish while a write is in flight share the next transaction (`AuditWriter`).
One transaction per request cost ~1.4 ms of CPU and, with several in flight on SQLite, lock
waits of seconds; a shared transaction costs ~0.4 ms a row and never waits on itself.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import re
import time
from datetime import date
from typing import Any

import orjson
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from cds_service.fhir.client import plain_http_allowed
from cds_service.fhir.parsing import InvalidFhir
from cds_service.fhir.patient_match import PatientMismatch
from cds_service.fhir.prefetch import PatientUnavailable
from cds_service.observability import metrics
from cds_service.observability.logging import correlation_id, get_logger, log
from cds_service.observability.privacy import pseudonymise
from cds_service.observability.tracing import span
from cds_service.pipeline import Limits, TooManyResources, evaluate_hook, in_scope
from cds_service.protocol.auth import AuthError, ReplayCheckUnavailable, audience_for
from cds_service.protocol.body import HookBody, hook_body, json_body
from cds_service.protocol.discovery import SERVICES, discovery
from cds_service.protocol.errors import ApiError, from_validation
from cds_service.protocol.feedback import check_against_issued
from cds_service.protocol.language import negotiate
from cds_service.protocol.middleware import DEADLINE
from cds_service.protocol.models import PREFETCH, FeedbackRequest, HookRequest, ServiceDefinition
from cds_service.state import AppState
from cds_service.storage.repository import CardRecord, EvaluationRecord, FeedbackRecord

logger = get_logger("http")
REPLAY_RETRY_AFTER_SECONDS = 5


class OrjsonResponse(JSONResponse):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def error_response(error: ApiError) -> Response:
    return OrjsonResponse(error.body(), status_code=error.status, headers=error.headers)


def state_of(request: Request) -> AppState:
    state: AppState = request.app.state.cds
    return state


async def authenticate(request: Request) -> None:
    """Verify the EHR's JWT on this call (every CDS endpoint, discovery included)."""
    state = state_of(request)
    if state.verifier is None:
        return
    try:
        await state.verifier.verify(request.headers.get("authorization"),
                                    audience_for(state.settings, request.url.path))
    except AuthError as exc:
        log(logger, logging.WARNING, "authentication failed", reason=exc.reason,
            path=request.url.path)
        raise ApiError(401, "unauthorized", "authentication required",
                       headers={"WWW-Authenticate": "Bearer"}) from None
    except ReplayCheckUnavailable as exc:
        log(logger, logging.ERROR, "replay check unavailable", error=str(exc), path=request.url.path)
        raise ApiError(503, "replay-check-unavailable",
                       "the token's replay protection cannot be checked (storage unavailable); retry",
                       headers={"Retry-After": str(REPLAY_RETRY_AFTER_SECONDS)}) from None


async def get_discovery(request: Request) -> Response:
    try:
        await authenticate(request)
    except ApiError as error:
        return error_response(error)
    state = state_of(request)
    return OrjsonResponse(discovery(state.profile, state.settings.fhir_page_size).model_dump(exclude_none=True))


def _service(service_id: str) -> ServiceDefinition:
    service = SERVICES.get(service_id)
    if service is None:
        raise ApiError(404, "unknown-service", f"no CDS service with id {service_id!r}", "id")
    return service


def _reserve(settings_timeout: float) -> float:
    """Time kept, before the request deadline, for the audit write and the answer."""
    return min(0.5, settings_timeout / 10)


async def post_hook(request: Request) -> Response:
    """Parse and check the call, answer `{"cards": []}` at once when no draft is baclofen, else
    evaluate under the handler's own deadline (the guard's backstop is later, for what the
    handler could not answer itself)."""
    service_id = request.path_params["service_id"]
    started = time.perf_counter()
    state = state_of(request)
    deadline: float | None = request.scope.get(DEADLINE)
    reserve = _reserve(state.settings.request_timeout_seconds)
    service: ServiceDefinition | None = None
    hook_request: HookRequest | None = None
    outcome_record: EvaluationRecord | None = None
    status = 200
    try:
        service = _service(service_id)
        hook_request, body = await _read_hook_request(request, state, service)
        if not _in_scope(hook_request, state.limits):  # counted, not audited: most orders are not baclofen
            metrics.count_out_of_scope(service_id)
            response: Response = Response(NO_CARDS, media_type="application/json")
        else:
            hook_request = _with_prefetch(hook_request, body)
            async with asyncio.timeout_at(None if deadline is None else deadline - 2 * reserve):
                response, outcome_record = await _evaluate(request, state, hook_request, service, started)
    except ApiError as error:
        status = error.status
        response = error_response(error)
    except TimeoutError:
        # answered here, before the guard's backstop, so the 503 is counted and audited
        status = 503
        response = error_response(ApiError(503, "timeout", "request timed out"))
        if service is not None and hook_request is not None:
            log(logger, logging.WARNING, "hook timed out", service=service_id)
            outcome_record = _record(state, hook_request, service, [], 503, started)
    elapsed = time.perf_counter() - started
    label = service_id if service_id in SERVICES else "unknown"
    metrics.count_request(label, status, elapsed)
    if outcome_record is not None:
        await _audit(request, outcome_record, None if deadline is None else deadline - reserve)
    return response


NO_CARDS = b'{"cards":[]}'


def _record(state: AppState, hook_request: HookRequest, service: ServiceDefinition, cards: list[dict[str, Any]],
            status: int, started: float) -> EvaluationRecord:
    return EvaluationRecord(
        hook_instance=hook_request.hookInstance,
        service_id=service.id,
        hook=service.hook,
        patient_pseudonym=pseudonymise(hook_request.context.patientId, state.settings.pseudonym_key),
        profile=state.profile.id,
        cards=[CardRecord(card["uuid"], card["indicator"], list(card["extension"]["baclofen-rtu-rules"]),
                          [s["uuid"] for s in card.get("suggestions") or [] if "uuid" in s])
               for card in cards],
        status_code=status,
        duration_ms=(time.perf_counter() - started) * 1000,
    )


async def _read_hook_request(request: Request, state: AppState,
                             service: ServiceDefinition) -> tuple[HookRequest, HookBody]:
    """The authenticated, validated call, without its prefetch (`_with_prefetch`), or the 4xx
    that names what is wrong with it."""
    await authenticate(request)
    body = hook_body(await request.body())
    payload = body.members
    hook = payload.get("hook")
    if isinstance(hook, str) and hook != service.hook:  # before the context, whose shape is the hook's
        raise ApiError(400, "unsupported-hook",
                       f"service {service.id} answers hook {service.hook!r}, not {hook[:128]!r}", "hook")
    try:
        hook_request = HookRequest.model_validate(payload)
    except ValidationError as exc:
        raise from_validation(exc) from None
    if hook_request.fhirServer and not plain_http_allowed(hook_request.fhirServer,
                                                           state.settings.fhir_http_allowed_hosts):
        raise ApiError(400, "insecure-fhir-server",
                       "fhirServer must use https (plain http only on loopback or an allowed host)",
                       "fhirServer")
    correlation_id.set(hook_request.hookInstance[:64])
    return hook_request, body


def _with_prefetch(hook_request: HookRequest, body: HookBody) -> HookRequest:
    """The call with its prefetch decoded and validated: only for a baclofen order (the other
    members were validated already)."""
    if body.prefetch is None:
        return hook_request
    try:
        prefetch = PREFETCH.validate_python(body.decoded_prefetch())
    except ValidationError as exc:
        raise from_validation(exc, "prefetch") from None
    return hook_request.model_copy(update={"prefetch": prefetch})


def _in_scope(hook_request: HookRequest, limits: Limits) -> bool:
    try:
        return in_scope(hook_request, limits)
    except (TooManyResources, InvalidFhir) as exc:
        raise _api_error(exc) from None


def _api_error(exc: Exception) -> ApiError:
    """The 4xx for what the pipeline refused."""
    if isinstance(exc, TooManyResources):
        return ApiError(413, "too-many-resources", str(exc), exc.field)
    if isinstance(exc, PatientUnavailable):
        log(logger, logging.WARNING, "patient unavailable", reason=exc.reason)
        return ApiError(412, "patient-unavailable",
                        "the Patient resource is neither in prefetch nor obtainable from fhirServer",
                        "prefetch.patient")
    if isinstance(exc, PatientMismatch):
        return ApiError(400, "patient-mismatch", str(exc), exc.location)
    if isinstance(exc, InvalidFhir):
        return ApiError(400, "invalid-fhir", str(exc), exc.location)
    raise TypeError(f"not a pipeline refusal: {type(exc).__name__}")


async def _evaluate(request: Request, state: AppState, hook_request: HookRequest, service: ServiceDefinition,
                    started: float) -> tuple[Response, EvaluationRecord]:
    """Cards for a call with a baclofen draft, and its audit row."""
    lang = negotiate(request.headers.get("accept-language"))
    with span("cds.request", service=service.id, hook=service.hook):
        try:
            outcome = await evaluate_hook(
                hook_request,
                hook=service.hook,
                profile=state.profile,
                http=state.http,
                lang=lang,
                today=date.today(),
                base_url=state.settings.public_url,
                deadline_seconds=state.settings.fhir_timeout_seconds,
                max_pages=state.settings.fhir_max_pages,
                page_size=state.settings.fhir_page_size,
                observe_fetch=metrics.observe_fetch,
                limits=state.limits,
            )
        except (TooManyResources, PatientUnavailable, PatientMismatch, InvalidFhir) as exc:
            raise _api_error(exc) from None
    metrics.count_cards((card["indicator"] for card in outcome.cards), outcome.rule_codes, state.profile.id)
    duration_ms = (time.perf_counter() - started) * 1000
    log(logger, logging.INFO, "hook evaluated", service=service.id, cards=len(outcome.cards),
        rules=outcome.rule_codes, unavailable=sorted(outcome.unavailable), drug_codes=outcome.drug_codes,
        duration_ms=round(duration_ms, 2))
    record = _record(state, hook_request, service, outcome.cards, 200, started)
    return OrjsonResponse(outcome.response()), record


async def _audit(request: Request, record: EvaluationRecord, deadline: float | None) -> None:
    """The audit row is committed before the answer is sent; a storage failure is logged,
    never turned into a failed clinical check. A write still running at `deadline` goes on
    (it is shielded) while the answer goes out: the row then records the status sent."""
    try:
        async with asyncio.timeout_at(deadline):
            await state_of(request).audit.write(record)
    except Exception as exc:  # storage down must not hide cards from the clinician
        log(logger, logging.ERROR, "audit write failed", error=type(exc).__name__)


async def post_feedback(request: Request) -> Response:
    service_id = request.path_params["service_id"]
    try:
        _service(service_id)
        await authenticate(request)
        payload = json_body(await request.body())
        try:
            feedback = FeedbackRequest.model_validate(payload)
        except ValidationError as exc:
            raise from_validation(exc) from None
        items = [
            FeedbackRecord(
                service_id=service_id,
                card_uuid=item.card,
                outcome=item.outcome,
                accepted_suggestions=[s.id for s in item.acceptedSuggestions or []],
                override_reason_system=item.overrideReason.reason.system
                if item.overrideReason and item.overrideReason.reason else None,
                override_reason_code=item.overrideReason.reason.code
                if item.overrideReason and item.overrideReason.reason else None,
                override_comment=item.overrideReason.userComment if item.overrideReason else None,
                outcome_timestamp=item.outcomeTimestamp,
            )
            for item in feedback.feedback
        ]
        repository = state_of(request).repository
        try:
            cards = await repository.issued_cards([item.card_uuid for item in items])
        except Exception as exc:
            log(logger, logging.ERROR, "feedback read failed", error=type(exc).__name__)
            raise ApiError(503, "storage-unavailable", "feedback could not be stored; retry") from None
        check_against_issued(items, cards)
        try:
            results = await repository.record_feedback(items, cards)
        except Exception as exc:
            log(logger, logging.ERROR, "feedback write failed", error=type(exc).__name__)
            raise ApiError(503, "storage-unavailable", "feedback could not be stored; retry") from None
    except ApiError as error:
        return error_response(error)
    repeated = sum(result.repeated for result in results)
    for item, result in zip(items, results, strict=True):
        if result.repeated:  # counted when first stored
            continue
        for code in result.rule_codes or ["unknown"]:
            metrics.count_feedback(service_id, item.outcome, code)
    log(logger, logging.INFO, "feedback stored", service=service_id, items=len(items), repeated=repeated)
    return OrjsonResponse({"stored": len(items) - repeated, "repeated": repeated})


async def healthz(request: Request) -> Response:
    return OrjsonResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    try:
        await state_of(request).repository.ping()
    except Exception as exc:
        return OrjsonResponse({"status": "unavailable", "reason": type(exc).__name__}, status_code=503)
    profile = state_of(request).profile
    return OrjsonResponse({"status": "ready", "profile": profile.id, "profile_title": profile.meta.title["en"],
                           "profile_version": profile.meta.version, "profile_status": profile.meta.status,
                           "profile_signed_off": profile.meta.sign_off.signed})


async def get_metrics(request: Request) -> Response:
    """Prometheus exposition; behind a bearer token when `CDS_METRICS_TOKEN` is set (its per-rule
    counters describe clinical activity)."""
    expected = state_of(request).settings.metrics_token
    if expected:
        match = re.fullmatch(r"bearer +(\S+)", request.headers.get("authorization", "").strip(), re.IGNORECASE)
        given = match.group(1) if match else ""
        if not hmac.compare_digest(given.encode(), expected.encode()):
            return error_response(ApiError(401, "unauthorized", "metrics require the metrics token",
                                           headers={"WWW-Authenticate": "Bearer"}))
    body, content_type = metrics.render()
    return Response(body, media_type=content_type)
