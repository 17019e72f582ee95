"""Running `baclofen-cds serve` as a real subprocess for the tests that need one."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from tests.fhir_server import free_port


def wait_until_ready(base: str, process: subprocess.Popen[bytes] | subprocess.Popen[str], seconds: float = 30) -> None:
    """Poll /readyz until 200; fail with the server's stderr if it dies or takes too long."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            output = process.stderr.read() if process.stderr else ""
            raise RuntimeError(f"server did not start: {output!r}")
        time.sleep(0.1)


@contextmanager
def serving(env: dict[str, str], *args: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`python -m cds_service serve` on a free port; killed at exit if still running."""
    port = free_port()
    # the logs go to a file: an unread pipe fills up and blocks the workers' log writes
    log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in the finally below)
    process = subprocess.Popen([sys.executable, "-m", "cds_service", "serve", "--port", str(port), *args], env=env,
                               stdout=subprocess.DEVNULL, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(base, process)
        yield base, process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=20)
        log.close()
