"""Authentication of the calling EHR: the signed JWT of CDS Hooks 2.0 "Trusting CDS Clients".

Every check fails closed with an `AuthError` whose `reason` is for logs and metrics only; the
client gets a bare 401. Neither the token nor any part of it is put in an exception or a log.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jws import JWSRegistry

from cds_service.protocol.jwks import JwksCache, JwksError, PublicKey
from cds_service.settings import Settings

__all__ = [
    "ALLOWED_ALGORITHMS",
    "AuthError",
    "JwtVerifier",
    "ReplayStore",
    "VerifiedClient",
    "audience_for",
]

#: asymmetric algorithms only (never `none`, never HMAC), with the key type (and curve) each needs
ALLOWED_ALGORITHMS: dict[str, tuple[str, str | None]] = {
    "ES256": ("EC", "P-256"),
    "ES384": ("EC", "P-384"),
    "ES512": ("EC", "P-521"),
    "RS256": ("RSA", None),
    "RS384": ("RSA", None),
    "RS512": ("RSA", None),
    "PS256": ("RSA", None),
    "PS384": ("RSA", None),
    "PS512": ("RSA", None),
}

#: a CDS Hooks JWT is well under 2 kB; bound the work an anonymous caller can cause
MAX_TOKEN_CHARS = 8192
MAX_ID_CHARS = 256

#: control characters (NUL above all: PostgreSQL refuses it in text) have no place in an id claim
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_BEARER = re.compile(r"bearer +(\S+)", re.IGNORECASE)
_COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
#: header parameters that would change how the token is read: we support none of them
_REJECTED_HEADERS = ("crit", "b64")


class AuthError(Exception):
    """The caller is not authenticated. `reason` is internal (logs, metrics), never sent out."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ReplayCheckUnavailable(Exception):
    """The replay store could not be read or written (database down): a valid token cannot be
    told from a replayed one, so the call is refused with 503, never accepted unchecked."""


class ReplayStore(Protocol):
    """Remembers `jti`s, shared by all service processes, until `expires_at`."""

    async def remember_jti(self, issuer: str, jti: str, expires_at: datetime) -> bool:
        """True if first seen, False if already seen (a replay)."""
        ...


@dataclass(frozen=True)
class VerifiedClient:
    """Who called: the trusted issuer, its client id (`sub`) and tenant, and the token's ids."""

    issuer: str
    subject: str | None
    tenant: str | None
    jti: str
    expires_at: datetime


def audience_for(settings: Settings, path: str) -> str:
    """The `aud` an EHR must use for `path`: our public URL, not the Host header we were sent."""
    return settings.public_url.rstrip("/") + path


def _utcnow() -> datetime:
    return datetime.now(UTC)


