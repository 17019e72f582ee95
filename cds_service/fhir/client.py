"""Reading the EHR's FHIR server when prefetch is missing: one shared httpx client, paged searches.

The access token of `fhirAuthorization` is sent only to the `fhirServer` origin (never to a
`next` link on another host) and never appears in exceptions or logs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
import orjson

FHIR_JSON = "application/fhir+json"


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


async def _get_json(client: httpx.AsyncClient, endpoint: FhirEndpoint, url: str) -> Any:
    try:
        response = await client.get(url, headers=endpoint.headers())
    except httpx.TimeoutException as exc:
        raise FhirFetchError("timeout") from exc
    except httpx.HTTPError as exc:
        raise FhirFetchError("connection") from exc
    if response.status_code in (401, 403):
        raise FhirFetchError("unauthorized", response.status_code)
    if response.status_code == 404:
        raise FhirFetchError("not-found", response.status_code)
    if response.status_code >= 400:
        raise FhirFetchError("http-error", response.status_code)
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError as exc:
        raise FhirFetchError("malformed-json") from exc


async def read(client: httpx.AsyncClient, endpoint: FhirEndpoint, query: str) -> dict[str, Any]:
    """Read one resource (`Patient/123`)."""
    body = await _get_json(client, endpoint, endpoint.url_for(query))
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
    while url is not None:
        pages += 1
        if pages > max_pages:
            raise FhirFetchError("too-many-pages")
        body = await _get_json(client, endpoint, url)
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
