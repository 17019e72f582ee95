"""EHR authentication (CDS Hooks 2.0 "Trusting CDS Clients"): one test per attack, plus JWKS
fetching, caching, key rotation and refresh rate limiting against a real local HTTP server.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jwt_helpers import (
    JwksServer,
    MemoryReplayStore,
    SigningKey,
    bearer,
    claims_for,
    craft,
    hmac_token,
    jwks_document,
    make_key,
    mint,
    running_jwks_server,
)

from cds_service.protocol.auth import AuthError, JwtVerifier, VerifiedClient, audience_for
from cds_service.protocol.jwks import JwksCache
from cds_service.settings import Settings, TrustedIssuer
from cds_service.storage.database import create_engine, migrate
from cds_service.storage.repository import Repository

FILE_ISS = "https://ehr-file.example.org/"
HTTP_ISS = "https://ehr-http.example.org"
AUD = "https://cds.example.org/cds-services/baclofen-rtu"
NOW = datetime(2026, 3, 2, 10, 0, 0, tzinfo=UTC)
LEEWAY = 30
MAX_AGE = 300
CACHE_SECONDS = 3600


class FakeMonotonic:
    """Monotonic clock for the JWKS cache, advanced by hand (no sleeping in tests)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def es_key() -> SigningKey:
    return make_key("ES384", "ehr-es384")


@pytest.fixture(scope="module")
def rs_key() -> SigningKey:
    return make_key("RS384", "ehr-rs384")


@pytest.fixture(scope="module")
def other_rs_key() -> SigningKey:
    """Not published by anyone: an attacker's key."""
    return make_key("RS384", "attacker")


@pytest.fixture
def jwks_server() -> Iterator[JwksServer]:
    with running_jwks_server() as server:
        yield server


@pytest.fixture
def jwks_file(tmp_path: Path, es_key: SigningKey, rs_key: SigningKey) -> Path:
    path = tmp_path / "ehr-jwks.json"
    write_jwks(path, jwks_document(es_key, rs_key))
    return path


@pytest.fixture
def app_settings(
    jwks_file: Path, jwks_server: JwksServer, es_key: SigningKey, rs_key: SigningKey
) -> Settings:
    jwks_url = jwks_server.serve("/jwks.json", jwks_document(es_key, rs_key))
    return Settings(
        auth="required",
        profile="rtu-2014",
        public_url="https://cds.example.org",
        trusted_issuers={
            FILE_ISS: TrustedIssuer(jwks=str(jwks_file)),
            HTTP_ISS: TrustedIssuer(jwks=jwks_url, jku=[jwks_server.url("/jku.json")]),
        },
        jwt_leeway_seconds=LEEWAY,
        jwt_max_age_seconds=MAX_AGE,
        jwks_cache_seconds=CACHE_SECONDS,
    )


@pytest.fixture
async def http_client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def mono() -> FakeMonotonic:
    return FakeMonotonic()


@pytest.fixture
def replay_store() -> MemoryReplayStore:
    return MemoryReplayStore()


@pytest.fixture
def verifier(
    app_settings: Settings,
    http_client: httpx.AsyncClient,
    mono: FakeMonotonic,
    replay_store: MemoryReplayStore,
) -> JwtVerifier:
    jwks = JwksCache(app_settings, http_client, clock=mono)
    return JwtVerifier(app_settings, jwks, replay_store, clock=lambda: NOW)


def write_jwks(path: Path, document: dict[str, Any]) -> None:
    path.write_text(json.dumps(document))


def good_claims(issuer: str = FILE_ISS, **extra: Any) -> dict[str, Any]:
    return claims_for(issuer, AUD, now=NOW, **extra)


async def rejected(
    verifier: JwtVerifier, authorization: str | None, reason: str, audience: str = AUD
) -> AuthError:
    with pytest.raises(AuthError) as caught:
        await verifier.verify(authorization, audience)
    assert caught.value.reason == reason
    if authorization and authorization.strip():  # nothing of the token may leak
        token = authorization.split()[-1]
        for part in token.split("."):
            if len(part) > 8:
                assert part not in str(caught.value)
                assert part not in repr(caught.value)
                assert all(part not in str(arg) for arg in caught.value.args)
        assert caught.value.__cause__ is None
    return caught.value


# --- tokens that must pass -------------------------------------------------------------------


async def test_valid_es384_token_from_file_jwks(verifier: JwtVerifier, es_key: SigningKey) -> None:
    claims = good_claims(tenant="hospital-42")
    client = await verifier.verify(bearer(mint(es_key, claims)), AUD)
    assert client == VerifiedClient(
        issuer=FILE_ISS,
        subject="ehr-client-id",
        tenant="hospital-42",
        jti=claims["jti"],
        expires_at=datetime.fromtimestamp(claims["exp"], UTC),
    )


async def test_valid_rs384_token_from_http_jwks(
    verifier: JwtVerifier, rs_key: SigningKey, jwks_server: JwksServer
) -> None:
    client = await verifier.verify(bearer(mint(rs_key, good_claims(HTTP_ISS))), AUD)
    assert client.issuer == HTTP_ISS
    assert client.tenant is None
    assert jwks_server.hits["/jwks.json"] == 1


