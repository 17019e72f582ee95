"""The real application, lifespan included, on a private event loop and called without sockets.

Fuzzing sends thousands of requests; going through the ASGI interface directly costs a few
microseconds a call instead of an HTTP round trip, and an unhandled exception is caught here
(with the 500 the app answered) instead of disappearing into a server log.

Every fuzz test runs a fixed number of Hypothesis examples (`FUZZ_SETTINGS`): derandomized and
without an example database, so a CI run is the same run every time; `TOTALS` counts requests.
"""

from __future__ import annotations

import asyncio
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from starlette.applications import Starlette

from cds_service.app import create_app
from cds_service.settings import Settings
from cds_service.storage.database import migrate

# Never reached: a closed port on loopback, so a fetch fails at once and nothing leaves the machine.
CLOSED_FHIR_SERVER = "http://127.0.0.1:9/fhir"


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes
    crash: BaseException | None = None


@dataclass
class Stats:
    """How many requests a fuzz run sent, by status class."""

    requests: int = 0
    by_status: dict[int, int] = field(default_factory=dict)

    def count(self, status: int) -> None:
        self.requests += 1
        self.by_status[status] = self.by_status.get(status, 0) + 1


TOTALS = Stats()
FUZZ_SETTINGS = settings(
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
                           HealthCheck.large_base_example],
)


class InProcessApp:
    """`create_app(settings)` started on its own loop; `request()` is synchronous for Hypothesis."""

    def __init__(self, database: Path, **overrides: Any) -> None:
        url = f"sqlite+aiosqlite:///{database}"
        migrate(url)
        settings = Settings(auth="off", database_url=url, public_url="http://testserver",
                            fhir_timeout_seconds=0.5, **overrides)
        self.app: Starlette = create_app(settings)
        self.loop = asyncio.new_event_loop()
        self._lifespan = self.app.router.lifespan_context(self.app)
        self.loop.run_until_complete(self._lifespan.__aenter__())
        self.stats = Stats()

    def request(self, method: str, path: str, body: bytes = b"",
                headers: list[tuple[bytes, bytes]] | None = None) -> Reply:
        reply = self.loop.run_until_complete(self._call(method, path, body, headers or []))
        self.stats.count(reply.status)
        TOTALS.count(reply.status)
        return reply

    async def _call(self, method: str, path: str, body: bytes, headers: list[tuple[bytes, bytes]]) -> Reply:
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.sleep(3600)  # the client stays connected
            return {"type": "http.disconnect"}

        status = 0
        response_headers: dict[str, str] = {}
        chunks: list[bytes] = []

        async def send(message: MutableMapping[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                response_headers.update((k.decode("latin-1").lower(), v.decode("latin-1"))
                                        for k, v in message.get("headers", []))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        all_headers = [(b"host", b"testserver"), (b"content-length", str(len(body)).encode()), *headers]
        if not any(name == b"content-type" for name, _ in headers):
            all_headers.append((b"content-type", b"application/json"))
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
                 "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
                 "root_path": "", "headers": all_headers, "client": ("127.0.0.1", 50000),
                 "server": ("testserver", 80)}
        crash: BaseException | None = None
        try:
            await self.app(scope, receive, send)
        except Exception as exc:  # Starlette re-raises after answering 500: keep both
            crash = exc
        return Reply(status, response_headers, b"".join(chunks), crash)

    def close(self) -> None:
        self.loop.run_until_complete(self._lifespan.__aexit__(None, None, None))
        self.loop.close()
