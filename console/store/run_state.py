"""A run's status without its plan or limits: the cheap read that event streams poll.

    get_run_state(engine, run_id) -> RunState | None
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from sqlalchemy import select
from sqlalchemy.engine import Engine

from console.store.run_tables import TERMINAL_STATUSES, RunRow
from console.store.runs import iso, read

RUNS = RunRow.__table__
_COLUMNS = (RUNS.c.id, RUNS.c.kind, RUNS.c.status, RUNS.c.plan_status, RUNS.c.objective, RUNS.c.lower_bound,
            RUNS.c.error, RUNS.c.cancel_requested, RUNS.c.started_at, RUNS.c.finished_at)


@dataclass(frozen=True)
class RunState:
    id: int
    kind: str
    status: str
    plan_status: Optional[str]
    objective: Optional[float]
    lower_bound: Optional[float]
    error: Optional[str]
    cancel_requested: bool
    started_at: Optional[float]
    finished_at: Optional[float]

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    def to_dict(self) -> dict:
        from engine.progress import relative_gap

        return {"run_id": self.id, "kind": self.kind, "status": self.status, "plan_status": self.plan_status,
                "objective": self.objective, "lower_bound": self.lower_bound,
                "gap": relative_gap(self.objective, self.lower_bound), "error": self.error,
                "cancel_requested": self.cancel_requested, "started_at": iso(self.started_at),
                "finished_at": iso(self.finished_at), "finished_at_unix": self.finished_at}


def get_run_state(engine: Engine, run_id: int) -> Optional[RunState]:
    row = read(engine, lambda c: c.execute(select(*_COLUMNS).where(RUNS.c.id == run_id)).first())
    if row is None:
        return None
    return RunState(row.id, row.kind, row.status, row.plan_status, row.objective, row.lower_bound, row.error,
                    bool(row.cancel_requested), row.started_at, row.finished_at)
