"""Structured logs (JSON lines) that carry a correlation id and never patient data.

Only explicitly passed, safe fields are emitted: the hookInstance (a random UUID chosen by the
EHR), service ids, status codes, timings, rule codes and pseudonymised ids. Free text from a
request is never logged.
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)
LOGGER_NAME = "cds_service"


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
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "fields", None) or {}
        extra = " ".join(f"{key}={value}" for key, value in fields.items())
        cid = correlation_id.get()
        prefix = f"[{cid}] " if cid else ""
        return f"{record.levelname.lower():7} {prefix}{record.getMessage()} {extra}".rstrip()


def configure(level: str = "INFO", fmt: str = "json") -> None:
    """Route the service's and uvicorn's logs through one formatter on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    for name in (LOGGER_NAME, "uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers = [handler]
        logger.setLevel(level.upper())
        logger.propagate = False
    # Access logs print query strings; our paths carry no patient data, but keep them off anyway.
    logging.getLogger("uvicorn.access").disabled = True


def get_logger(name: str) -> logging.Logger:
    return logging.getLogger(f"{LOGGER_NAME}.{name}")


def log(logger: logging.Logger, level: int, message: str, **fields: Any) -> None:
    """Log a fixed message with safe structured fields."""
    logger.log(level, message, extra={"fields": fields})
