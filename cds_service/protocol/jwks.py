"""Public keys of the trusted EHRs (CDS Clients), read from their JWK Sets and cached.

Only keys of configured issuers are ever fetched: the issuer's `jwks` (https URL, loopback
http URL, or a local file) or a `jku` on that issuer's allow-list. Every URL we fetch therefore
comes from the configuration, never from a token, so a token cannot make us call an arbitrary
host, and the per-URL state below stays bounded.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, JWKRegistry, RSAKey

from cds_service.settings import Settings, TrustedIssuer

__all__ = ["JwksCache", "JwksError", "PublicKey"]

logger = logging.getLogger(__name__)

PublicKey = ECKey | RSAKey

#: at most one fetch per URL in this window: key rotation works, a flood of bad kids doesn't
MIN_REFRESH_SECONDS = 10.0
#: a JWK Set is a few kB; anything much bigger is a misconfiguration or an attack
MAX_JWKS_BYTES = 256 * 1024
MIN_RSA_BITS = 2048
FETCH_TIMEOUT_SECONDS = 5.0

_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
#: private members are dropped on import: a JWK Set should never carry them, and we only verify
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth"})


class JwksError(Exception):
    """No usable key. `reason` is for logs/metrics; clients only ever see a plain 401."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class _KeySet:
    keys: dict[str, PublicKey]
    fetched_at: float


class JwksCache:
    """Per-URL cache of JWK Sets with rate-limited refresh on an unknown `kid` (key rotation)."""

    def __init__(
        self,
        settings: Settings,
        client: httpx.AsyncClient,
        *,
        clock: Callable[[], float] = time.monotonic,
        min_refresh_seconds: float = MIN_REFRESH_SECONDS,
    ) -> None:
        self._settings = settings
        self._client = client
        self._clock = clock
        self._min_refresh = min_refresh_seconds
        self._sets: dict[str, _KeySet] = {}
        self._last_attempt: dict[str, float] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def key_for(self, issuer: str, kid: str, jku: str | None) -> PublicKey:
        """The issuer's verification key named `kid`, or `JwksError`."""
        trusted = self._settings.trusted_issuers.get(issuer)
        if trusted is None:
            raise JwksError("unknown_issuer")
        source = _source_for(trusted, jku)
        lock = self._locks.setdefault(source, asyncio.Lock())
        async with lock:  # one fetch per URL at a time; waiters then see the fresh set
            fetched = False
            current = self._sets.get(source)
            if current is None or self._expired(current):
                current = await self._refresh(source)
                fetched = True
            key = current.keys.get(kid)
            if key is None and not fetched and self._may_fetch(source):
                current = await self._refresh(source)
                key = current.keys.get(kid)
        if key is None:
            raise JwksError("unknown_kid")
        return key

    def _expired(self, keyset: _KeySet) -> bool:
        # never shorter than the refresh interval, or a tiny setting would lock us out
        lifetime = max(self._settings.jwks_cache_seconds, self._min_refresh)
        return self._clock() - keyset.fetched_at >= lifetime

    def _may_fetch(self, source: str) -> bool:
        last = self._last_attempt.get(source)
        return last is None or self._clock() - last >= self._min_refresh

    async def _refresh(self, source: str) -> _KeySet:
        if not self._may_fetch(source):
            # a failed or very recent fetch: don't hammer the issuer (nor serve an expired set)
            raise JwksError("jwks_unavailable")
        self._last_attempt[source] = self._clock()
        try:
            raw = await self._load(source)
            keys = _parse_jwks(raw)
        except JwksError as exc:
            # a set still within its lifetime stays usable: a bogus kid during an outage of the
            # issuer must not lock out its good tokens
            logger.warning("JWK Set unusable", extra={"jwks_source": source, "reason": exc.reason})
            raise
        keyset = _KeySet(keys=keys, fetched_at=self._clock())
        self._sets[source] = keyset
        return keyset

    async def _load(self, source: str) -> bytes:
        if not _is_url(source):
            try:
                raw = await anyio.Path(source).read_bytes()
            except OSError:
                raise JwksError("jwks_fetch_failed") from None
            if len(raw) > MAX_JWKS_BYTES:
                raise JwksError("jwks_too_large")
            return raw
        _check_url(source)
        try:
            async with self._client.stream(
                "GET",
                source,
                headers={"Accept": "application/jwk-set+json, application/json"},
                timeout=FETCH_TIMEOUT_SECONDS,
                follow_redirects=False,
            ) as response:
                if response.status_code != 200:
                    raise JwksError("jwks_fetch_failed")
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body.extend(chunk)
                    if len(body) > MAX_JWKS_BYTES:
                        raise JwksError("jwks_too_large")
                return bytes(body)
        except httpx.HTTPError:
            raise JwksError("jwks_fetch_failed") from None


def _source_for(trusted: TrustedIssuer, jku: str | None) -> str:
    """Where to read the keys: the configured JWK Set, or an allow-listed `jku` (exact match)."""
    if jku is None:
        return trusted.jwks
    if jku in trusted.jku and _is_url(jku):
        return jku
    raise JwksError("jku_not_allowed")


def _is_url(source: str) -> bool:
    return "://" in source


def _check_url(url: str) -> None:
    """https only; plain http only to loopback (local test servers, sidecars)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        raise JwksError("jwks_bad_url") from None
    if parts.scheme == "https" and host:
        return
    if parts.scheme == "http" and host in _LOOPBACK_HOSTS:
        return
    raise JwksError("jwks_bad_url")


def _parse_jwks(raw: bytes) -> dict[str, PublicKey]:
    """Asymmetric signature keys with a `kid`; anything else in the set is ignored."""
    try:
        document = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise JwksError("jwks_invalid") from None
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise JwksError("jwks_invalid")
    keys: dict[str, PublicKey] = {}
    for entry in entries:
        key = _import_public_key(entry)
        if key is None or key.kid is None:
            continue
        if key.kid in keys:
            logger.warning("duplicate kid in JWK Set; keeping the first", extra={"kid": key.kid})
            continue
        keys[key.kid] = key
    if not keys:
        raise JwksError("jwks_invalid")
    return keys


def _import_public_key(entry: Any) -> PublicKey | None:
    if not isinstance(entry, dict) or entry.get("kty") not in ("RSA", "EC"):
        return None  # symmetric ("oct") keys are never acceptable for CDS Hooks
    if entry.get("use", "sig") != "sig":
        return None
    key_ops = entry.get("key_ops")
    if key_ops is not None and (not isinstance(key_ops, list) or "verify" not in key_ops):
        return None
    public = {name: value for name, value in entry.items() if name not in _PRIVATE_MEMBERS}
    try:
        key = JWKRegistry.import_key(public)
    except (JoseError, ValueError, TypeError, KeyError):
        return None
    if isinstance(key, RSAKey) and key.public_key.key_size < MIN_RSA_BITS:
        return None
    return key if isinstance(key, RSAKey | ECKey) else None
