"""Checks of docs/operations/: the Prometheus alert rules and the Grafana dashboard.

Both may only use the metric names the service exports (conftest.METRICS). PromQL is parsed with
`promql-parser` (the Prometheus parser's Rust port, offline); if `promtool` is installed (Debian
package `prometheus`), the rule file is also checked and unit-tested with it.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
OPERATIONS = REPO / "docs" / "operations"
ALERTS = OPERATIONS / "prometheus-alerts.yaml"
ALERT_TESTS = OPERATIONS / "prometheus-alerts.test.yaml"
DASHBOARD = OPERATIONS / "grafana-dashboard.json"

# Series Prometheus itself makes, usable in alerts (not in the dashboard).
PROMETHEUS_BUILTINS = {"up": {"job", "instance"}}
DURATION = re.compile(r"^(\d+(ms|s|m|h|d|w|y))+$")
SEVERITIES = {"critical", "warning", "info"}
GRAFANA_VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]")


def selectors(expr: str) -> list[tuple[str, set[str]]]:
    """(metric name, label names matched) of every vector selector of a PromQL expression."""
    promql_parser = pytest.importorskip("promql_parser")
    try:
        ast = promql_parser.parse(expr)
    except ValueError as error:
        pytest.fail(f"invalid PromQL: {error}\n{expr}")
    found: list[tuple[str, set[str]]] = []

    def visit(node: Any) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            labels = {m.name for m in node.matchers.matchers}
            name = node.name
            if name is None:  # {__name__="..."}
                names = [m.value for m in node.matchers.matchers if m.name == "__name__"]
                name = names[0] if names else "<no name>"
            found.append((name, labels - {"__name__"}))

    promql_parser.walk(ast, visit)
    return found


def grafana_to_promql(expr: str) -> str:
    """Replace Grafana's template variables by values PromQL accepts."""
    expr = re.sub(r"\$__(rate_interval|interval|range)\b|\$\{__(rate_interval|interval|range)\}", "5m", expr)
    return GRAFANA_VARIABLE.sub("placeholder", expr)


def check_selectors(expr: str, allowed: dict[str, set[str]], where: str) -> set[str]:
    used = set()
    for name, labels in selectors(expr):
        assert name in allowed, f"{where}: unknown metric {name!r} in {expr!r}"
        unknown = labels - allowed[name] - {"job", "instance", "namespace", "pod"}
        assert not unknown, f"{where}: {name} has no label {sorted(unknown)}"
        used.add(name)
    return used


def family(series: str) -> str:
    """The metric family of a series (a histogram's _bucket/_sum/_count -> its name)."""
    return re.sub(r"_(bucket|sum|count)$", "", series)


# ------------------------------------------------------------------------------------------
# Alert rules
# ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def alert_rules() -> dict[str, Any]:
    data = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_alert_file_has_the_rule_group_shape(alert_rules):
    assert set(alert_rules) == {"groups"}
    groups = alert_rules["groups"]
    assert isinstance(groups, list) and groups
    names = [g["name"] for g in groups]
    assert len(names) == len(set(names)), "group names must be unique"
    for group in groups:
        assert set(group) <= {"name", "interval", "limit", "rules", "labels"}
        assert isinstance(group["rules"], list) and group["rules"]
        for rule in group["rules"]:
            assert set(rule) <= {"alert", "expr", "for", "keep_firing_for", "labels", "annotations"}
            assert re.fullmatch(r"[A-Z][A-Za-z0-9]+", rule["alert"]), rule["alert"]
            assert isinstance(rule["expr"], str) and rule["expr"].strip()
            assert DURATION.match(rule["for"]), f"{rule['alert']}: bad `for` {rule['for']!r}"
            assert rule["labels"]["severity"] in SEVERITIES
            assert {"summary", "description"} <= set(rule["annotations"])


def test_alerts_cover_the_operational_risks(alert_rules):
    rules = {r["alert"]: r for g in alert_rules["groups"] for r in g["rules"]}
    exprs = " ".join(r["expr"] for r in rules.values())
    assert 'status=~"5.."' in exprs, "a 5xx-rate alert"
    assert "histogram_quantile(0.99" in exprs and "> 0.2" in exprs, "a p99 > 200 ms alert"
    assert "cds_fhir_fetch_errors_total" in exprs, "a FHIR fetch error alert"
    assert "or vector(0)) == 0" in exprs, "a no-traffic alert that also fires without series"