async def test_aud_array_containing_ours_passes(verifier: JwtVerifier, es_key: SigningKey) -> None:
    claims = good_claims(aud=["https://other.example.org/cds-services", AUD])
    await verifier.verify(bearer(mint(es_key, claims)), AUD)


async def test_aud_trailing_slash_difference_tolerated(
    verifier: JwtVerifier, es_key: SigningKey
) -> None:
    await verifier.verify(bearer(mint(es_key, good_claims(aud=AUD + "/"))), AUD)
    await verifier.verify(bearer(mint(es_key, good_claims())), AUD + "/")


async def test_typ_is_required_and_scheme_is_case_insensitive(
    verifier: JwtVerifier, es_key: SigningKey
) -> None:
    await rejected(verifier, bearer(mint(es_key, good_claims(), header={"typ": None})), "bad_typ")
    await verifier.verify(f"bearer  {mint(es_key, good_claims())}", AUD)


async def test_leeway_accepts_small_clock_skew(verifier: JwtVerifier, es_key: SigningKey) -> None:
    skewed = NOW.timestamp() + LEEWAY - 5  # EHR clock a little ahead
    await verifier.verify(bearer(mint(es_key, claims_for(FILE_ISS, AUD, now=skewed))), AUD)


async def test_other_algorithms_of_the_allow_list_pass(
    app_settings: Settings, http_client: httpx.AsyncClient, tmp_path: Path
) -> None:
    keys = [make_key(alg) for alg in ("ES256", "ES512", "RS256", "PS384")]
    path = tmp_path / "many.json"
    write_jwks(path, jwks_document(*keys))
    settings_ = app_settings.model_copy(
        update={"trusted_issuers": {FILE_ISS: TrustedIssuer(jwks=str(path))}}
    )
    verifier = JwtVerifier(
        settings_, JwksCache(settings_, http_client), MemoryReplayStore(), clock=lambda: NOW
    )
    for key in keys:
        await verifier.verify(bearer(mint(key, good_claims())), AUD)


def test_audience_is_built_from_public_url(app_settings: Settings) -> None:
    assert audience_for(app_settings, "/cds-services/baclofen-rtu") == AUD
    slashed = app_settings.model_copy(update={"public_url": "https://cds.example.org/"})
    assert audience_for(slashed, "/cds-services") == "https://cds.example.org/cds-services"


# --- attacks: each must raise AuthError --------------------------------------------------------


@pytest.mark.parametrize("authorization", [None, "", "   "])
async def test_no_token(verifier: JwtVerifier, authorization: str | None) -> None:
    await rejected(verifier, authorization, "missing_token")


@pytest.mark.parametrize("scheme", ["Basic", "Token", "JWT", "Bearer:", "Bearerx"])
async def test_not_bearer(verifier: JwtVerifier, es_key: SigningKey, scheme: str) -> None:
    await rejected(verifier, f"{scheme} {mint(es_key, good_claims())}", "not_bearer")


async def test_bare_token_without_scheme(verifier: JwtVerifier, es_key: SigningKey) -> None:
    await rejected(verifier, mint(es_key, good_claims()), "not_bearer")


@pytest.mark.parametrize(
    "token",
    [
        "abc",
        "a.b",
        "a.b.c.d",
        "a..c",
        "e30.e30.",  # empty signature segment
        "!!!.???.***",
        "eyJ.eyJ.c2ln",  # not valid base64 JSON
        "bm90IGpzb24.e30.c2ln",  # header is not JSON
        "WyJhbGciXQ.e30.c2ln",  # header is a JSON array
    ],
)
async def test_malformed_token(verifier: JwtVerifier, token: str) -> None:
    await rejected(verifier, bearer(token), "malformed_jws")


async def test_oversized_token(verifier: JwtVerifier, es_key: SigningKey) -> None:
    token = mint(es_key, good_claims(padding="x" * 10_000))
    await rejected(verifier, bearer(token), "token_too_large")


async def test_bad_signature_tampered_claims(verifier: JwtVerifier, es_key: SigningKey) -> None:
    header, _, signature = mint(es_key, good_claims()).split(".")
    forged_claims = craft({}, good_claims(sub="admin")).split(".")[1]
    await rejected(verifier, bearer(f"{header}.{forged_claims}.{signature}"), "bad_signature")


async def test_bad_signature_other_key_same_kid(
    verifier: JwtVerifier, rs_key: SigningKey, other_rs_key: SigningKey
) -> None:
    token = mint(other_rs_key, good_claims(), header={"kid": rs_key.kid})
    await rejected(verifier, bearer(token), "bad_signature")


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
async def test_alg_none(verifier: JwtVerifier, es_key: SigningKey, alg: str) -> None:
    header = {"alg": alg, "typ": "JWT", "kid": es_key.kid}
    await rejected(verifier, bearer(craft(header, good_claims(), b"x")), "alg_not_allowed")
    # the classic form, with an empty signature, does not even parse
    await rejected(verifier, bearer(craft(header, good_claims())), "malformed_jws")


