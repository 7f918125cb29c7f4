"""The FastAPI application: routers, problem-details handlers, body cap, OpenAPI behind a token."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import JSONResponse

from console.api.auth import Principal, require
from console.api.body_limit import BodyLimitMiddleware
from console.api.problems import install_handlers
from console.api.settings import ServiceSettings

API_VERSION = "1"


def create_app(settings: ServiceSettings) -> FastAPI:
    """The API over the store `settings.db` (the engine opens when the server starts)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        from console.ops.store import open_store

        engine = open_store(settings.db)  # creates or checks the schema, API tables included (0004)
        app.state.engine = engine
        try:
            yield
        finally:
            engine.dispose()

    app = FastAPI(title="fleetctl", version=API_VERSION, lifespan=lifespan, openapi_url=None, docs_url=None,
                  redoc_url=None, description="Maintenance, placement and capacity plans as a service. Every "
                  "endpoint but /healthz needs `Authorization: Bearer <token>`; errors are RFC 9457 problem details.")
    app.state.settings = settings
    install_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)

    from console.api.routes import events, health, lifecycle, limit_sets, runs, schedules, snapshots

    for module in (health, snapshots, limit_sets, runs, events, schedules, lifecycle):
        app.include_router(module.router)
    app.include_router(lifecycle.runs_router)

    @app.get("/openapi.json", include_in_schema=False)
    def openapi(_: Principal = Depends(require("read"))) -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False)
    def docs(request: Request, _: Principal = Depends(require("read"))):
        return get_swagger_ui_html(openapi_url="/openapi.json", title="fleetctl API")

    return app
