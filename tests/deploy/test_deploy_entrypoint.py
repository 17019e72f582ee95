"""Runs the image's own command outside a container, as the orchestrators do.

The command is read from deploy/Dockerfile (ENTRYPOINT + CMD), only the listen address changes
(127.0.0.1 and a free port); the environment is the image's ENV plus a sandbox set-up (no JWT, a
SQLite file, a private multi-process metrics directory). Checks: /healthz and /readyz answer 200
within 90 s, /metrics and discovery answer, and SIGTERM ends the process with exit code 0. Then
the Kubernetes flow: the migration Job's command first, `serve` with CDS_AUTO_MIGRATE=false next,
and `serve` refusing to start on an unmigrated database.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "k8s"
START_TIMEOUT = 90.0  # a loaded 2-core CI machine can take a while to start two workers
STOP_TIMEOUT = 20.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def local_argv(argv: list[str], port: int | None = None) -> list[str]:
    """The image's argv, made runnable here: the venv's console script, loopback, a free port."""
    executable = Path(sys.executable).parent / argv[0]
    resolved = str(executable) if executable.is_file() else shutil.which(argv[0])
    if resolved is None:
        pytest.fail(f"{argv[0]!r} is not installed (pip install -e .)")
    result = [resolved, *argv[1:]]
    for flag, value in (("--host", "127.0.0.1"), ("--port", str(port))):
        if flag in result and port is not None:
            result[result.index(flag) + 1] = value
    return result


def image_env(dockerfile: Any, tmp_path: Path, **overrides: str) -> dict[str, str]:
    """os.environ without CDS_* settings, + the image's ENV, + a sandbox configuration."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CDS_")}
    for key, value in dockerfile.final.env().items():
        if key not in {"PATH", "PROMETHEUS_MULTIPROC_DIR"}:
            env[key] = value
    metrics = tmp_path / "metrics"
    metrics.mkdir(exist_ok=True)
    env.update(
        CDS_AUTH="off",
        CDS_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'x.db'}",
        PROMETHEUS_MULTIPROC_DIR=str(metrics),
        CDS_LOG_FORMAT="text",
    )
    env.update(overrides)
    return env


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # loopback only
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


