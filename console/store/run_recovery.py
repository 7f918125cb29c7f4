"""Crash recovery: a running run whose worker died is marked failed, with the reason, before
anyone reads run statuses (so no reader ever sees a dead run as running)."""

from __future__ import annotations

import time

from sqlalchemy import select, update
from sqlalchemy.engine import Connection, Engine

from console.store.run_liveness import owner_death_reason
from console.store.run_tables import RunRow
from console.store.tx import read, write

RUNS = RunRow.__table__


def ensure_run_tables(engine: Engine) -> None:
    from console.store.runs import ensure_run_tables as ensure

    ensure(engine)


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


