"""/v1/runs: submit (with Idempotency-Key), list with a cursor, show, cancel, plan, runbook.csv."""

from __future__ import annotations

import io
from typing import Annotated, Literal, Optional, Union

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from console.api.auth import Principal, require
from console.api.problems import Problem

router = APIRouter(prefix="/v1/runs", tags=["runs"])
RunId = Annotated[int, Path(ge=1, le=2**62, description="Run id")]
QUOTA_RETRY_AFTER_S = 5


class RunOptions(BaseModel):
    """Solver options; the engine's defaults apply to those absent."""

    model_config = ConfigDict(extra="forbid")
    solver: Optional[str] = Field(None, max_length=64)
    time_limit_s: Optional[float] = Field(None, gt=0, le=86400)
    workers: Optional[int] = Field(None, ge=1, le=256, description="solver search workers (threads)")
    seed: Optional[int] = Field(None, ge=0, le=2**31 - 1, description="search seed (stored as the limits' solve.seed)")
    objective: Optional[str] = Field(None, max_length=32, description="placement: min_hosts | balance | rebalance")
    max_moves: Optional[int] = Field(None, ge=0, le=10**7, description="placement rebalance: most moves")
    problem: Optional[str] = Field(None, max_length=200, description="capacity: problem id in problem_yaml")
    phase: Optional[Literal["i", "ii"]] = None
    relaxed: Optional[bool] = None
    stwp: Optional[str] = Field(None, max_length=200, description="capacity phase ii: STWP problem id")


class RunRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["maintenance", "placement", "capacity"]
    snapshot: Optional[Union[Annotated[int, Field(strict=True, ge=1, le=2**62)], dict]] = Field(
        None, description="a snapshot id, an inline snapshot document, or absent for the current fleet")
    limits: Optional[Union[Annotated[str, Field(min_length=1, max_length=100)], dict]] = Field(
        None, description="a limit-set name or an inline limits document (absent: defaults)")
    problem_yaml: Optional[str] = Field(None, description="capacity: the Malloovia problem file's text")
    options: RunOptions = Field(default_factory=RunOptions)


def links(run_id: int, kind: str) -> dict:
    base = f"/v1/runs/{run_id}"
    out = {"self": base, "events": f"{base}/events", "plan": f"{base}/plan", "cancel": f"{base}/cancel"}
    if kind == "maintenance":
        out["runbook"] = f"{base}/runbook.csv"
    return out


def _resolve_inputs(engine, req: RunRequest):
    """(snapshot, limits, limits_name) for the application layer; DocumentError/Problem on bad input."""
    from engine.documents import parse_limits, parse_snapshot
    from console.store.limits_store import LimitSetNotFound, load_limits

    snapshot = None
    if isinstance(req.snapshot, dict):
        snapshot = parse_snapshot(req.snapshot, "snapshot")
    elif isinstance(req.snapshot, int):
        from console.store.fleet_store import current_snapshot_id

        if current_snapshot_id(engine) != req.snapshot:
            raise Problem(422, "Unknown snapshot", f"snapshot {req.snapshot} is not stored",
                          errors=[{"pointer": "#/body/snapshot", "detail": f"snapshot: no snapshot {req.snapshot}"}])
    limits_name = None
    if isinstance(req.limits, str):
        try:
            limits = load_limits(engine, req.limits)
        except LimitSetNotFound as exc:
            raise Problem(422, "Unknown limit set", str(exc),
                          errors=[{"pointer": "#/body/limits", "detail": f"limits: {exc}"}]) from None
        limits_name = req.limits
    else:
        limits = None if req.limits is None else parse_limits(req.limits, "limits")
    if req.options.seed is not None:
        from engine.model import Limits

        base = limits if limits is not None else Limits()
        limits = base.model_copy(update={"solve": base.solve.model_copy(update={"seed": req.options.seed})})
    return snapshot, limits, limits_name


def _submit(engine, req: RunRequest) -> int:
    """Check and queue the run (the application layer's submit, without spawning a worker)."""
    from console.runner.dispatch import check_options
    from console.store.runs import enqueue_run

    options = req.options.model_dump(exclude_none=True)
    options.pop("seed", None)
    if req.kind == "capacity":
        if not req.problem_yaml or not options.get("problem"):
            raise Problem(422, "Invalid request", "a capacity run needs problem_yaml and options.problem",
                          errors=[{"pointer": "#/body/problem_yaml", "detail": "problem_yaml: required for capacity"}]
                          if not req.problem_yaml else
                          [{"pointer": "#/body/options/problem", "detail": "options.problem: required for capacity"}])
    elif req.problem_yaml is not None:
        raise Problem(422, "Invalid request", "problem_yaml is only for capacity runs",
                      errors=[{"pointer": "#/body/problem_yaml", "detail": "problem_yaml: only for capacity runs"}])
    problems = check_options(req.kind, options)
    if problems:
        raise Problem(422, "Invalid options", f"{len(problems)} problem(s) in options",
                      errors=[{"pointer": "#/body/options", "detail": p} for p in problems])
    snapshot, limits, limits_name = _resolve_inputs(engine, req)
    try:
        return enqueue_run(engine, req.kind, snapshot=snapshot, limits=limits, limits_name=limits_name,
                           options=options, problem_yaml=req.problem_yaml,
                           problem_name="api.yaml" if req.problem_yaml else None)
    except LookupError as exc:
        raise Problem(409, "No snapshot", str(exc)) from None
    except ValueError as exc:
        raise Problem(422, "Invalid request", str(exc), errors=[{"detail": str(exc)}]) from None


