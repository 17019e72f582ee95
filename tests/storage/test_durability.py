"""Nothing acknowledged is lost: feedback answered 200 survives a SIGKILL of the server process."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from cds_service.storage.database import create_engine, migrate
from cds_service.storage.repository import Repository
from tests.builders import hook_request
from tests.processes import serving

POSTGRES_URL = os.environ.get("CDS_TEST_POSTGRES_URL")


@contextmanager
def server(database_url: str, tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    metrics = tmp_path / f"metrics-{time.monotonic_ns()}"
    metrics.mkdir()
    env = {**os.environ, "CDS_AUTH": "off", "CDS_DATABASE_URL": database_url, "PROMETHEUS_MULTIPROC_DIR": str(metrics)}
    with serving(env) as running:
        yield running


async def _count(url: str) -> int:
    engine = create_engine(url)
    try:
        return await Repository(engine).count_feedback()
    finally:
        await engine.dispose()


def _feedback(card: str, index: int) -> dict[str, object]:
    return {"feedback": [{"card": card, "outcome": "accepted", "acceptedSuggestions": [{"id": f"s-{index}"}],
                          "outcomeTimestamp": "2026-03-10T10:00:00Z"}]}


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_acknowledged_feedback_survives_sigkill(backend: str, tmp_path: Path) -> None:
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'durable.db'}"
    elif POSTGRES_URL:
        url = POSTGRES_URL
    elif os.environ.get("CDS_TEST_REQUIRE_POSTGRES") == "1":
        pytest.fail("CDS_TEST_REQUIRE_POSTGRES=1 but CDS_TEST_POSTGRES_URL is not set")
    else:
        pytest.skip("no PostgreSQL (set CDS_TEST_POSTGRES_URL)")
    migrate(url)
    before = asyncio.run(_count(url))
    with server(url, tmp_path) as (base, process):
        cards = httpx.post(f"{base}/cds-services/baclofen-rtu", json=hook_request(), timeout=10).json()["cards"]
        card = cards[0]["uuid"]

        async def send_all() -> list[int]:
            async with httpx.AsyncClient(base_url=base, timeout=10) as client:
                responses = await asyncio.gather(*(client.post("/cds-services/baclofen-rtu/feedback",
                                                               json=_feedback(card, i)) for i in range(25)))
            return [r.status_code for r in responses]

        statuses = asyncio.run(send_all())
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    acknowledged = statuses.count(200)
    assert acknowledged == 25
    with server(url, tmp_path):  # the service restarts on the same database
        assert asyncio.run(_count(url)) - before == acknowledged
