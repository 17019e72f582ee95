"""Reading the EHR's FHIR server when prefetch is missing: one shared httpx client, paged searches.

The access token of `fhirAuthorization` is sent only to the `fhirServer` origin (never to a
`next` link on another host, redirects are not followed) and never appears in exceptions or
logs. What one prefetch key may download is bounded (`MAX_KEY_BYTES` over all its pages), so a
server answering a huge page cannot exhaust the worker's memory.

The bound is on decompressed bytes, enforced while decompressing: a gzip bomb (500 MB of zeros
in 500 kB) is inflated at most `limit` bytes plus one 64 kB step before the key is refused
(`too-large`). httpx's own decoder would inflate each received chunk whole (~1000x its size),
so the body is read raw and inflated here, with zlib's `max_length`.
"""

from __future__ import annotations

import functools
import ipaddress
import zlib
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
import orjson

FHIR_JSON = "application/fhir+json"
MAX_KEY_BYTES = 10_000_000  # ~30,000 Observations: far beyond any real record
#: the most bytes inflated in one step (memory held beyond the limit, per fetch)
INFLATE_STEP = 65_536
#: the content codings we ask for and can inflate incrementally (zlib's wbits for each)
_CODINGS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}


class FhirFetchError(Exception):
    """A FHIR read that failed; `reason` is a short code safe for logs and metrics."""

    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


@dataclass(frozen=True)
class FhirEndpoint:
    """Where to read, and with which bearer token."""

    base_url: str
    access_token: str | None = None

    def url_for(self, query: str) -> str:
        base = self.base_url if self.base_url.endswith("/") else self.base_url + "/"
        return urljoin(base, query)

    def same_origin(self, url: str) -> bool:
        mine, other = urlsplit(self.base_url), urlsplit(url)
        return (mine.scheme, mine.netloc) == (other.scheme, other.netloc)

    def headers(self) -> dict[str, str]:
        headers = {"Accept": FHIR_JSON, "Accept-Encoding": "gzip, deflate"}
        if self.access_token:
            headers["Authorization"] = f"Bearer {self.access_token}"
        return headers


def plain_http_allowed(url: str, allowed_hosts: Collection[str]) -> bool:
    """May the access token travel to `url`? Always over https; over plain http only to a
    loopback host or one the operator listed (`CDS_FHIR_HTTP_ALLOWED_HOSTS`)."""
    return _plain_http_allowed(url, tuple(allowed_hosts))


@functools.lru_cache(maxsize=256)  # an EHR names the same FHIR server on every call (~10 µs to parse)
def _plain_http_allowed(url: str, allowed_hosts: tuple[str, ...]) -> bool:
    parts = urlsplit(url)
    if parts.scheme.lower() == "https":
        return True
    host = (parts.hostname or "").lower()
    if host == "localhost" or host in {allowed.lower() for allowed in allowed_hosts}:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def new_http_client() -> httpx.AsyncClient:
    """The process-wide client: connection pooling across requests, no redirects to follow."""
    return httpx.AsyncClient(
        follow_redirects=False,
        limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
        timeout=httpx.Timeout(10.0),
        headers={"User-Agent": "baclofen-cds"},
    )


async def _get_json(client: httpx.AsyncClient, endpoint: FhirEndpoint, url: str,
                    limit: int | None = None) -> tuple[Any, int]:
    """The decoded body and its size; at most `limit` bytes (`MAX_KEY_BYTES`) are read and
    inflated: beyond, `FhirFetchError("too-large")`."""
    limit = MAX_KEY_BYTES if limit is None else limit
    try:
        async with client.stream("GET", url, headers=endpoint.headers()) as response:
            _check_status(response)
            inflate = _Inflater(response.headers.get("content-encoding", ""), limit)
            declared = response.headers.get("content-length", "")
            if inflate.identity and declared.isdigit() and int(declared) > limit:
                raise FhirFetchError("too-large")
            async for chunk in response.aiter_raw():
                inflate.feed(chunk)
            body = inflate.finish()
    except httpx.TimeoutException as exc:
        raise FhirFetchError("timeout") from exc
    except httpx.HTTPError as exc:
        raise FhirFetchError("connection") from exc
    try:
        return orjson.loads(body), len(body)
    except orjson.JSONDecodeError as exc:
        raise FhirFetchError("malformed-json") from exc


