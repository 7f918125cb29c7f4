"""The plan lifecycle as application functions: approve, execute, report, next, replan, apply.

The CLI, the console and the API call these and nothing below them, so every front-end
refuses the same things with the same words. A refusal raises `Refused` (the CLI's exit 2);
every write is one store transaction.

Minutes: an execution's minute 0 is its `started_at`; "now" is the wall-clock minute since
then, never earlier than its latest event, unless the caller names a minute.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from typing import Optional

from sqlalchemy.engine import Engine

from console.ops.errors import Conflict
from console.store import approvals, executions
from console.store.runs import get_run, read, write
from engine.execution.state import Event, EventRefused, Execution
from engine.fingerprint import plan_sha256, sha256_of
from engine.model import Limits, MaintenancePlan, Snapshot

SYSTEM_ACTOR = "fleetctl"


def default_actor() -> str:
    """Who acts when nobody is named: the login name (the CLI's --by default, the console's actor)."""
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "operator"


class Refused(Conflict):
    """The operation is not allowed now; each line of the message is one reason. Nothing was written."""

    def __init__(self, message: str):
        super().__init__(message.splitlines() or [message])


# --------------------------------------------------------------------------- inputs of a run


@dataclass
class RunInputs:
    run_id: int
    snapshot: Snapshot
    limits: Limits
    plan: MaintenancePlan
    snapshot_sha256: str
    limits_sha256: str
    plan_sha256: str


def run_inputs(engine: Engine, run_id: int) -> RunInputs:
    """The snapshot, limits and maintenance plan a run was made from; Refused if it has none."""
    from console.store.runs import run_input

    approvals.ensure_lifecycle_tables(engine)
    view = get_run(engine, run_id)
    if view is None:
        raise Refused(f"no run {run_id} (see `fleetctl runs list`)")
    if view.kind != "maintenance":
        raise Refused(f"run {run_id} is a {view.kind} run: only maintenance plans are approved and executed")
    if view.plan is None:
        raise Refused(f"run {run_id} has no plan (status {view.status})")
    plan = MaintenancePlan.model_validate(view.plan)
    if plan.status not in ("optimal", "feasible"):
        raise Refused(f"run {run_id}'s plan is {plan.status}: it schedules nothing to approve")
    _, body = run_input(engine, view.input_key)
    snapshot = Snapshot.model_validate(json.loads(body))
    limits = Limits.model_validate(view.limits or {})
    return RunInputs(run_id, snapshot, limits, plan, sha256_of(snapshot), sha256_of(limits), plan_sha256(plan))


def current_fleet_sha256(engine: Engine) -> tuple[Optional[int], Optional[str]]:
    from console.store.fleet_store import current_snapshot, current_snapshot_id

    snap = current_snapshot(engine)
    return (current_snapshot_id(engine), None) if snap is None else (current_snapshot_id(engine), sha256_of(snap))


# --------------------------------------------------------------------------- approval


def approve(engine: Engine, run_id: int, *, by: str, note: Optional[str] = None) -> approvals.PlanState:
    """Approve a run's plan, bound to the hashes of its snapshot, limits and plan.

    Refused when the plan is not valid, the run's snapshot is not the current fleet, the plan is
    not a draft (approved, executing, superseded ...), or — for a replan — the execution moved on
    since it was made. Approving a replan supersedes the plan it continues; the execution follows it."""
    from engine.validate import validate_maintenance

    inp = run_inputs(engine, run_id)
    state = read(engine, lambda c: approvals.plan_state(c, run_id))
    if state.state != "draft":
        raise Refused(f"run {run_id}'s plan is already {state.state}" +
                      (f" (approved by {state.approved_by})" if state.approved_by else "") + ": nothing to approve")
    snap_id, fleet_sha = current_fleet_sha256(engine)
    if fleet_sha != inp.snapshot_sha256:
        raise Refused(f"run {run_id} was solved for another fleet than the current one (snapshot {snap_id}): "
                      "its plan would move VMs that are not where it thinks; solve again on the current fleet")
    if inp.plan.inputs is not None and inp.plan.inputs.snapshot_sha256 not in (None, inp.snapshot_sha256):
        raise Refused(f"run {run_id}'s plan names another snapshot (sha256 {inp.plan.inputs.snapshot_sha256[:12]}…) "
                      "than the run solved")
    continuing = state.execution_id is not None
    if continuing:
        violations = _check_replan_current(engine, inp, state)
    else:
        violations = validate_maintenance(inp.snapshot, inp.limits, inp.plan)
    if violations:
        shown = "; ".join(str(v) for v in violations[:5])
        raise Refused(f"run {run_id}'s plan is not valid ({len(violations)} violation(s)): {shown}")

    def tx(conn):
        fields = dict(snapshot_id=snap_id, snapshot_sha256=inp.snapshot_sha256, limits_sha256=inp.limits_sha256,
                      plan_sha256=inp.plan_sha256, approved_by=by, approved_at=time.time(), note=note)
        st = approvals.transition(conn, run_id, "approved", actor=by, reason=note, **fields)
        if continuing:  # the execution continues on the new plan
            ex = executions.get_execution(conn, state.execution_id, for_update=True)
            if ex.run_id != state.parent_run_id or ex.state != "executing" \
                    or executions.event_count(conn, ex.id) != state.events_seen:
                raise Refused(f"execution {ex.id} moved on while approving: replan again")
            approvals.transition(conn, state.parent_run_id, "superseded", actor=by,
                                 reason=f"replanned: run {run_id} continues execution {ex.id}")
            st = approvals.transition(conn, run_id, "executing", actor=by, reason=f"continues execution {ex.id}")
            executions.set_execution(conn, ex.id, run_id=run_id)
        return st

    return write(engine, tx)


def _check_replan_current(engine: Engine, inp: RunInputs, state: approvals.PlanState) -> list:
    """A replan is approved only while its execution is where the replan left it."""
    from engine.validate_continuation import validate_continuation

    def fetch(conn):
        ex = executions.get_execution(conn, state.execution_id)
        return ex, executions.events(conn, state.execution_id), executions.run_plan(conn, ex.run_id)

    ex, history, followed = read(engine, fetch)
    if ex.state != "executing":
        raise Refused(f"execution {ex.id} is {ex.state}: its replan can no longer be approved")
    if ex.run_id != state.parent_run_id:
        raise Refused(f"execution {ex.id} no longer follows run {state.parent_run_id} (it follows run {ex.run_id}): "
                      "this replan is stale")
    if len(history) != state.events_seen:
        raise Refused(f"{len(history) - state.events_seen} event(s) were recorded on execution {ex.id} since this "
                      "replan: replan again (fleetctl exec replan)")
    if inp.plan.execution is None:
        raise Refused(f"run {inp.run_id}'s plan has no execution section: it is not a continuation")
    facts = Execution(followed, history, history=True).facts(inp.plan.execution.now)
    return validate_continuation(inp.snapshot, inp.limits, inp.plan, facts)


def plan_history(engine: Engine, run_id: int) -> tuple[approvals.PlanState, list[approvals.PlanEvent]]:
    approvals.ensure_lifecycle_tables(engine)
    return read(engine, lambda c: (approvals.plan_state(c, run_id), approvals.plan_events(c, run_id)))


def margins(engine: Engine, run_id: int):
    from engine.execution.margins import plan_margins

    inp = run_inputs(engine, run_id)
    return plan_margins(inp.snapshot, inp.limits, inp.plan)


# --------------------------------------------------------------------------- executions


def start_execution(engine: Engine, run_id: int, *, by: str, at: Optional[float] = None) -> int:
    """Start executing an approved plan; minute 0 is `at` (epoch seconds) or now."""
    run_inputs(engine, run_id)

    def tx(conn):
        state = approvals.plan_state(conn, run_id)
        if state.state != "approved":
            raise Refused(f"run {run_id}'s plan is {state.state}: only an approved plan can start "
                          f"(fleetctl plan approve {run_id})")
        approvals.transition(conn, run_id, "executing", actor=by, reason="execution started")
        return executions.create_execution(conn, run_id, at if at is not None else time.time(), by)

    return write(engine, tx)


@dataclass
class Loaded:
    row: executions.ExecutionRow
    execution: Execution
    inputs: RunInputs
    now: int


def clock_minute(row: executions.ExecutionRow, now_s: Optional[float] = None) -> int:
    """The execution's minute at epoch `now_s` (default: the wall clock; the console passes its own)."""
    return max(0, math.floor(((time.time() if now_s is None else now_s) - row.started_at) / 60))


