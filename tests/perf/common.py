"""Shared by the benchmark and the soak test: server processes, request bodies, a lean load generator.

Everything runs on 127.0.0.1. The load generator speaks HTTP/1.1 over keep-alive asyncio streams
(`raw`), which costs a few tens of microseconds of client CPU per request; an `httpx` client is
available to show how much a heavier client inflates latencies on a 2-core machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx
import orjson

from tests.fhir_server import free_port

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "fhir_fixtures" / "scenarios"
# The hookInstance of every prepared body; replaced by a fresh UUID (same length) per request.
PLACEHOLDER = "00000000-0000-4000-8000-000000000000"
ClientKind = Literal["raw", "httpx"]


# --- request bodies -------------------------------------------------------------------------


@dataclass(frozen=True)
class Body:
    """One prepared POST: path, JSON bytes with a placeholder hookInstance, and the status expected."""

    name: str
    path: str
    payload: bytes
    expect: int = 200

    def fresh(self) -> bytes:
        """The body with a new hookInstance, so every request is a distinct evaluation (and audit row)."""
        return self.payload.replace(PLACEHOLDER.encode(), str(uuid.uuid4()).encode(), 1)


def prepared(name: str, request: dict[str, Any], service: str = "baclofen-rtu", expect: int = 200) -> Body:
    request = {**request, "hookInstance": PLACEHOLDER}
    return Body(name, f"/cds-services/{service}", orjson.dumps(request), expect)


def full_prefetch_bodies() -> list[Body]:
    """The fixtures' order-sign requests whose prefetch is complete (every key present, none failed)."""
    bodies = []
    for folder in sorted(SCENARIOS.iterdir()):
        path = folder / "request.json"
        if not path.is_file():
            continue
        request = json.loads(path.read_text(encoding="utf-8"))
        prefetch = request.get("prefetch") or {}
        if request.get("hook") != "order-sign" or len(prefetch) < 5:
            continue
        if any(isinstance(v, dict) and v.get("resourceType") == "OperationOutcome" for v in prefetch.values()):
            continue
        if "fhirServer" in request:
            request["fhirServer"] = "http://127.0.0.1:9/fhir"  # never reached: prefetch is complete
        bodies.append(prepared(folder.name, request))
    return bodies


# --- processes ------------------------------------------------------------------------------


