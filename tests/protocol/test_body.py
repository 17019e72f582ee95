"""Request bodies: JSON errors are 400s naming the problem; a hook call's prefetch is decoded
only when a draft is baclofen."""

from __future__ import annotations

import json

import httpx
import pytest

from cds_service.protocol.body import hook_body, json_body
from cds_service.protocol.errors import ApiError
from tests.builders import hook_request, other_order


def _error_of(call: object) -> ApiError:
    with pytest.raises(ApiError) as caught:
        call()  # type: ignore[operator]
    return caught.value


@pytest.mark.parametrize("decode", [json_body, hook_body])
def test_empty_and_malformed_bodies_are_400(decode: object) -> None:
    assert _error_of(lambda: decode(b"")).error == "invalid-request"  # type: ignore[operator]
    assert _error_of(lambda: decode(b'{"hook": ')).error == "malformed-json"  # type: ignore[operator]
    assert _error_of(lambda: decode(b'{"a": NaN}')).error == "malformed-json"  # type: ignore[operator]


@pytest.mark.parametrize("where", [b'{"context": %s}', b'{"prefetch": %s}'])
def test_nesting_beyond_the_decoders_limit_is_400(where: bytes) -> None:
    deep = b"[" * 5000 + b"]" * 5000
    error = _error_of(lambda: hook_body(where % deep))
    assert (error.status, error.error) == (400, "malformed-json")


def test_hook_body_must_be_an_object() -> None:
    error = _error_of(lambda: hook_body(b"[1, 2]"))
    assert (error.status, error.error) == (400, "invalid-request")
    assert "JSON object" in error.message


def test_hook_body_decodes_every_member_but_the_prefetch() -> None:
    body = hook_body(b'{"hook": "order-sign", "context": {"a": [1, 2.5, null]}, "prefetch": {"patient": null}}')
    assert body.members == {"hook": "order-sign", "context": {"a": [1, 2.5, None]}}
    assert bytes(body.prefetch or b"") == b'{"patient": null}'
    assert body.decoded_prefetch() == {"patient": None}
    assert hook_body(b'{"hook": "x"}').decoded_prefetch() is None


def test_a_malformed_prefetch_is_refused_even_unread() -> None:
    assert _error_of(lambda: hook_body(b'{"hook": "x", "prefetch": {"p": tru}}')).error == "malformed-json"


def test_what_only_the_full_decoder_refuses_is_refused_when_the_prefetch_is_read() -> None:
    body = hook_body(b'{"hook": "x", "prefetch": {"p": "\xff\xfe"}}')  # not UTF-8
    error = _error_of(body.decoded_prefetch)
    assert (error.status, error.error, error.field) == (400, "malformed-json", "prefetch")


def _with_raw_prefetch_member(request: dict[str, object], raw: bytes) -> bytes:
    text = json.dumps(request).encode()
    return text.replace(b'"prefetch": {', b'"prefetch": {"junk": ' + raw + b", ", 1)


async def test_out_of_scope_order_never_decodes_its_prefetch(client: httpx.AsyncClient) -> None:
    request = hook_request([other_order("N02BE01", "paracétamol", status="draft")])
    content = _with_raw_prefetch_member(request, b'"\xff"')
    response = await client.post("/cds-services/baclofen-rtu", content=content,
                                 headers={"content-type": "application/json"})
    assert response.status_code == 200 and response.json() == {"cards": []}


async def test_baclofen_order_with_an_undecodable_prefetch_is_400(client: httpx.AsyncClient) -> None:
    content = _with_raw_prefetch_member(hook_request(), b'"\xff"')
    response = await client.post("/cds-services/baclofen-rtu", content=content,
                                 headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"] == "malformed-json" and response.json()["field"] == "prefetch"


async def test_baclofen_order_with_a_prefetch_of_the_wrong_shape_is_400(client: httpx.AsyncClient) -> None:
    request = hook_request()
    request["prefetch"] = ["not", "an", "object"]
    response = await client.post("/cds-services/baclofen-rtu", json=request)
    assert response.status_code == 400
    assert response.json()["field"].startswith("prefetch")


async def test_baclofen_order_reads_its_prefetch(client: httpx.AsyncClient) -> None:
    response = await client.post("/cds-services/baclofen-rtu", json=hook_request())
    assert response.status_code == 200 and response.json()["cards"]
