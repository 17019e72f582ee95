"""Scenario API for the sandbox page: the FHIR fixtures as JSON the browser can pick from.

Reads `fhir_fixtures/` through `cds_service.fixtures` (the same loader as the golden tests and
the `fixtures` command), off the event loop since it is file I/O.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from cds_service import fixtures


def _directory(request: Request) -> Path | None:
    return fixtures.fixtures_dir(request.app.state.cds.settings.fixtures_dir)


def summary(scenario: fixtures.Scenario) -> dict[str, Any]:
    """What the picker shows: enough to choose, not the whole request."""
    expected = scenario.expected
    return {
        "name": scenario.name,
        "title": scenario.title,
        "service": scenario.service,
        "hook": scenario.request.get("hook"),
        "description": str(expected.get("description", "")),
        "status": expected.get("status", 200),
        "must": [str(code) for code in expected.get("must") or []],
        "critical": bool(expected.get("critical", False)),
    }


async def list_scenarios(request: Request) -> Response:
    directory = _directory(request)
    if directory is None:
        return JSONResponse({"scenarios": []})
    found = await run_in_threadpool(fixtures.list_scenarios, directory)
    return JSONResponse({"scenarios": [summary(scenario) for scenario in found]})


async def get_scenario(request: Request) -> Response:
    name = request.path_params["name"]
    directory = _directory(request)
    try:
        if directory is None:
            raise fixtures.UnknownScenario(name)
        scenario = await run_in_threadpool(fixtures.load_scenario, directory, name)
    except fixtures.UnknownScenario:
        return JSONResponse({"error": "unknown-scenario", "message": f"no scenario named {name[:80]!r}",
                             "field": "name"}, status_code=404)
    return JSONResponse(scenario.request)
