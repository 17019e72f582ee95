"""Many instances, one database, on one machine: how the Kubernetes deployment behaves, without a
cluster.

A fresh PostgreSQL database is migrated once; three `baclofen-cds serve` instances (authentication
required, no auto-migration, one public URL) run behind nginx. Eight EHR callers send a mixed load
(in-scope order-sign, out-of-scope orders, feedback) for a bounded time while instance `a` is
killed with SIGKILL and restarted, and instance `b` is drained from the balancer, stopped with
SIGTERM and restarted (a rolling update). Then:

- no request fails at the balancer, except those in flight on `a` when it was killed (at most one
  per caller). nginx retries them elsewhere, but with the same JWT: when `a` had already recorded
  its `jti`, the retry is refused as a replay (401), which is the replay protection doing its job;
- every feedback answered 200 is in the database;
- a JWT accepted by one instance is refused (401) when replayed on another: the `jti` store is
  the shared database, not a process.

Needs PostgreSQL (`CDS_TEST_POSTGRES_URL`) and nginx; CI sets `CDS_TEST_REQUIRE_POSTGRES=1` and
`CDS_TEST_REQUIRE_NGINX=1`, so that it fails there rather than skips.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import make_url, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from cds_service.storage.database import create_engine, migrate
from tests.balancer import Balancer, nginx_binary
from tests.builders import hook_request, other_order
from tests.fhir_server import free_port
from tests.protocol.jwt_helpers import (
    SigningKey,
    bearer,
    claims_for,
    jwks_document,
    make_key,
    mint,
    running_jwks_server,
)

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

PUBLIC_URL = "https://cds.hospital.example"
ISSUER = "https://ehr.hospital.example/"
SIGN = "/cds-services/baclofen-rtu"
FEEDBACK = "/cds-services/baclofen-rtu/feedback"
CALLERS = 8
LOAD_SECONDS = 20.0  # at least; longer if the restarts take longer (a loaded machine)
KILL_AT = 5.0
DRAIN_AT = 10.0  # or 1 s after `a` is back, whichever comes later
SETTLE_SECONDS = 2.0  # load after `b` is back in the balancer


def _require(name: str, available: bool, what: str) -> None:
    if not available:
        if os.environ.get(name) == "1":
            pytest.fail(f"{name}=1 but {what}")
        pytest.skip(what)


# --- the database -----------------------------------------------------------------------------


async def _admin(url: str, statement: str) -> None:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


@pytest.fixture
def fresh_database() -> Iterator[str]:
    """A new, empty database on the test server, migrated once (as the migration Job does)."""
    server = os.environ.get("CDS_TEST_POSTGRES_URL")
    _require("CDS_TEST_REQUIRE_POSTGRES", bool(server), "no PostgreSQL (set CDS_TEST_POSTGRES_URL)")
    assert server
    name = f"cds_multi_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(server, f'CREATE DATABASE "{name}"'))
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    try:
        migrate(url)
        yield url
    finally:
        asyncio.run(_admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _stored_comments(url: str) -> list[str]:
    from cds_service.storage.tables import Feedback

    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(select(Feedback.override_comment))
            return [row[0] for row in rows if row[0]]
    finally:
        await engine.dispose()


# --- the instances ----------------------------------------------------------------------------


@dataclass
class Instance:
    """One `baclofen-cds serve` process on a fixed port, restartable on that port."""

    name: str
    port: int
    env: dict[str, str]
    directory: Path
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.directory / f"{self.name}.log"

    def launch(self) -> None:
        metrics = self.directory / f"metrics-{self.name}"
        metrics.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as log:  # a file, not a pipe: a full pipe would block the server
            self.process = subprocess.Popen(
                [sys.executable, "-m", "cds_service", "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                env={**self.env, "PROMETHEUS_MULTIPROC_DIR": str(metrics)},
                stdout=subprocess.DEVNULL, stderr=log,
            )

    def wait_ready(self, seconds: float = 60) -> None:
        assert self.process is not None
        deadline = time.monotonic() + seconds
        while True:
            try:
                if httpx.get(f"{self.base}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"instance {self.name} did not start: {self.log.read_text()[-3000:]}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
        if self.process is not None:
            self.process.wait(timeout=20)


@pytest.fixture
def instances(fresh_database: str, tmp_path: Path) -> Iterator[tuple[list[Instance], SigningKey]]:
    """Three instances sharing the database, the public URL and the EHR's JWKS (served over HTTP)."""
    key = make_key("ES384")
    with running_jwks_server() as jwks:
        env = {
            **os.environ,
            "CDS_AUTH": "required",
            "CDS_PROFILE": "rtu-2017",  # production refuses to start without an explicit profile
            "CDS_AUTO_MIGRATE": "false",
            "CDS_DATABASE_URL": fresh_database,
            "CDS_PUBLIC_URL": PUBLIC_URL,
            "CDS_TRUSTED_ISSUERS": json.dumps({ISSUER: {"jwks": jwks.serve("/jwks.json", jwks_document(key))}}),
            "CDS_WORKERS": "1",
            "CDS_DB_POOL_SIZE": "2",
            "CDS_DB_MAX_OVERFLOW": "2",
            "CDS_LOG_LEVEL": "WARNING",
        }
        group = [Instance(name, free_port(), env, tmp_path) for name in ("a", "b", "c")]
        try:
            for instance in group:
                instance.launch()
            for instance in group:
                instance.wait_ready()
            yield group, key
        finally:
            for instance in group:
                instance.stop()


