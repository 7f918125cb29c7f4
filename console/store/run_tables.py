"""SQL tables of background runs, their inputs, progress, workers and schedules.

They live in SQLModel's shared metadata, so they join the store's other tables
in the same database file. Times are UTC epoch seconds (floats): cheap to compare
in SQL, turned into ISO 8601 only for display.
"""

from __future__ import annotations

from typing import Optional

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

RUN_KINDS = ("maintenance", "placement", "capacity")
RUN_STATUSES = ("queued", "running", "succeeded", "infeasible", "failed", "cancelled")
TERMINAL_STATUSES = ("succeeded", "infeasible", "failed", "cancelled")

# Solver options a run may carry, per kind (the engine's defaults apply to those absent).
RUN_OPTIONS: dict[str, tuple[str, ...]] = {
    "maintenance": ("solver", "time_limit_s", "workers", "executor"),  # executor: local | dask://HOST:PORT
    "placement": ("solver", "objective", "time_limit_s", "workers", "max_moves"),
    # problem: Phase I problem id; phase: i | ii; stwp: Phase II problem id in the same file
    "capacity": ("problem", "phase", "relaxed", "time_limit_s", "problem_file", "stwp", "allow_outside_files"),
}


class RunInputRow(SQLModel, table=True):
    """An input document, stored once by content hash: a run stays reproducible after a new load."""

    __tablename__ = "run_inputs"

    key: str = Field(primary_key=True)  # sha256 of `body`
    media: str  # "snapshot+json" | "malloovia+yaml"
    name: Optional[str] = None
    body: str
    created_at: float


class RunRow(SQLModel, table=True):
    """A run, its inputs (by reference and hash) and, once finished, its provenance."""

    __tablename__ = "runs"
    __table_args__ = (
        # A schedule fires at most once per slot, however many workers race for it.
        Index("ux_runs_schedule_slot", "schedule_id", "schedule_slot", unique=True),
        # One run per client idempotency key.
        Index("ux_runs_idempotency_key", "idempotency_key", unique=True),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    kind: str = Field(index=True)
    status: str = Field(default="queued", index=True)
    schedule_id: Optional[int] = Field(default=None, index=True)
    input_key: Optional[str] = None  # -> run_inputs.key (None only when enqueueing failed early)
    input_name: Optional[str] = None  # snapshot or problem name, for lists
    limits_json: Optional[str] = None
    limits_name: Optional[str] = None
    options_json: str = "{}"
    created_at: float
    started_at: Optional[float] = None
    finished_at: Optional[float] = None
    heartbeat_at: Optional[float] = None
    worker_pid: Optional[int] = None  # the supervising worker process
    worker_host: Optional[str] = None
    worker_boot: Optional[str] = None  # the host's boot id: a restart makes every pid stale
    executor_pid: Optional[int] = None  # the child process that runs the solver
    cancel_requested: bool = False
    plan_json: Optional[str] = None  # only ever a plan the validator accepted
    plan_status: Optional[str] = None  # optimal | feasible | infeasible | unknown
    objective: Optional[float] = None
    lower_bound: Optional[float] = None
    error: Optional[str] = None
    # inputs: what the run was made from
    snapshot_id: Optional[int] = None  # -> snapshots.id (None: an inline snapshot or a capacity problem)
    snapshot_sha256: Optional[str] = None
    limits_sha256: Optional[str] = None
    schedule_slot: Optional[float] = None  # the due time a schedule fired for
    idempotency_key: Optional[str] = None
    # provenance, recorded when the run finishes
    solver_name: Optional[str] = None
    solver_params_json: Optional[str] = None
    seed: Optional[int] = None
    versions_json: Optional[str] = None  # {"fleetctl": …, "ortools": …, "pulp": …, "highspy": …, "python": …}
    termination: Optional[str] = None  # why the search ended: optimal | time_limit | cancelled | infeasible | error
    plan_sha256: Optional[str] = None  # engine.fingerprint.plan_sha256 of the stored plan


class RunProgressRow(SQLModel, table=True):
    __tablename__ = "run_progress"

    id: Optional[int] = Field(default=None, primary_key=True)
    run_id: int = Field(index=True)
    at: float
    elapsed_s: float
    objective: Optional[float] = None
    bound: Optional[float] = None
    message: Optional[str] = None


class WorkerRow(SQLModel, table=True):
    """A worker process; `ensure_worker` reads these to decide whether to spawn one."""

    __tablename__ = "run_workers"

    id: Optional[int] = Field(default=None, primary_key=True)
    pid: int
    host: str
    boot: str
    started_at: float
    heartbeat_at: float
    concurrency: int = 1
    state: str = "starting"  # starting | running | stopped
    detached: bool = False


class ScheduleRow(SQLModel, table=True):
    __tablename__ = "run_schedules"

    id: Optional[int] = Field(default=None, primary_key=True)
    kind: str
    every_s: int
    limits_json: Optional[str] = None
    limits_name: Optional[str] = None
    options_json: str = "{}"
    created_at: float
    next_due_at: float = Field(index=True)
    last_fired_at: Optional[float] = None
    last_run_id: Optional[int] = None
    enabled: bool = True


RUN_TABLES = [RunInputRow.__table__, RunRow.__table__, RunProgressRow.__table__, WorkerRow.__table__, ScheduleRow.__table__]
