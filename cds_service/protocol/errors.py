"""Client errors as JSON that names the problem; never a stack trace, never a 500 for input."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError


class ApiError(Exception):
    """An error answered to the client with `status` and a JSON body."""

    def __init__(self, status: int, error: str, message: str, field: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message
        self.field = field
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.error, "message": self.message}
        if self.field:
            body["field"] = self.field
        return body


def from_validation(exc: ValidationError, prefix: str = "") -> ApiError:
    """A 400 naming the first invalid field, e.g. `context.patientId: Field required`."""
    first = exc.errors(include_url=False, include_input=False)[0]
    field = ".".join(str(part) for part in first.get("loc", ()))
    if prefix:
        field = f"{prefix}.{field}" if field else prefix
    message = str(first.get("msg", "invalid value"))
    return ApiError(400, "invalid-request", f"{field}: {message}" if field else message, field or None)
