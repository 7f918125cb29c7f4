"""Background runs in the store: the API the CLI, the console and the workers share.

Life of a run: `queued → running → succeeded | infeasible | failed | cancelled`.

Readers and submitters (the console, the CLI, scripts):

    runs_engine(db: str | Path, *, create: bool = True) -> Engine
    enqueue_run(engine, kind, *, snapshot=None, problem_yaml=None, problem_name=None, limits=None,
                limits_name=None, options=None, schedule_id=None) -> int
        kind: "maintenance" | "placement" | "capacity"; snapshot: engine.model.Snapshot or its
        JSON dict (None: the store's current snapshot); limits: Limits or dict; options: see
        run_tables.RUN_OPTIONS. Queues only: call console.runner.ensure_worker(db) (or use
        console.runner.enqueue_background, which does both) so that a worker runs it.
    list_runs(engine, status=None, kind=None, limit=100) -> list[RunView]   newest first, no plan
    get_run(engine, run_id, *, recover=True) -> RunView | None             with limits, plan, last progress
    run_progress(engine, run_id, since_id=0, limit=None) -> list[ProgressView]
        oldest first; poll with since_id = the last event's id
    request_cancel(engine, run_id) -> RunView    queued: cancelled now; running: flag (best plan kept)
    run_input(engine, key) -> (media, body)       the exact snapshot / problem file the run solved
    recover_dead_runs(engine) -> list[int]        (list_runs and get_run call it first)
    live_workers(engine) -> list[WorkerView]

RunView fields: id, kind, status, schedule_id, input_key, input_name, limits_name, options,
created_at/started_at/finished_at/heartbeat_at (UTC epoch seconds), worker_pid, worker_host,
executor_pid, cancel_requested, plan_status, objective, lower_bound, error, limits, plan,
progress_count, last_progress; properties terminal, elapsed_s, wait_s; to_dict() (ISO times).

Workers use claim_next_run, set_executor, pump, touch_runs, cancel_requested, finish_run.
While a run is `running`, its `plan` (and plan_status, objective, lower_bound) is the best
validated incumbent so far, stored by `pump` as the search improves; `finish_run` writes the final one.

Every read of run statuses first marks runs whose worker died as `failed` (with the reason), so
no reader ever sees a dead run as `running`. Writes are short `BEGIN IMMEDIATE`
transactions retried on SQLITE_BUSY; a killed writer leaves the database intact
(SQLite rolls its journal back).
"""

from __future__ import annotations

import hashlib
import json
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Optional

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError

from console.store.run_liveness import owner_death_reason, this_boot, this_host
from console.store.run_tables import (
    RUN_KINDS,
    RUN_OPTIONS,
    RUN_STATUSES,
    RUN_TABLES,
    TERMINAL_STATUSES,
    RunInputRow,
    RunProgressRow,
    RunRow,
    WorkerRow,
)

RUNS = RunRow.__table__
PROGRESS = RunProgressRow.__table__
INPUTS = RunInputRow.__table__

# --------------------------------------------------------------------------- engine and transactions

from console.store.tx import read, with_retry, write  # noqa: E402  (re-exported: schedules and tests use them)
from console.store.tx import write_tx as _write_tx  # noqa: E402,F401


def ensure_run_tables(engine: Engine) -> None:
    """The schema is in place (created on a new database, checked otherwise): console.store.schema."""
    from console.store.schema import ensure_schema

    ensure_schema(engine)


def runs_engine(db, *, create: bool = True) -> Engine:
    """The store's engine for `db` (a path, URL or DbTarget) with the schema in place.
    `create=False` skips the schema check (an executor whose worker already made it)."""
    from console.store.db import open_engine
    from console.store.schema import mark_ready

    engine = open_engine(db, create=create)
    if not create:
        mark_ready(engine)
    return engine


# --------------------------------------------------------------------------- views


def iso(ts: Optional[float]) -> Optional[str]:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class ProgressView:
    id: int
    run_id: int
    at: float
    elapsed_s: float
    objective: Optional[float]
    bound: Optional[float]
    message: Optional[str]

    @property
    def gap(self) -> Optional[float]:
        from engine.progress import relative_gap

        return relative_gap(self.objective, self.bound)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["at"] = iso(self.at)
        d["gap"] = self.gap
        return d


