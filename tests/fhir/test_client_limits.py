"""What a hostile fhirServer can make one fetch cost: decompressed bytes are capped while
inflating (a gzip bomb never reaches memory whole), and every coding we ask for decodes."""

from __future__ import annotations

import gzip
import json
import tracemalloc
import zlib
from collections.abc import AsyncIterator

import httpx
import pytest

from cds_service.fhir import client as fhir_client
from cds_service.fhir.client import FhirEndpoint, FhirFetchError

ENDPOINT = FhirEndpoint("https://ehr.example.org/fhir", "secret")
PATIENT = {"resourceType": "Patient", "id": "p1", "gender": "female"}


class _Chunks(httpx.AsyncByteStream):
    """The body as a network would deliver it: 64 kB raw chunks, unread until streamed."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for start in range(0, len(self._body), 65_536):
            yield self._body[start:start + 65_536]


def _serving(body: bytes, encoding: str | None) -> httpx.AsyncClient:
    headers = {"content-type": "application/fhir+json"}
    if encoding:
        headers["content-encoding"] = encoding

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers=headers, stream=_Chunks(body))

    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


def _bomb(megabytes: int) -> bytes:
    """`{"resourceType": "Patient", "pad": "000…"}` gzipped: ~1000x smaller than inflated."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    parts = [compressor.compress(b'{"resourceType": "Patient", "pad": "')]
    block = b"0" * 1_000_000
    parts.extend(compressor.compress(block) for _ in range(megabytes))
    parts.append(compressor.compress(b'"}'))
    parts.append(compressor.flush())
    return b"".join(parts)


async def test_gzip_bomb_is_refused_with_bounded_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fhir_client, "MAX_KEY_BYTES", 2_000_000)
    bomb = _bomb(50)  # 50 MB inflated, ~50 kB on the wire
    assert len(bomb) < 200_000
    async with _serving(bomb, "gzip") as http:
        tracemalloc.start()
        try:
            with pytest.raises(FhirFetchError) as caught:
                await fhir_client.read(http, ENDPOINT, "Patient/p1")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert caught.value.reason == "too-large"
    assert peak < 8_000_000, peak  # the 2 MB cap, not the 50 MB the bomb inflates to


def _deflate_raw(data: bytes) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


@pytest.mark.parametrize(("encoding", "encode"), [
    (None, lambda data: data),
    ("identity", lambda data: data),
    ("gzip", gzip.compress),
    ("GZIP", gzip.compress),
    ("deflate", zlib.compress),
    ("deflate", _deflate_raw),  # the zlib header is often missing in the wild
])
async def test_every_coding_asked_for_decodes(encoding: str | None, encode: object) -> None:
    body = json.dumps({**PATIENT, "text": "x" * 300_000}).encode()
    assert callable(encode)
    async with _serving(encode(body), encoding) as http:
        assert await fhir_client.read(http, ENDPOINT, "Patient/p1") == json.loads(body)


@pytest.mark.parametrize(("encoding", "body", "reason"), [
    ("br", b"\x00\x01", "unsupported-encoding"),
    ("gzip, gzip", gzip.compress(gzip.compress(b"{}")), "unsupported-encoding"),
    ("gzip", b"not gzip at all", "malformed-encoding"),
])
async def test_unreadable_codings_are_a_clear_reason(encoding: str, body: bytes, reason: str) -> None:
    async with _serving(body, encoding) as http:
        with pytest.raises(FhirFetchError) as caught:
            await fhir_client.read(http, ENDPOINT, "Patient/p1")
    assert caught.value.reason == reason


def test_only_codings_we_can_bound_are_asked_for() -> None:
    assert ENDPOINT.headers()["Accept-Encoding"] == "gzip, deflate"
