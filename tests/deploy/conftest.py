"""Shared fixtures of the deployment checks: a small Dockerfile parser, loaded manifests, the
metric catalogue. Test modules get everything through fixtures (no imports from here), so that
they work whatever pytest's import mode.

These tests need no Docker engine, no cluster and no network.
"""

from __future__ import annotations

import json
import re
import shlex
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
K8S = DEPLOY / "k8s"
DOCS = REPO / "docs"
OPERATIONS = DOCS / "operations"
GUIDE = DOCS / "integrator-guide.md"

# The metric series the service exports (the contract with dashboards and alerts), with labels.
METRICS: dict[str, set[str]] = {
    "cds_requests_total": {"service", "status"},
    "cds_request_duration_seconds": {"service"},
    "cds_fhir_fetch_duration_seconds": {"key"},
    "cds_fhir_fetch_errors_total": {"key", "reason"},
    "cds_rule_firings_total": {"rule", "profile"},
    "cds_cards_total": {"indicator"},
    "cds_out_of_scope_total": {"service"},
    "cds_feedback_total": {"service", "outcome", "rule"},
}
HISTOGRAMS = {"cds_request_duration_seconds", "cds_fhir_fetch_duration_seconds"}
# Labels Prometheus adds at scrape time (target labels of a usual Kubernetes scrape config).
TARGET_LABELS = {"job", "instance", "namespace", "pod", "container", "service_name"}


@pytest.fixture(scope="session")
def metric_catalogue() -> dict[str, set[str]]:
    """The exported metric families and their labels."""
    return METRICS


@pytest.fixture(scope="session")
def exported_series() -> dict[str, set[str]]:
    """Every series name a PromQL expression may select, with its allowed labels."""
    series: dict[str, set[str]] = {}
    for name, labels in METRICS.items():
        if name in HISTOGRAMS:
            series[f"{name}_bucket"] = labels | {"le"}
            series[f"{name}_sum"] = set(labels)
            series[f"{name}_count"] = set(labels)
        else:
            series[name] = set(labels)
    return series


# ------------------------------------------------------------------------------------------
# Dockerfile
# ------------------------------------------------------------------------------------------


@dataclass
class Instruction:
    name: str  # upper-cased keyword
    args: str  # the rest of the logical line, continuations joined
    line: int  # 1-based line of the keyword

    def exec_form(self) -> list[str] | None:
        """The JSON (exec) form of CMD/ENTRYPOINT/RUN/HEALTHCHECK CMD, else None."""
        text = self.args
        if self.name == "HEALTHCHECK":
            match = re.search(r"\bCMD\s+(.*)$", text, re.S)
            if not match:
                return None
            text = match.group(1)
        text = text.strip()
        if not text.startswith("["):
            return None
        value = json.loads(text)
        assert isinstance(value, list) and all(isinstance(v, str) for v in value)
        return value


@dataclass
class Stage:
    base: str  # as written (may hold ${ARG})
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, name: str) -> list[Instruction]:
        return [i for i in self.instructions if i.name == name]

    def last(self, name: str) -> Instruction | None:
        found = self.all(name)
        return found[-1] if found else None

    def env(self) -> dict[str, str]:
        """ENV values set in this stage (`ENV K=V ...`, or the legacy `ENV K V`)."""
        values: dict[str, str] = {}
        for instr in self.all("ENV"):
            tokens = shlex.split(instr.args, posix=True)
            if tokens and "=" not in tokens[0]:
                values[tokens[0]] = " ".join(tokens[1:])
                continue
            for token in tokens:
                key, _, value = token.partition("=")
                values[key] = value
        return values


