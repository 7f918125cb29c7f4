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

from sqlalchemy.engine import Engine

from console.store.run_tables import RunInputRow, RunProgressRow, RunRow, WorkerRow
from console.store.tx import read, with_retry, write  # noqa: F401  (re-exported: schedules and tests use them)
from console.store.tx import write_tx as _write_tx  # noqa: F401

RUNS = RunRow.__table__
PROGRESS = RunProgressRow.__table__
INPUTS = RunInputRow.__table__
WORKERS = WorkerRow.__table__


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


# The API, one module per purpose (re-exported here so `console.store.runs.X` keeps working):
from console.store.run_recovery import recover_dead_runs  # noqa: E402,F401
from console.store.run_submit import (  # noqa: E402,F401
    DuplicateSlot,
    canonical_json,
    count_runs,
    enqueue_run,
    get_run,
    list_runs,
    record_failed_run,
    request_cancel,
    run_input,
    run_progress,
)
from console.store.run_views import ProgressView, RunView, iso  # noqa: E402,F401
from console.store.run_worker import (  # noqa: E402,F401
    WORKER_STALE_S,
    WorkerView,
    cancel_requested,
    claim_next_run,
    finish_run,
    live_workers,
    pump,
    register_worker,
    set_executor,
    touch_runs,
    worker_heartbeat,
)
