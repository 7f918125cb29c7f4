"""Many runs, several workers and several processes on one database: nothing lost, nothing locked."""

from __future__ import annotations

import os
import re
import time

from console.store.runs import enqueue_run, list_runs, run_progress, runs_engine
from tests.runs_support import start_worker, stop_worker, toy_limits, toy_snapshot, wait_until

N_RUNS = 100


def test_100_runs_with_2_workers_none_lost_none_taken_twice(tmp_path):
    db = tmp_path / "fleet.db"
    engine = runs_engine(db)
    ids = [enqueue_run(engine, "maintenance", snapshot=toy_snapshot(), limits=toy_limits(), options={"solver": "heuristic"})
           for _ in range(N_RUNS)]
    started = time.monotonic()
    workers = [start_worker(db), start_worker(db)]
    try:
        def all_done():
            runs = list_runs(engine, limit=N_RUNS + 10)
            return len(runs) == N_RUNS and all(r.terminal for r in runs) and runs

        runs = wait_until(all_done, 60, every=0.3, what=f"{N_RUNS} runs to finish")
    finally:
        for w in workers:
            stop_worker(w)
    elapsed = time.monotonic() - started
    assert sorted(r.id for r in runs) == sorted(ids)
    assert {r.status for r in runs} == {"succeeded"}, [(r.id, r.status, r.error) for r in runs if r.status != "succeeded"]
    assert all(r.objective == 20 for r in runs)  # the toy's optimum, each from its own plan
    by_worker = {w.pid: sum(r.worker_pid == w.pid for r in runs) for w in workers}
    assert sum(by_worker.values()) == N_RUNS and all(n > 0 for n in by_worker.values()), by_worker
    # Each run was started exactly once, by exactly one worker (from the workers' own logs).
    starts: list[int] = []
    for log in tmp_path.glob("fleet.db.worker-*.log"):
        starts += [int(m) for m in re.findall(r"run (\d+) \(maintenance\) started", log.read_text())]
    assert sorted(starts) == sorted(ids)
    assert elapsed < 60


# Concurrent processes are forked from the test (already warm), so they overlap at once;
# each opens its own engine. A barrier starts them together.

def _writer(db, run_id, n, barrier, results):
    from engine.progress import ProgressEvent
    from console.store.runs import pump

    engine = runs_engine(db)
    barrier.wait()
    for i in range(n):
        pump(engine, run_id, [ProgressEvent(elapsed_s=i, objective=1000 - i, bound=i)])
    results.put(("writer", run_id))


def _reader(db, seconds, barrier, results):
    from console.store.runs import get_run

    engine = runs_engine(db)
    barrier.wait()
    end, reads = time.monotonic() + seconds, 0
    while time.monotonic() < end:
        for r in list_runs(engine):
            get_run(engine, r.id)
            run_progress(engine, r.id)
            reads += 1
    results.put(("reader", reads))


def _claimer(db, barrier, results):
    from console.store.runs import claim_next_run

    engine = runs_engine(db)
    barrier.wait()
    got = []
    while (rid := claim_next_run(engine, os.getpid())) is not None:
        got.append(rid)
    results.put(("claimer", got))


def _run_forked(targets):
    """Run (function, args) pairs in forked processes; return what they put, or raise their failure."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    barrier, results = ctx.Barrier(len(targets)), ctx.Queue()
    procs = [ctx.Process(target=fn, args=(*args, barrier, results)) for fn, args in targets]
    for p in procs:
        p.start()
    for p in procs:
        p.join(90)
    assert [p.exitcode for p in procs] == [0] * len(procs), "a process failed (see its traceback above)"
    return [results.get(timeout=5) for _ in procs]


def test_concurrent_writers_readers_and_claimers_never_see_database_is_locked(tmp_path):
    """Three kinds of processes at once on one database: executors writing progress (one
    transaction per event, the worst case), readers polling like the console and the CLI,
    and workers claiming queued runs. No process fails (a "database is locked" would raise);
    every run is claimed exactly once; no event is lost."""
    from sqlalchemy import update

    from console.store.runs import RUNS, write

    db = tmp_path / "fleet.db"
    engine = runs_engine(db)
    n_events = 150
    writing = [enqueue_run(engine, "maintenance", snapshot=toy_snapshot()) for _ in range(3)]
    write(engine, lambda c: c.execute(update(RUNS).where(RUNS.c.id.in_(writing)).values(status="running",
                                                                                     worker_pid=os.getpid())))
    queued = [enqueue_run(engine, "maintenance", snapshot=toy_snapshot()) for _ in range(100)]
    engine.dispose()  # no pooled connection crosses the fork
    results = _run_forked([(_writer, (db, rid, n_events)) for rid in writing]
                          + [(_reader, (db, 2.0)) for _ in range(2)]
                          + [(_claimer, (db,)) for _ in range(3)])
    assert all(n > 0 for kind, n in results if kind == "reader")
    for rid in writing:
        events = run_progress(engine, rid)
        assert [e.elapsed_s for e in events] == list(range(n_events))  # in order, none lost
    claimed = [got for kind, got in results if kind == "claimer"]
    assert sorted(sum(claimed, [])) == queued  # no run twice, none missing
