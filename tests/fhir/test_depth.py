"""`check_depth`: drafts nested past the limit are refused by name, at any depth of input."""

from __future__ import annotations

from typing import Any

import pytest

from cds_service.fhir.parsing import MAX_DEPTH, TOO_DEEP, InvalidFhir, check_depth


def nested(levels: int) -> dict[str, Any]:
    """A resource whose containers nest `levels` levels, the resource itself being the first."""
    value: Any = {"url": "x"}
    for index in range(levels - 1):
        value = [value] if index % 2 else {"extension": value}  # one level each, a list or an object
    return value if isinstance(value, dict) else {"extension": value[0]}


@pytest.mark.parametrize("levels", [1, 2, MAX_DEPTH - 1, MAX_DEPTH])
def test_up_to_the_limit_passes(levels: int) -> None:
    check_depth(nested(levels), "context.draftOrders.entry[0].resource")


@pytest.mark.parametrize("levels", [MAX_DEPTH + 1, MAX_DEPTH + 2, 5_000])
def test_past_the_limit_is_refused(levels: int) -> None:
    with pytest.raises(InvalidFhir) as raised:
        check_depth(nested(levels), "context.draftOrders.entry[0].resource")
    assert raised.value.message == TOO_DEEP


def test_lists_count_as_levels() -> None:
    value: Any = [1]
    for _ in range(MAX_DEPTH - 2):
        value = [value]
    check_depth({"a": value}, "here")  # the dict, then MAX_DEPTH - 1 lists
    with pytest.raises(InvalidFhir):
        check_depth({"a": [value]}, "here")
