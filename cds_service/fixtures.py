"""The FHIR scenarios of `fhir_fixtures/scenarios/`: a CDS Hooks request and its expectations.

Used by the golden tests, the `fixtures` command and the sandbox's scenario list.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


class UnknownScenario(KeyError):
    pass


@dataclass(frozen=True)
class Scenario:
    name: str
    request: dict[str, Any]
    expected: dict[str, Any]

    @property
    def title(self) -> str:
        return str(self.expected.get("title", self.name))

    @property
    def service(self) -> str:
        return str(self.expected.get("service", "baclofen-rtu"))


def fixtures_dir(configured: str | None = None) -> Path | None:
    """The configured directory, else `fhir_fixtures/` beside the package (a source checkout)."""
    candidates = [Path(configured)] if configured else []
    candidates.append(Path(__file__).resolve().parent.parent / "fhir_fixtures")
    candidates.append(Path.cwd() / "fhir_fixtures")
    for candidate in candidates:
        if (candidate / "scenarios").is_dir():
            return candidate
    return None


def _names(directory: Path) -> list[str]:
    root = directory / "scenarios"
    return sorted(p.name for p in root.iterdir() if (p / "request.json").is_file())


def load_scenario(directory: Path, name: str) -> Scenario:
    if name not in _names(directory):
        raise UnknownScenario(name)
    folder = directory / "scenarios" / name
    request = json.loads((folder / "request.json").read_text(encoding="utf-8"))
    expected_path = folder / "expected.yaml"
    expected = yaml.safe_load(expected_path.read_text(encoding="utf-8")) if expected_path.is_file() else {}
    return Scenario(name=name, request=request, expected=expected or {})


def list_scenarios(directory: Path) -> list[Scenario]:
    return [load_scenario(directory, name) for name in _names(directory)]