@dataclass(frozen=True)
class RunView:
    """A run as readers see it. `plan` and `limits` are filled by `get_run` only."""

    id: int
    kind: str
    status: str
    schedule_id: Optional[int]
    input_key: Optional[str]
    input_name: Optional[str]
    limits_name: Optional[str]
    options: dict
    created_at: float
    started_at: Optional[float]
    finished_at: Optional[float]
    heartbeat_at: Optional[float]
    worker_pid: Optional[int]
    worker_host: Optional[str]
    executor_pid: Optional[int]
    cancel_requested: bool
    plan_status: Optional[str]
    objective: Optional[float]
    lower_bound: Optional[float]
    error: Optional[str]
    limits: Optional[dict] = None
    plan: Optional[dict] = None
    progress_count: int = 0
    last_progress: Optional[ProgressView] = field(default=None)

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def elapsed_s(self) -> Optional[float]:
        """Seconds running so far (or in total once finished)."""
        if self.started_at is None:
            return None
        end = self.finished_at if self.finished_at is not None else time.time()
        return max(0.0, end - self.started_at)

    @property
    def wait_s(self) -> Optional[float]:
        """Seconds between enqueueing and the start."""
        return None if self.started_at is None else max(0.0, self.started_at - self.created_at)

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "kind": self.kind,
            "status": self.status,
            "schedule_id": self.schedule_id,
            "input": {"key": self.input_key, "name": self.input_name},
            "limits_name": self.limits_name,
            "options": self.options,
            "created_at": iso(self.created_at),
            "started_at": iso(self.started_at),
            "finished_at": iso(self.finished_at),
            "heartbeat_at": iso(self.heartbeat_at),
            "elapsed_s": None if self.elapsed_s is None else round(self.elapsed_s, 3),
            "worker_pid": self.worker_pid,
            "worker_host": self.worker_host,
            "executor_pid": self.executor_pid,
            "cancel_requested": self.cancel_requested,
            "plan_status": self.plan_status,
            "objective": self.objective,
            "lower_bound": self.lower_bound,
            "error": self.error,
            "progress_count": self.progress_count,
            "last_progress": None if self.last_progress is None else self.last_progress.to_dict(),
            **({"limits": self.limits} if self.limits is not None else {}),
            **({"plan": self.plan} if self.plan is not None else {}),
        }


_SUMMARY_COLUMNS = [c for c in RUNS.c if c.name not in ("plan_json", "limits_json", "worker_boot")]


def _progress_view(row) -> ProgressView:
    return ProgressView(row.id, row.run_id, row.at, row.elapsed_s, row.objective, row.bound, row.message)


def _run_view(row, *, detail: bool = False, progress_count: int = 0, last: Optional[ProgressView] = None) -> RunView:
    m = row._mapping
    return RunView(
        id=m["id"],
        kind=m["kind"],
        status=m["status"],
        schedule_id=m["schedule_id"],
        input_key=m["input_key"],
        input_name=m["input_name"],
        limits_name=m["limits_name"],
        options=json.loads(m["options_json"] or "{}"),
        created_at=m["created_at"],
        started_at=m["started_at"],
        finished_at=m["finished_at"],
        heartbeat_at=m["heartbeat_at"],
        worker_pid=m["worker_pid"],
        worker_host=m["worker_host"],
        executor_pid=m["executor_pid"],
        cancel_requested=bool(m["cancel_requested"]),
        plan_status=m["plan_status"],
        objective=m["objective"],
        lower_bound=m["lower_bound"],
        error=m["error"],
        limits=json.loads(m["limits_json"]) if detail and m["limits_json"] else None,
        plan=json.loads(m["plan_json"]) if detail and m["plan_json"] else None,
        progress_count=progress_count,
        last_progress=last,
    )


# --------------------------------------------------------------------------- inputs


def canonical_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _store_input(conn: Connection, media: str, body: str, name: Optional[str]) -> str:
    from console.store.fleet_store import store_document

    key = hashlib.sha256(body.encode("utf-8")).hexdigest()
    store_document(conn, key, media, body, name)
    return key


def run_input(engine: Engine, key: str) -> tuple[str, str]:
    """(media, body) of a stored input document."""
    row = read(engine, lambda c: c.execute(select(INPUTS.c.media, INPUTS.c.body).where(INPUTS.c.key == key)).first())
    if row is None:
        raise KeyError(f"run input {key} is missing")
    return row.media, row.body


