"""The floor of the benchmark: a bare Starlette endpoint, served like the real service, answering a constant.

It reads the request body (the client pays for sending the same bytes) and returns a recorded CDS
Hooks response, with no validation, rules, audit or middleware: what uvicorn + Starlette cost alone.
Run: `python -m tests.perf.floor --port 8092 --response response.json`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


def floor_app(response: bytes) -> Starlette:
    async def hook(request: Request) -> Response:
        await request.body()
        return Response(response, media_type="application/json")

    async def healthz(request: Request) -> Response:
        return Response(b'{"status":"ok"}', media_type="application/json")

    return Starlette(routes=[Route("/cds-services/{service_id}", hook, methods=["POST"]),
                             Route("/healthz", healthz, methods=["GET"])])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--response", type=Path, required=True)
    args = parser.parse_args()
    # The same uvicorn settings as `baclofen-cds serve` (cds_service/cli.py).
    uvicorn.run(floor_app(args.response.read_bytes()), host="127.0.0.1", port=args.port, workers=1,
                log_config=None, access_log=False, proxy_headers=True, server_header=False,
                http="h11", h11_max_incomplete_event_size=65_536)


if __name__ == "__main__":
    main()
