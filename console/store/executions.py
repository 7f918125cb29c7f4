"""Executions of approved plans and their append-only events.

`executions` names the plan (run) an execution follows now — a replan switches it — and
when its minute 0 was. `execution_events` is append-only, unique on (execution, action,
state, at): recording is one transaction that replays the history, checks the new events
(engine.execution.state), inserts them and, when every action is over, completes the
execution. A recorder killed mid-transaction leaves nothing (the transaction rolls back);
one that retries finds its events already there and skips them — never applied twice.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from typing import Optional

from sqlalchemy import (Column, Float, Integer, String, Table, Text, UniqueConstraint, func, insert, select,
                        update)
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

from engine.execution.state import Event, EventRefused, Execution
from engine.model import MaintenancePlan

EXECUTION_STATES = ("executing", "completed", "failed", "cancelled")

EXECUTION_TABLE = Table(
    "executions", SQLModel.metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, nullable=False, index=True),   # the plan followed now
    Column("first_run_id", Integer, nullable=False),         # the plan it started with
    Column("state", String(16), nullable=False),
    Column("started_at", Float, nullable=False),             # epoch seconds of minute 0
    Column("started_by", String(200), nullable=False),
    Column("ended_at", Float, nullable=True),
    Column("applied_snapshot_id", Integer, nullable=True),
    sqlite_autoincrement=True,
    extend_existing=True,
)

EVENT_TABLE = Table(
    "execution_events", SQLModel.metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("execution_id", Integer, nullable=False, index=True),
    Column("action", String(300), nullable=False),
    Column("state", String(16), nullable=False),
    Column("at", Integer, nullable=False),
    Column("reason", Text, nullable=True),
    Column("actor", String(200), nullable=False),
    Column("recorded_at", Float, nullable=False),
    UniqueConstraint("execution_id", "action", "state", "at", name="uq_execution_event"),
    sqlite_autoincrement=True,
    extend_existing=True,
)

LIFECYCLE_EXECUTION_TABLES = [EXECUTION_TABLE, EVENT_TABLE]
CORE_TABLES = LIFECYCLE_EXECUTION_TABLES  # joins console.store.schema's store_metadata (migration 0003)


@dataclass(frozen=True)
class ExecutionRow:
    id: int
    run_id: int
    first_run_id: int
    state: str
    started_at: float
    started_by: str
    ended_at: Optional[float]
    applied_snapshot_id: Optional[int]

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Recorded:
    applied: int      # new events stored
    duplicates: int   # events already recorded (a retry): skipped
    completed: bool   # every action is now done or skipped


def get_execution(conn: Connection, execution_id: int, *, for_update: bool = False) -> Optional[ExecutionRow]:
    q = select(EXECUTION_TABLE).where(EXECUTION_TABLE.c.id == execution_id)
    if for_update:
        q = q.with_for_update()  # PostgreSQL: concurrent recorders queue here (SQLite: BEGIN IMMEDIATE did)
    row = conn.execute(q).mappings().first()
    return None if row is None else ExecutionRow(**dict(row))


def executions_of(conn: Connection, run_id: int) -> list[ExecutionRow]:
    rows = conn.execute(select(EXECUTION_TABLE).where(EXECUTION_TABLE.c.run_id == run_id)
                        .order_by(EXECUTION_TABLE.c.id)).mappings().all()
    return [ExecutionRow(**dict(r)) for r in rows]


def create_execution(conn: Connection, run_id: int, started_at: float, started_by: str) -> int:
    result = conn.execute(insert(EXECUTION_TABLE).values(run_id=run_id, first_run_id=run_id, state="executing",
                                                         started_at=started_at, started_by=started_by))
    return int(result.inserted_primary_key[0])


def set_execution(conn: Connection, execution_id: int, **values) -> None:
    conn.execute(update(EXECUTION_TABLE).where(EXECUTION_TABLE.c.id == execution_id).values(**values))


def events(conn: Connection, execution_id: int) -> list[Event]:
    rows = conn.execute(select(EVENT_TABLE.c.action, EVENT_TABLE.c.state, EVENT_TABLE.c.at, EVENT_TABLE.c.reason)
                        .where(EVENT_TABLE.c.execution_id == execution_id).order_by(EVENT_TABLE.c.id)).all()
    return [Event(r.action, r.state, r.at, r.reason) for r in rows]


def event_count(conn: Connection, execution_id: int) -> int:
    return int(conn.execute(select(func.count()).select_from(EVENT_TABLE)
                            .where(EVENT_TABLE.c.execution_id == execution_id)).scalar_one())


def run_plan(conn: Connection, run_id: int) -> MaintenancePlan:
    from console.store.runs import RUNS

    text = conn.execute(select(RUNS.c.plan_json).where(RUNS.c.id == run_id)).scalar()
    if text is None:
        raise LookupError(f"run {run_id} has no plan")
    return MaintenancePlan.model_validate(json.loads(text))


# Columns a replan copies from the run it continues: the same inputs (snapshot, limits) and their hashes.
INPUT_COLUMNS = ("input_key", "input_name", "limits_json", "limits_name", "snapshot_id", "snapshot_sha256",
                 "limits_sha256")


def record_replan_run(conn: Connection, source_run_id: int, plan: dict, wall_s: float) -> int:
    """A succeeded maintenance run holding a replanned (validated) plan, made from the same inputs
    as `source_run_id`; returns its id."""
    from console.store.run_provenance import provenance_values
    from console.store.run_worker import _plan_values
    from console.store.runs import RUNS

    src = conn.execute(select(RUNS).where(RUNS.c.id == source_run_id)).mappings().first()
    options = json.dumps({"solver": "cp-sat-replan"})
    now = time.time()
    values = {c: src[c] for c in INPUT_COLUMNS if c in RUNS.c}
    values.update(kind="maintenance", status="succeeded", options_json=options, created_at=now,
                  started_at=now - wall_s, finished_at=now, cancel_requested=False, **_plan_values(plan),
                  **provenance_values(options, src["limits_json"], "succeeded", plan))
    return int(conn.execute(insert(RUNS).values(**values)).inserted_primary_key[0])


def replay(conn: Connection, execution: ExecutionRow, until: Optional[int] = None) -> Execution:
    """The execution's state on the plan it follows now, from its recorded history (only the events
    at or before minute `until`, when given: what had happened by then)."""
    history = events(conn, execution.id)
    if until is not None:
        history = [e for e in history if e.at <= until]
    return Execution(run_plan(conn, execution.run_id), history, history=True)


def record_events(conn: Connection, execution_id: int, new: list[Event], actor: str) -> Recorded:
    """Check and append `new` in the caller's (single) transaction; EventRefused lists every bad event
    and nothing is written. Events already recorded are skipped (idempotent retries)."""
    ex_row = get_execution(conn, execution_id, for_update=True)
    if ex_row is None:
        raise LookupError(f"no execution {execution_id}")
    state = replay(conn, ex_row)
    if ex_row.state != "executing" and not all(state.is_duplicate(e) for e in new):
        raise EventRefused(f"execution {execution_id} is {ex_row.state}: it takes no more events")
    problems, fresh, dup = [], [], 0
    for i, e in enumerate(new, 1):
        if state.is_duplicate(e):
            dup += 1
            continue
        try:
            state.apply(e)
            fresh.append(e)
        except EventRefused as exc:
            problems.append(f"event {i}" + (f" ({e.action} {e.state} at {e.at})" if len(new) > 1 else "") + f": {exc}")
    if problems:
        raise EventRefused("\n".join(problems))
    now = time.time()
    if fresh:
        conn.execute(insert(EVENT_TABLE), [{"execution_id": execution_id, "action": e.action, "state": e.state,
                                            "at": e.at, "reason": e.reason, "actor": actor, "recorded_at": now}
                                           for e in fresh])
    return Recorded(applied=len(fresh), duplicates=dup, completed=bool(fresh) and state.finished())
