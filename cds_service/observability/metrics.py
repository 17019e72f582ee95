"""Prometheus metrics; multi-process aware (set PROMETHEUS_MULTIPROC_DIR for several workers)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

REQUESTS = Counter("cds_requests_total", "CDS Hooks requests", ["service", "status"])
REQUEST_LATENCY = Histogram("cds_request_duration_seconds", "Request latency", ["service"],
                            buckets=LATENCY_BUCKETS)
FHIR_FETCH_LATENCY = Histogram("cds_fhir_fetch_duration_seconds", "FHIR fetch latency per prefetch key",
                               ["key"], buckets=LATENCY_BUCKETS)
FHIR_FETCH_ERRORS = Counter("cds_fhir_fetch_errors_total", "FHIR fetch failures", ["key", "reason"])
RULE_FIRINGS = Counter("cds_rule_firings_total", "Rule firings", ["rule", "profile"])
CARDS = Counter("cds_cards_total", "Cards returned", ["indicator"])
OUT_OF_SCOPE = Counter("cds_out_of_scope_total",
                       "Hook calls with no baclofen draft (answered with no card, not audited)",
                       ["service"])
FEEDBACK = Counter("cds_feedback_total", "Feedback outcomes per rule", ["service", "outcome", "rule"])


_children: dict[tuple[Any, tuple[str, ...]], Any] = {}


def _child(metric: Any, *values: str) -> Any:
    """The child of `metric` for these label values, remembered: `labels()` checks its arguments
    and takes a lock on every call (~5 µs), and every hook call touches several. The set of
    values is the one Prometheus keeps anyway (services, statuses, indicators, rule codes)."""
    key = (metric, values)
    child = _children.get(key)
    if child is None:
        child = _children[key] = metric.labels(*values)
    return child


def count_request(service: str, status: int, seconds: float) -> None:
    _child(REQUESTS, service, str(status)).inc()
    _child(REQUEST_LATENCY, service).observe(seconds)


def count_out_of_scope(service: str) -> None:
    _child(OUT_OF_SCOPE, service).inc()


def count_cards(indicators: Iterable[str], rule_codes: Iterable[str], profile: str) -> None:
    for indicator in indicators:
        _child(CARDS, indicator).inc()
    for code in rule_codes:
        _child(RULE_FIRINGS, code, profile).inc()


def count_feedback(service: str, outcome: str, rule: str) -> None:
    _child(FEEDBACK, service, outcome, rule).inc()


def observe_fetch(key: str, seconds: float, error: str | None) -> None:
    _child(FHIR_FETCH_LATENCY, key).observe(seconds)
    if error is not None:
        _child(FHIR_FETCH_ERRORS, key, error).inc()


def render() -> tuple[bytes, str]:
    """The exposition text: merged over worker processes when running multi-process."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST
