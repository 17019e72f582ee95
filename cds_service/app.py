"""The ASGI application (`cds_service.app:app`), assembled from settings.

Start-up fails fast with a clear message when the rule profile is invalid or the database is
not migrated; shutdown closes the HTTP client and the database pool after in-flight requests.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from cds_service.clinical.profile import ProfileError, load_profile, missing_profile_message
from cds_service.fhir.client import new_http_client
from cds_service.observability import tracing
from cds_service.observability.logging import get_logger, log
from cds_service.pipeline import Limits
from cds_service.protocol import endpoints, openapi
from cds_service.protocol.auth import JwtVerifier
from cds_service.protocol.jwks import JwksCache
from cds_service.protocol.middleware import BrowserCorsMiddleware, GuardMiddleware
from cds_service.settings import Settings, get_settings
from cds_service.state import AppState
from cds_service.storage.database import check_ready, create_engine
from cds_service.storage.group_commit import AuditWriter, SeenTokens
from cds_service.storage.repository import Repository
from cds_service.terminology import Terminology, install, load_configured

logger = get_logger("app")


def routes() -> list[BaseRoute]:
    from cds_service.sandbox import routes as sandbox_routes

    return [
        Route("/cds-services", endpoints.get_discovery, methods=["GET"]),
        Route("/cds-services/{service_id}", endpoints.post_hook, methods=["POST"]),
        Route("/cds-services/{service_id}/feedback", endpoints.post_feedback, methods=["POST"]),
        Route("/healthz", endpoints.healthz, methods=["GET"]),
        Route("/readyz", endpoints.readyz, methods=["GET"]),
        Route("/metrics", endpoints.get_metrics, methods=["GET"]),
        Route("/openapi.json", openapi.endpoint, methods=["GET"]),
        *sandbox_routes.routes(),
    ]


async def _http_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, HTTPException):  # registered for HTTPException only
        return await _server_error(request, exc)
    code = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "error")
    return endpoints.OrjsonResponse({"error": code, "message": str(exc.detail)},
                                    status_code=exc.status_code, headers=exc.headers)


async def _server_error(request: Request, exc: Exception) -> Response:
    log(logger, logging.ERROR, "unhandled error", error=type(exc).__name__, path=request.url.path)
    return endpoints.OrjsonResponse({"error": "internal", "message": "internal error"}, status_code=500)


def install_configured(settings: Settings) -> Terminology:
    """Load the BDPM index and formulary the settings name and make them the active ones."""
    terminology = load_configured(settings.terminology_dir, settings.formulary, settings.drug_code_systems)
    install(terminology)
    return terminology


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or get_settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        name = settings.profile_name
        if name is None:
            raise ProfileError(missing_profile_message())
        profile = load_profile(name)
        if not settings.profile:
            log(logger, logging.WARNING, "rule profile: sandbox default (CDS_PROFILE not set)", profile=name,
                title=profile.meta.title["en"], status=profile.meta.status)
        started = time.perf_counter()
        terminology = install_configured(settings)
        log(logger, logging.INFO, "terminology loaded", products=len(terminology.products),
            formulary=len(terminology.formulary_by_system),
            seconds=round(time.perf_counter() - started, 3))
        engine = create_engine(settings.database_url, pool_size=settings.db_pool_size,
                               max_overflow=settings.db_max_overflow)
        await check_ready(engine, settings.database_url)
        http = new_http_client()
        repository = Repository(engine)
        verifier = None
        if settings.auth == "required":
            verifier = JwtVerifier(settings, JwksCache(settings, http), SeenTokens(repository.remember_jtis))
        else:
            log(logger, logging.WARNING,
                "SANDBOX MODE: authentication is OFF (CDS_AUTH=off); never expose this to an EHR network")
        if settings.auth == "required" and not settings.metrics_token:
            log(logger, logging.WARNING,
                "/metrics is open (no CDS_METRICS_TOKEN): keep it unreachable from outside the cluster")
        tracing.configure(settings.otel_endpoint)
        app.state.cds = AppState(settings, profile, http, engine, repository, verifier,
                                 AuditWriter(repository.record_evaluations),
                                 Limits(settings.max_draft_orders, settings.max_prefetch_entries))
        # The ~500k long-lived objects of the FHIR and pydantic models need no collecting:
        # freezing them keeps full collections (after a large request) from walking them.
        gc.collect()
        gc.freeze()
        log(logger, logging.INFO, "service ready", profile=profile.id, profile_version=profile.meta.version,
            profile_status=profile.meta.status, auth=settings.auth)
        try:
            yield
        finally:
            await http.aclose()
            await engine.dispose()

    middleware = [Middleware(GuardMiddleware, max_bytes=settings.max_body_bytes,
                             seconds=settings.request_timeout_seconds)]
    origins: list[str] = settings.cors_origins or (["*"] if settings.sandbox else [])
    if origins:  # outside the guard, so that its 413 and 503 carry the CORS headers too
        middleware.insert(0, Middleware(
            BrowserCorsMiddleware, allow_origins=origins, allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "Accept-Language"], max_age=600))
    handlers: dict[Any, Any] = {HTTPException: _http_error, Exception: _server_error}
    return Starlette(routes=routes(), middleware=middleware, lifespan=lifespan,
                     exception_handlers=handlers)


def __getattr__(name: str) -> Any:
    """`cds_service.app:app` is built on first access, from the environment's settings."""
    if name == "app":
        application = create_app()
        globals()["app"] = application
        return application
    raise AttributeError(name)
