"""Executes one claimed run inside its own child process.

The solver runs in the main thread of the child; a pump thread does the
database I/O in one short transaction as soon as the solver reports something
(at most every WRITE_EVERY_S) and otherwise every PUMP_INTERVAL_S: it appends
the progress events the solver reported, stores the latest validated incumbent
plan (the engine hands one out at most every ~1 s; the run stays `running`)
and reads the cancel-requested flag. When the flag is set it calls `Cancellation.cancel()`,
so CP-SAT's `stop_search()` ends the search keeping its best plan, and the run
ends `cancelled` with that plan.

The child dies with its worker (PR_SET_PDEATHSIG on Linux, a parent-pid check
elsewhere): a killed worker never leaves an orphan solver writing results
for a run the store has already declared failed.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import traceback

from engine.progress import Cancellation, ProgressEvent

PUMP_INTERVAL_S = 0.3  # the cancel flag is read at least this often
# A report wakes the pump at once (it used to wait up to PUMP_INTERVAL_S, on top of the engine's own
# throttling): writes stay at most this frequent, so a chatty solver costs at most ~20 small transactions a second.
WRITE_EVERY_S = 0.05


def _die_with_parent(parent_pid: int) -> None:
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except OSError:
            pass
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(70)


class _Pump(threading.Thread):
    """Progress out, heartbeat out, cancel flag in."""

    def __init__(self, engine, run_id: int, cancel: Cancellation, parent_pid: int):
        super().__init__(name=f"run-{run_id}-pump", daemon=True)
        self.engine, self.run_id, self.cancel, self.parent_pid = engine, run_id, cancel, parent_pid
        self._pending: list[ProgressEvent] = []
        self._plan = None  # the latest incumbent not yet stored (a validated plan object)
        self._lock = threading.Lock()
        self._halt = threading.Event()
        self._wake = threading.Event()

    def on_progress(self, event: ProgressEvent) -> None:
        with self._lock:
            self._pending.append(event)
        self._wake.set()

    def on_plan(self, plan) -> None:
        """An incumbent the engine validated: only the latest is kept for the next write."""
        with self._lock:
            self._plan = plan
        self._wake.set()

    def flush(self) -> None:
        from console.store.runs import cancel_requested, pump

        with self._lock:
            events, self._pending = self._pending, []
            plan, self._plan = self._plan, None
        body = plan.model_dump(mode="json", by_alias=True, exclude_none=True) if plan is not None else None
        # Progress and incumbent in one write when there are some; otherwise only a read of the flag.
        # (The heartbeat is the worker's job: see console.store.runs.touch_runs.)
        if events or body is not None:
            flag = pump(self.engine, self.run_id, events, heartbeat=False, plan=body)
        else:
            flag = cancel_requested(self.engine, self.run_id)
        if flag and not self.cancel.cancelled:
            self.cancel.cancel()

    def run(self) -> None:
        while True:
            self._wake.wait(PUMP_INTERVAL_S)  # a report, a stop, or time to read the cancel flag again
            self._wake.clear()
            if self._halt.is_set():
                return
            if os.getppid() != self.parent_pid:
                os._exit(70)  # worker gone: the store marks the run failed
            try:
                self.flush()
            except Exception:  # noqa: BLE001 - a transient store error must not kill the solve
                traceback.print_exc(file=sys.stderr)
            if self._halt.wait(WRITE_EVERY_S):  # (reports meanwhile are written together next turn)
                return

    def stop(self) -> None:
        self._halt.set()
        self._wake.set()
        self.join(timeout=5)


def _error_text(exc: BaseException) -> str:
    from engine.documents import DocumentError
    from engine.violations import PlanRejected

    if isinstance(exc, (PlanRejected, DocumentError)):
        return str(exc)
    tail = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)[-3:]).strip()
    return f"{type(exc).__name__}: {exc}\n{tail}"


def execute_run(db: str, run_id: int, parent_pid: int, stopped=None) -> None:
    """Child-process entry point: solve run `run_id` and record its outcome. `stopped` (an Event the worker
    reads): set once a cancelled search has stopped, while the kept plan is validated and stored."""
    _die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C goes to the worker, which cancels properly
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the worker's handler inherited by fork
    from console.runner.dispatch import SOLVE, RunInputs, outcome
    from console.store.runs import finish_run, get_run, run_input, runs_engine, set_executor

    engine = runs_engine(db, create=False)  # the worker created the schema
    set_executor(engine, run_id, os.getpid())
    cancel = Cancellation()
    pump = _Pump(engine, run_id, cancel, parent_pid)
    status, plan, error = "failed", None, None
    try:
        view = get_run(engine, run_id, recover=False)
        if view is None or view.status != "running":
            return
        media, body = run_input(engine, view.input_key)
        inputs = RunInputs.of(view, media, body)
        if view.cancel_requested:
            cancel.cancel()
        pump.start()

        def on_plan(plan) -> None:
            pump.on_plan(plan)
            if cancel.cancelled and stopped is not None:
                stopped.set()  # a plan handed out after the cancel: the engine's last, its search is over

        plan = SOLVE[view.kind](inputs, pump.on_progress, cancel, on_plan=on_plan)
        status, error = outcome(plan, cancel.cancelled)
    except BaseException as exc:  # noqa: BLE001 - every failure is recorded on the run
        plan, error = None, _error_text(exc)
        status = "cancelled" if cancel.cancelled and not _is_solver_bug(exc) else "failed"
    finally:
        if stopped is not None:
            stopped.set()
        if pump.is_alive():
            pump.stop()
        try:
            pump.flush()
        except Exception:  # noqa: BLE001
            traceback.print_exc(file=sys.stderr)
    finish_run(engine, run_id, status, plan=plan, error=error, expect_pid=parent_pid)
    engine.dispose()


def _is_solver_bug(exc: BaseException) -> bool:
    from engine.violations import PlanRejected

    return isinstance(exc, PlanRejected)
