"""Pure ASGI middleware: body size limit, request time-out, security headers, correlation id.

Written as plain ASGI (not BaseHTTPMiddleware) so streaming bodies are counted as they arrive
and nothing is buffered twice.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

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


class _ResponseTracker:
    """Wraps `send` to know whether the response has started (then no error body can follow)."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self.started = False

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
        await self._send(message)


class BodyLimitMiddleware:
    """413 for bodies over `max_bytes`, by Content-Length or while streaming."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    too_large = int(value) > self.max_bytes
                except ValueError:
                    await _send_json(send, 400, {"error": "bad-request", "message": "invalid Content-Length"})
                    return
                if too_large:
                    await _send_json(send, 413, {"error": "payload-too-large",
                                                 "message": f"body exceeds {self.max_bytes} bytes"})
                    return
        received = 0
        tracker = _ResponseTracker(send)

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge
            return message

        try:
            await self.app(scope, limited_receive, tracker)
        except BodyTooLarge:
            if not tracker.started:
                await _send_json(send, 413, {"error": "payload-too-large",
                                             "message": f"body exceeds {self.max_bytes} bytes"})


#: scope key holding the request's deadline (event-loop time), for handlers that must answer
#: (and record what they answered) before the middleware's backstop fires
DEADLINE = "cds.deadline"


class TimeoutMiddleware:
    """503 when a request takes longer than `seconds` (a hung dependency must not hang us).

    This is a backstop: it cannot record the status it sends. The hook endpoint reads the
    deadline from the scope (`DEADLINE`) and answers its own 503 a little earlier, so that
    the audit row and the metrics carry the status the client really got.
    """

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        tracker = _ResponseTracker(send)
        scope[DEADLINE] = asyncio.get_running_loop().time() + self.seconds
        try:  # a deadline on this task, not a new task per request (as `wait_for` would make)
            async with asyncio.timeout(self.seconds):
                await self.app(scope, receive, tracker)
        except TimeoutError:
            if not tracker.started:
                await _send_json(send, 503, {"error": "timeout", "message": "request timed out"})


class SecurityHeadersMiddleware:
    """Security headers on every response, and a correlation id for the logs."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = correlation_id.set(uuid.uuid4().hex[:16])

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend(h for h in SECURITY_HEADERS if h[0] not in present)
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, with_headers)
        finally:
            correlation_id.reset(token)
