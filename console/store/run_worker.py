"""Runs, the worker's side: claim, executor pid, progress pump, heartbeats, cancel flag, finish;
the workers table (register, heartbeat, live workers)."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from typing import Any, Optional

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection, Engine

from console.store.run_tables import TERMINAL_STATUSES, RunProgressRow, RunRow, WorkerRow
from console.store.tx import read, write

RUNS = RunRow.__table__
PROGRESS = RunProgressRow.__table__
from console.store.run_liveness import owner_death_reason, this_boot, this_host
from console.store.run_views import iso


def ensure_run_tables(engine: Engine) -> None:
    from console.store.runs import ensure_run_tables as ensure

    ensure(engine)


def claim_next_run(engine: Engine, worker_pid: int) -> Optional[int]:
    """Atomically move the oldest queued run to `running` for this worker; None only when no
    queued run is claimable.

    PostgreSQL: `SELECT … FOR UPDATE SKIP LOCKED` picks the oldest queued row no other claimer
    holds, so concurrent workers each get a different run and none comes back empty-handed while
    an unclaimed run waits. SQLite: the transaction holds the database's write lock from its
    start (BEGIN IMMEDIATE), so claims are serial. The update is still a compare-and-set on
    `status = 'queued'`: two workers never take the same run."""
    ensure_run_tables(engine)

    def tx(conn: Connection) -> Optional[int]:
        now = time.time()
        pick = select(RUNS.c.id).where(RUNS.c.status == "queued").order_by(RUNS.c.id).limit(1)
        if conn.dialect.name == "postgresql":
            pick = pick.with_for_update(skip_locked=True)
        candidate = conn.execute(pick).scalar()
        if candidate is None:
            return None
        taken = conn.execute(
            update(RUNS)
            .where(RUNS.c.id == candidate, RUNS.c.status == "queued")
            .values(status="running", started_at=now, heartbeat_at=now, worker_pid=worker_pid,
                    worker_host=this_host(), worker_boot=this_boot())
        ).rowcount
        return int(candidate) if taken == 1 else None

    return write(engine, tx)


def set_executor(engine: Engine, run_id: int, executor_pid: int) -> None:
    write(engine, lambda c: c.execute(
        update(RUNS).where(RUNS.c.id == run_id).values(executor_pid=executor_pid, heartbeat_at=time.time())
    ))


def pump(engine: Engine, run_id: int, events: list, *, heartbeat: bool = True, plan: Optional[dict] = None) -> bool:
    """Executor's periodic write: append progress events, store the best validated plan so
    far (`plan`: the incumbent; the run stays `running`), and with `heartbeat` refresh the
    run's heartbeat; return the cancel-requested flag, all in one short transaction."""
    plan_values = _plan_values(plan) if plan is not None else None

    def tx(conn: Connection) -> bool:
        now = time.time()
        if plan_values is not None:
            conn.execute(update(RUNS).where(RUNS.c.id == run_id, RUNS.c.status == "running").values(**plan_values))
        if events:
            conn.execute(insert(PROGRESS), [
                {"run_id": run_id, "at": now, "elapsed_s": e.elapsed_s, "objective": e.objective,
                 "bound": e.bound, "message": e.message}
                for e in events
            ])
        if heartbeat:
            conn.execute(update(RUNS).where(RUNS.c.id == run_id, RUNS.c.status == "running").values(heartbeat_at=now))
        flag = conn.execute(select(RUNS.c.cancel_requested).where(RUNS.c.id == run_id)).scalar()
        return bool(flag)

    return write(engine, tx)


def touch_runs(engine: Engine, worker_pid: int, run_ids: list[int]) -> None:
    """The worker's heartbeat on the runs it supervises (`run_ids`). Written by the worker,
    not the solver's process: a solver holding the GIL in a long native call must not
    look dead, and a run the worker lost track of must go stale."""
    write(engine, lambda c: c.execute(
        update(RUNS).where(RUNS.c.id.in_(run_ids), RUNS.c.status == "running", RUNS.c.worker_pid == worker_pid)
        .values(heartbeat_at=time.time())
    ))


def cancel_requested(engine: Engine, run_id: int) -> bool:
    return bool(read(engine, lambda c: c.execute(select(RUNS.c.cancel_requested).where(RUNS.c.id == run_id)).scalar()))


