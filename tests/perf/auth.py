"""What production authentication adds to every call, in process (no HTTP parser, no client).

    python -m tests.perf.auth [--calls 2000] [--concurrency 1 8] [--database-url URL]

The bench runs the service in sandbox mode (no JWT). In production every hook call, baclofen
or not, carries a signed JWT: its signature is verified against the EHR's key and its `jti`
is written to the replay store (one committed row). This drives the real app (JWKS from a
file; SQLite files, or the PostgreSQL of `--database-url`) with the bench's out-of-scope
orders and reports, per call, the median wall time and the process CPU (SQLite's driver runs
in a thread of the process) in sandbox mode and with ES384 and RS384 tokens, one call at a
time and eight in flight (the replay store's writes then share transactions). Tokens are
minted before the clock starts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from starlette.applications import Starlette

from cds_service.app import create_app
from cds_service.settings import Settings, TrustedIssuer
from cds_service.storage.database import migrate
from tests.perf.bench import out_of_scope_bodies
from tests.perf.common import Body
from tests.protocol.jwt_helpers import SigningKey, bearer, claims_for, jwks_document, make_key, mint

ISSUER = "https://ehr.chu-exemple.fr"
PUBLIC = "https://cds.chu-exemple.fr"
MessageList = list[dict[str, Any]]


async def call(app: Starlette, body: Body, authorization: str | None) -> int:
    """One POST through the ASGI app; its status."""
    payload = body.fresh()
    headers = [(b"host", b"cds.chu-exemple.fr"), (b"content-type", b"application/json"),
               (b"content-length", str(len(payload)).encode())]
    if authorization is not None:
        headers.append((b"authorization", authorization.encode()))
    incoming: MessageList = [{"type": "http.request", "body": payload, "more_body": False}]
    sent: MessageList = []

    async def receive() -> dict[str, Any]:
        return incoming.pop() if incoming else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "https", "path": body.path, "raw_path": body.path.encode(), "query_string": b"",
             "root_path": "", "headers": headers, "client": ("127.0.0.1", 40000),
             "server": ("cds.chu-exemple.fr", 443)}
    await app(scope, receive, send)  # type: ignore[arg-type]
    status: int = sent[0]["status"]
    return status


async def measure(settings: Settings, key: SigningKey | None, calls: int, concurrency: int) -> dict[str, float]:
    """Median wall µs of a call and process CPU µs per call, `concurrency` calls in flight."""
    app = create_app(settings)
    bodies = out_of_scope_bodies()

    def authorization(body: Body) -> str | None:
        return None if key is None else bearer(mint(key, claims_for(ISSUER, PUBLIC + body.path)))

    async def run(count: int) -> tuple[list[float], float]:
        work = [(bodies[i % len(bodies)], authorization(bodies[i % len(bodies)])) for i in range(count)]
        walls: list[float] = []

        async def worker() -> None:
            while work:
                body, token = work.pop()
                started = time.perf_counter()
                status = await call(app, body, token)
                walls.append((time.perf_counter() - started) * 1e6)
                if status != 200:
                    raise RuntimeError(f"status {status}")

        cpu = time.process_time()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return walls, (time.process_time() - cpu) / count * 1e6

    async with app.router.lifespan_context(app):
        await run(200)  # warm-up: imports, JWKS, first inserts
        walls, cpu_us = await run(calls)
    return {"wall_p50_us": round(statistics.median(walls), 1), "cpu_us": round(cpu_us, 1)}


def settings_for(workdir: Path, key: SigningKey | None, server: str | None = None) -> Settings:
    database = server or f"sqlite+aiosqlite:///{workdir / ('db-' + (key.alg if key else 'sandbox') + '.sqlite')}"
    migrate(database)
    if key is None:
        return Settings(auth="off", database_url=database, public_url=PUBLIC)
    jwks = workdir / f"jwks-{key.alg}.json"
    jwks.write_text(json.dumps(jwks_document(key)))
    return Settings(auth="required", profile="rtu-2014", database_url=database, public_url=PUBLIC,
                    trusted_issuers={ISSUER: TrustedIssuer(jwks=str(jwks))})


def main() -> None:
    parser = argparse.ArgumentParser(description="Per-call cost of production authentication, in process.")
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--database-url", help="a PostgreSQL URL (postgresql+asyncpg://…) instead of SQLite files")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        workdir = Path(directory)
        print(f"{'out-of-scope call':<24}{'c':>4}{'wall p50 µs':>14}{'CPU µs per call':>18}")
        for label, key in (("sandbox (no JWT)", None), ("ES384 token", make_key("ES384")),
                           ("RS384 token", make_key("RS384"))):
            settings = settings_for(workdir, key, args.database_url)
            for concurrency in args.concurrency:
                result = asyncio.run(measure(settings, key, args.calls, concurrency))
                print(f"{label:<24}{concurrency:>4}{result['wall_p50_us']:>14}{result['cpu_us']:>18}", flush=True)


if __name__ == "__main__":
    main()
