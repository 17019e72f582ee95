"""nginx (from Debian) in front of several `baclofen-cds serve` instances: what a Kubernetes
Service or an Ingress does in production, run as a process on 127.0.0.1 for the tests.

The configuration retries a request on the next instance when one dies under it
(`proxy_next_upstream error timeout non_idempotent`): a CDS Hooks call is safe to repeat (an
evaluation has no side effect but its audit row; a repeated feedback is one more row).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

NGINX_PATHS = ("/usr/sbin/nginx",)


def nginx_binary() -> str | None:
    """The nginx executable (on PATH, or where Debian puts it, outside a normal user's PATH)."""
    found = shutil.which("nginx")
    if found:
        return found
    return next((path for path in NGINX_PATHS if os.access(path, os.X_OK)), None)


def render_config(directory: Path, port: int, upstreams: list[int]) -> str:
    """An nginx.conf that keeps every file under `directory` and balances over `upstreams`."""
    servers = "\n".join(f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=2s;" for p in upstreams)
    temp = "\n".join(f"    {kind}_temp_path {directory / kind};"
                     for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    # As root the workers would otherwise switch to `nobody`, who cannot enter pytest's tmp_path.
    user = "user root;\n" if os.geteuid() == 0 else ""
    return f"""{user}worker_processes 1;
daemon off;
pid {directory / 'nginx.pid'};
error_log {directory / 'error.log'} notice;
events {{ worker_connections 512; }}
http {{
    access_log {directory / 'access.log'};
{temp}
    upstream cds {{
{servers}
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://cds;
            proxy_http_version 1.1;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_connect_timeout 1s;
            proxy_read_timeout 15s;
            proxy_next_upstream error timeout non_idempotent;
            proxy_next_upstream_tries 3;
            add_header X-Upstream $upstream_addr always;
        }}
    }}
}}
"""


def _children(pid: int) -> set[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return set()
    return {int(part) for part in text.split()}


@dataclass
class Balancer:
    """One nginx master process (own directory and port), reconfigurable while it serves."""

    binary: str
    directory: Path
    port: int
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def config(self) -> Path:
        return self.directory / "nginx.conf"

    def start(self, upstreams: list[int]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.config.write_text(render_config(self.directory, self.port, upstreams))
        argv = [self.binary, "-p", str(self.directory), "-c", str(self.config), "-e", str(self.directory / "error.log")]
        check = subprocess.run([*argv, "-t"], capture_output=True, text=True)
        assert check.returncode == 0, f"nginx rejects its configuration: {check.stderr}"
        self.process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"nginx did not start: {self.log()}") from None
                time.sleep(0.05)

    def reload(self, upstreams: list[int], seconds: float = 10) -> None:
        """New configuration; returns once the old workers have finished their requests and gone."""
        assert self.process is not None
        self.config.write_text(render_config(self.directory, self.port, upstreams))
        old = _children(self.process.pid)
        self.process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + seconds
        while _children(self.process.pid) & old or not _children(self.process.pid):
            if time.monotonic() > deadline:
                raise RuntimeError(f"nginx did not finish reloading: {self.log()}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)  # graceful shutdown
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def log(self) -> str:
        path = self.directory / "error.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""
