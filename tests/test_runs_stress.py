"""Many runs, several workers and several processes on one database: nothing lost, nothing locked."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import time

from console.store.runs import enqueue_run, list_runs, run_progress, runs_engine
from tests.runs_support import ROOT, start_worker, stop_worker, toy_limits, toy_snapshot, wait_until

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


BARRIER = textwrap.dedent("""
    import os, pathlib, sys, time
    def barrier():
        # Everyone imported: start together, so the database work really overlaps.
        here = pathlib.Path(os.environ["RUNS_BARRIER"])
        (here / f"ready-{os.getpid()}").touch()
        while not (here / "go").exists():
            time.sleep(0.01)
""")

WRITER = BARRIER + textwrap.dedent("""
    import sys
    from engine.progress import ProgressEvent
    from console.store.runs import pump, runs_engine
    engine = runs_engine(sys.argv[1])
    run_id, n = int(sys.argv[2]), int(sys.argv[3])
    barrier()
    for i in range(n):
        pump(engine, run_id, [ProgressEvent(elapsed_s=i, objective=1000 - i, bound=i)])
""")

READER = BARRIER + textwrap.dedent("""
    import sys, time
    from console.store.runs import get_run, list_runs, run_progress, runs_engine
    engine = runs_engine(sys.argv[1])
    barrier()
    end = time.monotonic() + float(sys.argv[2])
    reads = 0
    while time.monotonic() < end:
        for r in list_runs(engine):
            get_run(engine, r.id)
            run_progress(engine, r.id)
            reads += 1
    print(reads)
""")

CLAIMER = BARRIER + textwrap.dedent("""
    import os, sys
    from console.store.runs import claim_next_run, runs_engine
    engine = runs_engine(sys.argv[1])
    got = []
    barrier()
    while (rid := claim_next_run(engine, os.getpid())) is not None:
        got.append(rid)
    print(" ".join(map(str, got)))
""")


def _py(code: str, barrier_dir, *args) -> subprocess.Popen:
    env = {**os.environ, "RUNS_BARRIER": str(barrier_dir)}
    return subprocess.Popen([sys.executable, "-c", code, *map(str, args)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def _release(barrier_dir, procs) -> None:
    wait_until(lambda: len(list(barrier_dir.glob("ready-*"))) == len(procs) or any(p.poll() is not None for p in procs),
               60, what="all processes ready")
    (barrier_dir / "go").touch()


def test_concurrent_writers_and_readers_never_see_database_is_locked(tmp_path):
    db = tmp_path / "fleet.db"
    engine = runs_engine(db)
    n_events = 100
    run_ids = [enqueue_run(engine, "maintenance", snapshot=toy_snapshot()) for _ in range(3)]
    # Each event is its own write transaction (the executor batches; this is the worst case).
    procs = [_py(WRITER, tmp_path, db, rid, n_events) for rid in run_ids] + [_py(READER, tmp_path, db, 3) for _ in range(2)]
    _release(tmp_path, procs)
    outs = [p.communicate(timeout=60) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err
        assert "locked" not in err.lower()
    assert all(int(out) > 0 for out, _ in outs[len(run_ids):])
    for rid in run_ids:
        events = run_progress(engine, rid)
        assert len(events) == n_events
        assert [e.elapsed_s for e in events] == list(range(n_events))  # in order, none lost


def test_concurrent_claims_hand_out_every_run_exactly_once(tmp_path):
    db = tmp_path / "fleet.db"
    engine = runs_engine(db)
    ids = [enqueue_run(engine, "maintenance", snapshot=toy_snapshot()) for _ in range(100)]
    procs = [_py(CLAIMER, tmp_path, db) for _ in range(3)]
    _release(tmp_path, procs)
    claimed: list[int] = []
    per_process = []
    for p in procs:
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
        per_process.append([int(x) for x in out.split()])
        claimed += per_process[-1]
    assert sorted(claimed) == ids  # no run twice, none missing
    assert sum(1 for c in per_process if c) >= 2, "the claimers did not overlap"
