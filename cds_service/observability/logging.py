"""Structured logs (JSON lines) that carry a correlation id and never patient data.

Only explicitly passed, safe fields are emitted: the hookInstance (a random UUID chosen by the
EHR), service ids, status codes, timings, rule codes and pseudonymised ids. Free text from a
request is never logged.

Some of those fields still come from the client (the hookInstance is any string of up to 128
characters), so every format escapes control characters: a newline in a hookInstance must not
start a forged log line, in `json` (where a collector may split on U+2028) or in `text`.
"""

from __future__ import annotations

import json
import logging
import logging.config
import re
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import orjson

correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)
LOGGER_NAME = "cds_service"


#: C0 controls, DEL, C1 controls and the Unicode line/paragraph separators
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
#: what makes a text value ambiguous: quote it (logfmt style) when present
_NEEDS_QUOTES = re.compile(r'[\s="\\]')


def _escape_control(text: str) -> str:
    """Control characters as visible `\\uXXXX`, valid inside a JSON string and readable in text."""
    return _CONTROL.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def _text_value(value: Any) -> str:
    text = str(value)
    if text and not _NEEDS_QUOTES.search(text) and not _CONTROL.search(text):
        return text
    quoted = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{_escape_control(quoted)}"'


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        cid = correlation_id.get()
        if cid:
            entry["correlation_id"] = cid
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info and record.exc_info[0] is not None:
            entry["exception"] = record.exc_info[0].__name__
        # orjson escapes C0 controls; DEL, C1 and U+2028/2029 only appear inside strings.
        # One line per evaluation: orjson (a few µs) rather than the json module (~13 µs).
        try:
            line = orjson.dumps(entry, default=str).decode()
        except TypeError:  # an integer beyond 64 bits, a non-string key: the json module's way
            line = json.dumps(entry, ensure_ascii=False, default=str)
        return _escape_control(line)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "fields", None) or {}
        extra = " ".join(f"{_text_value(key)}={_text_value(value)}" for key, value in fields.items())
        cid = correlation_id.get()
        prefix = f"[{_text_value(cid)}] " if cid else ""
        message = _escape_control(record.getMessage())
        return f"{record.levelname.lower():7} {prefix}{message} {extra}".rstrip()


def logging_config(level: str = "INFO", fmt: str = "json") -> dict[str, Any]:
    """The `logging.config.dictConfig` of the service: its and uvicorn's logs, one formatter, stderr.

    Passed to uvicorn as `log_config`, so that each worker process applies it when it starts
    (the parent's configuration is not inherited by spawned workers).
    """
    formatter = f"{__name__}.{'JsonFormatter' if fmt == 'json' else 'TextFormatter'}"
    handled = {"handlers": ["stderr"], "level": level.upper(), "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"cds": {"()": formatter}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "cds",
                                "stream": "ext://sys.stderr"}},
        "loggers": {
            LOGGER_NAME: handled,
            "uvicorn": handled,
            "uvicorn.error": handled,
            # Access logs print query strings; our paths carry no patient data, but keep them off.
            "uvicorn.access": {"handlers": [], "level": "CRITICAL", "propagate": False},
            # SQL statements and their parameters (client data) never reach the logs.
            "sqlalchemy": {"handlers": ["stderr"], "level": "WARNING", "propagate": False},
        },
    }


def configure(level: str = "INFO", fmt: str = "json") -> None:
    """Route the service's and uvicorn's logs through one formatter on stderr (this process)."""
    logging.config.dictConfig(logging_config(level, fmt))


def get_logger(name: str) -> logging.Logger:
    return logging.getLogger(f"{LOGGER_NAME}.{name}")


def log(logger: logging.Logger, level: int, message: str, **fields: Any) -> None:
    """Log a fixed message with safe structured fields."""
    logger.log(level, message, extra={"fields": fields})
