"""The worker: claims queued runs and executes each in a child process.

Why a child process per run (not a thread): a solver that crashes, leaks or
hangs (a native segfault, CBC ignoring its time limit, no cancel handle in
CBC at all) takes down only its child; the worker records why and carries on,
and can kill the child outright when a cancel or a hard deadline is not
honoured. Children are forked from a worker that has already imported the
solvers, so a run starts in milliseconds; capacity runs start in a fresh
interpreter instead (HiGHS and OR-Tools cannot share a process).

Loop (every POLL_S): reap finished children, enforce cancel grace and hard
deadlines, heartbeat, recover runs of dead workers, fire due schedules, claim
runs while slots are free.

    python -m console.runner.worker --db DB [--concurrency N] [--idle-exit S]

With FLEETCTL_WORKER_OWNER_PID set (the test suite sets it to pytest's pid; detached workers inherit
it through the CLI that spawned them) the worker stops, as on SIGTERM, once that process is gone:
no worker a test started outlives the test run by its idle time.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from typing import Optional

from console.store.run_liveness import pid_alive

POLL_S = 0.1
HOUSEKEEPING_S = 1.0
CANCEL_GRACE_S = 10.0  # a solver that ignores a cancel this long is killed
# ...but one whose search has stopped (it said so, see execute_run) is only validating and storing the plan it
# keeps: seconds at 100k VMs on a loaded machine, and killing it then lost the cancel's notes on that plan.
STORE_GRACE_S = 60.0
STOP_GRACE_S = 10.0
OWNER_ENV = "FLEETCTL_WORKER_OWNER_PID"


def hard_deadline_s(time_limit_s: float) -> float:
    """Wall time after which a run is killed: solver time limits are not deadlines (NOTES.md)."""
    return 2 * time_limit_s + 60


@dataclass
class _Child:
    run_id: int
    kind: str
    process: multiprocessing.Process
    started: float
    deadline: float
    cancel_seen_at: Optional[float] = None
    killed_reason: Optional[tuple[str, str]] = field(default=None)
    stopped: Optional[object] = None  # a multiprocessing Event the child sets once its search has stopped


def _exit_reason(exitcode: Optional[int]) -> str:
    if exitcode is None:
        return "executor process vanished"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        return f"executor process was killed by {name}"
    return f"executor process exited with code {exitcode} before recording a result"


class Worker:
    def __init__(self, db: str, concurrency: int = 1, *, idle_exit_s: Optional[float] = None, detached: bool = False,
                 log=None):
        from console.store.urls import parse_db_target

        self.db, self.concurrency = parse_db_target(db).spawn_target, max(1, concurrency)  # a path or URL, unmasked
        self.idle_exit_s, self.detached = idle_exit_s, detached
        self.children: dict[int, _Child] = {}
        self.stopping = False
        self.pid = os.getpid()
        self.log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
        self._fork = multiprocessing.get_context("fork") if sys.platform != "win32" else multiprocessing.get_context("spawn")
        self._spawn = multiprocessing.get_context("spawn")
        owner = os.environ.get(OWNER_ENV, "").strip()
        self.owner_pid = int(owner) if owner.isdigit() and int(owner) != self.pid else None

    # -- lifecycle ---------------------------------------------------------

    def run(self) -> int:
        from console.runner.dispatch import warm_imports
        from console.store.runs import register_worker, runs_engine

        warm_imports()
        self.engine = runs_engine(self.db)
        self.worker_id = register_worker(self.engine, self.pid, concurrency=self.concurrency, detached=self.detached)
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_stop_signal)
        from console.store.urls import mask_url

        self.log(f"worker {self.pid}: serving {mask_url(self.db)} with concurrency {self.concurrency}")
        self._last_housekeeping, self._idle_since = 0.0, time.monotonic()
        try:
            while True:
                try:
                    if self._step():
                        break
                except Exception as exc:  # noqa: BLE001 - a store hiccup must not orphan the children
                    import traceback

                    self.log(f"worker {self.pid}: error in the loop (retrying in 1 s): {exc}")
                    traceback.print_exc(file=sys.stderr)
                    time.sleep(1.0)
        finally:
            from console.store.runs import worker_heartbeat

            try:
                worker_heartbeat(self.engine, self.worker_id, state="stopped")
            except Exception:  # noqa: BLE001 - readers detect the dead pid anyway
                pass
        return 0

    def _step(self) -> bool:
        """One turn of the loop; True when the worker should exit."""
        self._reap()
        self._police()
        now = time.monotonic()
        if now - self._last_housekeeping >= HOUSEKEEPING_S:
            self._housekeeping()
            self._last_housekeeping = now
            if self.owner_pid is not None and not self.stopping and not pid_alive(self.owner_pid):
                self.stopping = True
                self.log(f"worker {self.pid}: its owner {self.owner_pid} ({OWNER_ENV}) is gone: stopping")
        if self.stopping:
            self._stop_children()
            return not self.children
        if self._claim():
            self._idle_since = time.monotonic()
            return False
        if self.children:
            self._idle_since = time.monotonic()
        elif self.idle_exit_s is not None and time.monotonic() - self._idle_since >= self.idle_exit_s:
            if self._nothing_to_wait_for():
                self.log(f"worker {self.pid}: idle for {self.idle_exit_s:.0f} s, exiting")
                return True
            self._idle_since = time.monotonic()
        self._wait(POLL_S)
        return False

    def _wait(self, timeout: float) -> None:
        """Sleep, but wake as soon as a child exits (so the next run starts at once)."""
        if self.children:
            from multiprocessing.connection import wait

            wait([c.process.sentinel for c in self.children.values()], timeout=timeout)
        else:
            time.sleep(timeout)

    def _on_stop_signal(self, signum, _frame) -> None:
        if self.stopping:
            return
        self.stopping = True
        self.log(f"worker {self.pid}: {signal.Signals(signum).name}: cancelling {len(self.children)} run(s) and stopping")

    def _nothing_to_wait_for(self) -> bool:
        from console.store.runs import count_runs
        from console.store.schedules import has_schedules

        return count_runs(self.engine, ("queued",)) == 0 and not has_schedules(self.engine)

    # -- claiming and starting -------------------------------------------------

    def _claim(self) -> bool:
        from console.store.runs import claim_next_run, count_runs, get_run

        if len(self.children) >= self.concurrency or count_runs(self.engine, ("queued",)) == 0:
            return False
        run_id = claim_next_run(self.engine, self.pid)
        if run_id is None:
            return False
        try:
            view = get_run(self.engine, run_id, recover=False)
            limit = view.options.get("time_limit_s") or ((view.limits or {}).get("solve") or {}).get("time_limit_s") or 30
            self._start(run_id, view.kind, hard_deadline_s(float(limit)))
        except Exception as exc:  # noqa: BLE001 - a claimed run is never left running without a process
            from console.store.runs import finish_run

            finish_run(self.engine, run_id, "failed", error=f"the worker could not start the run: {exc}", expect_pid=self.pid)
            raise
        return True

    def _start(self, run_id: int, kind: str, deadline_s: float) -> None:
        from console.runner.dispatch import FRESH_INTERPRETER_KINDS
        from console.runner.executor import execute_run

        ctx = self._spawn if kind in FRESH_INTERPRETER_KINDS else self._fork
        # Never hand pooled SQLite connections to a forked child: close them first.
        self.engine.dispose()
        stopped = ctx.Event()
        proc = ctx.Process(target=execute_run, args=(self.db, run_id, self.pid, stopped), name=f"fleetctl-run-{run_id}",
                           daemon=False)
        proc.start()
        now = time.monotonic()
        self.children[run_id] = _Child(run_id, kind, proc, now, now + deadline_s, stopped=stopped)
        self.log(f"worker {self.pid}: run {run_id} ({kind}) started in process {proc.pid}")

    # -- supervision ----------------------------------------------------------

    def _reap(self) -> None:
        from console.store.runs import finish_run

        for run_id, child in list(self.children.items()):
            if child.process.is_alive():
                continue
            child.process.join(timeout=5)  # it has exited: this only reaps it
            if child.killed_reason is not None:
                status, error = child.killed_reason
                if status == "cancelled" and _stored_plan_status(self.engine, run_id) is not None:
                    # the executor had stored a validated incumbent: that plan stays with the run, say so
                    error = (f"cancelled on request; the solver did not stop within {CANCEL_GRACE_S:.0f} s and was "
                             "killed; the best plan it had stored is kept")
            else:
                status, error = "failed", _exit_reason(child.process.exitcode)
            if child.process.exitcode != 0:  # killed: its CBC died with it (PR_SET_PDEATHSIG), not its files
                from engine.cbc import sweep_orphan_folders

                sweep_orphan_folders()
            # A no-op when the executor recorded its own outcome (the run is no longer running).
            if finish_run(self.engine, run_id, status, error=error, expect_pid=self.pid):
                self.log(f"worker {self.pid}: run {run_id} {status}: {error}")
            else:
                self.log(f"worker {self.pid}: run {run_id} ended")
            del self.children[run_id]

    def _police(self) -> None:
        """Kill children that ignore a cancel for CANCEL_GRACE_S or overrun their hard deadline."""
        now = time.monotonic()
        for child in self.children.values():
            if child.killed_reason is not None or not child.process.is_alive():
                continue
            grace = CANCEL_GRACE_S + (STORE_GRACE_S if child.stopped is not None and child.stopped.is_set() else 0.0)
            if child.cancel_seen_at is not None and now - child.cancel_seen_at > grace:
                child.killed_reason = ("cancelled", f"cancelled on request; the solver did not stop within "
                                       f"{CANCEL_GRACE_S:.0f} s and was killed, so no plan was kept")
                child.process.kill()
            elif now > child.deadline:
                child.killed_reason = ("failed", f"exceeded its hard deadline of {child.deadline - child.started:.0f} s "
                                       "(twice the time limit plus a minute) and was killed")
                child.process.kill()

    def _housekeeping(self) -> None:
        from console.store.runs import cancel_requested, recover_dead_runs, touch_runs, worker_heartbeat
        from console.store.schedules import fire_due_schedules

        worker_heartbeat(self.engine, self.worker_id)
        if self.children:
            touch_runs(self.engine, self.pid, list(self.children))
        for run_id in recover_dead_runs(self.engine):
            self.log(f"worker {self.pid}: run {run_id} marked failed (its worker died)")
        if not self.stopping:
            for run_id in fire_due_schedules(self.engine):
                self.log(f"worker {self.pid}: schedule fired run {run_id}")
        now = time.monotonic()
        for child in self.children.values():
            if child.cancel_seen_at is None and cancel_requested(self.engine, child.run_id):
                child.cancel_seen_at = now

    def _stop_children(self) -> None:
        from console.store.runs import request_cancel

        now = time.monotonic()
        for child in self.children.values():
            if child.cancel_seen_at is None:
                request_cancel(self.engine, child.run_id)
                child.cancel_seen_at = now - max(0.0, CANCEL_GRACE_S - STOP_GRACE_S)


def _stored_plan_status(engine, run_id: int):
    """The status of the plan stored on the run (an incumbent), or None when it has none."""
    from sqlalchemy import select

    from console.store.runs import RUNS

    with engine.connect() as conn:
        return conn.execute(select(RUNS.c.plan_status).where(RUNS.c.id == run_id)).scalar_one_or_none()


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m console.runner.worker", description="fleetctl run worker")
    parser.add_argument("--db", default=None, help="path or URL (default: $FLEETCTL_DB; spawned workers get it "
                        "by environment so that a URL's password never shows in argv)")
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--idle-exit", type=float, default=None, help="exit after this many idle seconds")
    parser.add_argument("--detached", action="store_true", help="spawned by ensure_worker (for the workers table)")
    args = parser.parse_args(argv)
    db = args.db or os.environ.get("FLEETCTL_DB")
    if not db:
        parser.error("--db or $FLEETCTL_DB is required")
    return Worker(db, args.concurrency, idle_exit_s=args.idle_exit, detached=args.detached).run()


if __name__ == "__main__":
    sys.exit(main())