@dataclass
class Server:
    """A server subprocess on 127.0.0.1 and its port."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def pids(self) -> list[int]:
        """The process and its children (uvicorn workers when `--workers` > 1)."""
        return [self.process.pid, *children_of(self.process.pid)]

    def cpu_seconds(self) -> float:
        return sum(cpu_seconds(pid) for pid in self.pids())

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


@dataclass(frozen=True)
class Placement:
    """Which CPUs the server under test and the load generator (with the FHIR stub) may use.

    On a 2-core machine, leaving it to the scheduler makes the floor bimodal (client and server
    on one core, or one each); pinning the server to one core and the client to the other gives
    stable numbers. `None` means unpinned (the 2-worker service gets every core).
    """

    server: frozenset[int] | None = None
    client: frozenset[int] | None = None

    @classmethod
    def plan(cls, pin: bool) -> Placement:
        cpus = sorted(os.sched_getaffinity(0))
        if not pin or len(cpus) < 2:
            return cls()
        return cls(frozenset(cpus[:1]), frozenset(cpus[1:]))

    def pin_this_process(self) -> None:
        if self.client is not None:
            os.sched_setaffinity(0, self.client)


def _spawn(name: str, argv: list[str], env: dict[str, str], port: int, workdir: Path,
           cpus: frozenset[int] | None = None) -> Server:
    log_path = workdir / f"{name}.log"

    def pin() -> None:  # in the child, before exec: inherited by every thread and worker process
        if cpus is not None:
            os.sched_setaffinity(0, cpus)

    with log_path.open("wb") as log:
        process = subprocess.Popen(argv, env={**os.environ, **env}, cwd=ROOT, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=pin)
    return Server(name, process, port, log_path)


def wait_ready(server: Server, path: str = "/healthz", timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited: {server.log_path.read_text()[-2000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(server.base + path, timeout=1.0).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{server.name} not ready after {timeout}s")


def start_service(workdir: Path, workers: int = 1, extra_env: dict[str, str] | None = None,
                  cpus: frozenset[int] | None = None, source: Path | None = None) -> Server:
    """`baclofen-cds serve` as production would run it, but sandbox auth and a private SQLite file.

    `source`: a directory holding another version of `cds_service/` to run instead (before/after).
    """
    port = free_port()
    database = workdir / f"service-{workers}w-{port}" / "db.sqlite"
    env = {"CDS_AUTH": "off", "CDS_DATABASE_URL": f"sqlite+aiosqlite:///{database}", "CDS_AUTO_MIGRATE": "true",
           "CDS_PUBLIC_URL": f"http://127.0.0.1:{port}", "CDS_LOG_FORMAT": "json", "CDS_LOG_LEVEL": "INFO",
           **(extra_env or {})}
    if source is not None:
        env["PYTHONPATH"] = str(source.resolve())
    argv = [str(Path(sys.executable).parent / "baclofen-cds"), "serve", "--host", "127.0.0.1", "--port", str(port),
            "--workers", str(workers)]
    server = _spawn(f"service-{workers}w", argv, env, port, workdir, cpus)
    wait_ready(server, "/readyz")
    return server


def start_floor(workdir: Path, response: bytes, cpus: frozenset[int] | None = None) -> Server:
    port = free_port()
    response_path = workdir / "floor-response.json"
    response_path.write_bytes(response)
    argv = [sys.executable, "-m", "tests.perf.floor", "--port", str(port), "--response", str(response_path)]
    server = _spawn("floor", argv, {}, port, workdir, cpus)
    wait_ready(server)
    return server


def start_fhir(workdir: Path, resources: list[dict[str, Any]], cpus: frozenset[int] | None = None) -> Server:
    port = free_port()
    resources_path = workdir / "fhir-resources.json"
    resources_path.write_bytes(orjson.dumps(resources))
    argv = [sys.executable, "-m", "tests.perf.fhir_stub", "--port", str(port), "--resources", str(resources_path)]
    server = _spawn("fhir", argv, {}, port, workdir, cpus)
    wait_ready(server, "/ok/fhir/Patient")
    return server


@contextlib.contextmanager
def workspace() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="cds-perf-") as directory:
        yield Path(directory)


# --- load -----------------------------------------------------------------------------------


@dataclass
class LoadResult:
    """Latencies (ms) of the measured requests, errors, wall time and CPU used on both sides."""

    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    seconds: float = 0.0
    client_cpu_seconds: float = 0.0
    server_cpu_seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.latencies_ms)
        count = len(ordered)

        def pct(p: float) -> float:
            return round(ordered[min(count - 1, int(p * count))], 3) if count else float("nan")

        return {
            "requests": count + self.errors,
            "errors": self.errors,
            "p50_ms": pct(0.50),
            "p95_ms": pct(0.95),
            "p99_ms": pct(0.99),
            "max_ms": round(ordered[-1], 3) if ordered else float("nan"),
            "mean_ms": round(statistics.fmean(ordered), 3) if ordered else float("nan"),
            "throughput_rps": round(count / self.seconds, 1) if self.seconds else 0.0,
            "client_cpu_pct": round(100 * self.client_cpu_seconds / self.seconds, 1) if self.seconds else 0.0,
            "server_cpu_pct": round(100 * self.server_cpu_seconds / self.seconds, 1) if self.seconds else 0.0,
            "error_samples": self.error_samples[:3],
        }


class _Budget:
    """How many requests may still start, and until when."""

    def __init__(self, count: int, seconds: float) -> None:
        self.remaining = count
        self.deadline = time.perf_counter() + seconds

    def take(self) -> bool:
        if self.remaining <= 0 or time.perf_counter() > self.deadline:
            return False
        self.remaining -= 1
        return True


def _check(status: int, body: bytes, result: LoadResult, expect_status: int) -> None:
    problem = None
    if status != expect_status:
        problem = f"HTTP {status}: {body[:200]!r}"
    else:
        try:
            orjson.loads(body)
        except orjson.JSONDecodeError:
            problem = "invalid JSON"
    if problem is not None:
        result.errors += 1
        result.error_samples.append(problem)


class RawConnection:
    """HTTP/1.1 keep-alive over asyncio streams: the cheapest honest client (uvicorn always sends Content-Length)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str) -> None:
        self.reader = reader
        self.writer = writer
        self.host = host

    @classmethod
    async def open(cls, port: int) -> RawConnection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
        return cls(reader, writer, f"127.0.0.1:{port}")

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        head = (f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode()
        self.writer.write(head + body)
        header = await self.reader.readuntil(b"\r\n\r\n")
        status = int(header[9:12])
        length = 0
        for line in header.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
                break
        return status, await self.reader.readexactly(length)

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError):
            await self.writer.wait_closed()


