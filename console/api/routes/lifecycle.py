"""The plan lifecycle over HTTP: approve, history, margins; executions (start, status, events, next,
replan, apply, cancel).

Each route calls one console.ops.lifecycle function, the same the CLI calls, so the API refuses
exactly what `fleetctl plan|exec` refuses. A `Refused` becomes a 409 problem whose `errors`
name the run or execution (404 when that run or execution does not exist); an event that is not
an event (FORMATS.md) is a 422 pointing at it. Writes need the `submit` scope, reads `read`.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any, Iterator, Optional

from fastapi import APIRouter, Body, Depends, Path, Query, Request, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from console.api.auth import Principal, require
from console.api.problems import ApiProblem
from engine.checks import MAX_PLAN_MINUTE

runs_router = APIRouter(prefix="/v1/runs", tags=["lifecycle"])
router = APIRouter(prefix="/v1/executions", tags=["lifecycle"])
RunId = Annotated[int, Path(ge=1, le=2**62, description="Run id")]
ExecId = Annotated[int, Path(ge=1, le=2**62, description="Execution id")]
Minute = Annotated[Optional[int], Query(ge=0, le=MAX_PLAN_MINUTE, description="minute since the execution started "
                                        "(default: the clock, never before the latest event)")]
MAX_EVENTS = 10_000
Text = Annotated[str, Field(min_length=1, max_length=2000)]


@contextmanager
def refusals(record: str, *, field: Optional[str] = None, missing: int = 404) -> Iterator[None]:
    """console.ops.lifecycle.Refused as a problem naming `record` ("run 7", "execution 3") and the
    request `field` that chose it; `missing` is the status when that record does not exist (404 for
    the URL's resource, 422 for one a request body names)."""
    from console.ops.lifecycle import Refused

    try:
        yield
    except Refused as exc:
        lines = exc.lines()
        status = missing if lines and lines[0].startswith(f"no {record}") else 409
        where = {"record": record, **({"field": field} if field else {})}
        raise ApiProblem(status, {404: "Not found", 409: "Refused"}.get(status, "Invalid request"),
                         lines[0] if len(lines) == 1 else f"{record}: {len(lines)} problem(s)",
                         errors=[{"detail": line, **where} for line in lines]) from None


def _actor(who: Principal, by: Optional[str] = None) -> str:
    return by.strip() if by and by.strip() else who.name


def exec_links(execution_id: int) -> dict:
    base = f"/v1/executions/{execution_id}"
    return {"self": base, "events": f"{base}/events", "next": f"{base}/next", "replan": f"{base}/replan",
            "apply": f"{base}/apply", "cancel": f"{base}/cancel"}


# --------------------------------------------------------------------------- plans


class ApproveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    by: Optional[Text] = Field(None, description="who approves (default: the token's name)")
    note: Optional[Text] = Field(None, description="why, ticket, change window…")


@runs_router.post("/{run_id}/approve", summary="Approve a maintenance plan, bound to its snapshot, limits and plan "
                  "hashes", responses={409: {"description": "refused: not valid, stale, not a draft…"}})
def approve_run(request: Request, run_id: RunId, body: ApproveRequest = Body(default_factory=ApproveRequest),
                who: Principal = Depends(require("submit"))) -> dict:
    from console.ops.lifecycle import approve

    with refusals(f"run {run_id}"):
        state = approve(request.app.state.engine, run_id, by=_actor(who, body.by), note=body.note)
    out = state.to_dict()
    if state.execution_id is not None and state.state == "executing":
        out["links"] = exec_links(state.execution_id)
    return out


@runs_router.get("/{run_id}/history", summary="A plan's state and every transition (who, when, why)")
def run_history(request: Request, run_id: RunId, _: Principal = Depends(require("read"))) -> dict:
    from console.ops.lifecycle import plan_history
    from console.ops.runs import get_run

    get_run(request.app.state.engine, run_id)  # NotFound -> 404 (a plan never touched is a draft)
    state, events = plan_history(request.app.state.engine, run_id)
    return {"state": state.to_dict(), "events": [e.to_dict() for e in events]}


@runs_router.get("/{run_id}/margins", summary="Dry run: per limit family, the plan's peak use against the limit")
def run_margins(request: Request, run_id: RunId, _: Principal = Depends(require("read"))) -> dict:
    from console.ops.lifecycle import margins

    with refusals(f"run {run_id}"):
        return margins(request.app.state.engine, run_id).to_dict()


# --------------------------------------------------------------------------- executions


class StartRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    run_id: int = Field(ge=1, le=2**62, strict=True, description="an approved run")
    at: Optional[AwareDatetime] = Field(None, description="minute 0, ISO 8601 with a time zone (default: now)")
    by: Optional[Text] = None


@router.post("", status_code=201, summary="Start executing an approved plan",
             responses={409: {"description": "refused: the plan is not approved"}})
def start(request: Request, response: Response, body: StartRequest,
          who: Principal = Depends(require("submit"))) -> dict:
    from console.ops.lifecycle import start_execution

    at = body.at.timestamp() if isinstance(body.at, datetime) else None
    with refusals(f"run {body.run_id}", field="run_id", missing=422):
        exec_id = start_execution(request.app.state.engine, body.run_id, by=_actor(who, body.by), at=at)
    response.headers["Location"] = f"/v1/executions/{exec_id}"
    return {"id": exec_id, "run_id": body.run_id, "state": "executing", "links": exec_links(exec_id)}


@router.get("/{execution_id}", summary="Progress, late actions and the projected end")
def get_status(request: Request, execution_id: ExecId, now: Minute = None,
               _: Principal = Depends(require("read"))) -> dict:
    from console.ops.lifecycle import status

    with refusals(f"execution {execution_id}"):
        view = status(request.app.state.engine, execution_id, now)
    return {**view.to_dict(), "links": exec_links(execution_id)}


def _parse_events(body: Any) -> list:
    """One FORMATS.md event or a list of them; 422 pointing at every bad one."""
    from engine.execution.state import EventRefused, parse_event

    items = body if isinstance(body, list) else [body]
    if not items:
        raise ApiProblem(422, "Invalid events", "send one event or a non-empty list of events")
    if len(items) > MAX_EVENTS:
        raise ApiProblem(422, "Invalid events", f"at most {MAX_EVENTS} events per request, got {len(items)}")
    events, errors = [], []
    for i, item in enumerate(items):
        try:
            events.append(parse_event(item))
        except EventRefused as exc:
            where = f"#/body/{i}" if isinstance(body, list) else "#/body"
            errors.append({"pointer": where, "record": f"events[{i}]", "detail": str(exc)})
    if errors:
        raise ApiProblem(422, "Invalid events", f"{len(errors)} bad event(s): nothing recorded", errors=errors)
    return events


@router.post("/{execution_id}/events", summary="Record what happened: one event or a list (all or none)",
             responses={409: {"description": "refused: an unknown action or an illegal transition"},
                        422: {"description": "not an event (FORMATS.md)"}})
def post_events(request: Request, execution_id: ExecId,
                body: Any = Body(..., description="an event {action, state, at, reason?} or a list of them; "
                                 "events already recorded are skipped, so a retry is harmless"),
                who: Principal = Depends(require("submit"))) -> dict:
    from console.ops.lifecycle import report

    events = _parse_events(body)
    with refusals(f"execution {execution_id}"):
        rec = report(request.app.state.engine, execution_id, events, actor=who.name)
    return {"execution": execution_id, "applied": rec.applied, "duplicates": rec.duplicates,
            "completed": rec.completed, "links": exec_links(execution_id)}


@router.get("/{execution_id}/next", summary="Actions that may start now; the others held back with why")
def get_next(request: Request, execution_id: ExecId, now: Minute = None,
             _: Principal = Depends(require("read"))) -> dict:
    from console.ops.lifecycle import next_actions

    with refusals(f"execution {execution_id}"):
        return next_actions(request.app.state.engine, execution_id, now).to_dict()


class ReplanRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    now: Optional[int] = Field(None, ge=0, le=MAX_PLAN_MINUTE, strict=True)
    time_limit_s: float = Field(10.0, gt=0, le=600, description="solver seconds; the request waits for it, so "
                                "at most 10 minutes (the CLI has no such cap)")
    workers: Optional[int] = Field(None, ge=1, le=256)


@router.post("/{execution_id}/replan", status_code=201, summary="Replan the rest from what happened: a draft run")
def post_replan(request: Request, response: Response, execution_id: ExecId,
                body: ReplanRequest = Body(default_factory=ReplanRequest),
                who: Principal = Depends(require("submit"))) -> dict:
    from console.ops.lifecycle import replan

    with refusals(f"execution {execution_id}"):
        res = replan(request.app.state.engine, execution_id, now=body.now, time_limit_s=body.time_limit_s,
                     workers=body.workers, by=who.name)
    response.headers["Location"] = f"/v1/runs/{res.run_id}"
    return {"run": res.run_id, "now": res.plan.execution.now, "makespan": res.plan.makespan,
            "old_makespan": res.old_makespan, "changed": res.changed, "pending": res.pending,
            "wall_s": round(res.wall_s, 2), "status": res.plan.status,
            "links": {"run": f"/v1/runs/{res.run_id}", "plan": f"/v1/runs/{res.run_id}/plan",
                      "approve": f"/v1/runs/{res.run_id}/approve"}}


class ApplyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    partial: bool = Field(False, description="write the fleet even with actions left (ends the execution)")


@router.post("/{execution_id}/apply", summary="Write the fleet as it now is as a new snapshot")
def post_apply(request: Request, execution_id: ExecId, body: ApplyRequest = Body(default_factory=ApplyRequest),
               who: Principal = Depends(require("submit"))) -> dict:
    from console.ops.lifecycle import apply_execution

    with refusals(f"execution {execution_id}"):
        snap_id = apply_execution(request.app.state.engine, execution_id, by=who.name, partial=body.partial)
    return {"execution": execution_id, "snapshot_id": snap_id, "links": {"snapshot": f"/v1/snapshots/{snap_id}"}}


class CancelRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Text = Field(description="why it stops")


@router.post("/{execution_id}/cancel", summary="Stop an execution; what was done stays recorded")
def post_cancel(request: Request, execution_id: ExecId, body: CancelRequest,
                who: Principal = Depends(require("submit"))) -> dict:
    from console.ops.lifecycle import cancel_execution

    if not body.reason.strip():
        raise ApiProblem(422, "Invalid request", "reason must say why", errors=[{"pointer": "#/body/reason",
                                                                                 "detail": "reason: blank"}])
    with refusals(f"execution {execution_id}"):
        cancel_execution(request.app.state.engine, execution_id, by=who.name, reason=body.reason.strip())
    return {"execution": execution_id, "state": "cancelled", "links": exec_links(execution_id)}