@pytest.fixture
def balancer(tmp_path: Path) -> Iterator[Balancer]:
    binary = nginx_binary()
    _require("CDS_TEST_REQUIRE_NGINX", binary is not None, "nginx is not installed")
    assert binary
    running = Balancer(binary, tmp_path / "nginx", free_port())
    try:
        yield running
    finally:
        running.stop()


# --- the EHR callers --------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    kind: str
    started: float
    ended: float
    status: int | None
    upstream: str | None  # the instance that answered (the last one nginx tried)
    error: str | None = None
    comment: str | None = None  # feedback: the marker stored with it


def _headers(key: SigningKey, path: str) -> dict[str, str]:
    return {"Authorization": bearer(mint(key, claims_for(ISSUER, PUBLIC_URL + path)))}


IN_SCOPE = hook_request()
OUT_OF_SCOPE = hook_request([other_order("N02BE01", "paracétamol", status="draft")])


async def _caller(client: httpx.AsyncClient, key: SigningKey, index: int, stop: asyncio.Event,
                  cards: list[str], calls: list[Call]) -> None:
    kinds = itertools.cycle(["in-scope", "out-of-scope", "feedback", "in-scope"])
    for _ in range(index):
        next(kinds)
    while not stop.is_set():
        kind = next(kinds)
        comment = None
        if kind == "feedback" and cards:
            comment = f"multi-{uuid.uuid4()}"
            path, body = FEEDBACK, {"feedback": [{
                "card": cards[-1 - index % len(cards)], "outcome": "overridden",
                "overrideReason": {"userComment": comment}, "outcomeTimestamp": "2026-03-10T10:00:00Z"}]}
        elif kind == "out-of-scope":
            path, body = SIGN, {**OUT_OF_SCOPE, "hookInstance": str(uuid.uuid4())}
        else:
            kind, path, body = "in-scope", SIGN, {**IN_SCOPE, "hookInstance": str(uuid.uuid4())}
        started = time.monotonic()
        try:
            response = await client.post(path, json=body, headers=_headers(key, path))
        except httpx.HTTPError as exc:
            calls.append(Call(kind, started, time.monotonic(), None, None, repr(exc), comment))
            continue
        upstream = response.headers.get("x-upstream", "").split(",")[-1].strip() or None
        calls.append(Call(kind, started, time.monotonic(), response.status_code, upstream, None, comment))
        if kind == "in-scope" and response.status_code == 200:
            cards.extend(card["uuid"] for card in response.json()["cards"])
            del cards[:-50]


@dataclass
class Timeline:
    start: float = 0.0
    killed: float = 0.0
    a_back: float = 0.0
    drained: float = 0.0
    b_back: float = 0.0
    end: float = 0.0
    b_exit: int | None = None

    def describe(self) -> str:
        marks = {"a killed": self.killed, "a back": self.a_back, "b drained": self.drained,
                 "b back": self.b_back, "load ended": self.end}
        return ", ".join(f"{name} at {moment - self.start:.1f} s" for name, moment in marks.items())