def _snapshot_body(snapshot) -> tuple[str, Optional[str]]:
    if hasattr(snapshot, "model_dump"):
        data = snapshot.model_dump(mode="json", by_alias=True)
    else:
        data = snapshot
    return canonical_json(data), (data.get("name") or None) if isinstance(data, dict) else None


def _limits_json(limits) -> Optional[str]:
    if limits is None:
        return None
    if hasattr(limits, "to_json_dict"):
        limits = limits.to_json_dict()
    return canonical_json(limits)


# --------------------------------------------------------------------------- writes


class DuplicateSlot(Exception):
    """A schedule's slot already has its run (another worker fired it first)."""


def enqueue_run(
    engine: Engine,
    kind: str,
    *,
    snapshot=None,
    snapshot_id: Optional[int] = None,
    problem_yaml: Optional[str] = None,
    problem_name: Optional[str] = None,
    limits=None,
    limits_name: Optional[str] = None,
    options: Optional[dict] = None,
    schedule_id: Optional[int] = None,
    schedule_slot: Optional[float] = None,
    idempotency_key: Optional[str] = None,
) -> int:
    """Queue a run and return its id.

    maintenance / placement: `snapshot` is an inline `engine.model.Snapshot` or its JSON dict;
    without it the run references a stored version: `snapshot_id`, else the current one.
    `limits` an `engine.model.Limits` or dict (kept inline with its sha256).
    capacity: `problem_yaml` is the Malloovia problem file's text, options carry
    `problem` (id) and `phase`. The input is stored by content, so the run can be
    reproduced after a new snapshot is loaded.

    `idempotency_key`: a second call with the same key returns the first run's id.
    `schedule_slot`: with `schedule_id`, at most one run per (schedule, slot): a second one
    raises DuplicateSlot (a unique index decides, on every backend).
    """
    if kind not in RUN_KINDS:
        raise ValueError(f"unknown run kind {kind!r}: choose one of {', '.join(RUN_KINDS)}")
    unknown = sorted(set(options or {}) - set(RUN_OPTIONS[kind]))
    if unknown:
        raise ValueError(f"unknown option(s) for {kind} runs: {', '.join(unknown)} (known: {', '.join(RUN_OPTIONS[kind])})")
    ensure_run_tables(engine)
    if idempotency_key is not None:
        existing = _run_for_key(engine, idempotency_key)
        if existing is not None:
            return existing
    ref_id = ref_sha = None
    body = name = None
    if kind == "capacity":
        if problem_yaml is None:
            raise ValueError("a capacity run needs the Malloovia problem file's text (problem_yaml)")
        media, body, name = "malloovia+yaml", problem_yaml, problem_name
    elif snapshot is None:
        media = "snapshot+json"
        ref_id, ref_sha, name, body = _stored_snapshot(engine, snapshot_id)
    else:
        media = "snapshot+json"
        body, name = _snapshot_body(snapshot)
    limits_body = _limits_json(limits)
    options_body = canonical_json(options or {})
    from sqlalchemy.exc import IntegrityError

    def tx(conn: Connection) -> int:
        key = ref_sha if body is None else _store_input(conn, media, body, name)
        result = conn.execute(
            insert(RUNS).values(
                kind=kind,
                status="queued",
                schedule_id=schedule_id,
                schedule_slot=schedule_slot,
                idempotency_key=idempotency_key,
                input_key=key,
                input_name=name,
                snapshot_id=ref_id,
                snapshot_sha256=None if kind == "capacity" else key,
                limits_json=limits_body,
                limits_sha256=None if limits_body is None else hashlib.sha256(limits_body.encode("utf-8")).hexdigest(),
                limits_name=limits_name,
                options_json=options_body,
                created_at=time.time(),
                cancel_requested=False,
            )
        )
        return int(result.inserted_primary_key[0])

    try:
        return write(engine, tx)
    except IntegrityError:
        if idempotency_key is not None:
            existing = _run_for_key(engine, idempotency_key)
            if existing is not None:
                return existing
        if schedule_id is not None and schedule_slot is not None:
            raise DuplicateSlot(f"schedule {schedule_id} already fired for slot {schedule_slot}") from None
        raise


def _run_for_key(engine: Engine, key: str) -> Optional[int]:
    return read(engine, lambda c: c.execute(select(RUNS.c.id).where(RUNS.c.idempotency_key == key)).scalar())


