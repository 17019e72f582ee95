"""`python -m cds_service fixtures list|show` as a real subprocess (what a developer types)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from cds_service.fixtures import fixtures_dir

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = fixtures_dir()


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("CDS_")}
    env["CDS_FIXTURES_DIR"] = str(ROOT / "fhir_fixtures")
    return subprocess.run([sys.executable, "-m", "cds_service", "fixtures", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60, check=False)


def test_fixtures_list_names_every_scenario() -> None:
    assert FIXTURES is not None
    result = run("list")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    expected = sorted(p.name for p in (FIXTURES / "scenarios").iterdir() if (p / "request.json").is_file())
    assert [line.split()[0] for line in lines] == expected
    by_name = {line.split()[0]: line.split()[1] for line in lines}
    assert by_name["ci-epilepsy"] == "baclofen-rtu"
    assert by_name["select-new-patient-15mg"] == "baclofen-rtu-select"


def test_fixtures_show_prints_request_and_expectations() -> None:
    result = run("show", "ci-epilepsy")
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["name"] == "ci-epilepsy"
    assert shown["expected"]["critical"] is True
    assert shown["request"]["hook"] == "order-sign"
    assert "patient" in shown["request"]["prefetch"]


def test_fixtures_show_unknown_is_a_one_line_error() -> None:
    result = run("show", "no-such-scenario")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip().count("\n") == 0
    assert "unknown scenario 'no-such-scenario'" in result.stderr


def test_fixtures_show_without_a_name_fails() -> None:
    result = run("show")
    assert result.returncode == 2
    assert "needs a scenario NAME" in result.stderr
