"""`serve`: fails fast with a clear message, and drains in-flight requests on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from cds_service.storage.database import migrate
from tests.builders import hook_request, patient
from tests.fhir_server import FakeFhir, free_port
from tests.processes import wait_until_ready


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'serve.db'}"
    return {**os.environ, "CDS_AUTH": "off", "CDS_DATABASE_URL": url, "CDS_LOG_FORMAT": "text", **extra}


def test_invalid_profile_fails_fast_with_a_clear_message(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "cds_service", "serve", "--port", str(free_port())],
                            env=_env(tmp_path, CDS_PROFILE="rtu-1999"), capture_output=True, text=True, timeout=60)
    assert result.returncode == 3
    assert "unknown rule profile 'rtu-1999'" in result.stderr
    assert "Traceback" not in result.stderr


def test_stale_metric_files_are_cleared(tmp_path: Path) -> None:
    from cds_service.cli import _clear_stale_metrics

    metrics = tmp_path / "prom"
    metrics.mkdir()
    (metrics / "counter_99999.db").write_bytes(b"stale")
    (metrics / "keep.txt").write_text("not a metrics file")
    _clear_stale_metrics(str(metrics))
    assert sorted(p.name for p in metrics.iterdir()) == ["keep.txt"]
    _clear_stale_metrics(str(tmp_path / "new"))
    assert (tmp_path / "new").is_dir()


def test_sigterm_lets_in_flight_requests_finish(tmp_path: Path, fhir_server: FakeFhir) -> None:
    env = _env(tmp_path, CDS_FHIR_TIMEOUT_SECONDS="5")
    migrate(env["CDS_DATABASE_URL"])
    fhir_server.load([patient()])
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "cds_service", "serve", "--port", str(port)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    wait_until_ready(base, process)
    result: dict[str, int] = {}

    def slow_call() -> None:
        request = hook_request(omit=("conditions",), fhir_server=fhir_server.url("delay-1500"))
        result["status"] = httpx.post(f"{base}/cds-services/baclofen-rtu", json=request, timeout=20).status_code

    caller = threading.Thread(target=slow_call)
    caller.start()
    time.sleep(0.5)  # the request is now waiting on the slow FHIR server
    process.send_signal(signal.SIGTERM)
    caller.join(timeout=20)
    assert result.get("status") == 200
    assert process.wait(timeout=20) == 0


def test_every_worker_logs_like_a_single_process(tmp_path: Path) -> None:
    """With `--workers 2` the workers (spawned processes) apply the same logging configuration:
    INFO lines with their fields, warnings with their fields, one JSON object per line."""
    env = _env(tmp_path, CDS_LOG_FORMAT="json", CDS_LOG_LEVEL="INFO")
    migrate(env["CDS_DATABASE_URL"])
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "cds_service", "serve", "--port", str(port), "--workers", "2"],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(base, process)
        instances = []
        with httpx.Client(base_url=base, timeout=20) as http:
            for _ in range(6):  # fresh connections: several requests reach each worker
                request = hook_request()
                instances.append(request["hookInstance"])
                assert http.post("/cds-services/baclofen-rtu", json=request,
                                 headers={"Connection": "close"}).status_code == 200
            unavailable = hook_request(omit=("patient",))
            assert http.post("/cds-services/baclofen-rtu", json=unavailable).status_code == 412
    finally:
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=30)
    lines = [json.loads(line) for line in (stdout + stderr).splitlines() if line.startswith("{")]
    assert len(lines) == len((stdout + stderr).strip().splitlines()), stderr  # nothing unformatted
    ready = [line for line in lines if line["message"] == "service ready"]
    assert len(ready) == 2, stderr  # one per worker: each configured its logging
    evaluated = {line.get("correlation_id"): line for line in lines if line["message"] == "hook evaluated"}
    for instance in instances:
        line = evaluated[instance[:64]]
        assert line["level"] == "info" and line["service"] == "baclofen-rtu"
        assert {"cards", "rules", "unavailable", "duration_ms"} <= line.keys()
    warning = [line for line in lines if line["message"] == "patient unavailable"]
    assert warning and warning[0]["level"] == "warning" and warning[0]["reason"], stderr
