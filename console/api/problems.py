"""RFC 9457 problem details: every error the API returns, and never a traceback.

    raise ApiProblem(404, "Run not found", f"no run {run_id}")
    raise ApiProblem(422, "Invalid snapshot", errors=[...])   # every bad record and field

`install_handlers(app)` maps the application layer's exceptions (DocumentError, ValueError,
LookupError …), FastAPI's request validation and Starlette's HTTP errors to problem JSON.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any, Optional

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_MEDIA = "application/problem+json"
log = logging.getLogger("fleetctl.api")

_TITLES = {400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found", 405: "Method not allowed",
           406: "Not acceptable", 409: "Conflict", 413: "Request body too large", 415: "Unsupported media type",
           422: "Invalid request", 429: "Too many queued runs", 500: "Internal server error",
           503: "Service unavailable"}


class ApiProblem(Exception):
    def __init__(self, status: int, title: Optional[str] = None, detail: Optional[str] = None, *,
                 errors: Optional[list[dict]] = None, headers: Optional[dict[str, str]] = None, **extra: Any):
        super().__init__(detail or title)
        self.status, self.title, self.detail = status, title or _TITLES.get(status, "Error"), detail
        self.errors, self.headers, self.extra = errors, headers, extra


def problem_response(status: int, title: Optional[str] = None, detail: Optional[str] = None, *,
                     errors: Optional[list[dict]] = None, headers: Optional[dict[str, str]] = None,
                     instance: Optional[str] = None, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"type": "about:blank", "title": title or _TITLES.get(status, "Error"), "status": status}
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = errors
    body.update(extra)
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_MEDIA)


def document_errors(problems: list[str]) -> list[dict]:
    """DocumentError lines ("vms[3] 'vm-0004' field cpu: …") as problem `errors` entries."""
    return [{"detail": p} for p in problems]


def ops_errors(exc) -> list[dict]:
    """console.ops problems (message, record, field) as problem `errors` entries."""
    out = []
    for p in exc.problems:
        item = {"detail": str(p)}
        if p.record:
            item["record"] = p.record
        if p.field:
            item["field"] = p.field
        out.append(item)
    return out


OPS_STATUS = {"InvalidInput": 422, "NotFound": 404, "Conflict": 409, "SchemaMismatch": 503, "StoreUnavailable": 503}


def ops_status(exc) -> int:
    for cls in type(exc).__mro__:
        if cls.__name__ in OPS_STATUS:
            return OPS_STATUS[cls.__name__]
    return 422


def _pointer(loc: tuple) -> str:
    return "#/" + "/".join(str(part).replace("~", "~0").replace("/", "~1") for part in loc)


def validation_errors(exc: RequestValidationError) -> list[dict]:
    out = []
    for err in exc.errors():
        loc = tuple(err.get("loc", ()))
        msg = err.get("msg", "invalid")
        if err.get("type") == "extra_forbidden":
            msg = "unknown field"
        elif err.get("type") == "missing":
            msg = "required field is missing"
        out.append({"pointer": _pointer(loc), "detail": f"{'.'.join(str(p) for p in loc[1:]) or loc[0]}: {msg}"})
    return out


def install_handlers(app: FastAPI) -> None:
    from sqlalchemy.exc import OperationalError

    from console.ops.errors import OpsError
    from engine.documents import DocumentError

    @app.exception_handler(ApiProblem)
    async def _problem(request: Request, exc: ApiProblem):
        return problem_response(exc.status, exc.title, exc.detail, errors=exc.errors, headers=exc.headers,
                                instance=request.url.path, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        errors = validation_errors(exc)
        return problem_response(422, "Invalid request", f"{len(errors)} problem(s) in the request", errors=errors,
                                instance=request.url.path)

    @app.exception_handler(DocumentError)
    async def _document(request: Request, exc: DocumentError):
        return problem_response(422, "Invalid document", f"{exc.source}: {len(exc.problems)} problem(s)",
                                errors=document_errors(exc.problems), instance=request.url.path)

    @app.exception_handler(OpsError)
    async def _ops(request: Request, exc: OpsError):
        status = ops_status(exc)
        headers = {"Retry-After": "2"} if status == 503 else None
        return problem_response(status, exc.title[:1].upper() + exc.title[1:], str(exc) if len(exc.problems) == 1
                                else f"{(exc.source + ': ') if exc.source else ''}{len(exc.problems)} problem(s)",
                                errors=ops_errors(exc), headers=headers, instance=request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        detail = exc.detail if isinstance(exc.detail, str) and exc.detail not in _TITLES.values() else None
        return problem_response(exc.status_code, None, detail, headers=getattr(exc, "headers", None),
                                instance=request.url.path)

    @app.exception_handler(OperationalError)
    async def _database(request: Request, exc: OperationalError):
        log.warning("database unavailable on %s: %s", request.url.path, type(exc.orig or exc).__name__)
        return problem_response(503, "Database unavailable", "the store did not answer; retry shortly",
                                headers={"Retry-After": "2"}, instance=request.url.path)

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception):
        # A bug, not bad input: logged in full on the server, never sent to the client.
        log.error("unhandled error on %s %s:\n%s", request.method, request.url.path,
                  "".join(traceback.format_exception(exc)))
        return problem_response(500, "Internal server error", "an unexpected error was logged on the server",
                                instance=request.url.path)
