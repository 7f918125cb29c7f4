"""/v1/schedules and /v1/plans/latest: scheduled runs and the plans they publish.

A published plan is the plan of a schedule's latest succeeded run. A run's plan and its
`succeeded` status are written in one transaction, so a reader gets the previous plan or the
new one whole, never a mix; the ETag names the run and the plan's hash.
"""

from __future__ import annotations

import threading
from typing import Annotated, Literal, Optional, Union

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from console.api.auth import Principal, require
from console.api.problems import ApiProblem
from console.api.routes.runs import RunOptions

router = APIRouter(tags=["schedules"])
Kind = Literal["maintenance", "placement", "capacity"]


class ScheduleRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["maintenance", "placement"]
    every: str = Field(max_length=20, description="interval: 15m, 1h, 1d …", examples=["1h"])
    limits: Optional[Union[Annotated[str, Field(min_length=1, max_length=100)], dict]] = Field(
        None, description="a limit-set name (read at each firing) or an inline limits document")
    options: RunOptions = Field(default_factory=RunOptions)


def _schedule_body(view) -> dict:
    return {**view.to_dict(), "links": {"self": f"/v1/schedules/{view.id}",
                                        "latest_plan": f"/v1/plans/latest?schedule={view.id}"}}


@router.post("/v1/schedules", status_code=201, summary="Run on the current fleet every N minutes/hours/days")
def post_schedule(request: Request, body: ScheduleRequest, _: Principal = Depends(require("admin"))) -> dict:
    from console.ops.errors import InvalidInput, NotFound, Problem
    from console.ops.schedules import add_schedule

    options = body.options.model_dump(exclude_none=True)
    if options.pop("seed", None) is not None:
        raise InvalidInput(Problem("put a schedule's seed in its limits (solve.seed)", field="options.seed"))
    limits_name = body.limits if isinstance(body.limits, str) else None
    try:
        view = add_schedule(request.app.state.engine, body.kind, body.every,
                            limits=body.limits if isinstance(body.limits, dict) else None, limits_name=limits_name,
                            options=options)
    except NotFound as exc:  # a limit set named in the body: a bad request, not a missing resource
        raise InvalidInput(exc.problems) from None
    return _schedule_body(view)


@router.get("/v1/schedules", summary="Every schedule")
def get_schedules(request: Request, _: Principal = Depends(require("read"))) -> dict:
    from console.ops.schedules import list_schedules

    return {"items": [_schedule_body(s) for s in list_schedules(request.app.state.engine)]}


@router.delete("/v1/schedules/{schedule_id}", status_code=204, response_class=Response, summary="Remove a schedule")
def delete_schedule(request: Request, schedule_id: Annotated[int, Path(ge=1, le=2**62)],
                    _: Principal = Depends(require("admin"))) -> Response:
    from console.ops.schedules import remove_schedule

    remove_schedule(request.app.state.engine, schedule_id)
    return Response(status_code=204)


class _PlanHashes:
    """plan sha256 by run id: a finished run's plan never changes, so each is hashed once."""

    def __init__(self) -> None:
        self._lock, self._items = threading.Lock(), {}

    def get(self, run_id: int, plan: dict) -> str:
        with self._lock:
            digest = self._items.get(run_id)
        if digest is None:
            from engine.fingerprint import plan_sha256

            digest = plan_sha256(plan)
            with self._lock:
                if len(self._items) > 4096:
                    self._items.clear()
                self._items[run_id] = digest
        return digest


_hashes = _PlanHashes()


@router.get("/v1/plans/latest", summary="The latest successful plan of a schedule (ETag, If-None-Match)",
            responses={304: {"description": "unchanged since the ETag sent in If-None-Match"}})
def latest_plan(request: Request, kind: Optional[Kind] = None,
                schedule: Optional[int] = Query(None, ge=1, le=2**62),
                if_none_match: Optional[str] = Header(None, alias="If-None-Match", max_length=200),
                _: Principal = Depends(require("read"))) -> Response:
    from console.ops.schedules import latest_plans

    plans = latest_plans(request.app.state.engine, kind, schedule)
    if not plans:
        raise ApiProblem(404, "No published plan", "no schedule" + (f" {schedule}" if schedule else "")
                      + (f" of kind {kind}" if kind else "") + " has a successful run yet")
    latest = max(plans, key=lambda p: (p.finished_at, p.run_id))
    digest = _hashes.get(latest.run_id, latest.plan)
    etag = f'"{latest.run_id}-{digest[:32]}"'
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    sent = [t.strip().removeprefix("W/") for t in (if_none_match or "").split(",")]
    if etag in sent or "*" in sent:
        return Response(status_code=304, headers=headers)
    body = {**latest.to_dict(), "plan_sha256": digest}
    return JSONResponse(body, headers=headers)
