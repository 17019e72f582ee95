"""Routes of the browser sandbox and the titration plan page (see issue 5)."""

from __future__ import annotations

from starlette.routing import BaseRoute


def routes() -> list[BaseRoute]:
    return []
