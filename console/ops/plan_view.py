"""A run's plan as the Schedule screen shows it: its lifecycle state and, when it is being (or was)
executed, the execution's progress and each action's state at the execution's current minute.

Read through the same store functions and rules as `console.ops.lifecycle` (status, lateness), so
the console and `fleetctl exec status` never disagree. Cheap to poll: `plan_view` first reads a
small key (plan state, latest execution, event count, clock minute) and replays the execution
only when that key changed — the snapshot is never read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import time
from typing import Callable, Optional

from sqlalchemy import select
from sqlalchemy.engine import Engine

from console.ops.action_states import ACTION_VIEW_STATES, action_view_state  # noqa: F401  (re-exported)
from console.ops.lifecycle import StatusView, clock_minute, status_of
from console.store import approvals, executions
from console.store.runs import read



@dataclass(frozen=True)
class PlanView:
    run_id: int
    state: approvals.PlanState
    key: tuple
    execution: Optional[executions.ExecutionRow] = None
    status: Optional[StatusView] = None
    actions: dict[str, str] = field(default_factory=dict)  # action id -> one of ACTION_VIEW_STATES
    successor: Optional[int] = None  # superseded: the run whose plan the execution follows now

    @property
    def executing(self) -> bool:
        return self.execution is not None and self.execution.state == "executing"


def _successor(conn, run_id: int) -> Optional[int]:
    t = approvals.PLAN_STATE_TABLE
    return conn.execute(select(t.c.run_id).where(t.c.parent_run_id == run_id, t.c.state != "draft")
                        .order_by(t.c.run_id.desc()).limit(1)).scalar()


def wall_clock() -> float:
    """Epoch seconds now: the console's one `now` provider (tests pin it, so pictures of an execution
    do not depend on how long the test took)."""
    return time.time()


def plan_view(engine: Engine, run_id: int, known_key: Optional[tuple] = None,
              clock: Callable[[], float] = wall_clock) -> Optional[PlanView]:
    """The view of run `run_id`'s plan at `clock()`; None when its key equals `known_key` (nothing changed)."""
    now_s = clock()

    def fetch(conn):
        state = approvals.plan_state(conn, run_id)
        runs = executions.executions_of(conn, run_id)
        row = runs[-1] if runs else None  # the latest execution following this plan
        count = executions.event_count(conn, row.id) if row is not None else 0
        successor = _successor(conn, run_id) if state.state == "superseded" else None
        minute = clock_minute(row, now_s) if row is not None and row.state == "executing" else None
        key = (state, row, count, successor, minute)
        if key == known_key:
            return None
        replayed = executions.replay(conn, row) if row is not None else None
        return state, row, successor, key, replayed

    got = read(engine, fetch)
    if got is None:
        return None
    state, row, successor, key, ex = got
    if row is None:
        return PlanView(run_id, state, key, successor=successor)
    # An execution that ended stops its clock at its last event: nothing more becomes late.
    now = max(clock_minute(row, now_s), ex.last_at) if row.state == "executing" else ex.last_at
    actions = {aid: action_view_state(ex, aid, now) for aid in ex.actions}
    return PlanView(run_id, state, key, row, status_of(row, ex, now), actions, successor)