def _disrupt(start: float, group: list[Instance], balancer: Balancer, timeline: Timeline) -> None:
    """SIGKILL `a` and restart it; then drain `b`, SIGTERM it, restart it and put it back."""
    a, b, c = group
    assert a.process is not None and b.process is not None
    time.sleep(max(0.0, start + KILL_AT - time.monotonic()))
    timeline.killed = time.monotonic()
    a.process.send_signal(signal.SIGKILL)
    a.process.wait(timeout=10)
    a.launch()
    a.wait_ready()
    timeline.a_back = time.monotonic()

    time.sleep(max(0.0, start + DRAIN_AT - time.monotonic(), timeline.a_back + 1 - time.monotonic()))
    balancer.reload([a.port, c.port])
    timeline.drained = time.monotonic()
    b.process.send_signal(signal.SIGTERM)
    timeline.b_exit = b.process.wait(timeout=30)
    b.launch()
    b.wait_ready()
    balancer.reload([a.port, b.port, c.port])
    timeline.b_back = time.monotonic()


async def _run(group: list[Instance], key: SigningKey, balancer: Balancer) -> tuple[list[Call], Timeline]:
    calls: list[Call] = []
    cards: list[str] = []
    stop = asyncio.Event()
    start = time.monotonic()
    timeline = Timeline(start=start)
    # No keep-alive to the balancer: a reload closes idle client connections, and a request racing
    # that close would be the client's failure, not the balancer's.
    limits = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=balancer.base, timeout=20, limits=limits) as client:
        callers = [asyncio.create_task(_caller(client, key, i, stop, cards, calls)) for i in range(CALLERS)]
        try:
            await asyncio.to_thread(_disrupt, start, group, balancer, timeline)
            await asyncio.sleep(max(SETTLE_SECONDS, start + LOAD_SECONDS - time.monotonic()))
        finally:
            stop.set()
            await asyncio.gather(*callers)
            timeline.end = time.monotonic()
    return calls, timeline


def test_instances_behind_a_balancer_survive_a_kill_and_a_rolling_restart(
    instances: tuple[list[Instance], SigningKey], balancer: Balancer, fresh_database: str
) -> None:
    group, key = instances
    balancer.start([instance.port for instance in group])
    calls, timeline = asyncio.run(_run(group, key, balancer))
    failed = [call for call in calls if call.status != 200]
    print(f"{len(calls)} calls; {timeline.describe()}; failed: "  # shown on failure, or with -s
          f"{[(call.kind, call.status, call.upstream, call.error) for call in failed]}")

    # The load ran, was mixed, and every instance served (a and b again after their restarts).
    kinds = {kind: sum(1 for call in calls if call.kind == kind) for kind in ("in-scope", "out-of-scope", "feedback")}
    assert all(count >= 20 for count in kinds.values()), kinds
    served = {instance.name: [c for c in calls if c.upstream == f"127.0.0.1:{instance.port}"] for instance in group}
    assert all(served.values()), {name: len(calls_) for name, calls_ in served.items()}
    assert any(call.started > timeline.a_back for call in served["a"]), "a got no traffic after its restart"
    assert any(call.started > timeline.b_back for call in served["b"]), "b got no traffic after its restart"
    assert any(timeline.killed < call.started < timeline.a_back for call in calls), "no load while a was down"
    assert any(timeline.drained < call.started < timeline.b_back for call in calls), "no load while b was out"
    assert timeline.b_exit == 0, f"b did not stop gracefully on SIGTERM: exit {timeline.b_exit}"

    # Nothing failed at the balancer but what was in flight on `a` when it was killed.
    in_flight = [call for call in failed if call.started <= timeline.killed <= call.ended]
    assert failed == in_flight, f"failures outside the kill: {[c for c in failed if c not in in_flight][:5]}"
    assert len(failed) <= CALLERS, failed

    # Every acknowledged feedback is in the shared database.
    acknowledged = {call.comment for call in calls if call.kind == "feedback" and call.status == 200}
    stored = set(asyncio.run(_stored_comments(fresh_database)))
    assert acknowledged and not acknowledged - stored, f"{len(acknowledged - stored)} acknowledged feedback lost"

    # A token accepted by one instance is refused when replayed on another.
    a, _, c = group
    headers = _headers(key, SIGN)
    first = httpx.post(a.base + SIGN, json={**IN_SCOPE, "hookInstance": str(uuid.uuid4())}, headers=headers, timeout=10)
    assert first.status_code == 200, first.text
    replayed = httpx.post(c.base + SIGN, json={**IN_SCOPE, "hookInstance": str(uuid.uuid4())}, headers=headers,
                          timeout=10)
    assert replayed.status_code == 401, replayed.text
