"""Routes of the browser sandbox and the titration plan page (see issue 5).

The sandbox (page and scenario API) exists only when authentication is off (`CDS_AUTH=off`):
a production service must not offer a console that fires hooks, nor its files
(`/sandbox/static/*` answers 404 like `/sandbox`). `/plan` and its assets
(`/plan/static/plan.css`, `patient.css`, `favicon.svg`) are always there, since production cards
link to the plan.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from cds_service.sandbox import scenarios
from cds_service.sandbox.plan_page import plan_page

STATIC = Path(__file__).resolve().parent / "static"
#: the files of `STATIC` that the plan page needs, served in production too
PLAN_ASSETS = {"plan.css": "text/css; charset=utf-8", "patient.css": "text/css; charset=utf-8",
               "favicon.svg": "image/svg+xml"}


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


async def plan_asset(request: Request) -> Response:
    name = request.path_params["name"]
    if name not in PLAN_ASSETS:
        return JSONResponse({"error": "not-found", "message": "no such file"}, status_code=404)
    return FileResponse(STATIC / name, media_type=PLAN_ASSETS[name])


class SandboxOnly:
    """ASGI wrapper: the wrapped app (the sandbox's static files) exists only with the sandbox on."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope["app"].state.cds.settings.sandbox:
            await _off()(scope, receive, send)
            return
        await self.app(scope, receive, send)


def routes() -> list[BaseRoute]:
    return [
        Route("/sandbox", sandbox_page, methods=["GET"]),
        Route("/sandbox/api/scenarios", scenario_list, methods=["GET"]),
        Route("/sandbox/api/scenarios/{name}", scenario_detail, methods=["GET"]),
        Mount("/sandbox/static", app=SandboxOnly(StaticFiles(directory=STATIC)), name="sandbox-static"),
        Route("/plan", plan_page, methods=["GET"]),
        Route("/plan/static/{name}", plan_asset, methods=["GET"]),
    ]
