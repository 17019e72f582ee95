"""Medplum's FHIR server (`medplum_server.mjs`, Node) as a subprocess for the fetch-mode tests.

Skipped when Node is absent, unless `CDS_TEST_REQUIRE_FHIR_SERVER=1` (CI), where a missing Node
or missing npm packages fail instead: the fetch-mode golden run must not silently vanish.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

HERE = Path(__file__).resolve().parent
WRAPPER = HERE / "medplum_server.mjs"
REQUIRED = os.environ.get("CDS_TEST_REQUIRE_FHIR_SERVER") == "1"
START_SECONDS = 120  # indexing the FHIR definitions takes ~15 s on a busy machine


def unavailable_reason() -> str | None:
    """Why the Medplum server cannot run here, or None."""
    if shutil.which("node") is None:
        return "node is not installed"
    if not (HERE / "node_modules" / "@medplum" / "fhir-router").is_dir():
        return "the Medplum packages are not installed: run `npm ci` in tests/fhirserver"
    return None


def require() -> None:
    """Skip (locally, without Node) or fail (CI, or Node present but packages missing)."""
    reason = unavailable_reason()
    if reason is None:
        return
    if REQUIRED or shutil.which("node") is not None:
        pytest.fail(f"Medplum FHIR server unavailable: {reason}")
    pytest.skip(reason)


class Medplum:
    """A running server: `fhir_base` for the service, `load()` to replace what it holds."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.fhir_base = f"{base}/fhir"

    def load(self, resources: list[dict[str, Any]]) -> None:
        response = httpx.post(f"{self.base}/load", json=resources, timeout=60)
        response.raise_for_status()
        assert response.json()["loaded"] == len(resources)


@contextmanager
def running() -> Iterator[Medplum]:
    node = shutil.which("node")
    assert node is not None
    process = subprocess.Popen([node, str(WRAPPER), "0"], cwd=HERE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        line: list[str] = []
        reader = threading.Thread(target=lambda: line.append(process.stdout.readline() if process.stdout else ""),
                                  daemon=True)
        reader.start()
        reader.join(START_SECONDS)
        if not line or not line[0].startswith("listening "):
            process.kill()
            raise RuntimeError(f"Medplum server did not start: {process.stderr.read() if process.stderr else ''}")
        yield Medplum(line[0].split()[1])
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