def finish_run(
    engine: Engine,
    run_id: int,
    status: str,
    *,
    plan: Optional[dict] = None,
    error: Optional[str] = None,
    expect_pid: Optional[int] = None,
) -> bool:
    """Record the outcome of a running run. `plan` must already be validated.
    Only a `running` run changes (and, with `expect_pid`, only one still owned by
    that worker), so a late writer never overwrites a verdict. True if it changed."""
    if status not in TERMINAL_STATUSES:
        raise ValueError(f"{status!r} is not a final status")
    from console.store.run_provenance import provenance_values

    values: dict[str, Any] = {"status": status, "finished_at": time.time(), "error": error}
    if plan is not None:
        values.update(_plan_values(plan))

    def tx(conn: Connection) -> bool:
        cond = [RUNS.c.id == run_id, RUNS.c.status == "running"]
        if expect_pid is not None:
            cond.append(RUNS.c.worker_pid == expect_pid)
        row = conn.execute(select(RUNS.c.kind, RUNS.c.options_json, RUNS.c.limits_json, RUNS.c.plan_json,
                                  RUNS.c.snapshot_id, RUNS.c.snapshot_sha256, RUNS.c.limits_sha256).where(*cond)).first()
        if row is None:
            return False
        final_plan = plan if plan is not None else (json.loads(row.plan_json) if row.plan_json else None)
        provenance = provenance_values(row.options_json, row.limits_json, status, final_plan)
        extra = {}
        if plan is not None and row.kind != "capacity" and not plan.get("inputs"):
            # FORMATS.md `inputs`: the plan names the fleet version and limits it was made from
            extra = _plan_values({**plan, "inputs": {k: v for k, v in (
                ("snapshot_id", row.snapshot_id), ("snapshot_sha256", row.snapshot_sha256),
                ("limits_sha256", row.limits_sha256)) if v is not None}})
        return conn.execute(update(RUNS).where(*cond).values({**values, **provenance, **extra})).rowcount == 1

    return write(engine, tx)


def _plan_values(plan: dict) -> dict[str, Any]:
    """The run columns a (validated) plan sets."""
    return {"plan_json": json.dumps(plan), "plan_status": plan.get("status"), "objective": _plan_objective(plan),
            "lower_bound": plan.get("lower_bound")}


def _plan_objective(plan: dict) -> Optional[float]:
    for key in ("makespan", "value", "cost"):
        if plan.get(key) is not None:
            try:
                return float(plan[key])
            except (TypeError, ValueError):
                return None
    return None


# --------------------------------------------------------------------------- workers

WORKERS = WorkerRow.__table__
# A worker heartbeats every poll (≤ 1 s); one silent this long is presumed gone.
WORKER_STALE_S = 30.0


@dataclass(frozen=True)
class WorkerView:
    id: int
    pid: int
    host: str
    started_at: float
    heartbeat_at: float
    concurrency: int
    state: str
    detached: bool

    def to_dict(self) -> dict:
        d = asdict(self)
        d["started_at"], d["heartbeat_at"] = iso(self.started_at), iso(self.heartbeat_at)
        return d


def register_worker(engine: Engine, pid: int, *, concurrency: int = 1, state: str = "running", detached: bool = False) -> int:
    """Insert (or take over the `starting` row a spawner wrote for) this worker; return its row id."""
    ensure_run_tables(engine)
    now = time.time()

    def tx(conn: Connection) -> int:
        row = conn.execute(select(WORKERS.c.id).where(
            WORKERS.c.pid == pid, WORKERS.c.host == this_host(), WORKERS.c.boot == this_boot(), WORKERS.c.state == "starting"
        )).first()
        if row is not None:
            conn.execute(update(WORKERS).where(WORKERS.c.id == row.id).values(
                heartbeat_at=now, concurrency=concurrency, state=state))
            return int(row.id)
        result = conn.execute(insert(WORKERS).values(
            pid=pid, host=this_host(), boot=this_boot(), started_at=now, heartbeat_at=now,
            concurrency=concurrency, state=state, detached=detached))
        return int(result.inserted_primary_key[0])

    return write(engine, tx)


def worker_heartbeat(engine: Engine, worker_id: int, state: str = "running") -> None:
    write(engine, lambda c: c.execute(update(WORKERS).where(WORKERS.c.id == worker_id).values(heartbeat_at=time.time(), state=state)))


def live_workers(engine: Engine) -> list[WorkerView]:
    """Workers that are (or may be) alive; rows of dead ones are marked stopped on the way."""
    ensure_run_tables(engine)
    rows = read(engine, lambda c: c.execute(select(WORKERS).where(WORKERS.c.state != "stopped")).all())
    now = time.time()
    alive, gone = [], []
    for r in rows:
        reason = owner_death_reason(r.pid, r.host, r.boot, r.heartbeat_at, now, WORKER_STALE_S)
        (gone if reason else alive).append(r)
    if gone:
        write(engine, lambda c: c.execute(update(WORKERS).where(WORKERS.c.id.in_([r.id for r in gone])).values(state="stopped")))
    return [WorkerView(r.id, r.pid, r.host, r.started_at, r.heartbeat_at, r.concurrency, r.state, bool(r.detached)) for r in alive]

