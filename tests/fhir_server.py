"""A real FHIR-like HTTP server on 127.0.0.1 for tests: serves resources, and misbehaves on demand.

The behaviour is chosen by the first path segment so that concurrent tests don't interfere:
`http://127.0.0.1:PORT/<mode>/fhir/...` with modes `ok`, `paged` (2 entries a page),
`delay-<ms>`, `status-<code>`, `garbage`, `wrong-bundle`, `endless`, `foreign-next`, `oo`,
`huge-<n>` (a searchset page of n entries, copies of the stored resources), `stall` (headers and
half a body, then nothing), `redirect` (307 to another host) and `html` (200 with an HTML page).
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route


class FakeFhir:
    def __init__(self, record: bool = True) -> None:
        self.resources: dict[str, list[dict[str, Any]]] = {}
        self.seen: list[tuple[str, str | None]] = []
        self.record = record  # off for long benchmark runs: `seen` would grow without bound
        self.base = ""

    def load(self, resources: list[dict[str, Any]]) -> None:
        self.resources = {}
        for resource in resources:
            self.resources.setdefault(resource["resourceType"], []).append(resource)

    def url(self, mode: str = "ok") -> str:
        return f"{self.base}/{mode}/fhir"

    def app(self) -> Starlette:
        async def handle(request: Request) -> Response:
            mode = request.path_params["mode"]
            rtype = request.path_params["rtype"]
            rid = request.path_params.get("rid")
            if self.record:
                self.seen.append((str(request.url), request.headers.get("authorization")))
            if mode.startswith("delay-"):
                await asyncio.sleep(int(mode[6:]) / 1000)
            if mode.startswith("status-"):
                return JSONResponse({"resourceType": "OperationOutcome", "issue": []},
                                    status_code=int(mode[7:]))
            if mode == "garbage":
                return Response(b"{not json at all", media_type="application/fhir+json")
            if mode == "html":
                return Response(b"<html><body>Service Unavailable</body></html>", media_type="text/html")
            if mode == "redirect":
                return Response(status_code=307, headers={"location": f"http://evil.example/fhir/{rtype}"})
            if mode == "stall":
                return StreamingResponse(_stalled_body(), media_type="application/fhir+json")
            if mode == "oo":
                return JSONResponse({"resourceType": "OperationOutcome", "issue": [{"severity": "error",
                                     "code": "processing"}]})
            if rid is not None:
                for resource in self.resources.get(rtype, []):
                    if resource.get("id") == rid:
                        return JSONResponse(resource, media_type="application/fhir+json")
                return JSONResponse({"resourceType": "OperationOutcome", "issue": []}, status_code=404)
            entries = [{"resource": r, "search": {"mode": "match"}} for r in self.resources.get(rtype, [])]
            bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset"}
            if mode == "wrong-bundle":
                bundle["type"] = "collection"
            page = int(request.query_params.get("_page", "0"))
            if mode in ("paged", "endless", "foreign-next"):
                bundle["entry"] = entries[page * 2:(page + 1) * 2]
                more = (page + 1) * 2 < len(entries) or mode == "endless"
                if more:
                    host = "http://evil.example" if mode == "foreign-next" else self.base
                    bundle["link"] = [{"relation": "next",
                                       "url": f"{host}/{mode}/fhir/{rtype}?_page={page + 1}"}]
            elif mode.startswith("huge-"):
                count = int(mode[5:])
                entries = [_renamed(entries[i % len(entries)], i) for i in range(count)] if entries else []
                bundle["entry"] = entries
            else:
                bundle["entry"] = entries
            bundle["total"] = len(entries)
            return JSONResponse(bundle, media_type="application/fhir+json")

        return Starlette(routes=[
            Route("/{mode}/fhir/{rtype}", handle),
            Route("/{mode}/fhir/{rtype}/{rid}", handle),
        ])


async def _stalled_body() -> AsyncIterator[bytes]:
    yield b'{"resourceType": "Bundle", "type": "searchset", "entry": ['
    await asyncio.sleep(30)  # ended sooner when the client hangs up


def _renamed(entry: dict[str, Any], index: int) -> dict[str, Any]:
    resource = {**entry["resource"], "id": f"{entry['resource'].get('id', 'r')}-{index}"}
    return {**entry, "resource": resource}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def running(app: Any, port: int | None = None) -> Iterator[str]:
    """Serve an ASGI app with uvicorn on 127.0.0.1 in a thread; yields its base URL."""
    port = port or free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("test server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
