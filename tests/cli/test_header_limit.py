"""An unfinished huge request header is refused by the real server without holding its bytes.

uvicorn's default httptools parser buffers headers without limit: ten clients each sending an
unfinished 40 MB header took two workers past the pod's memory limit, before authentication.
`serve` runs h11 with `CDS_MAX_HEADER_BYTES`; this test sends ten 4 MB headers to the real
server and checks that each is closed early, that the worker's memory did not grow by their
size, and that the server still answers.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import httpx

from cds_service.storage.database import migrate
from tests.processes import serving

HEADER_BYTES = 4 * 1024 * 1024
CLIENTS = 10


def _rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def _unfinished_headers(port: int) -> list[socket.socket]:
    """CLIENTS connections at once, each sending a request whose one header never ends."""
    sockets = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(CLIENTS)]
    open_ = list(sockets)
    for sock in sockets:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Filler: ")
    chunk = b"a" * 65536
    for _ in range(HEADER_BYTES // len(chunk)):
        for sock in list(open_):
            try:
                sock.sendall(chunk)
            except OSError:  # closed by the server before the end: what we want
                open_.remove(sock)
    return sockets


def _answer(sock: socket.socket) -> bytes:
    try:
        return sock.recv(4096)
    except OSError:
        return b""
    finally:
        sock.close()


def test_unfinished_huge_header_is_refused_without_memory_growth(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cds.db'}"
    migrate(url)
    env = {**os.environ, "CDS_AUTH": "off", "CDS_DATABASE_URL": url, "CDS_LOG_FORMAT": "text",
           "CDS_LOG_LEVEL": "ERROR", "CDS_MAX_HEADER_BYTES": "65536"}
    with serving(env) as (base, process):
        port = int(base.rsplit(":", 1)[1])
        before = _rss_bytes(process.pid)
        sockets = _unfinished_headers(port)
        growth = _rss_bytes(process.pid) - before  # while every connection is still open
        answers = [_answer(sock) for sock in sockets]
        for answer in answers:
            assert answer == b"" or answer.startswith((b"HTTP/1.1 400", b"HTTP/1.1 431")), answer[:100]
        assert growth < CLIENTS * HEADER_BYTES // 4, f"worker grew by {growth} bytes"
        assert httpx.get(f"{base}/healthz", timeout=5).status_code == 200
        normal = httpx.get(f"{base}/healthz", headers={"X-Filler": "a" * 16_000}, timeout=5)
        assert normal.status_code == 200