class Server:
    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path, port: int) -> None:
        self.log = cwd / f"serve-{port}.log"
        self.port = port
        self._log_file = self.log.open("wb")
        self.process = subprocess.Popen(argv, env=env, cwd=cwd, stdout=self._log_file, stderr=subprocess.STDOUT)

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-4000:]

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        pending = ["/healthz", "/readyz"]
        last = "no answer"
        while pending and time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"`serve` exited with {self.process.returncode} before being ready:\n{self.output()}")
            try:
                status, _ = get(f"http://127.0.0.1:{self.port}{pending[0]}")
                last = f"{pending[0]} -> {status}"
                if status == 200:
                    pending.pop(0)
                    continue
            except OSError as error:
                last = f"{pending[0]} -> {error}"
            time.sleep(0.2)
        if pending:
            pytest.fail(f"not ready after {START_TIMEOUT:.0f} s ({last}):\n{self.output()}")

    def terminate(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
                pytest.fail(f"no exit within {STOP_TIMEOUT:.0f} s of SIGTERM:\n{self.output()}")
        self._log_file.close()
        return self.process.returncode

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self._log_file.close()


@pytest.fixture
def start_server(dockerfile, tmp_path):
    servers: list[Server] = []

    def start(**env_overrides: str) -> Server:
        port = free_port()
        argv = local_argv(dockerfile.command(), port)
        server = Server(argv, image_env(dockerfile, tmp_path, **env_overrides), tmp_path, port)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.kill()


def configmap_workers() -> str:
    configmap = yaml.safe_load((K8S / "configmap.yaml").read_text(encoding="utf-8"))
    return str(configmap["data"]["CDS_WORKERS"])


@pytest.mark.parametrize(
    "workers",
    [None, configmap_workers()],
    ids=["image-default-workers", "configmap-workers"],
)
def test_image_command_serves_and_stops_cleanly_on_sigterm(start_server, workers):
    overrides = {"CDS_WORKERS": workers} if workers else {}
    server = start_server(**overrides)
    server.wait_ready()

    status, body = get(f"http://127.0.0.1:{server.port}/metrics")
    assert status == 200, f"/metrics -> {status}: {body[:300]!r}\n{server.output()}"
    status, body = get(f"http://127.0.0.1:{server.port}/cds-services")
    assert status == 200, server.output()
    ids = {service["id"] for service in json.loads(body)["services"]}
    assert {"baclofen-rtu", "baclofen-rtu-select"} <= ids

    code = server.terminate()
    assert code == 0, f"exit code {code} after SIGTERM:\n{server.output()}"


def run_job_command(dockerfile: Any, tmp_path: Path, manifest: str, **overrides: str) -> None:
    """Run a Kubernetes Job's container command (command + args) like the Job would."""
    job = yaml.safe_load((K8S / manifest).read_text(encoding="utf-8"))
    (container,) = job["spec"]["template"]["spec"]["containers"]
    argv = local_argv(container["command"] + container["args"])
    env = image_env(dockerfile, tmp_path, **overrides)
    result = subprocess.run(argv, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, f"{argv} -> {result.returncode}\n{result.stdout}{result.stderr}"


def test_kubernetes_flow_migration_job_then_serve_without_auto_migrate(dockerfile, tmp_path, start_server):
    run_job_command(dockerfile, tmp_path, "migration-job.yaml", CDS_AUTO_MIGRATE="false")
    server = start_server(CDS_AUTO_MIGRATE="false")
    server.wait_ready()
    assert server.terminate() == 0, server.output()


def test_serve_refuses_an_unmigrated_database(start_server):
    """What makes a rolling update wait for the migration Job (maxUnavailable: 0)."""
    server = start_server(CDS_AUTO_MIGRATE="false")
    try:
        code = server.process.wait(timeout=START_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"`serve` kept running on an unmigrated database:\n{server.output()}")
    output = server.output()
    assert code != 0, output
    assert "migrat" in output.lower(), f"the message should say the database needs migrating:\n{output}"


def test_guide_jwt_setup_end_to_end(dockerfile, tmp_path, start_server):
    """The guide's section 3 with its own tools: openssl-style key, JWKS file, token, replay."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    tools = REPO / "deploy" / "tools"
    key = tmp_path / "ehr-es384.key.pem"
    key.write_bytes(
        ec.generate_private_key(ec.SECP384R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    jwks = tmp_path / "jwks.json"
    made = subprocess.run(
        [sys.executable, str(tools / "make-jwks.py"), str(key)], capture_output=True, text=True, check=True
    )
    jwks.write_text(made.stdout, encoding="utf-8")

    issuer = "https://ehr.hospital.example/"
    port = free_port()
    public_url = f"http://127.0.0.1:{port}"
    env = image_env(
        dockerfile,
        tmp_path,
        CDS_AUTH="required",
        CDS_PROFILE="rtu-2017",
        CDS_PUBLIC_URL=public_url,
        CDS_TRUSTED_ISSUERS=json.dumps({issuer: {"jwks": str(jwks), "jku": []}}),
    )
    server = Server(local_argv(dockerfile.command(), port), env, tmp_path, port)
    try:
        server.wait_ready()

        def discovery(token: str | None) -> int:
            request = urllib.request.Request(f"{public_url}/cds-services")
            if token:
                request.add_header("Authorization", f"Bearer {token}")
            try:
                with urllib.request.urlopen(request, timeout=5) as response:  # loopback only
                    return response.status
            except urllib.error.HTTPError as error:
                return error.code

        def token_for(audience: str) -> str:
            result = subprocess.run(
                [sys.executable, str(tools / "make-test-jwt.py"), str(key), issuer, audience],
                capture_output=True,
                text=True,
                check=True,
            )
            return result.stdout.strip()

        assert discovery(None) == 401, server.output()
        token = token_for(f"{public_url}/cds-services")
        assert discovery(token) == 200, server.output()
        assert discovery(token) == 401, "the same jti twice is a replay"
        assert discovery(token_for(f"{public_url}/cds-services/baclofen-rtu")) == 401, "wrong aud"
        assert server.terminate() == 0, server.output()
    finally:
        server.kill()
