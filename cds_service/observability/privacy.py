"""Pseudonymisation: patient ids become keyed hashes before they reach logs or the audit."""

from __future__ import annotations

import hashlib
import hmac


def pseudonymise(value: str, key: str) -> str:
    """HMAC-SHA256 of the id under the configured key: stable for joins, useless without it."""
    return hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()