async def _raw_worker(port: int, bodies: Sequence[Body], offset: int, budget: _Budget, result: LoadResult) -> None:
    connection = await RawConnection.open(port)
    index = offset
    try:
        while budget.take():
            body = bodies[index % len(bodies)]
            index += 1
            payload = body.fresh()
            started = time.perf_counter()
            try:
                status, content = await connection.post(body.path, payload)
            except (OSError, asyncio.IncompleteReadError) as exc:
                result.errors += 1
                result.error_samples.append(type(exc).__name__)
                await connection.close()
                connection = await RawConnection.open(port)
                continue
            result.latencies_ms.append((time.perf_counter() - started) * 1000)
            _check(status, content, result, body.expect)
    finally:
        await connection.close()


async def _httpx_worker(client: httpx.AsyncClient, bodies: Sequence[Body], offset: int, budget: _Budget,
                        result: LoadResult) -> None:
    index = offset
    while budget.take():
        body = bodies[index % len(bodies)]
        index += 1
        payload = body.fresh()
        started = time.perf_counter()
        try:
            response = await client.post(body.path, content=payload, headers={"content-type": "application/json"})
        except httpx.HTTPError as exc:
            result.errors += 1
            result.error_samples.append(type(exc).__name__)
            continue
        result.latencies_ms.append((time.perf_counter() - started) * 1000)
        _check(response.status_code, response.content, result, body.expect)


async def load(server: Server, bodies: Sequence[Body], *, concurrency: int, requests: int, seconds: float,
               warmup: int = 0, client: ClientKind = "raw") -> LoadResult:
    """Closed-loop load: `concurrency` connections, each sending its next request when the last is answered."""
    if warmup:
        await _run(server, bodies, concurrency, warmup, seconds, client, LoadResult())
    result = LoadResult()
    cpu_server, cpu_client = server.cpu_seconds(), time.process_time()
    started = time.perf_counter()
    await _run(server, bodies, concurrency, requests, seconds, client, result)
    result.seconds = time.perf_counter() - started
    result.client_cpu_seconds = time.process_time() - cpu_client
    result.server_cpu_seconds = server.cpu_seconds() - cpu_server
    return result


async def _run(server: Server, bodies: Sequence[Body], concurrency: int, requests: int, seconds: float,
               client: ClientKind, result: LoadResult) -> None:
    budget = _Budget(requests, seconds)
    step = max(1, len(bodies) // concurrency)
    if client == "raw":
        await asyncio.gather(*(_raw_worker(server.port, bodies, i * step, budget, result)
                               for i in range(concurrency)))
        return
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=server.base, limits=limits, timeout=30.0) as http:
        await asyncio.gather(*(_httpx_worker(http, bodies, i * step, budget, result)
                               for i in range(concurrency)))


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop when installed (it is, with uvicorn[standard]): less client overhead per request."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover
        return asyncio.new_event_loop()
    loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    return loop


def as_dict(result: LoadResult) -> dict[str, Any]:
    data = asdict(result)
    data.pop("latencies_ms")
    return data