class _Inflater:
    """Collects a response body, inflating gzip/deflate step by step, never past `limit` bytes."""

    def __init__(self, content_encoding: str, limit: int) -> None:
        coding = content_encoding.strip().lower()
        self.identity = coding in ("", "identity")
        if not self.identity and coding not in _CODINGS:  # incl. stacked codings ("gzip, br")
            raise FhirFetchError("unsupported-encoding")
        self._wbits = 0 if self.identity else _CODINGS[coding]
        self._zlib = None if self.identity else zlib.decompressobj(self._wbits)
        self._raw_deflate_tried = False
        self._limit = limit
        self._chunks: list[bytes] = []
        self._size = 0

    def feed(self, data: bytes) -> None:
        if self._zlib is None:
            self._keep(data)
            return
        while True:  # until the input is consumed and zlib holds no more output back
            try:
                out = self._zlib.decompress(data, INFLATE_STEP)
            except zlib.error as exc:
                if self._retry_raw_deflate():
                    continue
                raise FhirFetchError("malformed-encoding") from exc
            self._keep(out)
            data = self._zlib.unconsumed_tail
            if self._zlib.eof or (not data and len(out) < INFLATE_STEP):
                return

    def _retry_raw_deflate(self) -> bool:
        """Some servers send `deflate` without the zlib header (raw deflate): retry once as such."""
        if self._wbits != zlib.MAX_WBITS or self._size or self._raw_deflate_tried:
            return False
        self._raw_deflate_tried = True
        self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
        return True

    def _keep(self, data: bytes) -> None:
        self._size += len(data)
        if self._size > self._limit:
            raise FhirFetchError("too-large")
        if data:
            self._chunks.append(data)

    def finish(self) -> bytes:
        if self._zlib is not None:
            self.feed(b"")  # what zlib still holds back, step by step
            self._keep(self._zlib.flush())
        return b"".join(self._chunks)


def _check_status(response: httpx.Response) -> None:
    if response.status_code in (401, 403):
        raise FhirFetchError("unauthorized", response.status_code)
    if response.status_code == 404:
        raise FhirFetchError("not-found", response.status_code)
    if response.status_code >= 400:
        raise FhirFetchError("http-error", response.status_code)
    if response.status_code != 200:  # a redirect (not followed: it could lead the token elsewhere) or 204
        raise FhirFetchError("unexpected-status", response.status_code)


async def read(client: httpx.AsyncClient, endpoint: FhirEndpoint, query: str) -> dict[str, Any]:
    """Read one resource (`Patient/123`)."""
    body, _ = await _get_json(client, endpoint, endpoint.url_for(query))
    if not isinstance(body, dict) or "resourceType" not in body:
        raise FhirFetchError("not-a-resource")
    if body["resourceType"] == "OperationOutcome":
        raise FhirFetchError("operation-outcome")
    return body


async def search(
    client: httpx.AsyncClient, endpoint: FhirEndpoint, query: str, *, max_pages: int
) -> dict[str, Any]:
    """Run a search and follow `next` links, returning one searchset Bundle of every page."""
    url: str | None = endpoint.url_for(query)
    entries: list[Any] = []
    pages = 0
    budget = MAX_KEY_BYTES
    while url is not None:
        pages += 1
        if pages > max_pages:
            raise FhirFetchError("too-many-pages")
        body, size = await _get_json(client, endpoint, url, budget)
        budget -= size
        if not isinstance(body, dict) or body.get("resourceType") != "Bundle":
            raise FhirFetchError("not-a-bundle")
        if body.get("type") != "searchset":
            raise FhirFetchError("wrong-bundle-type")
        page_entries = body.get("entry") or []
        if not isinstance(page_entries, list):
            raise FhirFetchError("not-a-bundle")
        entries.extend(page_entries)
        url = _next_link(body, endpoint)
    return {"resourceType": "Bundle", "type": "searchset", "total": len(entries), "entry": entries}


def _next_link(bundle: dict[str, Any], endpoint: FhirEndpoint) -> str | None:
    for link in bundle.get("link") or []:
        if isinstance(link, dict) and link.get("relation") == "next":
            url = link.get("url")
            if not isinstance(url, str) or not url:
                return None
            absolute = endpoint.url_for(url)
            if not endpoint.same_origin(absolute):
                raise FhirFetchError("foreign-next-link")
            return absolute
    return None
