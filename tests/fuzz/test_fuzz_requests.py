"""Mutated CDS Hooks requests against the real app: never a 5xx, never a crash, always JSON.

Each answer must be a JSON object: a 200 that validates as a CDS Hooks response (summaries of
at most 140 characters, unique card uuids), or a 4xx naming the error. The examples are
derandomized (same requests every run); see tests/fuzz/strategies.py for what is generated.
"""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from cds_service.protocol.models import HookResponse
from tests.fuzz.asgi import FUZZ_SETTINGS, InProcessApp, Reply
from tests.fuzz.strategies import (
    damaged_bytes,
    mutated_feedback,
    mutated_requests,
    render,
    requests_with_generated_resources,
)

ACCEPT_LANGUAGE = st.sampled_from([b"fr", b"en", b"en-GB,en;q=0.9", b"*", b"de", b"en;q=abc", b"", b"x" * 300])


def check(reply: Reply, *, hook: bool) -> dict[str, Any]:
    """The invariants of every answer; returns the decoded body."""
    assert reply.crash is None, f"unhandled {type(reply.crash).__name__}: {reply.crash}"
    assert 200 <= reply.status < 500, (reply.status, reply.body[:500])
    assert reply.headers.get("content-type", "").startswith("application/json"), reply.headers
    body = orjson.loads(reply.body)
    assert isinstance(body, dict), body
    if reply.status == 200 and hook:
        response = HookResponse.model_validate(body)
        uuids = [card.uuid for card in response.cards]
        assert len(uuids) == len(set(uuids)), f"repeated card uuids {uuids}"
    elif reply.status >= 400:
        assert isinstance(body.get("error"), str) and isinstance(body.get("message"), str), body
    return body


def post_hook(service: InProcessApp, service_id: str, body: bytes, language: bytes = b"fr") -> Reply:
    return service.request("POST", f"/cds-services/{service_id}", body, [(b"accept-language", language)])


@settings(FUZZ_SETTINGS, max_examples=4500)
@given(case=mutated_requests(), language=ACCEPT_LANGUAGE)
def test_mutated_requests_never_fail(service: InProcessApp, case: tuple[str, Any], language: bytes) -> None:
    service_id, document = case
    check(post_hook(service, service_id, render(document), language), hook=True)


@settings(FUZZ_SETTINGS, max_examples=1500)
@given(case=requests_with_generated_resources())
def test_generated_fhir_resources_never_fail(service: InProcessApp, case: tuple[str, Any]) -> None:
    service_id, document = case
    check(post_hook(service, service_id, render(document)), hook=True)


@settings(FUZZ_SETTINGS, max_examples=1200)
@given(body=damaged_bytes(), service_id=st.sampled_from(["baclofen-rtu", "baclofen-rtu-select"]))
def test_damaged_bytes_are_client_errors(service: InProcessApp, body: bytes, service_id: str) -> None:
    reply = post_hook(service, service_id, body)
    check(reply, hook=True)


@settings(FUZZ_SETTINGS, max_examples=800)
@given(document=mutated_feedback(), service_id=st.sampled_from(["baclofen-rtu", "baclofen-rtu-select", "nope"]))
def test_mutated_feedback_never_fails(service: InProcessApp, document: Any, service_id: str) -> None:
    reply = service.request("POST", f"/cds-services/{service_id}/feedback", render(document))
    body = check(reply, hook=False)
    if reply.status == 200:
        assert isinstance(body.get("stored"), int)


@settings(FUZZ_SETTINGS, max_examples=300)
@given(method=st.sampled_from(["GET", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]),
       path=st.sampled_from(["/cds-services", "/cds-services/baclofen-rtu", "/cds-services/x/feedback",
                             "/healthz", "/readyz", "/openapi.json", "/nope", "/cds-services/%00",
                             "/cds-services/" + "a" * 3000]),
       body=st.binary(max_size=64))
def test_other_methods_and_paths(service: InProcessApp, method: str, path: str, body: bytes) -> None:
    reply = service.request(method, path, body)
    assert reply.crash is None and reply.status < 500, (reply.status, reply.body[:300])
    if method != "HEAD" and reply.status != 200:
        orjson.loads(reply.body)