@pytest.mark.parametrize("alg", ["HS256", "HS384", "HS512"])
async def test_hmac_keyed_with_rsa_public_key_pem(
    verifier: JwtVerifier, rs_key: SigningKey, alg: str
) -> None:
    """Key confusion: the public key, which anyone has, used as an HMAC secret."""
    header = {"alg": alg, "typ": "JWT", "kid": rs_key.kid}
    for secret in (rs_key.public_pem(), json.dumps(rs_key.public_jwk()).encode()):
        token = hmac_token(secret, header, good_claims())
        await rejected(verifier, bearer(token), "alg_not_allowed")


async def test_oct_key_in_jwks_is_never_used(
    app_settings: Settings, http_client: httpx.AsyncClient, tmp_path: Path, es_key: SigningKey
) -> None:
    oct_jwk = {"kty": "oct", "kid": "shared", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQ", "alg": "HS256"}
    path = tmp_path / "with-oct.json"
    write_jwks(path, jwks_document(es_key, extra=[oct_jwk]))
    settings_ = app_settings.model_copy(
        update={"trusted_issuers": {FILE_ISS: TrustedIssuer(jwks=str(path))}}
    )
    verifier = JwtVerifier(
        settings_, JwksCache(settings_, http_client), MemoryReplayStore(), clock=lambda: NOW
    )
    hs = hmac_token(b"secret-secret-secret", {"alg": "HS256", "kid": "shared"}, good_claims())
    await rejected(verifier, bearer(hs), "alg_not_allowed")
    # even with an asymmetric alg in the header, the oct entry is not a key we know
    crafted = craft({"alg": "ES384", "typ": "JWT", "kid": "shared"}, good_claims(), b"x" * 96)
    await rejected(verifier, bearer(crafted), "unknown_kid")


async def test_ec_key_with_rs384_header(
    verifier: JwtVerifier, es_key: SigningKey, other_rs_key: SigningKey
) -> None:
    token = mint(other_rs_key, good_claims(), header={"kid": es_key.kid})
    await rejected(verifier, bearer(token), "key_alg_mismatch")


async def test_rsa_key_with_es384_header(verifier: JwtVerifier, rs_key: SigningKey) -> None:
    token = craft({"alg": "ES384", "typ": "JWT", "kid": rs_key.kid}, good_claims(), b"x" * 96)
    await rejected(verifier, bearer(token), "key_alg_mismatch")


async def test_ec_curve_must_match_alg(
    app_settings: Settings, http_client: httpx.AsyncClient, tmp_path: Path
) -> None:
    p256 = make_key("ES256", "p256", declare_alg=False)
    path = tmp_path / "p256.json"
    write_jwks(path, jwks_document(p256))
    settings_ = app_settings.model_copy(
        update={"trusted_issuers": {FILE_ISS: TrustedIssuer(jwks=str(path))}}
    )
    verifier = JwtVerifier(
        settings_, JwksCache(settings_, http_client), MemoryReplayStore(), clock=lambda: NOW
    )
    token = craft({"alg": "ES384", "typ": "JWT", "kid": "p256"}, good_claims(), b"x" * 96)
    await rejected(verifier, bearer(token), "key_alg_mismatch")


async def test_jwk_declared_alg_must_match_header(
    verifier: JwtVerifier, rs_key: SigningKey
) -> None:
    """The published key says RS384: a PS384 token with it is refused even if well signed."""
    ps = SigningKey(alg="PS384", key=rs_key.key)
    await rejected(verifier, bearer(mint(ps, good_claims())), "key_alg_mismatch")


@pytest.mark.parametrize("typ", ["JOSE", "at+jwt", "", 1])
async def test_wrong_typ(verifier: JwtVerifier, es_key: SigningKey, typ: object) -> None:
    await rejected(verifier, bearer(mint(es_key, good_claims(), header={"typ": typ})), "bad_typ")


@pytest.mark.parametrize("kid", [None, "", 7])
async def test_missing_kid(verifier: JwtVerifier, es_key: SigningKey, kid: object) -> None:
    token = mint(es_key, good_claims(), header={"kid": kid})
    await rejected(verifier, bearer(token), "missing_kid")


async def test_crit_header_refused(verifier: JwtVerifier, es_key: SigningKey) -> None:
    token = mint(es_key, good_claims(), header={"crit": ["exp"], "exp": 1})
    await rejected(verifier, bearer(token), "unsupported_header")


async def test_expired(verifier: JwtVerifier, es_key: SigningKey) -> None:
    claims = claims_for(FILE_ISS, AUD, now=NOW - timedelta(seconds=100), lifetime=60)
    await rejected(verifier, bearer(mint(es_key, claims)), "expired")


async def test_iat_in_the_future(verifier: JwtVerifier, es_key: SigningKey) -> None:
    claims = claims_for(FILE_ISS, AUD, now=NOW + timedelta(seconds=LEEWAY + 60))
    await rejected(verifier, bearer(mint(es_key, claims)), "iat_in_future")


async def test_iat_too_old(verifier: JwtVerifier, es_key: SigningKey) -> None:
    """A long-lived token (exp far away) is still refused once issued too long ago."""
    old = NOW - timedelta(seconds=MAX_AGE + LEEWAY + 1)
    claims = claims_for(FILE_ISS, AUD, now=old, lifetime=86_400)
    await rejected(verifier, bearer(mint(es_key, claims)), "iat_too_old")


async def test_nbf_in_the_future(verifier: JwtVerifier, es_key: SigningKey) -> None:
    claims = good_claims(nbf=int(NOW.timestamp()) + LEEWAY + 60)
    await rejected(verifier, bearer(mint(es_key, claims)), "not_yet_valid")


async def test_wrong_aud(verifier: JwtVerifier, es_key: SigningKey) -> None:
    for aud in (
        "https://cds.example.org/cds-services/baclofen-rtu-select",
        "https://cds.example.org/cds-services",
        "https://evil.example.org/cds-services/baclofen-rtu",
        "http://cds.example.org/cds-services/baclofen-rtu",
        AUD + "//",
    ):
        await rejected(verifier, bearer(mint(es_key, good_claims(aud=aud))), "wrong_aud")


async def test_aud_array_without_ours(verifier: JwtVerifier, es_key: SigningKey) -> None:
    claims = good_claims(aud=["https://other.example.org/cds-services", AUD + "-select"])
    await rejected(verifier, bearer(mint(es_key, claims)), "wrong_aud")


async def test_missing_aud(verifier: JwtVerifier, es_key: SigningKey) -> None:
    claims = good_claims()
    del claims["aud"]
    await rejected(verifier, bearer(mint(es_key, claims)), "missing_aud")


async def test_unknown_iss(verifier: JwtVerifier, es_key: SigningKey) -> None:
    claims = good_claims("https://evil.example.org")
    await rejected(verifier, bearer(mint(es_key, claims)), "unknown_issuer")


async def test_iss_is_matched_exactly(verifier: JwtVerifier, es_key: SigningKey) -> None:
    claims = good_claims(FILE_ISS.rstrip("/"))
    await rejected(verifier, bearer(mint(es_key, claims)), "unknown_issuer")


async def test_issuer_cannot_borrow_another_issuers_key(verifier: JwtVerifier) -> None:
    """HTTP_ISS publishes only its own keys: a token signed by another key fails for it."""
    other = make_key("ES384", "only-elsewhere")
    token = mint(other, good_claims(HTTP_ISS))
    await rejected(verifier, bearer(token), "unknown_kid")


async def test_unknown_kid(verifier: JwtVerifier, es_key: SigningKey) -> None:
    token = mint(es_key, good_claims(), header={"kid": "no-such-kid"})
    await rejected(verifier, bearer(token), "unknown_kid")


async def test_jku_not_on_allow_list_is_not_fetched(
    verifier: JwtVerifier, jwks_server: JwksServer
) -> None:
    attacker = make_key("ES384", "attacker-es")
    evil_url = jwks_server.serve("/evil.json", jwks_document(attacker))
    token = mint(attacker, good_claims(HTTP_ISS), header={"jku": evil_url})
    await rejected(verifier, bearer(token), "jku_not_allowed")
    assert jwks_server.hits["/evil.json"] == 0


async def test_jku_allow_list_is_exact_match(
    verifier: JwtVerifier, jwks_server: JwksServer, rs_key: SigningKey
) -> None:
    jwks_server.serve("/jku.json", jwks_document(rs_key))
    for jku in (
        jwks_server.url("/jku.json?x=1"),
        jwks_server.url("/jku.json/"),
        jwks_server.url("/JKU.json"),
    ):
        token = mint(rs_key, good_claims(HTTP_ISS), header={"jku": jku})
        await rejected(verifier, bearer(token), "jku_not_allowed")


async def test_jku_of_another_issuer_is_refused(
    verifier: JwtVerifier, jwks_server: JwksServer, es_key: SigningKey
) -> None:
    """A jku allowed for HTTP_ISS cannot be used by FILE_ISS tokens."""
    jwks_server.serve("/jku.json", jwks_document(es_key))
    token = mint(es_key, good_claims(FILE_ISS), header={"jku": jwks_server.url("/jku.json")})
    await rejected(verifier, bearer(token), "jku_not_allowed")


async def test_jku_on_allow_list_is_followed(
    verifier: JwtVerifier, jwks_server: JwksServer
) -> None:
    rotated = make_key("ES384", "served-by-jku")
    jwks_server.serve("/jku.json", jwks_document(rotated))
    token = mint(rotated, good_claims(HTTP_ISS), header={"jku": jwks_server.url("/jku.json")})
    client = await verifier.verify(bearer(token), AUD)
    assert client.issuer == HTTP_ISS
    assert jwks_server.hits["/jku.json"] == 1
    assert jwks_server.hits["/jwks.json"] == 0


async def test_replayed_jti(verifier: JwtVerifier, es_key: SigningKey) -> None:
    token = mint(es_key, good_claims())
    await verifier.verify(bearer(token), AUD)
    await rejected(verifier, bearer(token), "replay")
    # a new token reusing the jti is a replay too
    again = mint(es_key, good_claims(jti=json.loads(_b64decode(token.split(".")[1]))["jti"]))
    await rejected(verifier, bearer(again), "replay")


async def test_replay_store_keeps_jti_until_token_is_unusable(
    verifier: JwtVerifier, replay_store: MemoryReplayStore, es_key: SigningKey
) -> None:
    claims = claims_for(FILE_ISS, AUD, now=NOW, lifetime=3600)
    await verifier.verify(bearer(mint(es_key, claims)), AUD)
    (until,) = replay_store.seen.values()
    assert until == datetime.fromtimestamp(claims["iat"] + MAX_AGE + LEEWAY, UTC)


async def test_rejected_token_does_not_burn_its_jti(
    verifier: JwtVerifier, es_key: SigningKey
) -> None:
    claims = good_claims(aud="https://cds.example.org/cds-services/other")
    await rejected(verifier, bearer(mint(es_key, claims)), "wrong_aud")
    await verifier.verify(bearer(mint(es_key, good_claims(jti=claims["jti"]))), AUD)


@pytest.mark.parametrize(
    ("claim", "reason"),
    [
        ("jti", "missing_jti"),
        ("exp", "missing_exp"),
        ("iat", "missing_iat"),
        ("iss", "missing_iss"),
    ],
)
async def test_missing_required_claim(
    verifier: JwtVerifier, es_key: SigningKey, claim: str, reason: str
) -> None:
    claims = good_claims()
    del claims[claim]
    await rejected(verifier, bearer(mint(es_key, claims)), reason)


@pytest.mark.parametrize(
    "claims_patch",
    [
        {"exp": "tomorrow"},
        {"exp": True},
        {"iat": [1]},
        {"exp": 10**400},
        {"exp": 1e300},
        {"jti": 42},
        {"jti": "x" * 1000},
        {"aud": [AUD, 3]},
        {"aud": {"url": AUD}},
        {"sub": 5},
        {"tenant": ["a"]},
        {"iss": ["x"]},
    ],
)
async def test_malformed_claims(
    verifier: JwtVerifier, es_key: SigningKey, claims_patch: dict[str, Any]
) -> None:
    token = mint(es_key, good_claims(**claims_patch))
    await rejected(verifier, bearer(token), "malformed_claims")


async def test_payload_that_is_not_a_json_object(verifier: JwtVerifier, es_key: SigningKey) -> None:
    for payload in (b"[1,2]", b"not json", b'{"exp": NaN}', b"\xff\xfe"):
        header = {"alg": "ES384", "typ": "JWT", "kid": es_key.kid}
        token = craft(header, {}, b"x" * 96).split(".")
        token[1] = _b64encode(payload)
        await rejected(verifier, bearer(".".join(token)), "malformed_claims")


async def test_duplicate_claims_are_refused(verifier: JwtVerifier, es_key: SigningKey) -> None:
    """`{"aud": good, "aud": evil}`: parsers disagree on the winner, so refuse outright."""
    body = json.dumps(good_claims())[:-1] + ', "iss": "https://evil.example.org"}'
    token = craft({"alg": "ES384", "typ": "JWT", "kid": es_key.kid}, {}, b"x" * 96).split(".")
    token[1] = _b64encode(body.encode())
    await rejected(verifier, bearer(".".join(token)), "malformed_claims")


async def test_nothing_of_the_token_is_logged(
    verifier: JwtVerifier,
    es_key: SigningKey,
    other_rs_key: SigningKey,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    tokens = [
        mint(other_rs_key, good_claims(), header={"kid": es_key.kid}),
        mint(es_key, good_claims(aud="https://evil.example.org")),
        mint(es_key, good_claims(), header={"kid": "nope"}),
    ]
    for token in tokens:
        with pytest.raises(AuthError):
            await verifier.verify(bearer(token), AUD)
    for token in tokens:
        for part in token.split("."):
            assert part not in caplog.text


# --- JWK Set fetching, caching, rotation, rate limit ---------------------------------------------


async def test_jwks_is_cached(
    verifier: JwtVerifier, jwks_server: JwksServer, rs_key: SigningKey, mono: FakeMonotonic
) -> None:
    for _ in range(5):
        await verifier.verify(bearer(mint(rs_key, good_claims(HTTP_ISS))), AUD)
    assert jwks_server.hits["/jwks.json"] == 1
    mono.now += CACHE_SECONDS - 1
    await verifier.verify(bearer(mint(rs_key, good_claims(HTTP_ISS))), AUD)
    assert jwks_server.hits["/jwks.json"] == 1
    mono.now += 1  # cache expired: fetched again
    await verifier.verify(bearer(mint(rs_key, good_claims(HTTP_ISS))), AUD)
    assert jwks_server.hits["/jwks.json"] == 2


async def test_tiny_cache_setting_still_caches_for_the_refresh_interval(
    app_settings: Settings,
    http_client: httpx.AsyncClient,
    jwks_server: JwksServer,
    rs_key: SigningKey,
    mono: FakeMonotonic,
) -> None:
    settings_ = app_settings.model_copy(update={"jwks_cache_seconds": 0})
    jwks = JwksCache(settings_, http_client, clock=mono)
    verifier = JwtVerifier(settings_, jwks, MemoryReplayStore(), clock=lambda: NOW)
    for step in (0, 5, 4):
        mono.now += step
        await verifier.verify(bearer(mint(rs_key, good_claims(HTTP_ISS))), AUD)
    assert jwks_server.hits["/jwks.json"] == 1
    mono.now += 1
    await verifier.verify(bearer(mint(rs_key, good_claims(HTTP_ISS))), AUD)
    assert jwks_server.hits["/jwks.json"] == 2


async def test_concurrent_cold_start_fetches_once(
    verifier: JwtVerifier, jwks_server: JwksServer, rs_key: SigningKey
) -> None:
    tokens = [mint(rs_key, good_claims(HTTP_ISS)) for _ in range(20)]
    await asyncio.gather(*(verifier.verify(bearer(t), AUD) for t in tokens))
    assert jwks_server.hits["/jwks.json"] == 1


async def test_key_rotation_new_kid_after_refresh(
    verifier: JwtVerifier, jwks_server: JwksServer, rs_key: SigningKey, mono: FakeMonotonic
) -> None:
    await verifier.verify(bearer(mint(rs_key, good_claims(HTTP_ISS))), AUD)
    mono.now += 11
    new_key = make_key("ES384", "rotated-in")
    jwks_server.serve("/jwks.json", jwks_document(rs_key, new_key))
    await verifier.verify(bearer(mint(new_key, good_claims(HTTP_ISS))), AUD)
    assert jwks_server.hits["/jwks.json"] == 2
    # the old key is still there, and no further fetch is needed for either
    await verifier.verify(bearer(mint(rs_key, good_claims(HTTP_ISS))), AUD)
    await verifier.verify(bearer(mint(new_key, good_claims(HTTP_ISS))), AUD)
    assert jwks_server.hits["/jwks.json"] == 2


async def test_rotated_out_key_is_refused_after_expiry(
    verifier: JwtVerifier, jwks_server: JwksServer, rs_key: SigningKey, mono: FakeMonotonic
) -> None:
    await verifier.verify(bearer(mint(rs_key, good_claims(HTTP_ISS))), AUD)
    jwks_server.serve("/jwks.json", jwks_document(make_key("ES384", "successor")))
    mono.now += CACHE_SECONDS
    await rejected(verifier, bearer(mint(rs_key, good_claims(HTTP_ISS))), "unknown_kid")


async def test_unknown_kid_flood_is_rate_limited(
    verifier: JwtVerifier, jwks_server: JwksServer, rs_key: SigningKey, mono: FakeMonotonic
) -> None:
    await verifier.verify(bearer(mint(rs_key, good_claims(HTTP_ISS))), AUD)
    mono.now += 11
    for i in range(50):
        token = mint(rs_key, good_claims(HTTP_ISS), header={"kid": f"bogus-{i}"})
        await rejected(verifier, bearer(token), "unknown_kid")
    assert jwks_server.hits["/jwks.json"] == 2  # first fetch + one refresh
    mono.now += 9
    await rejected(
        verifier, bearer(mint(rs_key, good_claims(HTTP_ISS), header={"kid": "b"})), "unknown_kid"
    )
    assert jwks_server.hits["/jwks.json"] == 2
    mono.now += 1
    await rejected(
        verifier, bearer(mint(rs_key, good_claims(HTTP_ISS), header={"kid": "c"})), "unknown_kid"
    )
    assert jwks_server.hits["/jwks.json"] == 3
    # good tokens keep working throughout, from the cache
    await verifier.verify(bearer(mint(rs_key, good_claims(HTTP_ISS))), AUD)
    assert jwks_server.hits["/jwks.json"] == 3


async def test_unknown_kid_right_after_first_fetch_does_not_refetch(
    verifier: JwtVerifier, jwks_server: JwksServer, rs_key: SigningKey
) -> None:
    token = mint(rs_key, good_claims(HTTP_ISS), header={"kid": "bogus"})
    await rejected(verifier, bearer(token), "unknown_kid")
    assert jwks_server.hits["/jwks.json"] == 1


@pytest.mark.parametrize(
    ("status", "body", "reason"),
    [
        (500, b"{}", "jwks_fetch_failed"),
        (404, b"{}", "jwks_fetch_failed"),
        (200, b"<html>", "jwks_invalid"),
        (200, b'{"keys": "nope"}', "jwks_invalid"),
        (200, b'{"keys": []}', "jwks_invalid"),
        (200, b'{"keys": [{"kty": "RSA", "kid": "x", "n": "AQAB", "e": "AQAB"}]}', "jwks_invalid"),
        (200, b'{"keys": [], "pad": "' + b"x" * 300_000 + b'"}', "jwks_too_large"),
    ],
)
async def test_jwks_fetch_errors_reject(
    verifier: JwtVerifier,
    jwks_server: JwksServer,
    rs_key: SigningKey,
    status: int,
    body: bytes,
    reason: str,
) -> None:
    jwks_server.serve("/jwks.json", body, status=status)
    await rejected(verifier, bearer(mint(rs_key, good_claims(HTTP_ISS))), reason)


async def test_redirect_is_not_followed(
    verifier: JwtVerifier, jwks_server: JwksServer, rs_key: SigningKey
) -> None:
    elsewhere = jwks_server.serve("/elsewhere.json", jwks_document(rs_key))
    jwks_server.serve("/jwks.json", b"", status=302, headers={"Location": elsewhere})
    await rejected(verifier, bearer(mint(rs_key, good_claims(HTTP_ISS))), "jwks_fetch_failed")
    assert jwks_server.hits["/elsewhere.json"] == 0


async def test_failed_fetch_is_retried_only_after_the_rate_limit(
    verifier: JwtVerifier, jwks_server: JwksServer, rs_key: SigningKey, mono: FakeMonotonic
) -> None:
    jwks_server.serve("/jwks.json", b"oops", status=503)
    await rejected(verifier, bearer(mint(rs_key, good_claims(HTTP_ISS))), "jwks_fetch_failed")
    jwks_server.serve("/jwks.json", jwks_document(rs_key))
    await rejected(verifier, bearer(mint(rs_key, good_claims(HTTP_ISS))), "jwks_unavailable")
    assert jwks_server.hits["/jwks.json"] == 1
    mono.now += 10
    await verifier.verify(bearer(mint(rs_key, good_claims(HTTP_ISS))), AUD)
    assert jwks_server.hits["/jwks.json"] == 2


async def test_failed_refresh_keeps_the_cached_set(
    verifier: JwtVerifier, jwks_server: JwksServer, rs_key: SigningKey, mono: FakeMonotonic
) -> None:
    await verifier.verify(bearer(mint(rs_key, good_claims(HTTP_ISS))), AUD)
    jwks_server.serve("/jwks.json", b"down", status=503)
    mono.now += 10
    token = mint(rs_key, good_claims(HTTP_ISS), header={"kid": "bogus"})
    await rejected(verifier, bearer(token), "jwks_fetch_failed")
    await verifier.verify(bearer(mint(rs_key, good_claims(HTTP_ISS))), AUD)
    mono.now += CACHE_SECONDS  # but an expired set is never used
    await rejected(verifier, bearer(mint(rs_key, good_claims(HTTP_ISS))), "jwks_fetch_failed")
    await rejected(verifier, bearer(mint(rs_key, good_claims(HTTP_ISS))), "jwks_unavailable")
    assert jwks_server.hits["/jwks.json"] == 3


async def test_unreachable_jwks_server(
    app_settings: Settings, http_client: httpx.AsyncClient, rs_key: SigningKey
) -> None:
    with running_jwks_server() as doomed:
        url = doomed.url("/jwks.json")
    settings_ = app_settings.model_copy(
        update={"trusted_issuers": {HTTP_ISS: TrustedIssuer(jwks=url)}}
    )
    verifier = JwtVerifier(
        settings_, JwksCache(settings_, http_client), MemoryReplayStore(), clock=lambda: NOW
    )
    await rejected(verifier, bearer(mint(rs_key, good_claims(HTTP_ISS))), "jwks_fetch_failed")


@pytest.mark.parametrize(
    "jwks",
    [
        "http://ehr.example.org/jwks.json",  # plain http to a non-loopback host
        "http://10.0.0.1/jwks.json",
        "ftp://ehr.example.org/jwks.json",
    ],
)
async def test_insecure_jwks_url_is_refused(
    app_settings: Settings, http_client: httpx.AsyncClient, rs_key: SigningKey, jwks: str
) -> None:
    settings_ = app_settings.model_copy(
        update={"trusted_issuers": {HTTP_ISS: TrustedIssuer(jwks=jwks)}}
    )
    verifier = JwtVerifier(
        settings_, JwksCache(settings_, http_client), MemoryReplayStore(), clock=lambda: NOW
    )
    await rejected(verifier, bearer(mint(rs_key, good_claims(HTTP_ISS))), "jwks_bad_url")


async def test_missing_jwks_file(
    app_settings: Settings, http_client: httpx.AsyncClient, tmp_path: Path, es_key: SigningKey
) -> None:
    settings_ = app_settings.model_copy(
        update={"trusted_issuers": {FILE_ISS: TrustedIssuer(jwks=str(tmp_path / "gone.json"))}}
    )
    verifier = JwtVerifier(
        settings_, JwksCache(settings_, http_client), MemoryReplayStore(), clock=lambda: NOW
    )
    await rejected(verifier, bearer(mint(es_key, good_claims())), "jwks_fetch_failed")


async def test_jwks_file_is_reread_for_a_new_kid(
    verifier: JwtVerifier, jwks_file: Path, es_key: SigningKey, mono: FakeMonotonic
) -> None:
    await verifier.verify(bearer(mint(es_key, good_claims())), AUD)
    new_key = make_key("ES384", "file-rotated")
    write_jwks(jwks_file, jwks_document(es_key, new_key))
    mono.now += 10
    await verifier.verify(bearer(mint(new_key, good_claims())), AUD)


async def test_private_members_of_a_published_key_are_dropped(
    app_settings: Settings, http_client: httpx.AsyncClient, es_key: SigningKey, jwks_file: Path
) -> None:
    write_jwks(jwks_file, {"keys": [es_key.key.as_dict(private=True)]})
    key = await JwksCache(app_settings, http_client).key_for(FILE_ISS, es_key.kid, None)
    assert not key.is_private


@pytest.mark.filterwarnings("ignore:Key size")
async def test_weak_rsa_keys_are_ignored(
    app_settings: Settings, http_client: httpx.AsyncClient, jwks_file: Path, es_key: SigningKey
) -> None:
    from joserfc.jwk import RSAKey

    weak = RSAKey.generate_key(1024, parameters={"kid": "weak", "alg": "RS384"})
    write_jwks(jwks_file, jwks_document(es_key, extra=[weak.as_dict(private=False)]))
    verifier = JwtVerifier(
        app_settings, JwksCache(app_settings, http_client), MemoryReplayStore(), clock=lambda: NOW
    )
    token = mint(SigningKey(alg="RS384", key=weak), good_claims())
    await rejected(verifier, bearer(token), "unknown_kid")


# --- fuzzing: whatever arrives, the only outcome is AuthError ----------------------------------


@dataclass
class FuzzTarget:
    """One event loop, client and JWKS file for all fuzz examples (cheap per example)."""

    runner: asyncio.Runner
    client: httpx.AsyncClient
    settings: Settings

    def only_auth_error(self, authorization: str | None) -> None:
        async def attempt() -> None:
            jwks = JwksCache(self.settings, self.client)
            verifier = JwtVerifier(self.settings, jwks, MemoryReplayStore())
            with pytest.raises(AuthError):
                await verifier.verify(authorization, AUD)

        self.runner.run(attempt())


@pytest.fixture(scope="module")
def fuzz_target(
    tmp_path_factory: pytest.TempPathFactory, es_key: SigningKey
) -> Iterator[FuzzTarget]:
    path = tmp_path_factory.mktemp("fuzz") / "jwks.json"
    write_jwks(path, jwks_document(es_key))
    settings_ = Settings(profile="rtu-2014", trusted_issuers={FILE_ISS: TrustedIssuer(jwks=str(path))})
    with asyncio.Runner() as runner:
        client = runner.run(_make_client())
        yield FuzzTarget(runner, client, settings_)
        runner.run(client.aclose())


async def _make_client() -> httpx.AsyncClient:
    return httpx.AsyncClient()


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(
    authorization=st.one_of(
        st.none(), st.text(max_size=300), st.text(max_size=300).map(lambda s: "Bearer " + s)
    )
)
def test_fuzz_authorization_header(fuzz_target: FuzzTarget, authorization: str | None) -> None:
    fuzz_target.only_auth_error(authorization)


@settings(max_examples=300, deadline=None)
@given(
    header=st.dictionaries(
        st.sampled_from(["alg", "kid", "typ", "jku", "crit", "b64", "x"]), _json_values, max_size=5
    ),
    claims=st.dictionaries(
        st.sampled_from(["iss", "aud", "exp", "iat", "jti", "sub", "tenant", "nbf"]),
        _json_values,
        max_size=8,
    ),
    signature=st.binary(max_size=140),
)
def test_fuzz_crafted_tokens(
    fuzz_target: FuzzTarget, header: dict[str, Any], claims: dict[str, Any], signature: bytes
) -> None:
    fuzz_target.only_auth_error(bearer(craft(header, claims, signature)))


@settings(max_examples=100, deadline=None)
@given(
    header=st.fixed_dictionaries({"alg": st.just("ES384"), "kid": st.just("ehr-es384")}),
    claims=st.fixed_dictionaries(
        {"iss": st.just(FILE_ISS)},
        optional={
            "aud": _json_values,
            "exp": _json_values,
            "iat": _json_values,
            "jti": _json_values,
        },
    ),
    signature=st.binary(min_size=1, max_size=140),
)
def test_fuzz_forged_tokens_for_a_trusted_issuer(
    fuzz_target: FuzzTarget, header: dict[str, Any], claims: dict[str, Any], signature: bytes
) -> None:
    """Right issuer and kid, so the key is loaded: a forged signature is still all it takes."""
    fuzz_target.only_auth_error(bearer(craft(header, claims, signature)))


def _b64encode(data: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# --- control characters in id claims ---------------------------------------------------------


def _replay_store_urls(tmp_path: Path) -> list[str]:
    urls = [f"sqlite+aiosqlite:///{tmp_path / 'replay.db'}"]
    postgres = os.environ.get("CDS_TEST_POSTGRES_URL")
    if postgres:
        urls.append(postgres)
    return urls


@pytest.mark.parametrize("claim", ["jti", "sub", "tenant"])
@pytest.mark.parametrize("value", ["abc\x00def", "abc\ndef", "\x7f"])
async def test_control_characters_in_id_claims_are_a_401_on_every_database(
    tmp_path: Path, app_settings: Settings, http_client: httpx.AsyncClient, mono: FakeMonotonic,
    es_key: SigningKey, claim: str, value: str,
) -> None:
    """A signed token whose jti holds NUL was a 500 on PostgreSQL (the insert fails), a 200 on SQLite."""
    for url in _replay_store_urls(tmp_path):
        await asyncio.to_thread(migrate, url)  # Alembic runs its own event loop
        engine = create_engine(url)
        try:
            store = Repository(engine)
            verifier = JwtVerifier(app_settings, JwksCache(app_settings, http_client, clock=mono), store,
                                   clock=lambda: NOW)
            claims = good_claims(**{claim: value})
            await rejected(verifier, bearer(mint(es_key, claims)), "malformed_claims")
        finally:
            await engine.dispose()