def load_execution(engine: Engine, execution_id: int, now: Optional[int] = None) -> Loaded:
    approvals.ensure_lifecycle_tables(engine)

    def fetch(conn):
        row = executions.get_execution(conn, execution_id)
        return (row, executions.replay(conn, row)) if row is not None else (None, None)

    row, ex = read(engine, fetch)
    if row is None:
        raise Refused(f"no execution {execution_id}")
    if now is None:
        now = max(clock_minute(row), ex.last_at)
    elif now < ex.last_at:
        raise Refused(f"minute {now} is before the latest event of execution {execution_id} (minute {ex.last_at})")
    return Loaded(row, ex, run_inputs(engine, row.run_id), now)


def facts_at(engine: Engine, execution_id: int, now: int):
    """(the run inputs the execution follows, its facts at minute `now`): what had happened by `now`
    (events at or before it), so a continuation made at `now` is checked against what it was made from
    even after the execution moved on."""
    approvals.ensure_lifecycle_tables(engine)

    def fetch(conn):
        row = executions.get_execution(conn, execution_id)
        return (row, executions.replay(conn, row, until=now)) if row is not None else (None, None)

    row, ex = read(engine, fetch)
    if row is None:
        raise Refused(f"no execution {execution_id}")
    return run_inputs(engine, row.run_id), ex.facts(now)