def test_alert_expressions_use_only_exported_metrics(alert_rules, exported_series):
    allowed = {**exported_series, **PROMETHEUS_BUILTINS}
    for group in alert_rules["groups"]:
        for rule in group["rules"]:
            check_selectors(rule["expr"], allowed, rule["alert"])


def test_promtool_checks_and_unit_tests_the_rules():
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not installed (Debian package `prometheus`)")
    for command in (["check", "rules", ALERTS.name], ["test", "rules", ALERT_TESTS.name]):
        result = subprocess.run(
            [promtool, *command],
            cwd=OPERATIONS,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr


def test_alert_unit_tests_cover_every_alert(alert_rules):
    tests = yaml.safe_load(ALERT_TESTS.read_text(encoding="utf-8"))
    assert tests["rule_files"] == [ALERTS.name]
    tested = {case["alertname"] for test in tests["tests"] for case in test.get("alert_rule_test", [])}
    defined = {r["alert"] for g in alert_rules["groups"] for r in g["rules"]}
    assert defined <= tested


# ------------------------------------------------------------------------------------------
# Grafana dashboard
# ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    data = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def panels_of(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    panels = []
    for panel in dashboard["panels"]:
        panels.append(panel)
        panels.extend(panel.get("panels", []))  # collapsed rows hold their panels
    return panels


def test_dashboard_is_a_grafana_dashboard(dashboard):
    assert dashboard["title"] and dashboard["uid"]
    assert isinstance(dashboard["schemaVersion"], int) and dashboard["schemaVersion"] >= 30
    assert dashboard.get("id") is None, "no instance-specific id: importable anywhere"
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    panels = panels_of(dashboard)
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24, f"{panel['title']}: off the grid"
        if panel["type"] == "row":
            continue
        assert panel["targets"], f"{panel['title']}: no query"
        assert panel["datasource"]["uid"] == "${datasource}"
        ref_ids = [t["refId"] for t in panel["targets"]]
        assert len(ref_ids) == len(set(ref_ids))


def test_dashboard_queries_use_only_exported_metrics(dashboard, exported_series):
    used: set[str] = set()
    exprs = [(panel["title"], target["expr"]) for panel in panels_of(dashboard) for target in panel.get("targets", [])]
    for variable in dashboard["templating"]["list"]:
        query = variable.get("query")
        if isinstance(query, dict):
            query = query.get("query")
        if variable["type"] == "query" and isinstance(query, str):
            match = re.fullmatch(r"label_values\((\w+),\s*(\w+)\)", query)
            assert match, f"variable {variable['name']}: unexpected query {query!r}"
            assert match.group(1) in exported_series
            assert match.group(2) in exported_series[match.group(1)]
    assert exprs
    for title, expr in exprs:
        used |= check_selectors(grafana_to_promql(expr), exported_series, title)
    families = {family(s) for s in used}
    missing = {
        "cds_requests_total",
        "cds_request_duration_seconds",
        "cds_fhir_fetch_duration_seconds",
        "cds_fhir_fetch_errors_total",
        "cds_rule_firings_total",
        "cds_cards_total",
        "cds_feedback_total",
    } - families
    assert not missing, f"the dashboard shows nothing of {sorted(missing)}"


def test_dashboard_breakdowns(dashboard):
    """Latency percentiles by service, FHIR by key, cards by indicator, feedback by outcome."""
    exprs = " ".join(t["expr"] for p in panels_of(dashboard) for t in p.get("targets", []))
    for needed in (
        "sum by (le, service) (rate(cds_request_duration_seconds_bucket",
        "sum by (le, key) (rate(cds_fhir_fetch_duration_seconds_bucket",
        "sum by (key, reason) (rate(cds_fhir_fetch_errors_total",
        "sum by (indicator) (rate(cds_cards_total",
        "sum by (rule, profile) (increase(cds_rule_firings_total",
        "sum by (service, outcome) (rate(cds_feedback_total",
    ):
        assert needed in exprs, needed
    for quantile in ("0.50", "0.95", "0.99"):
        assert f"histogram_quantile({quantile}, sum by (le, service)" in exprs
