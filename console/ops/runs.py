"""Runs: the one submit path, and every read, cancel and export the front-ends offer.

    RunRequest(kind, snapshot=None | Snapshot | dict, snapshot_id=None, limits=None | Limits | dict,
               limits_name=None, options={}, problem_yaml=None, problem_name=None, idempotency_key=None)
    submit_run(engine, request, *, spawn_worker=True) -> RunView     queued; a worker is made sure to run it
    list_runs(engine, *, status=None, kind=None, limit=100, before_id=None) -> list[RunView]  newest first
    get_run(engine, run_id) -> RunView                                NotFound
    cancel_run(engine, run_id) -> RunView                             queued: cancelled now; running: stops keeping its best plan
    run_events(engine, run_id, since_id=0, limit=None) -> list[ProgressView]  oldest first
    run_plan(engine, run_id) -> dict                                  FORMATS.md plan JSON; NotFound when none yet
    run_runbook_csv(engine, run_id) -> str                            maintenance runs only
    approve_run(engine, run_id, ...)                                  (later: issue 13 approval flow)

RunView and ProgressView are console.store's (dataclasses with to_dict()).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from console.ops.errors import Conflict, InvalidInput, NotFound, Problem

KINDS = ("maintenance", "placement", "capacity")


@dataclass
class RunRequest:
    kind: str
    snapshot: Any = None               # inline Snapshot or its dict; None: a stored version
    snapshot_id: Optional[int] = None  # a stored version; None with no inline snapshot: the current fleet
    limits: Any = None                 # Limits or dict (kept inline with the run); None: defaults
    limits_name: Optional[str] = None  # a saved limit set (read now, its values kept with the run)
    options: dict = field(default_factory=dict)
    problem_yaml: Optional[str] = None  # capacity: the Malloovia problem file's text
    problem_name: Optional[str] = None
    idempotency_key: Optional[str] = None


def _problems(request: RunRequest) -> list[Problem]:
    out = []
    if request.kind not in KINDS:
        return [Problem(f"unknown run kind {request.kind!r}: choose one of {', '.join(KINDS)}", field="kind")]
    from console.runner.dispatch import check_options

    options = {k: v for k, v in request.options.items() if v is not None}
    out += [Problem(p, field="options") for p in check_options(request.kind, options)]
    if options.get("executor") is not None:  # the front-ends' one executor check, again at the door
        from console.ops.executors import check_executor

        try:
            check_executor(str(options["executor"]))
        except InvalidInput as exc:
            out += exc.problems
    if request.kind == "capacity":
        if request.problem_yaml is None:
            out.append(Problem("a capacity run needs the Malloovia problem file's text", field="problem_yaml"))
        if not options.get("problem"):
            out.append(Problem("a capacity run needs the problem id", field="options.problem"))
    elif request.snapshot is not None and request.snapshot_id is not None:
        out.append(Problem("give either an inline snapshot or a snapshot id, not both", field="snapshot"))
    return out


def submit_run(engine, request: RunRequest, *, spawn_worker: bool = True):
    """Queue a run (nothing is solved in the caller's process); return its RunView.

    Inline documents are validated first (InvalidInput lists every problem); a named limit set
    or snapshot id must exist (NotFound). With `spawn_worker` a detached worker is started
    unless a live one serves the database. The same `idempotency_key` returns the same run."""
    run_id = queue_run(engine, request)
    if spawn_worker:
        ensure_worker_for(engine)
    return get_run(engine, run_id)


def queue_run(engine, request: RunRequest) -> int:
    """`submit_run` without a worker and without reading the run back: its id (the API's POST,
    which answers with the id alone, saves the view's four queries)."""
    problems = _problems(request)
    if problems:
        raise InvalidInput(problems)
    from console.ops.limits import get_limit_set, parse_limits
    from console.ops.snapshots import parse_snapshot

    limits = request.limits
    if request.limits_name is not None and limits is None:
        limits = get_limit_set(engine, request.limits_name)
    elif isinstance(limits, dict):
        limits = parse_limits(limits, "limits")
    snapshot = request.snapshot
    if isinstance(snapshot, dict):
        snapshot = parse_snapshot(snapshot, "snapshot")
    options = {k: v for k, v in request.options.items() if v is not None}
    from console.store.runs import enqueue_run

    try:
        run_id = enqueue_run(engine, request.kind, snapshot=snapshot, snapshot_id=request.snapshot_id,
                             problem_yaml=request.problem_yaml, problem_name=request.problem_name, limits=limits,
                             limits_name=request.limits_name, options=options,
                             idempotency_key=request.idempotency_key)
    except LookupError as exc:
        raise NotFound(Problem(str(exc).strip("'\""), field="snapshot")) from None
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    return run_id


def ensure_worker_for(engine) -> Optional[int]:
    """Start a detached worker for the engine's database unless a live one serves it (its pid, or None)."""
    from console.runner import ensure_worker
    from console.store.db import engine_target

    return ensure_worker(engine_target(engine))


def list_runs(engine, *, status: Optional[str] = None, kind: Optional[str] = None, limit: int = 100,
              before_id: Optional[int] = None) -> list:
    from console.store.run_tables import RUN_STATUSES
    from console.store.runs import list_runs as runs

    bad = []
    if status is not None and status not in RUN_STATUSES:
        bad.append(Problem(f"unknown status {status!r}: choose one of {', '.join(RUN_STATUSES)}", field="status"))
    if kind is not None and kind not in KINDS:
        bad.append(Problem(f"unknown kind {kind!r}: choose one of {', '.join(KINDS)}", field="kind"))
    if bad:
        raise InvalidInput(bad)
    return runs(engine, status=status, kind=kind, limit=limit, before_id=before_id)


def get_run(engine, run_id: int):
    from console.store.runs import get_run as fetch

    view = fetch(engine, run_id)
    if view is None:
        raise NotFound(Problem(f"no run {run_id} in this database", record=f"run {run_id}"))
    return view


def cancel_run(engine, run_id: int):
    from console.store.runs import request_cancel

    get_run(engine, run_id)
    return request_cancel(engine, run_id)


def run_events(engine, run_id: int, since_id: int = 0, limit: Optional[int] = None) -> list:
    from console.store.runs import run_progress

    get_run(engine, run_id)
    return run_progress(engine, run_id, since_id=since_id, limit=limit)


def run_plan(engine, run_id: int) -> dict:
    """The run's stored plan (validated before it was stored; while running, the best incumbent)."""
    view = get_run(engine, run_id)
    if view.plan is None:
        raise NotFound(Problem(f"run {run_id} has no plan yet (status {view.status})", record=f"run {run_id}"))
    return view.plan


def run_runbook_csv(engine, run_id: int) -> str:
    """The runbook CSV of a maintenance run's plan (with the customer and datacenter of each move,
    from the fleet version the run solved), written by the one runbook writer, console.runbook."""
    view = get_run(engine, run_id)
    if view.kind != "maintenance":
        raise Conflict(Problem(f"run {run_id} is a {view.kind} run: only maintenance plans have a runbook",
                               record=f"run {run_id}"))
    plan = run_plan(engine, run_id)
    import json

    from console.store.runs import run_input
    from engine.model import MaintenancePlan, Snapshot

    maintenance = MaintenancePlan.model_validate(plan)
    snapshot = Snapshot.model_validate(json.loads(run_input(engine, view.input_key)[1])) if view.input_key else None
    return write_runbook_csv(maintenance, snapshot)


def write_runbook_csv(plan, snapshot) -> str:
    """CALL SITE of the single runbook writer, `console.runbook.runbook_csv` (made on the console
    helper's branch); a build without it refuses with Conflict rather than write a second format."""
    try:
        from console.runbook import runbook_csv
    except ImportError:
        raise Conflict("the runbook writer (console.runbook) is not installed in this build") from None
    return runbook_csv(plan.migrations, plan.reboots, snapshot)
