"""Crash safety: a killed worker or executor leaves a `failed` run with a reason and an intact database."""

from __future__ import annotations

import os
import signal
import sqlite3
import time

from console.store.run_liveness import owner_death_reason, pid_alive, this_boot, this_host
from console.store.runs import claim_next_run, enqueue_run, get_run, list_runs, recover_dead_runs, runs_engine
from tests.runs_support import demo_limits, demo_snapshot, start_worker, stop_worker, toy_snapshot, wait_until


def _long_run(engine) -> int:
    return enqueue_run(engine, "maintenance", snapshot=demo_snapshot(), limits=demo_limits(),
                       options={"solver": "cp-sat", "time_limit_s": 60, "workers": 1})


def _integrity(db) -> str:
    with sqlite3.connect(db) as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]


def test_kill_9_of_an_executor_then_of_the_worker_each_fail_their_run_with_the_reason(tmp_path):
    db = tmp_path / "fleet.db"
    engine = runs_engine(db)
    worker = start_worker(db)
    try:
        # 1. The solver's process dies: only that run fails; the worker carries on.
        first = _long_run(engine)
        running = wait_until(lambda: (v := get_run(engine, first)).executor_pid and v, 30, what="executor started")
        assert running.status == "running" and running.worker_pid == worker.pid
        os.kill(running.executor_pid, signal.SIGKILL)
        failed = wait_until(lambda: (v := get_run(engine, first)).terminal and v, 10, what="the run to fail")
        assert failed.status == "failed" and "SIGKILL" in failed.error
        assert worker.poll() is None

        # 2. The worker itself dies: its executor dies with it and the next read fails the run.
        second = _long_run(engine)
        running = wait_until(lambda: (v := get_run(engine, second)).executor_pid and v, 30, what="executor started")
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(10)
        wait_until(lambda: not pid_alive(running.executor_pid), 10, what="the executor to die with its worker")
        view = next(r for r in list_runs(engine) if r.id == second)  # any read recovers
        assert view.status == "failed"
        assert f"worker process {worker.pid}" in view.error and "no longer alive" in view.error
        assert view.finished_at is not None and view.plan_status is None
        assert _integrity(db) == "ok"
    finally:
        stop_worker(worker)
    # 3. The database keeps working: a new worker runs a new run; verdicts stay.
    worker2 = start_worker(db)
    try:
        third = enqueue_run(engine, "maintenance", snapshot=toy_snapshot(), options={"solver": "heuristic"})
        final = wait_until(lambda: (v := get_run(engine, third)).terminal and v, 30, what="next run")
        assert final.status == "succeeded"
        assert [get_run(engine, r).status for r in (first, second)] == ["failed", "failed"]
    finally:
        stop_worker(worker2)


def test_a_run_claimed_by_a_process_that_is_gone_is_failed_on_the_next_read(tmp_path):
    engine = runs_engine(tmp_path / "fleet.db")
    run_id = enqueue_run(engine, "maintenance", snapshot=toy_snapshot())
    ghost = os.fork()
    if ghost == 0:
        os._exit(0)
    os.waitpid(ghost, 0)  # a pid that certainly is not alive any more
    assert claim_next_run(engine, ghost) == run_id
    assert get_run(engine, run_id).status == "failed"  # get_run recovers before it reads
    assert "no longer alive" in get_run(engine, run_id).error
    assert recover_dead_runs(engine) == []


def test_death_reasons_cover_restart_and_silence():
    now = time.time()
    me = os.getpid()
    assert owner_death_reason(me, this_host(), this_boot(), now, now) is None
    assert "restarted" in owner_death_reason(me, this_host(), "another-boot", now, now)
    assert "no heartbeat" in owner_death_reason(me, this_host(), this_boot(), now - 3600, now)
    assert owner_death_reason(123, "other-host", "b", now - 5, now) is None  # remote and fresh: trust it
    assert "no heartbeat" in owner_death_reason(123, "other-host", "b", now - 3600, now)
