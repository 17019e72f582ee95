"""Request bodies as JSON, and a hook call's prefetch left undecoded until it is needed.

An EHR registered for `order-sign` sends the whole prefetch (the patient's orders, conditions,
observations: tens to hundreds of kB) with every order the hospital signs, baclofen or not.
Decoding it into Python objects is most of what a paracetamol order would cost (1.6 ms for a
650 kB prefetch); skipping over it, as msgspec does for a `Raw` member, checks that it is JSON
and costs a sixth of that. The other members are decoded with orjson, as every other body is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec
import orjson

from cds_service.protocol.errors import ApiError

_MEMBERS = msgspec.json.Decoder(dict[str, msgspec.Raw])


@dataclass(frozen=True)
class HookBody:
    """A hook call's members, decoded, but its prefetch, still JSON text (None when absent)."""

    members: dict[str, Any]
    prefetch: msgspec.Raw | None

    def decoded_prefetch(self) -> Any:
        """The prefetch as Python objects; 400 when it is not JSON orjson accepts (the skip
        checked its syntax, not its UTF-8)."""
        if self.prefetch is None:
            return None
        return _decode(memoryview(self.prefetch), "prefetch")


def json_body(body: bytes) -> Any:
    """The body as JSON, or the 400 that says why it is not."""
    if not body:
        raise ApiError(400, "invalid-request", "request body is empty")
    return _decode(body, None)


def hook_body(body: bytes) -> HookBody:
    """A hook call's body: a JSON object whose members but `prefetch` are decoded."""
    if not body:
        raise ApiError(400, "invalid-request", "request body is empty")
    try:
        raw = _MEMBERS.decode(body)
    except msgspec.ValidationError:  # valid JSON, not an object
        raise ApiError(400, "invalid-request", "request body must be a JSON object") from None
    except msgspec.DecodeError:
        raise ApiError(400, "malformed-json", "request body is not valid JSON") from None
    except RecursionError:  # msgspec's nesting limit (orjson's is a JSONDecodeError)
        raise ApiError(400, "malformed-json", "request body is nested too deeply") from None
    prefetch = raw.pop("prefetch", None)
    members = {name: _decode(memoryview(value), name) for name, value in raw.items()}
    return HookBody(members, prefetch)


def _decode(data: bytes | memoryview, member: str | None) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        if member is None:
            raise ApiError(400, "malformed-json", "request body is not valid JSON") from None
        raise ApiError(400, "malformed-json", f"{member}: not valid JSON", member) from None
