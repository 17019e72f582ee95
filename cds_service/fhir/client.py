"""Reading the EHR's FHIR server when prefetch is missing: one shared httpx client, paged searches.

The access token of `fhirAuthorization` is sent only to the `fhirServer` origin (never to a
`next` link on another host, redirects are not followed) and never appears in exceptions or
logs. What one prefetch key may download is bounded (`MAX_KEY_BYTES` over all its pages), so a
server answering a huge page cannot exhaust the worker's memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
import orjson

FHIR_JSON = "application/fhir+json"
MAX_KEY_BYTES = 10_000_000  # ~30,000 Observations: far beyond any real record


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
        headers = {"Accept": FHIR_JSON}
        if self.access_token:
            headers["Authorization"] = f"Bearer {self.access_token}"
        return headers


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
    """The decoded body and its size; the body is read only up to `limit` bytes (`MAX_KEY_BYTES`)."""
    limit = MAX_KEY_BYTES if limit is None else limit
    try:
        async with client.stream("GET", url, headers=endpoint.headers()) as response:
            _check_status(response)
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                raise FhirFetchError("too-large")
            chunks = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > limit:
                    raise FhirFetchError("too-large")
                chunks.append(chunk)
    except httpx.TimeoutException as exc:
        raise FhirFetchError("timeout") from exc
    except httpx.HTTPError as exc:
        raise FhirFetchError("connection") from exc
    try:
        return orjson.loads(b"".join(chunks)), size
    except orjson.JSONDecodeError as exc:
        raise FhirFetchError("malformed-json") from exc


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
