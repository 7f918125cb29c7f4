"""/healthz (the process answers), /readyz (it can serve: database, schema, a live worker), /metrics."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from console.api.auth import Principal, require
from console.api.problems import problem_response

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness: the API process answers (no token needed)")
def healthz() -> dict:
    return {"status": "ok"}


def readiness(engine) -> list[str]:
    """Reasons the service cannot serve runs (empty: ready)."""
    from sqlalchemy import text

    from console.store.runs import live_workers

    reasons = []
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure here means "not ready"
        return [f"database unreachable: {type(exc).__name__}"]
    schema_problem = _schema_problem(engine)
    if schema_problem:
        reasons.append(schema_problem)
    if not live_workers(engine):
        reasons.append("no live worker: start `fleetctl serve --workers N` or `fleetctl worker` against this database")
    return reasons


def _schema_problem(engine):
    """The store's migration check (console.store.schema), then the API's own tables."""
    from sqlalchemy import inspect

    from console.store.schema import SchemaError, check_schema
    from console.store.submissions import SUBMISSIONS
    from console.store.tokens import TOKENS

    try:
        check_schema(engine)
    except SchemaError as exc:
        return str(exc)
    missing = {t.name for t in (TOKENS, SUBMISSIONS)} - set(inspect(engine).get_table_names())
    return f"database schema incomplete: missing {', '.join(sorted(missing))}" if missing else None


@router.get("/readyz", summary="Readiness: database reachable, schema current, at least one live worker",
            responses={503: {"description": "not ready; `errors` says why"}})
def readyz(request: Request, _: Principal = Depends(require("read"))):
    reasons = readiness(request.app.state.engine)
    if reasons:
        return problem_response(503, "Not ready", "; ".join(reasons), errors=[{"detail": r} for r in reasons],
                                headers={"Retry-After": "5"})
    return JSONResponse({"status": "ready"})


@router.get("/metrics", summary="Prometheus metrics (text exposition format)", response_class=Response,
            responses={200: {"content": {"text/plain": {}}}})
def metrics(request: Request, _: Principal = Depends(require("read"))) -> Response:
    from console.api.metrics import render

    body, media = render(request.app.state.engine)
    return Response(body, media_type=media)