class JwtVerifier:
    """Verifies `Authorization: Bearer <JWT>` against the configured trusted issuers."""

    def __init__(
        self,
        settings: Settings,
        jwks: JwksCache,
        replay_store: ReplayStore,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._settings = settings
        self._jwks = jwks
        self._replay = replay_store
        self._clock = clock  # must return an aware datetime
        # unknown header parameters are tolerated (RFC 7515 §4) unless listed in `crit`
        self._registry = JWSRegistry(algorithms=list(ALLOWED_ALGORITHMS), strict_check_header=False)

    async def verify(self, authorization: str | None, audience: str) -> VerifiedClient:
        """The verified caller, or `AuthError`. `audience` is the exact URL being invoked."""
        token = _bearer_token(authorization)
        signed = self._parse(token)
        header = signed.headers()
        alg, kid, jku = _check_header(header)
        claims = _parse_claims(signed.payload)

        # The unverified `iss` only selects whose keys to try; the signature then proves it.
        issuer = _string_claim(claims, "iss", "missing_iss", max_chars=MAX_TOKEN_CHARS)
        if issuer not in self._settings.trusted_issuers:
            raise AuthError("unknown_issuer")
        try:
            key = await self._jwks.key_for(issuer, kid, jku)
        except JwksError as exc:
            raise AuthError(exc.reason) from None
        _check_key_fits(key, alg)
        try:
            valid = jws.validate_compact(signed, key, registry=self._registry)
        except JoseError:  # the library's own key/alg checks (ours above should catch them first)
            raise AuthError("key_alg_mismatch") from None
        except Exception:  # fail closed on anything unexpected while verifying
            raise AuthError("bad_signature") from None
        if not valid:
            raise AuthError("bad_signature")

        _check_audience(claims, audience)
        expires_at, remember_until = self._check_times(claims)
        jti = _string_claim(claims, "jti", "missing_jti")
        subject = _optional_string(claims, "sub")
        tenant = _optional_string(claims, "tenant")
        # last, so that a token rejected for another reason does not burn its jti
        try:
            first_seen = await self._replay.remember_jti(issuer, jti, remember_until)
        except Exception as exc:  # storage fault, not the caller's: 503, and the caller retries
            raise ReplayCheckUnavailable(type(exc).__name__) from exc
        if not first_seen:
            raise AuthError("replay")
        return VerifiedClient(
            issuer=issuer, subject=subject, tenant=tenant, jti=jti, expires_at=expires_at
        )

    def _parse(self, token: str) -> jws.CompactSignature:
        try:
            signed = jws.extract_compact(token.encode("ascii"), registry=self._registry)
        except Exception:  # whatever the parser trips on, the answer is the same: malformed
            raise AuthError("malformed_jws") from None
        if not isinstance(signed.headers(), dict):
            raise AuthError("malformed_jws")
        return signed

    def _check_times(self, claims: dict[str, Any]) -> tuple[datetime, datetime]:
        """`exp` in the future, `iat` recent: returns expiry and how long to remember the jti."""
        now = self._clock().timestamp()
        leeway = self._settings.jwt_leeway_seconds
        max_age = self._settings.jwt_max_age_seconds
        exp = _numeric_date(claims, "exp", "missing_exp")
        iat = _numeric_date(claims, "iat", "missing_iat")
        if now >= exp + leeway:
            raise AuthError("expired")
        if iat > now + leeway:
            raise AuthError("iat_in_future")
        if now - iat > max_age + leeway:
            raise AuthError("iat_too_old")
        if "nbf" in claims and _numeric_date(claims, "nbf", "malformed_claims") > now + leeway:
            raise AuthError("not_yet_valid")
        # after this instant the token fails the checks above anyway, so its jti can be forgotten
        remember_until = min(exp, iat + max_age) + leeway
        try:
            return _from_epoch(exp), _from_epoch(remember_until)
        except (OverflowError, OSError, ValueError):
            raise AuthError("malformed_claims") from None


def _bearer_token(authorization: str | None) -> str:
    if authorization is None or not authorization.strip():
        raise AuthError("missing_token")
    match = _BEARER.fullmatch(authorization.strip())
    if match is None:
        raise AuthError("not_bearer")
    token = match.group(1)
    if len(token) > MAX_TOKEN_CHARS:
        raise AuthError("token_too_large")
    if not _COMPACT_JWS.fullmatch(token):
        raise AuthError("malformed_jws")
    return token


def _check_header(header: dict[str, Any]) -> tuple[str, str, str | None]:
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in ALLOWED_ALGORITHMS:
        raise AuthError("alg_not_allowed")
    typ = header.get("typ")
    if not isinstance(typ, str) or typ.upper() != "JWT":  # CDS Hooks 2.0: typ is REQUIRED
        raise AuthError("bad_typ")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid or len(kid) > MAX_ID_CHARS:
        raise AuthError("missing_kid")
    if any(name in header for name in _REJECTED_HEADERS):
        raise AuthError("unsupported_header")
    jku = header.get("jku")
    if jku is not None and not isinstance(jku, str):
        raise AuthError("malformed_jws")
    return alg, kid, jku


def _check_key_fits(key: PublicKey, alg: str) -> None:
    """Key-confusion guard: the key type (and curve) must be the one `alg` is defined for."""
    kty, curve = ALLOWED_ALGORITHMS[alg]
    if key.key_type != kty:
        raise AuthError("key_alg_mismatch")
    if curve is not None and getattr(key, "curve_name", None) != curve:
        raise AuthError("key_alg_mismatch")
    declared = key.get("alg")
    if declared is not None and declared != alg:
        raise AuthError("key_alg_mismatch")


def _check_audience(claims: dict[str, Any], audience: str) -> None:
    aud = claims.get("aud")
    if aud is None:
        raise AuthError("missing_aud")
    values = [aud] if isinstance(aud, str) else aud
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise AuthError("malformed_claims")
    if not any(_same_url(value, audience) for value in values):
        raise AuthError("wrong_aud")


def _same_url(a: str, b: str) -> bool:
    """Exact match, except that one trailing slash more or less is tolerated."""
    return a == b or a.removesuffix("/") == b.removesuffix("/")


def _parse_claims(payload: bytes) -> dict[str, Any]:
    try:
        claims = json.loads(payload, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise AuthError("malformed_claims") from None
    if not isinstance(claims, dict):
        raise AuthError("malformed_claims")
    return claims


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Duplicate members are ambiguous (parsers disagree on which wins): refuse them."""
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("duplicate member")
    return result


def _no_constants(name: str) -> Any:
    raise ValueError("NaN/Infinity are not JSON")


def _string_claim(
    claims: dict[str, Any], name: str, missing: str, max_chars: int = MAX_ID_CHARS
) -> str:
    value = claims.get(name)
    if value is None or value == "":
        raise AuthError(missing)
    if not isinstance(value, str) or len(value) > max_chars or _CONTROL.search(value):
        raise AuthError("malformed_claims")
    return value


def _optional_string(claims: dict[str, Any], name: str) -> str | None:
    value = claims.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or _CONTROL.search(value):
        raise AuthError("malformed_claims")
    return value


def _numeric_date(claims: dict[str, Any], name: str, missing: str) -> float:
    value = claims.get(name)
    if value is None:
        raise AuthError(missing)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise AuthError("malformed_claims")
    try:
        seconds = float(value)
    except OverflowError:
        raise AuthError("malformed_claims") from None
    if not math.isfinite(seconds):
        raise AuthError("malformed_claims")
    return seconds


def _from_epoch(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)
