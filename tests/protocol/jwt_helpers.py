"""Test helpers for EHR authentication: keys, JWK Sets, tokens (good and forged), a real JWKS
server on 127.0.0.1, and an in-memory replay store. Reused by the HTTP tests of the app.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import joserfc.jws  # noqa: F401  (registers the JWS algorithms)
from joserfc.jwk import ECKey, RSAKey
from joserfc.jws import JWSRegistry

_CURVES = {"ES256": "P-256", "ES384": "P-384", "ES512": "P-521"}


@dataclass(frozen=True)
class SigningKey:
    """An EHR's private key and the `alg` it signs with."""

    alg: str
    key: ECKey | RSAKey

    @property
    def kid(self) -> str:
        kid = self.key.kid
        assert kid is not None
        return kid

    def public_jwk(self) -> dict[str, Any]:
        return dict(self.key.as_dict(private=False))

    def public_pem(self) -> bytes:
        return self.key.as_pem(private=False)


def make_key(alg: str = "ES384", kid: str | None = None, *, declare_alg: bool = True) -> SigningKey:
    """A fresh key for `alg` (ES256/384/512 or RS*/PS*), with `kid` and `use: sig`."""
    params: dict[str, Any] = {"kid": kid or f"{alg.lower()}-{uuid.uuid4().hex[:8]}", "use": "sig"}
    if declare_alg:
        params["alg"] = alg
    key: ECKey | RSAKey
    if alg in _CURVES:
        key = ECKey.generate_key(_CURVES[alg], parameters=params)  # type: ignore[arg-type]
    else:
        key = RSAKey.generate_key(2048, parameters=params)  # type: ignore[arg-type]
    return SigningKey(alg=alg, key=key)


def jwks_document(*keys: SigningKey, extra: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The public JWK Set an EHR publishes (`extra` adds raw entries, e.g. hostile ones)."""
    return {"keys": [k.public_jwk() for k in keys] + list(extra or [])}


def claims_for(
    issuer: str,
    audience: str | list[str],
    *,
    now: float | datetime | None = None,
    lifetime: float = 60,
    jti: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """CDS Hooks claims (iss, sub, aud, exp, iat, jti); `extra` adds or overrides (None drops)."""
    if isinstance(now, datetime):
        now = now.timestamp()
    issued = int(time.time() if now is None else now)
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": "ehr-client-id",
        "aud": audience,
        "iat": issued,
        "exp": issued + int(lifetime),
        "jti": jti or str(uuid.uuid4()),
    }
    claims.update(extra)
    return {name: value for name, value in claims.items() if value is not None}


def mint(key: SigningKey, claims: dict[str, Any], *, header: dict[str, Any] | None = None) -> str:
    """A JWT signed by `key` with its own `alg`. `header` adds, overrides (even `alg`, to lie
    about it) or, with None, drops header fields; nothing in it is validated."""
    protected = {"alg": key.alg, "typ": "JWT", "kid": key.kid, **(header or {})}
    protected = {name: value for name, value in protected.items() if value is not None}
    signing_input = f"{_b64(_json(protected))}.{_b64(_json(claims))}"
    signature = JWSRegistry.algorithms[key.alg].sign(signing_input.encode("ascii"), key.key)
    return f"{signing_input}.{_b64(signature)}"


def bearer(token: str) -> str:
    return f"Bearer {token}"


def craft(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    """A hand-made token with any header and signature bytes (e.g. `alg: none`)."""
    return f"{_b64(_json(header))}.{_b64(_json(claims))}.{_b64(signature)}"


def hmac_token(secret: bytes, header: dict[str, Any], claims: dict[str, Any]) -> str:
    """An HS256/384/512 token keyed with `secret`, e.g. an RSA public key's PEM (key confusion)."""
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}
    signing_input = f"{_b64(_json(header))}.{_b64(_json(claims))}"
    mac = hmac.new(secret, signing_input.encode("ascii"), digest[header["alg"]]).digest()
    return f"{signing_input}.{_b64(mac)}"


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode("utf-8")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class MemoryReplayStore:
    """In-process `ReplayStore` for tests (production needs one shared by all processes)."""

    def __init__(self) -> None:
        self.seen: dict[tuple[str, str], datetime] = {}

    async def remember_jti(self, issuer: str, jti: str, expires_at: datetime) -> bool:
        if (issuer, jti) in self.seen:
            return False
        self.seen[(issuer, jti)] = expires_at
        return True


class JwksServer:
    """A real HTTP server on 127.0.0.1 (own thread) serving JWK Sets and counting requests."""

    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self._routes: dict[str, tuple[int, bytes, dict[str, str]]] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def url(self, path: str) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}{path}"

    def serve(
        self,
        path: str,
        document: Any,
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
    ) -> str:
        """Serve `document` (JSON-encoded unless bytes) at `path`; returns its URL."""
        body = document if isinstance(document, bytes) else _json(document)
        with self._lock:
            self._routes[path] = (status, body, dict(headers or {}))
        return self.url(path)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _route(self, path: str) -> tuple[int, bytes, dict[str, str]]:
        with self._lock:
            self.hits[path] += 1
            return self._routes.get(path, (404, b"{}", {}))

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, body, headers = owner._route(self.path)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


@contextmanager
def running_jwks_server() -> Iterator[JwksServer]:
    server = JwksServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