@router.post("", status_code=202, summary="Queue a run", responses={
    202: {"description": "queued (or, with a reused Idempotency-Key, the run that key made)"},
    409: {"description": "the first request with this Idempotency-Key is still being queued"},
    422: {"description": "invalid request: every bad record and field is listed"},
    429: {"description": "this token has too many queued runs (see Retry-After)"}})
def post_run(request: Request, response: Response, body: RunRequest,
             idempotency_key: Optional[str] = Header(None, alias="Idempotency-Key", min_length=1, max_length=200),
             who: Principal = Depends(require("submit"))) -> dict:
    from engine.fingerprint import sha256_of
    from console.store.submissions import KeyInFlight, KeyReuseMismatch, QuotaExceeded, submit_once

    state = request.app.state
    try:
        outcome = submit_once(state.engine, who.token_id, lambda: _submit(state.engine, body), key=idempotency_key,
                              request_sha256=sha256_of(body.model_dump(mode="json")), quota=state.settings.queue_quota)
    except QuotaExceeded as exc:
        raise Problem(429, "Too many queued runs", str(exc), headers={"Retry-After": str(QUOTA_RETRY_AFTER_S)},
                      queued=exc.queued, quota=exc.quota) from None
    except KeyReuseMismatch as exc:
        raise Problem(422, "Idempotency-Key reused", str(exc)) from None
    except KeyInFlight as exc:
        raise Problem(409, "Request in progress", str(exc), headers={"Retry-After": "1"}) from None
    response.headers["Location"] = f"/v1/runs/{outcome.run_id}"
    if outcome.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    from console.store.runs import get_run

    view = get_run(state.engine, outcome.run_id, recover=False)
    return {"id": outcome.run_id, "status": view.status if view else "queued", "kind": body.kind,
            "links": links(outcome.run_id, body.kind)}


@router.get("", summary="Runs, newest first, a page at a time")
def list_runs_route(request: Request,
                    status: Optional[Literal["queued", "running", "succeeded", "infeasible", "failed", "cancelled"]] = None,
                    kind: Optional[Literal["maintenance", "placement", "capacity"]] = None,
                    limit: int = Query(50, ge=1, le=500),
                    cursor: Optional[str] = Query(None, max_length=40, pattern=r"^[0-9]+$",
                                                  description="next_cursor of the previous page"),
                    _: Principal = Depends(require("read"))) -> dict:
    from console.store.runs import list_runs

    before = int(cursor) if cursor else None
    if before is not None and before > 2**62:
        before = 2**62
    views = list_runs(request.app.state.engine, status=status, kind=kind, limit=limit + 1, before_id=before)
    page = views[:limit]
    items = [{**v.to_dict(), "links": links(v.id, v.kind)} for v in page]
    return {"items": items, "next_cursor": str(page[-1].id) if len(views) > limit else None}


def _run_or_404(engine, run_id: int):
    from console.store.runs import get_run

    view = get_run(engine, run_id)
    if view is None:
        raise Problem(404, "Run not found", f"no run {run_id}")
    return view


@router.get("/{run_id}", summary="A run: status, progress, inputs, provenance")
def get_run_route(request: Request, run_id: RunId, _: Principal = Depends(require("read"))) -> dict:
    from console.store.provenance import provenance

    engine = request.app.state.engine
    view = _run_or_404(engine, run_id)
    body = view.to_dict()
    body.pop("plan", None)
    body["has_plan"] = view.plan is not None
    body["provenance"] = provenance(engine, view)
    body["links"] = links(view.id, view.kind)
    return body


@router.post("/{run_id}/cancel", status_code=202, summary="Cancel a run (a running one keeps its best plan)")
def cancel_run(request: Request, run_id: RunId, _: Principal = Depends(require("submit"))) -> dict:
    from console.store.runs import request_cancel

    try:
        view = request_cancel(request.app.state.engine, run_id)
    except KeyError:
        raise Problem(404, "Run not found", f"no run {run_id}") from None
    return {"id": view.id, "status": view.status, "cancel_requested": view.cancel_requested,
            "links": links(view.id, view.kind)}


def _plan_or_404(engine, run_id: int):
    view = _run_or_404(engine, run_id)
    if view.plan is None:
        raise Problem(404, "No plan yet", f"run {run_id} is {view.status} and has no plan"
                      + ("" if view.terminal else " yet: follow its events"))
    return view


@router.get("/{run_id}/plan", summary="The run's plan (FORMATS.md); while running, the best so far")
def get_plan(request: Request, response: Response, run_id: RunId, _: Principal = Depends(require("read"))) -> dict:
    view = _plan_or_404(request.app.state.engine, run_id)
    response.headers["Fleetctl-Run-Status"] = view.status
    return view.plan


@router.get("/{run_id}/runbook.csv", response_class=Response, summary="A maintenance plan as an ordered runbook",
            responses={200: {"content": {"text/csv": {}}}})
def get_runbook(request: Request, run_id: RunId, _: Principal = Depends(require("read"))) -> Response:
    from engine.model import parse_plan
    from console.cli.solve_maintenance_cmd import write_runbook_to

    view = _plan_or_404(request.app.state.engine, run_id)
    if view.kind != "maintenance":
        raise Problem(404, "No runbook", f"run {run_id} is a {view.kind} run: only maintenance plans have a runbook")
    out = io.StringIO(newline="")
    write_runbook_to(parse_plan(view.plan), out)
    return Response(out.getvalue(), media_type="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="run-{run_id}-runbook.csv"'})