def report(engine: Engine, execution_id: int, events: list[Event], *, actor: str) -> executions.Recorded:
    """Record events in one transaction (all or none); already recorded ones are skipped. When every
    action is over, the execution and its plan complete."""
    approvals.ensure_lifecycle_tables(engine)

    def tx(conn):
        try:
            rec = executions.record_events(conn, execution_id, events, actor)
        except LookupError as exc:
            raise Refused(str(exc)) from None
        except EventRefused as exc:
            raise Refused(str(exc)) from None
        if rec.completed:
            ex = executions.get_execution(conn, execution_id)
            executions.set_execution(conn, execution_id, state="completed", ended_at=time.time())
            approvals.transition(conn, ex.run_id, "completed", actor=actor, reason="every action done")
        return rec

    return write(engine, tx)


def cancel_execution(engine: Engine, execution_id: int, *, by: str, reason: str) -> None:
    def tx(conn):
        ex = executions.get_execution(conn, execution_id, for_update=True)
        if ex is None:
            raise Refused(f"no execution {execution_id}")
        if ex.state != "executing":
            raise Refused(f"execution {execution_id} is already {ex.state}")
        executions.set_execution(conn, execution_id, state="cancelled", ended_at=time.time())
        approvals.transition(conn, ex.run_id, "cancelled", actor=by, reason=reason)

    approvals.ensure_lifecycle_tables(engine)
    write(engine, tx)


@dataclass
class StatusView:
    execution_id: int
    run_id: int
    state: str
    now: int
    counts: dict[str, int]
    late: list[dict] = field(default_factory=list)
    planned_end: int = 0
    projected_end: int = 0

    def to_dict(self) -> dict:
        return {"execution": self.execution_id, "run": self.run_id, "state": self.state, "now": self.now,
                "counts": self.counts, "late": self.late, "planned_end": self.planned_end,
                "projected_end": self.projected_end}


def status(engine: Engine, execution_id: int, now: Optional[int] = None) -> StatusView:
    """Progress, late actions (running past their duration, or due and not started) and the projected end:
    the plan's end pushed by the largest delay seen now."""
    ld = load_execution(engine, execution_id, now)
    return status_of(ld.row, ld.execution, ld.now)


def status_of(row: executions.ExecutionRow, ex: Execution, now: int) -> StatusView:
    """`status` of an execution already replayed (the console reads it every second without the snapshot)."""
    counts = {s: ex.count(s) for s in ("pending", "in_progress", "done", "failed", "skipped")}
    late, delay = [], 0
    for aid, a in ex.actions.items():
        if a.state in ("done", "skipped") or not ex.is_late(aid, now):
            continue
        p = ex.planned[aid]
        if a.state == "in_progress":
            by = now - (a.started_at + p.duration) + 1
            late.append({"action": aid, "state": a.state, "late_by": by, "started_at": a.started_at,
                         "planned_end": a.started_at + p.duration})
        else:
            by = now - p.start
            late.append({"action": aid, "state": a.state, "late_by": by, "planned_start": p.start})
        delay = max(delay, by)
    late.sort(key=lambda d: (-d["late_by"], d["action"]))
    planned_end = ex.plan.makespan or 0
    return StatusView(row.id, row.run_id, row.state, now, counts, late, planned_end,
                      planned_end + delay if not ex.finished() else max([a.ended_at or 0 for a in ex.actions.values()],
                                                                       default=0))


