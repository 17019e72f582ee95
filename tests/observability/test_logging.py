"""Log lines cannot be forged by client-chosen values (hookInstance, fields)."""

from __future__ import annotations

import json
import logging

import pytest

from cds_service.observability.logging import JsonFormatter, TextFormatter, correlation_id

FORGERIES = [
    "abc\ninfo    [x] hook evaluated service=baclofen-rtu cards=0",
    "abc\r\nerror forged",
    "abc\x00\x1b[31m\x7f\x85",
    "abc\u2028forged\u2029line",
]


def _record(**fields: object) -> logging.LogRecord:
    record = logging.LogRecord("cds_service.http", logging.INFO, __file__, 1, "hook evaluated", None, None)
    record.fields = fields
    return record


def _has_control(text: str) -> bool:
    return any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F or c in "\u2028\u2029" for c in text)


@pytest.mark.parametrize("value", FORGERIES)
def test_text_format_escapes_control_characters(value: str) -> None:
    token = correlation_id.set(value)
    try:
        line = TextFormatter().format(_record(service="baclofen-rtu", reason=value))
    finally:
        correlation_id.reset(token)
    assert not _has_control(line), line
    assert len(line.splitlines()) == 1 and line.startswith("info    [")


def test_text_format_quotes_values_that_would_read_as_fields() -> None:
    line = TextFormatter().format(_record(reason='x status=200 "y"'))
    assert line.endswith('reason="x status=200 \\"y\\""'), line


@pytest.mark.parametrize("value", FORGERIES)
def test_json_format_escapes_control_characters_and_stays_json(value: str) -> None:
    token = correlation_id.set(value)
    try:
        line = JsonFormatter().format(_record(reason=value))
    finally:
        correlation_id.reset(token)
    assert not _has_control(line), line
    entry = json.loads(line)
    assert entry["correlation_id"] == value and entry["reason"] == value
