"""/v1/runs: submit (with Idempotency-Key), list with a cursor, show, cancel, plan, runbook.csv."""

from __future__ import annotations

from typing import Annotated, Literal, Optional, Union

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator

from console.api.auth import Principal, require
from console.api.problems import ApiProblem

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
    executor: Optional[str] = Field(None, max_length=300, description="maintenance: where per-datacenter sub-solves "
                                    "run, local or dask://HOST:PORT (default: the worker's)")

    @field_validator("executor")
    @classmethod
    def _known_executor(cls, value: Optional[str]) -> Optional[str]:
        from engine.executors import check_spec

        return None if value is None else check_spec(value)  # ExecutorError is a ValueError: a 422 naming it


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


def _ops_request(engine, req: RunRequest, idempotency_key: str):
    """The application layer's RunRequest for this body (a seed goes into the limits' solve.seed)."""
    from console.ops.runs import RunRequest as OpsRunRequest

    options = req.options.model_dump(exclude_none=True)
    seed = options.pop("seed", None)
    limits_name = req.limits if isinstance(req.limits, str) else None
    limits = req.limits if isinstance(req.limits, dict) else None
    if seed is not None:
        from console.ops.limits import get_limit_set, parse_limits
        from engine.model import Limits

        base = get_limit_set(engine, limits_name) if limits_name else parse_limits(limits) if limits else Limits()
        limits = base.model_copy(update={"solve": base.solve.model_copy(update={"seed": seed})})
    return OpsRunRequest(kind=req.kind, snapshot=req.snapshot if isinstance(req.snapshot, dict) else None,
                         snapshot_id=req.snapshot if isinstance(req.snapshot, int) else None, limits=limits,
                         limits_name=limits_name, options=options, problem_yaml=req.problem_yaml,
                         problem_name="api.yaml" if req.problem_yaml is not None else None,
                         idempotency_key=idempotency_key)


def _submit(engine, req: RunRequest, store_key: str) -> int:
    """Queue through the application layer (no worker is spawned: `serve --workers` and `fleetctl worker` run it).
    A snapshot id or limit set that does not exist is a bad request body here (422), not a missing resource."""
    from console.ops.errors import InvalidInput, NotFound
    from console.ops.runs import queue_run

    try:
        return queue_run(engine, _ops_request(engine, req, store_key))
    except NotFound as exc:
        raise InvalidInput(exc.problems, source=exc.source) from None


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
        outcome = submit_once(state.engine, who.token_id, lambda key: _submit(state.engine, body, key),
                              key=idempotency_key,
                              request_sha256=sha256_of(body.model_dump(mode="json")), quota=state.settings.queue_quota)
    except QuotaExceeded as exc:
        raise ApiProblem(429, "Too many queued runs", str(exc), headers={"Retry-After": str(QUOTA_RETRY_AFTER_S)},
                      queued=exc.queued, quota=exc.quota) from None
    except KeyReuseMismatch as exc:
        raise ApiProblem(422, "Idempotency-Key reused", str(exc)) from None
    except KeyInFlight as exc:
        raise ApiProblem(409, "Request in progress", str(exc), headers={"Retry-After": "1"}) from None
    response.headers["Location"] = f"/v1/runs/{outcome.run_id}"
    if outcome.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    status = "queued"  # a run just queued; a replayed one is read (it may have moved on)
    if outcome.replayed:
        from console.store.run_state import get_run_state

        view = get_run_state(state.engine, outcome.run_id)
        status = view.status if view else status
    return {"id": outcome.run_id, "status": status, "kind": body.kind,
            "links": links(outcome.run_id, body.kind)}


@router.get("", summary="Runs, newest first, a page at a time")
def list_runs_route(request: Request,
                    status: Optional[Literal["queued", "running", "succeeded", "infeasible", "failed", "cancelled"]] = None,
                    kind: Optional[Literal["maintenance", "placement", "capacity"]] = None,
                    limit: int = Query(50, ge=1, le=500),
                    cursor: Optional[str] = Query(None, max_length=40, pattern=r"^[0-9]+$",
                                                  description="next_cursor of the previous page"),
                    _: Principal = Depends(require("read"))) -> dict:
    from console.ops.runs import list_runs

    before = int(cursor) if cursor else None
    if before is not None and before > 2**62:
        before = 2**62
    views = list_runs(request.app.state.engine, status=status, kind=kind, limit=limit + 1, before_id=before)
    page = views[:limit]
    items = [{**v.to_dict(), "links": links(v.id, v.kind)} for v in page]
    return {"items": items, "next_cursor": str(page[-1].id) if len(views) > limit else None}


@router.get("/{run_id}", summary="A run: status, progress, inputs, provenance")
def get_run_route(request: Request, run_id: RunId, _: Principal = Depends(require("read"))) -> dict:
    from console.ops.runs import get_run

    view = get_run(request.app.state.engine, run_id)
    body = view.to_dict()  # with `provenance` (console.store.run_provenance)
    body.pop("plan", None)
    body["has_plan"] = view.plan is not None
    body["links"] = links(view.id, view.kind)
    return body


@router.post("/{run_id}/cancel", status_code=202, summary="Cancel a run (a running one keeps its best plan)")
def cancel_run(request: Request, run_id: RunId, _: Principal = Depends(require("submit"))) -> dict:
    from console.ops.runs import cancel_run

    view = cancel_run(request.app.state.engine, run_id)
    return {"id": view.id, "status": view.status, "cancel_requested": view.cancel_requested,
            "links": links(view.id, view.kind)}


@router.get("/{run_id}/plan", summary="The run's plan (FORMATS.md); while running, the best so far")
def get_plan(request: Request, run_id: RunId, _: Principal = Depends(require("read"))) -> dict:
    from console.ops.runs import run_plan

    return run_plan(request.app.state.engine, run_id)


@router.get("/{run_id}/runbook.csv", response_class=Response, summary="A maintenance plan as an ordered runbook",
            responses={200: {"content": {"text/csv": {}}}})
def get_runbook(request: Request, run_id: RunId, _: Principal = Depends(require("read"))) -> Response:
    from console.ops.runs import run_runbook_csv

    return Response(run_runbook_csv(request.app.state.engine, run_id), media_type="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="run-{run_id}-runbook.csv"'})
