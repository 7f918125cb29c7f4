"""/v1/limit-sets/{name}: named limits documents (FORMATS.md), the same ones the CLI and console use."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.concurrency import run_in_threadpool

from console.api.auth import Principal, require
from console.api.documents import DOCUMENT_BODY, read_document_body
from console.api.problems import Problem

router = APIRouter(prefix="/v1/limit-sets", tags=["limit sets"])
Name = Path(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.@ -]*$")


@router.get("", summary="Every limit set, by name")
def list_sets(request: Request, _: Principal = Depends(require("read"))) -> dict:
    from console.store.limits_store import list_limit_sets

    return {"items": [{"name": s.name, "saved_at": s.saved_at.isoformat().replace("+00:00", "Z"),
                       "links": {"self": f"/v1/limit-sets/{s.name}"}}
                      for s in list_limit_sets(request.app.state.engine)]}


@router.put("/{name}", openapi_extra=DOCUMENT_BODY, summary="Save (or replace) a limit set")
async def put_set(request: Request, name: str = Name, _: Principal = Depends(require("admin"))) -> dict:
    from engine.documents import parse_limits
    from console.store.limits_store import save_limits

    data = await read_document_body(request, f"limit set {name!r}")
    limits = parse_limits(data, f"limit set {name!r}")
    await run_in_threadpool(save_limits, request.app.state.engine, name, limits)
    return {"name": name, "limits": limits.to_json_dict()}


@router.get("/{name}", summary="A limit set")
def get_set(request: Request, name: str = Name, _: Principal = Depends(require("read"))) -> dict:
    from console.store.limits_store import LimitSetNotFound, load_limits

    try:
        limits = load_limits(request.app.state.engine, name)
    except LimitSetNotFound as exc:
        raise Problem(404, "Limit set not found", str(exc)) from None
    return {"name": name, "limits": limits.to_json_dict()}


@router.delete("/{name}", status_code=204, response_class=Response, summary="Delete a limit set")
def delete_set(request: Request, name: str = Name, _: Principal = Depends(require("admin"))) -> Response:
    from console.store.limits_store import delete_limit_set

    if not delete_limit_set(request.app.state.engine, name):
        raise Problem(404, "Limit set not found", f"no limit set named {name!r}")
    return Response(status_code=204)