def _stored_snapshot(engine: Engine, snapshot_id: Optional[int]):
    """(id, sha256, name, body or None) of a stored version (the current one by default).
    body is None when the document is already kept under its hash; a version loaded before
    versions were kept (only possible for the current one) is serialised from the fleet tables."""
    from console.store.fleet_store import current_snapshot, current_snapshot_info, snapshot_info

    info = current_snapshot_info(engine) if snapshot_id is None else snapshot_info(engine, snapshot_id)
    if info is None:
        if snapshot_id is None:
            raise LookupError("the database holds no fleet: load a snapshot first (fleetctl load FILE)")
        raise LookupError(f"no snapshot {snapshot_id} in the store")
    if info.sha256 is not None:
        return info.id, info.sha256, info.name or None, None
    if snapshot_id is not None and snapshot_id != (current_snapshot_info(engine) or info).id:
        raise LookupError(f"snapshot {snapshot_id} was loaded before versions were kept: its document is gone")
    body, name = _snapshot_body(current_snapshot(engine))
    return info.id, None, name, body


def record_failed_run(engine: Engine, kind: str, error: str, *, schedule_id: Optional[int] = None, options: Optional[dict] = None) -> int:
    """A run that could not even be queued (e.g. a schedule fired with no snapshot loaded): visible, failed."""
    ensure_run_tables(engine)
    now = time.time()

    def tx(conn: Connection) -> int:
        result = conn.execute(
            insert(RUNS).values(
                kind=kind, status="failed", schedule_id=schedule_id, options_json=canonical_json(options or {}),
                created_at=now, finished_at=now, error=error, cancel_requested=False,
            )
        )
        return int(result.inserted_primary_key[0])

    return write(engine, tx)


def request_cancel(engine: Engine, run_id: int) -> RunView:
    """Ask a run to stop. A queued run is cancelled at once; a running one keeps
    its best plan so far (its executor polls the flag); a finished one is unchanged."""
    ensure_run_tables(engine)
    now = time.time()

    def tx(conn: Connection) -> None:
        row = conn.execute(select(RUNS.c.status).where(RUNS.c.id == run_id)).first()
        if row is None:
            raise KeyError(run_id)
        if row.status == "queued":
            conn.execute(
                update(RUNS).where(RUNS.c.id == run_id, RUNS.c.status == "queued").values(
                    status="cancelled", cancel_requested=True, finished_at=now, error="cancelled before it started"
                )
            )
        elif row.status == "running":
            conn.execute(update(RUNS).where(RUNS.c.id == run_id).values(cancel_requested=True))

    write(engine, tx)
    view = get_run(engine, run_id)
    assert view is not None
    return view


def claim_next_run(engine: Engine, worker_pid: int) -> Optional[int]:
    """Atomically move the oldest queued run to `running` for this worker; None when the queue is empty.

    Compare-and-set on `status = 'queued'` inside one write transaction: two
    workers never take the same run (on PostgreSQL too, where the CAS decides)."""
    ensure_run_tables(engine)

    def tx(conn: Connection) -> Optional[int]:
        now = time.time()
        for (candidate,) in conn.execute(select(RUNS.c.id).where(RUNS.c.status == "queued").order_by(RUNS.c.id).limit(5)):
            taken = conn.execute(
                update(RUNS)
                .where(RUNS.c.id == candidate, RUNS.c.status == "queued")
                .values(status="running", started_at=now, heartbeat_at=now, worker_pid=worker_pid,
                        worker_host=this_host(), worker_boot=this_boot())
            ).rowcount
            if taken == 1:
                return int(candidate)
        return None

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
    values: dict[str, Any] = {"status": status, "finished_at": time.time(), "error": error}
    if plan is not None:
        values.update(_plan_values(plan))

    def tx(conn: Connection) -> bool:
        cond = [RUNS.c.id == run_id, RUNS.c.status == "running"]
        if expect_pid is not None:
            cond.append(RUNS.c.worker_pid == expect_pid)
        return conn.execute(update(RUNS).where(*cond).values(**values)).rowcount == 1

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


# --------------------------------------------------------------------------- crash recovery


