"""How readers see runs: RunView and ProgressView (frozen dataclasses with to_dict()), built from rows."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Optional

from console.store.run_tables import TERMINAL_STATUSES, RunRow

RUNS = RunRow.__table__



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
    provenance: Optional[dict] = None  # get_run only: input hashes, solver, seed, versions, termination, plan hash

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
            **({"provenance": self.provenance} if self.provenance is not None else {}),
        }


_SUMMARY_COLUMNS = [c for c in RUNS.c if c.name not in ("plan_json", "limits_json", "worker_boot", "solver_params_json",
                                                         "versions_json")]


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
        provenance=_provenance(m) if detail else None,
    )


def _provenance(m) -> dict:
    from console.store.run_provenance import provenance_view

    return provenance_view(m)


