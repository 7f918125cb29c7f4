"""Plan lifecycle in the store: states and their append-only history.

A run's plan is `draft` until approved:

    draft → approved → executing → completed | failed | cancelled | superseded
    approved → superseded | cancelled

`plan_states` holds each plan's current state and what its approval was bound to (hashes of
the snapshot, limits and plan, who and when); a replanned plan also names the plan and the
execution it continues. `plan_events` is append-only: every transition with actor and reason.
SQLAlchemy Core on the store's shared metadata, portable to SQLite and PostgreSQL.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Optional

from sqlalchemy import Column, Float, Integer, String, Table, Text, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlmodel import SQLModel

PLAN_STATES = ("draft", "approved", "executing", "completed", "failed", "cancelled", "superseded")
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "draft": ("approved",),
    "approved": ("executing", "superseded", "cancelled"),
    "executing": ("completed", "failed", "cancelled", "superseded"),
}

metadata = SQLModel.metadata

PLAN_STATE_TABLE = Table(
    "plan_states", metadata,
    Column("run_id", Integer, primary_key=True, autoincrement=False),
    Column("state", String(16), nullable=False),
    Column("parent_run_id", Integer, nullable=True),      # the plan a replan continues
    Column("execution_id", Integer, nullable=True),       # the execution a replan continues
    Column("events_seen", Integer, nullable=True),        # execution events the replan was made from
    Column("snapshot_id", Integer, nullable=True),
    Column("snapshot_sha256", String(64), nullable=True),
    Column("limits_sha256", String(64), nullable=True),
    Column("plan_sha256", String(64), nullable=True),
    Column("approved_by", String(200), nullable=True),
    Column("approved_at", Float, nullable=True),
    Column("note", Text, nullable=True),
    Column("updated_at", Float, nullable=False),
    extend_existing=True,
)

PLAN_EVENT_TABLE = Table(
    "plan_events", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, nullable=False, index=True),
    Column("from_state", String(16), nullable=False),
    Column("to_state", String(16), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("reason", Text, nullable=True),
    Column("at", Float, nullable=False),
    sqlite_autoincrement=True,
    extend_existing=True,
)

LIFECYCLE_PLAN_TABLES = [PLAN_STATE_TABLE, PLAN_EVENT_TABLE]
CORE_TABLES = LIFECYCLE_PLAN_TABLES  # joins console.store.schema's store_metadata (migration 0003)


class TransitionRefused(ValueError):
    """A plan state change that the lifecycle does not allow; nothing was written."""


@dataclass(frozen=True)
class PlanState:
    run_id: int
    state: str
    parent_run_id: Optional[int] = None
    execution_id: Optional[int] = None
    events_seen: Optional[int] = None
    snapshot_id: Optional[int] = None
    snapshot_sha256: Optional[str] = None
    limits_sha256: Optional[str] = None
    plan_sha256: Optional[str] = None
    approved_by: Optional[str] = None
    approved_at: Optional[float] = None
    note: Optional[str] = None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class PlanEvent:
    id: int
    run_id: int
    from_state: str
    to_state: str
    actor: str
    reason: Optional[str]
    at: float

    def to_dict(self) -> dict:
        return asdict(self)


def plan_state(conn: Connection, run_id: int) -> PlanState:
    """The plan's state (`draft` when it never changed)."""
    row = conn.execute(select(PLAN_STATE_TABLE).where(PLAN_STATE_TABLE.c.run_id == run_id)).mappings().first()
    if row is None:
        return PlanState(run_id=run_id, state="draft")
    return PlanState(**{k: row[k] for k in PlanState.__dataclass_fields__})


def plan_events(conn: Connection, run_id: int) -> list[PlanEvent]:
    rows = conn.execute(select(PLAN_EVENT_TABLE).where(PLAN_EVENT_TABLE.c.run_id == run_id)
                        .order_by(PLAN_EVENT_TABLE.c.id)).mappings().all()
    return [PlanEvent(**dict(r)) for r in rows]


def register_replan(conn: Connection, run_id: int, parent_run_id: int, execution_id: int, events_seen: int,
                    actor: str) -> None:
    """A replanned plan starts as a draft that names what it continues."""
    now = time.time()
    conn.execute(insert(PLAN_STATE_TABLE).values(run_id=run_id, state="draft", parent_run_id=parent_run_id,
                                                 execution_id=execution_id, events_seen=events_seen, updated_at=now))
    conn.execute(insert(PLAN_EVENT_TABLE).values(run_id=run_id, from_state="draft", to_state="draft", actor=actor,
                                                 reason=f"replan of run {parent_run_id} (execution {execution_id})",
                                                 at=now))


def transition(conn: Connection, run_id: int, to_state: str, *, actor: str, reason: Optional[str] = None,
               **fields) -> PlanState:
    """Move a plan to `to_state` (in the caller's transaction) and append the event; refused if not allowed."""
    current = plan_state(conn, run_id)
    if to_state not in TRANSITIONS.get(current.state, ()):
        raise TransitionRefused(f"plan of run {run_id} is {current.state}: it cannot become {to_state}")
    now = time.time()
    values = {"state": to_state, "updated_at": now, **fields}
    exists = conn.execute(select(PLAN_STATE_TABLE.c.run_id).where(PLAN_STATE_TABLE.c.run_id == run_id)).first()
    if exists is None:
        conn.execute(insert(PLAN_STATE_TABLE).values(run_id=run_id, **values))
    else:
        conn.execute(update(PLAN_STATE_TABLE).where(PLAN_STATE_TABLE.c.run_id == run_id).values(**values))
    conn.execute(insert(PLAN_EVENT_TABLE).values(run_id=run_id, from_state=current.state, to_state=to_state,
                                                 actor=actor, reason=reason, at=now))
    return plan_state(conn, run_id)


def ensure_lifecycle_tables(engine: Engine) -> None:
    """Create the approval and execution tables if missing (idempotent)."""
    from console.store.executions import LIFECYCLE_EXECUTION_TABLES
    from console.store.runs import ensure_run_tables, with_retry

    ensure_run_tables(engine)
    with_retry(lambda: metadata.create_all(engine, tables=LIFECYCLE_PLAN_TABLES + LIFECYCLE_EXECUTION_TABLES))
