"""/v1/snapshots: load a fleet (JSON or YAML) as a new immutable version; read a version back."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Request
from fastapi.concurrency import run_in_threadpool

from console.api.auth import Principal, require
from console.api.documents import DOCUMENT_BODY, read_document_body

router = APIRouter(prefix="/v1/snapshots", tags=["snapshots"])


def _body(ref, snapshot=None) -> dict:
    body = {**ref.to_dict(), "links": {"self": f"/v1/snapshots/{ref.id}"}}
    if snapshot is not None:
        body["document"] = snapshot.model_dump(mode="json", by_alias=True)
    return body


@router.post("", status_code=201, openapi_extra=DOCUMENT_BODY,
             summary="Load a snapshot (FORMATS.md) as the current fleet: a new version with its sha256")
async def post_snapshot(request: Request, _: Principal = Depends(require("submit"))) -> dict:
    from console.ops.snapshots import load_snapshot, parse_snapshot

    data = await read_document_body(request, "snapshot")
    snapshot = await run_in_threadpool(parse_snapshot, data, "snapshot")
    ref = await run_in_threadpool(lambda: load_snapshot(request.app.state.engine, snapshot, source="api", replace=True))
    return _body(ref)


@router.get("/current", summary="The current fleet (the latest version loaded), with its document")
def get_current(request: Request, _: Principal = Depends(require("read"))) -> dict:
    from console.ops.errors import NotFound
    from console.ops.snapshots import current_snapshot, snapshot_document

    engine = request.app.state.engine
    ref = current_snapshot(engine)
    if ref is None:
        raise NotFound("no snapshot is loaded yet: POST /v1/snapshots")
    return _body(ref, snapshot_document(engine, ref.id))


@router.get("/{snapshot_id}", summary="A snapshot version by id, with its document")
def get_snapshot(request: Request, snapshot_id: int = Path(ge=1, le=2**62),
                 _: Principal = Depends(require("read"))) -> dict:
    from console.ops.snapshots import get_snapshot as ref_of, snapshot_document

    engine = request.app.state.engine
    ref = ref_of(engine, snapshot_id)
    return _body(ref, snapshot_document(engine, snapshot_id))
