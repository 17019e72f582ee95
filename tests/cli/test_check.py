"""`check REQUEST.json`: the same answer as the HTTP service, offline; exit 2 on bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from cds_service.fixtures import fixtures_dir, load_scenario

SCENARIO = "dose-120mg-age40-specialist"


def run_check(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cds_service", "check", *args], capture_output=True, text=True,
                          timeout=60, env={"PATH": "/usr/bin:/bin", "CDS_PUBLIC_URL": "http://testserver"})


async def test_check_prints_the_service_answer(client: httpx.AsyncClient) -> None:
    directory = fixtures_dir()
    assert directory is not None
    path = directory / "scenarios" / SCENARIO / "request.json"
    result = run_check(str(path), "--lang", "en")
    assert result.returncode == 0, result.stderr
    offline = json.loads(result.stdout)
    online = (await client.post("/cds-services/baclofen-rtu", json=load_scenario(directory, SCENARIO).request,
                                headers={"Accept-Language": "en"})).json()
    assert offline == online


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"hook": "order-sign"}', "hookInstance"),
        ('{"hook": "patient-view", "hookInstance": "x", "context": {"userId": "Practitioner/1", "patientId": "p",'
         ' "draftOrders": {"resourceType": "Bundle", "type": "collection"}}}', "unsupported hook"),
    ],
)
def test_bad_input_exits_2_with_one_line(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    result = run_check(str(path))
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stdout == ""


def test_missing_file_exits_2(tmp_path: Path) -> None:
    result = run_check(str(tmp_path / "nope.json"))
    assert result.returncode == 2 and "cannot read" in result.stderr


def test_purge_command_reports_counts(tmp_path: Path) -> None:
    from cds_service.storage.database import migrate

    url = f"sqlite+aiosqlite:///{tmp_path / 'p.db'}"
    migrate(url)
    result = subprocess.run([sys.executable, "-m", "cds_service", "purge", "--days", "30"], capture_output=True,
                            text=True, timeout=60, env={"PATH": "/usr/bin:/bin", "CDS_DATABASE_URL": url})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"retention_days": 30,
                                         "deleted": {"evaluations": 0, "feedback": 0, "seen_tokens": 0}}


def test_help_lists_every_command() -> None:
    result = subprocess.run([sys.executable, "-m", "cds_service", "--help"], capture_output=True, text=True, timeout=60)
    for command in ("serve", "check", "migrate", "purge", "fixtures"):
        assert command in result.stdout
