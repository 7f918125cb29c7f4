"""Aggregate counts of runs and workers for monitoring (the API's /metrics).

    run_stats(engine) -> RunStats
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, case, func, select
from sqlalchemy.engine import Engine

from console.store.run_tables import RunRow
from console.store.runs import ensure_run_tables, live_workers, read

RUNS = RunRow.__table__
# Upper bounds (seconds) of the solve-time histogram buckets; +Inf is implied.
SOLVE_BUCKETS_S = (0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)


@dataclass(frozen=True)
class RunStats:
    by_status_kind: dict[tuple[str, str], int]   # (status, kind) -> runs
    queue_depth: int
    claims: int                                   # runs ever claimed by a worker
    solve_buckets: list[tuple[float, int]]        # cumulative (le, count) of finished runs' solve seconds
    solve_count: int
    solve_sum_s: float
    live_workers: int


def run_stats(engine: Engine) -> RunStats:
    ensure_run_tables(engine)
    duration = RUNS.c.finished_at - RUNS.c.started_at
    finished = and_(RUNS.c.started_at.is_not(None), RUNS.c.finished_at.is_not(None))

    def fetch(conn):
        groups = conn.execute(select(RUNS.c.status, RUNS.c.kind, func.count()).group_by(RUNS.c.status, RUNS.c.kind)).all()
        claims = conn.execute(select(func.count()).where(RUNS.c.started_at.is_not(None))).scalar() or 0
        cols = [func.sum(case((duration <= b, 1), else_=0)) for b in SOLVE_BUCKETS_S]
        hist = conn.execute(select(func.count(), func.coalesce(func.sum(duration), 0.0), *cols).where(finished)).first()
        return groups, claims, hist

    groups, claims, hist = read(engine, fetch)
    by = {(s, k): int(n) for s, k, n in groups}
    return RunStats(
        by_status_kind=by,
        queue_depth=sum(n for (s, _), n in by.items() if s == "queued"),
        claims=int(claims),
        solve_buckets=[(b, int(c or 0)) for b, c in zip(SOLVE_BUCKETS_S, hist[2:])],
        solve_count=int(hist[0] or 0),
        solve_sum_s=float(hist[1] or 0.0),
        live_workers=len(live_workers(engine)),
    )
