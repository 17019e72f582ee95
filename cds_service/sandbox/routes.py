"""Routes of the browser sandbox and the titration plan page (see issue 5).

The sandbox (page and scenario API) exists only when authentication is off (`CDS_AUTH=off`):
a production service must not offer a console that fires hooks. `/plan` and the static
assets are always there, since production cards link to the plan.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from cds_service.sandbox import scenarios
from cds_service.sandbox.plan_page import plan_page

STATIC = Path(__file__).resolve().parent / "static"


def _sandbox_on(request: Request) -> bool:
    return bool(request.app.state.cds.settings.sandbox)


def _off() -> Response:
    return JSONResponse({"error": "not-found", "message": "the sandbox is available only with CDS_AUTH=off"},
                        status_code=404)


async def sandbox_page(request: Request) -> Response:
    """The sandbox console, naming the rule profile in force (a default in the sandbox)."""
    if not _sandbox_on(request):
        return _off()
    profile = request.app.state.cds.profile
    chosen = "" if request.app.state.cds.settings.profile else " — défaut du bac à sable (CDS_PROFILE non défini)"
    page = (STATIC / "index.html").read_text(encoding="utf-8")
    page = page.replace("{{PROFILE}}", escape(f"{profile.id} · {profile.meta.label('fr')}{chosen}"))
    return HTMLResponse(page)


async def scenario_list(request: Request) -> Response:
    return await scenarios.list_scenarios(request) if _sandbox_on(request) else _off()


async def scenario_detail(request: Request) -> Response:
    return await scenarios.get_scenario(request) if _sandbox_on(request) else _off()


def routes() -> list[BaseRoute]:
    return [
        Route("/sandbox", sandbox_page, methods=["GET"]),
        Route("/sandbox/api/scenarios", scenario_list, methods=["GET"]),
        Route("/sandbox/api/scenarios/{name}", scenario_detail, methods=["GET"]),
        Mount("/sandbox/static", app=StaticFiles(directory=STATIC), name="sandbox-static"),
        Route("/plan", plan_page, methods=["GET"]),
    ]
