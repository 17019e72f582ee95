"""The request guard: body size limit, request time-out, security headers, correlation id.

Plain ASGI (not BaseHTTPMiddleware), so streaming bodies are counted as they arrive and nothing
is buffered twice; and one layer, not three: every order the hospital signs passes through it
(most of them not baclofen), and each layer cost a `send` wrapper and a coroutine per request.
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cds_service.observability.logging import correlation_id

SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    (b"cache-control", b"no-store"),
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        b"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    ),
)


async def _send_json(send: Send, status: int, body: dict[str, Any]) -> None:
    payload = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(payload)).encode())]})
    await send({"type": "http.response.body", "body": payload})


class BodyTooLarge(Exception):
    pass


#: scope key holding the request's deadline (event-loop time), for handlers that must answer
#: (and record what they answered) before the guard's backstop fires
DEADLINE = "cds.deadline"


class GuardMiddleware:
    """Every HTTP request: a correlation id for the logs, 413 for a body over `max_bytes` (by
    Content-Length or while streaming), 503 when the answer takes longer than `seconds`, and
    the security headers on every response, errors included.

    The time-out is a backstop: it cannot record the status it sends. The hook endpoint reads
    the deadline from the scope (`DEADLINE`) and answers its own 503 a little earlier, so that
    the audit row and the metrics carry the status the client really got.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, seconds: float) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = correlation_id.set(os.urandom(8).hex())
        started = False

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend(h for h in SECURITY_HEADERS if h[0] not in present)
                message = {**message, "headers": headers}
            await send(message)

        try:
            refusal = self._refuse_by_length(scope)
            if refusal is not None:
                await _send_json(guarded_send, *refusal)
                return
            received = 0

            async def limited_receive() -> Message:
                nonlocal received
                message = await receive()
                if message["type"] == "http.request":
                    received += len(message.get("body", b""))
                    if received > self.max_bytes:
                        raise BodyTooLarge
                return message

            scope[DEADLINE] = asyncio.get_running_loop().time() + self.seconds
            try:  # a deadline on this task, not a new task per request (as `wait_for` would make)
                async with asyncio.timeout(self.seconds):
                    await self.app(scope, limited_receive, guarded_send)
            except BodyTooLarge:
                if not started:
                    await _send_json(guarded_send, 413, self._too_large())
            except TimeoutError:
                if not started:
                    await _send_json(guarded_send, 503, {"error": "timeout", "message": "request timed out"})
        finally:
            correlation_id.reset(token)

    def _too_large(self) -> dict[str, Any]:
        return {"error": "payload-too-large", "message": f"body exceeds {self.max_bytes} bytes"}

    def _refuse_by_length(self, scope: Scope) -> tuple[int, dict[str, Any]] | None:
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    too_large = int(value) > self.max_bytes
                except ValueError:
                    return 400, {"error": "bad-request", "message": "invalid Content-Length"}
                if too_large:
                    return 413, self._too_large()
        return None


class BrowserCorsMiddleware(CORSMiddleware):
    """Starlette's CORS, for the requests a browser sends (they carry `Origin`). An EHR calling
    from its server sends none: Starlette would still wrap the answer to add `Vary: Origin`,
    ~8 µs a call for a header no cache needs (every answer here is `no-store`)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not any(name == b"origin" for name, _ in scope["headers"]):
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)
