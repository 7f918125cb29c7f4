"""/v1/snapshots: load a fleet (JSON or YAML), read it back by id or as the current one."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Request
from fastapi.concurrency import run_in_threadpool

from console.api.auth import Principal, require
from console.api.documents import DOCUMENT_BODY, read_document_body
from console.api.problems import Problem

router = APIRouter(prefix="/v1/snapshots", tags=["snapshots"])
COLLECTIONS = ("datacenters", "racks", "hosts", "customers", "vms")


def _snapshot_body(info, snapshot) -> dict:
    from engine.fingerprint import sha256_of

    return {"id": info.id, "name": info.name, "sha256": sha256_of(snapshot),
            "loaded_at": info.loaded_at.isoformat().replace("+00:00", "Z"),
            "counts": {c: getattr(info, c) for c in COLLECTIONS},
            "links": {"self": f"/v1/snapshots/{info.id}"}, "document": snapshot.model_dump(mode="json", by_alias=True)}


def _current(engine):
    from console.store.fleet_store import current_snapshot, current_snapshot_info

    info = current_snapshot_info(engine)
    return (None, None) if info is None else (info, current_snapshot(engine))


@router.post("", status_code=201, openapi_extra=DOCUMENT_BODY,
             summary="Load a snapshot (FORMATS.md) as the current fleet")
async def post_snapshot(request: Request, _: Principal = Depends(require("submit"))) -> dict:
    from engine.documents import parse_snapshot
    from engine.fingerprint import sha256_of
    from console.store.fleet_store import save_snapshot

    data = await read_document_body(request, "snapshot")
    snapshot = await run_in_threadpool(parse_snapshot, data, "snapshot")
    snapshot_id = await run_in_threadpool(save_snapshot, request.app.state.engine, snapshot, source="api", check=False)
    return {"id": snapshot_id, "sha256": sha256_of(snapshot), "name": snapshot.name,
            "counts": {c: len(getattr(snapshot, c)) for c in COLLECTIONS}, "links": {"self": f"/v1/snapshots/{snapshot_id}"}}


@router.get("/current", summary="The current fleet")
def get_current(request: Request, _: Principal = Depends(require("read"))) -> dict:
    info, snapshot = _current(request.app.state.engine)
    if info is None:
        raise Problem(404, "No snapshot", "no snapshot is loaded yet: POST /v1/snapshots")
    return _snapshot_body(info, snapshot)


@router.get("/{snapshot_id}", summary="A snapshot by id")
def get_snapshot(request: Request, snapshot_id: int = Path(ge=1, le=2**62),
                 _: Principal = Depends(require("read"))) -> dict:
    info, snapshot = _current(request.app.state.engine)
    if info is None or info.id != snapshot_id:
        raise Problem(404, "Snapshot not found", f"no snapshot {snapshot_id} is stored")
    return _snapshot_body(info, snapshot)