@dataclass
class Dockerfile:
    path: Path
    global_args: dict[str, str]
    stages: list[Stage]

    @property
    def final(self) -> Stage:
        return self.stages[-1]

    def resolve(self, text: str) -> str:
        """Substitute the global ARG defaults in a FROM line."""

        def sub(match: re.Match[str]) -> str:
            name = match.group(1) or match.group(2)
            return self.global_args.get(name, match.group(0))

        return re.sub(r"\$\{(\w+)\}|\$(\w+)", sub, text)

    def command(self) -> list[str]:
        """The command the image runs: ENTRYPOINT + CMD, both in exec form."""
        entry = self.final.last("ENTRYPOINT")
        cmd = self.final.last("CMD")
        entry_argv = entry.exec_form() if entry else []
        cmd_argv = cmd.exec_form() if cmd else []
        assert entry_argv is not None, "ENTRYPOINT must use the exec (JSON) form"
        assert cmd_argv is not None, "CMD must use the exec (JSON) form"
        return entry_argv + cmd_argv

    def entrypoint(self) -> list[str]:
        entry = self.final.last("ENTRYPOINT")
        argv = entry.exec_form() if entry else None
        assert argv, "the final stage needs an exec-form ENTRYPOINT"
        return argv


def parse_dockerfile(path: Path) -> Dockerfile:
    logical: list[tuple[int, str]] = []
    buffer: list[str] = []
    start = 0
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        stripped = raw.strip()
        if not buffer and (not stripped or stripped.startswith("#")):
            continue  # blank line, comment or parser directive
        if buffer and stripped.startswith("#"):
            continue  # comment lines inside a continuation are dropped by Docker too
        if not buffer:
            start = number
        if stripped.endswith("\\"):
            buffer.append(stripped[:-1])
            continue
        buffer.append(stripped)
        logical.append((start, " ".join(part.strip() for part in buffer if part.strip())))
        buffer = []
    assert not buffer, f"{path}: dangling line continuation"

    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    for number, text in logical:
        keyword, _, args = text.partition(" ")
        keyword = keyword.upper()
        args = args.strip()
        if keyword == "FROM":
            parts = [p for p in args.split() if not p.startswith("--platform")]
            name = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else None
            stages.append(Stage(base=parts[0], name=name))
        elif not stages:
            assert keyword == "ARG", f"{path}:{number}: only ARG may come before FROM"
            key, _, value = args.partition("=")
            global_args[key.strip()] = value.strip().strip('"')
        else:
            stages[-1].instructions.append(Instruction(keyword, args, number))
    return Dockerfile(path=path, global_args=global_args, stages=stages)


@pytest.fixture(scope="session")
def dockerfile() -> Dockerfile:
    return parse_dockerfile(DEPLOY / "Dockerfile")


# ------------------------------------------------------------------------------------------
# YAML documents
# ------------------------------------------------------------------------------------------


def load_yaml_docs(path: Path) -> list[dict[str, Any]]:
    docs = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]
    assert docs, f"{path} holds no YAML document"
    for doc in docs:
        assert isinstance(doc, dict), f"{path}: each document must be a mapping"
    return docs


def k8s_manifest_paths() -> list[Path]:
    """Every Kubernetes manifest in deploy/k8s (the kustomization itself excluded)."""
    return sorted(p for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")


@pytest.fixture(scope="session")
def k8s() -> dict[str, dict[str, Any]]:
    """`Kind/name` -> object, for every object of every manifest in deploy/k8s."""
    objects: dict[str, dict[str, Any]] = {}
    for path in k8s_manifest_paths():
        for doc in load_yaml_docs(path):
            key = f"{doc['kind']}/{doc['metadata']['name']}"
            assert key not in objects, f"{key} defined twice"
            objects[key] = doc
    return objects


@pytest.fixture(scope="session")
def compose() -> dict[str, Any]:
    docs = load_yaml_docs(DEPLOY / "compose.yaml")
    assert len(docs) == 1
    return docs[0]


@pytest.fixture(scope="session")
def settings_fields() -> dict[str, Any]:
    """CDS_<FIELD> -> pydantic FieldInfo, from cds_service.settings (the source of truth)."""
    from cds_service.settings import Settings

    return {f"CDS_{name.upper()}": info for name, info in Settings.model_fields.items()}


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Make any outgoing connection fail: what runs under it must work offline."""

    def refuse(self: socket.socket, address: Any) -> None:
        raise OSError(f"network access attempted during an offline check: {address!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: refuse(None, a))  # type: ignore[arg-type]
    yield