def recover_dead_runs(engine: Engine) -> list[int]:
    """Mark `failed` every running run whose worker is gone; return their ids.

    Cheap when nothing is running (one indexed read). Safe to call from any
    process at any time: the update is a compare-and-set on the same worker."""
    ensure_run_tables(engine)
    rows = read(engine, lambda c: c.execute(
        select(RUNS.c.id, RUNS.c.worker_pid, RUNS.c.worker_host, RUNS.c.worker_boot, RUNS.c.heartbeat_at)
        .where(RUNS.c.status == "running")
    ).all())
    now = time.time()
    dead = []
    for r in rows:
        reason = owner_death_reason(r.worker_pid, r.worker_host, r.worker_boot, r.heartbeat_at, now)
        if reason is None:
            continue

        def tx(conn: Connection, r=r, reason=reason) -> bool:
            return conn.execute(
                update(RUNS)
                .where(RUNS.c.id == r.id, RUNS.c.status == "running", RUNS.c.worker_pid == r.worker_pid)
                .values(status="failed", finished_at=now, error=f"worker died: {reason}; the run was abandoned")
            ).rowcount == 1

        if write(engine, tx):
            dead.append(r.id)
    return dead


# --------------------------------------------------------------------------- reads


def list_runs(engine: Engine, status: Optional[str] = None, kind: Optional[str] = None, limit: int = 100,
              before_id: Optional[int] = None) -> list[RunView]:
    """Runs, newest first, without plans (see `get_run`); `before_id`: only older runs (paging)."""
    if status is not None and status not in RUN_STATUSES:
        raise ValueError(f"unknown status {status!r}: choose one of {', '.join(RUN_STATUSES)}")
    recover_dead_runs(engine)
    q = select(*_SUMMARY_COLUMNS).order_by(RUNS.c.id.desc()).limit(limit)
    if status is not None:
        q = q.where(RUNS.c.status == status)
    if kind is not None:
        q = q.where(RUNS.c.kind == kind)
    if before_id is not None:
        q = q.where(RUNS.c.id < before_id)

    def fetch(conn: Connection):
        rows = conn.execute(q).all()
        ids = [r.id for r in rows]
        counts = dict(conn.execute(
            select(PROGRESS.c.run_id, func.count()).where(PROGRESS.c.run_id.in_(ids)).group_by(PROGRESS.c.run_id)
        ).all()) if ids else {}
        return rows, counts

    rows, counts = read(engine, fetch)
    views = []
    for r in rows:
        m = dict(r._mapping)
        m.update(plan_json=None, limits_json=None)
        views.append(_run_view(_Row(m), progress_count=counts.get(r.id, 0)))
    return views


class _Row:
    def __init__(self, mapping: dict):
        self._mapping = mapping


def get_run(engine: Engine, run_id: int, *, recover: bool = True) -> Optional[RunView]:
    """One run with its limits, plan (when there is one) and latest progress event.
    (`recover=False` skips the dead-worker sweep: for the run's own executor.)"""
    if recover:
        recover_dead_runs(engine)

    def fetch(conn: Connection):
        row = conn.execute(select(RUNS).where(RUNS.c.id == run_id)).first()
        if row is None:
            return None, 0, None
        count = conn.execute(select(func.count()).where(PROGRESS.c.run_id == run_id)).scalar() or 0
        last = conn.execute(select(PROGRESS).where(PROGRESS.c.run_id == run_id).order_by(PROGRESS.c.id.desc()).limit(1)).first()
        return row, count, last

    row, count, last = read(engine, fetch)
    if row is None:
        return None
    return _run_view(row, detail=True, progress_count=count, last=None if last is None else _progress_view(last))


def run_progress(engine: Engine, run_id: int, since_id: int = 0, limit: Optional[int] = None) -> list[ProgressView]:
    """Progress events of a run with id > `since_id`, oldest first: poll with the last id seen."""
    ensure_run_tables(engine)
    q = select(PROGRESS).where(PROGRESS.c.run_id == run_id, PROGRESS.c.id > since_id).order_by(PROGRESS.c.id)
    if limit is not None:
        q = q.limit(limit)
    return [_progress_view(r) for r in read(engine, lambda c: c.execute(q).all())]


def count_runs(engine: Engine, statuses: tuple[str, ...] = ("queued", "running")) -> int:
    ensure_run_tables(engine)
    return int(read(engine, lambda c: c.execute(select(func.count()).where(RUNS.c.status.in_(statuses))).scalar()) or 0)


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
