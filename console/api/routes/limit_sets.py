"""/v1/limit-sets/{name}: named limits documents (FORMATS.md), the same ones the CLI and console use."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.concurrency import run_in_threadpool

from console.api.auth import Principal, require
from console.api.documents import DOCUMENT_BODY, read_document_body

router = APIRouter(prefix="/v1/limit-sets", tags=["limit sets"])
Name = Path(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.@ -]*$")


def _links(name: str) -> dict:
    return {"self": f"/v1/limit-sets/{name}"}


@router.get("", summary="Every limit set, by name")
def list_sets(request: Request, _: Principal = Depends(require("read"))) -> dict:
    from console.ops.limits import list_limit_sets

    return {"items": [{**ref.to_dict(), "links": _links(ref.name)} for ref in list_limit_sets(request.app.state.engine)]}


@router.put("/{name}", openapi_extra=DOCUMENT_BODY, summary="Save (or replace) a limit set")
async def put_set(request: Request, name: str = Name, _: Principal = Depends(require("admin"))) -> dict:
    from console.ops.limits import parse_limits, save_limit_set

    data = await read_document_body(request, f"limit set {name!r}")
    limits = parse_limits(data, f"limit set {name!r}")
    ref = await run_in_threadpool(save_limit_set, request.app.state.engine, name, limits)
    return {**ref.to_dict(), "replaced": ref.replaced, "limits": limits.to_json_dict(), "links": _links(name)}


@router.get("/{name}", summary="A limit set")
def get_set(request: Request, name: str = Name, _: Principal = Depends(require("read"))) -> dict:
    from console.ops.limits import get_limit_set, limit_set_ref

    engine = request.app.state.engine
    ref = limit_set_ref(engine, name)
    return {**ref.to_dict(), "limits": get_limit_set(engine, name).to_json_dict(), "links": _links(name)}


@router.delete("/{name}", status_code=204, response_class=Response, summary="Delete a limit set")
def delete_set(request: Request, name: str = Name, _: Principal = Depends(require("admin"))) -> Response:
    from console.ops.limits import delete_limit_set

    delete_limit_set(request.app.state.engine, name)
    return Response(status_code=204)
