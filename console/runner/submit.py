"""Submitting background runs from a caller that must return at once.

    ensure_worker(db, *, idle_exit_s=None (DETACHED_IDLE_EXIT_S), concurrency=1) -> int | None
        pid of a detached worker spawned now, or None when a live worker already serves `db`.
    enqueue_background(db, kind, *, snapshot=None, limits=None, limits_name=None,
                       options=None, problem_yaml=None, problem_name=None,
                       spawn_worker=True) -> int
        queue a run (nothing is solved in the caller's process) and make sure a worker runs it.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

# A spawned worker stays this long with nothing queued, running or scheduled.
DETACHED_IDLE_EXIT_S = float(os.environ.get("FLEETCTL_WORKER_IDLE_EXIT_S", "300"))


def _side_file(db, suffix: str) -> Path:
    """A file beside a SQLite database; for a server database, one in the temp folder named by the URL's hash."""
    from console.store.urls import parse_db_target

    target = parse_db_target(db)
    if target.path is not None:
        return target.path.with_name(target.path.name + suffix)
    digest = hashlib.sha256(target.url.encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"fleetctl-{os.getuid()}-{digest}{suffix}"


@contextmanager
def _spawn_lock(db: str | Path) -> Iterator[None]:
    """Serialise check-then-spawn across processes so two callers do not both spawn."""
    path = _side_file(db, ".worker-spawn.lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    with os.fdopen(os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600), "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def worker_log_path(db: str | Path) -> Path:
    return _side_file(db, ".worker.log")


def ensure_worker(db: str | Path, *, idle_exit_s: Optional[float] = None, concurrency: int = 1) -> Optional[int]:
    """Spawn a detached worker for `db` unless a live one exists; return the new pid or None.

    The new worker is registered (state `starting`) before this returns, so a
    concurrent caller sees it and does not spawn a second one."""
    from console.store.runs import live_workers, register_worker, runs_engine
    from console.store.urls import DB_ENV, parse_db_target

    db = parse_db_target(db)  # a file path is made absolute: the worker runs in another directory
    if db.memory:
        raise ValueError("background runs need a database file (an in-memory database is private to one process)")
    engine = runs_engine(db)
    with _spawn_lock(db):
        if live_workers(engine):
            return None
        idle = DETACHED_IDLE_EXIT_S if idle_exit_s is None else idle_exit_s
        log = os.fdopen(os.open(worker_log_path(db), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "ab")
        # The database goes by environment, never argv: a URL's password must not show in `ps`.
        cmd = [sys.executable, "-m", "console.runner.worker", "--concurrency", str(concurrency),
               "--idle-exit", str(idle), "--detached"]
        env = {**os.environ, DB_ENV: db.spawn_target}
        proc = subprocess.Popen(cmd, start_new_session=True, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                close_fds=True, cwd=str(Path(__file__).resolve().parents[2]), env=env)
        log.close()
        register_worker(engine, proc.pid, concurrency=concurrency, state="starting", detached=True)
        return proc.pid


def enqueue_background(db: str | Path, kind: str, *, snapshot=None, limits=None, limits_name: Optional[str] = None,
                       options: Optional[dict] = None, problem_yaml: Optional[str] = None,
                       problem_name: Optional[str] = None, spawn_worker: bool = True) -> int:
    """Queue a run on `db` and make sure a worker will execute it; return the run id."""
    from console.runner.dispatch import check_options
    from console.store.runs import enqueue_run, runs_engine

    options = {k: v for k, v in (options or {}).items() if v is not None}
    problems = check_options(kind, options)
    if problems:
        raise ValueError("; ".join(problems))
    engine = runs_engine(db)
    run_id = enqueue_run(engine, kind, snapshot=snapshot, limits=limits, limits_name=limits_name, options=options,
                         problem_yaml=problem_yaml, problem_name=problem_name)
    if spawn_worker:
        ensure_worker(db)
    return run_id


def wait_for_run(db: str | Path, run_id: int, timeout_s: float = 60.0, poll_s: float = 0.1):
    """Block until a run ends (tests, scripts); returns its final RunView."""
    from console.store.runs import get_run, runs_engine

    engine = runs_engine(db)
    deadline = time.monotonic() + timeout_s
    while True:
        view = get_run(engine, run_id)
        if view is not None and view.terminal:
            return view
        if time.monotonic() > deadline:
            raise TimeoutError(f"run {run_id} still {view.status if view else 'missing'} after {timeout_s} s")
        time.sleep(poll_s)