def next_actions(engine: Engine, execution_id: int, now: Optional[int] = None):
    from engine.execution.next_actions import safe_next

    ld = load_execution(engine, execution_id, now)
    if ld.row.state != "executing":
        raise Refused(f"execution {execution_id} is {ld.row.state}: nothing to start")
    return safe_next(ld.inputs.snapshot, ld.inputs.limits, ld.execution, ld.now)


@dataclass
class ReplanOutcome:
    run_id: int
    plan: MaintenancePlan
    changed: int
    pending: int
    wall_s: float
    old_makespan: int


def replan(engine: Engine, execution_id: int, *, now: Optional[int] = None, time_limit_s: float = 10.0,
           workers: Optional[int] = None, by: str = SYSTEM_ACTOR) -> ReplanOutcome:
    """Replan the rest of an execution from what really happened; stored as a new draft run that
    `approve` turns into the plan the execution follows."""
    from engine.execution.replan import ReplanFailed, replan as engine_replan
    from engine.violations import PlanRejected

    ld = load_execution(engine, execution_id, now)
    if ld.row.state != "executing":
        raise Refused(f"execution {execution_id} is {ld.row.state}: nothing to replan")
    if ld.execution.finished():
        raise Refused(f"every action of execution {execution_id} is over: nothing to replan")
    try:
        result = engine_replan(ld.inputs.snapshot, ld.inputs.limits, ld.inputs.plan, ld.execution, ld.now,
                               time_limit_s=time_limit_s, workers=workers)
    except (ReplanFailed, EventRefused) as exc:
        raise Refused(f"no replan: {exc}") from None
    except PlanRejected as exc:  # a bug, never shipped: say so plainly
        raise RuntimeError(str(exc)) from None
    seen = len(ld.execution.events)

    def tx(conn):
        new_id = executions.record_replan_run(conn, ld.row.run_id, result.plan.model_dump(
            mode="json", by_alias=True, exclude_none=True), result.wall_s)
        if executions.event_count(conn, execution_id) != seen:
            raise Refused(f"execution {execution_id} moved on during the replan: replan again")
        approvals.register_replan(conn, new_id, ld.row.run_id, execution_id, seen, by)
        return new_id

    new_id = write(engine, tx)
    return ReplanOutcome(new_id, result.plan, result.changed, result.pending, result.wall_s,
                         ld.inputs.plan.makespan or 0)


def apply_execution(engine: Engine, execution_id: int, *, by: str, partial: bool = False) -> int:
    """Write the fleet as it now is (VMs on their new hosts, rebooted hosts active) as a new snapshot.
    Refused while actions run; with work left only when `partial` (the execution is then cancelled)."""
    from console.store.fleet_store import save_snapshot

    ld = load_execution(engine, execution_id)
    ex = ld.execution
    if ex.count("in_progress"):
        raise Refused(f"{ex.count('in_progress')} action(s) of execution {execution_id} are in progress: "
                      "report them done or failed first")
    left = [a for a, st in ex.actions.items() if st.state in ("pending", "failed")]
    if left and not partial:
        raise Refused(f"{len(left)} action(s) of execution {execution_id} are not done: finish them, or pass "
                      "--partial to write the fleet as it is and end the execution")
    if ld.row.state not in ("executing", "completed"):
        raise Refused(f"execution {execution_id} is {ld.row.state}")
    if ld.row.applied_snapshot_id is not None:
        raise Refused(f"execution {execution_id} was already applied (snapshot {ld.row.applied_snapshot_id})")
    _, fleet_sha = current_fleet_sha256(engine)
    if fleet_sha != ld.inputs.snapshot_sha256:
        raise Refused("the current fleet is no longer the one this execution started from: nothing applied")
    from engine.execution.fleet import fleet_after

    snapshot = fleet_after(ld.inputs.snapshot, ex)
    snap_id = save_snapshot(engine, snapshot, source=f"execution {execution_id}")

    def tx(conn):
        values = {"applied_snapshot_id": snap_id}
        if ld.row.state == "executing":
            values.update(state="cancelled", ended_at=time.time())
            approvals.transition(conn, ld.row.run_id, "cancelled", actor=by,
                                 reason=f"applied with {len(left)} action(s) left as snapshot {snap_id}")
        executions.set_execution(conn, execution_id, **values)

    write(engine, tx)
    return snap_id
