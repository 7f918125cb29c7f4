"""Run linear models through HiGHS in separate, killable worker processes.

highspy cannot be imported next to ortools (NOTES.md), and a solver's own time limit
is not a deadline, so every solve goes to `highs_worker.py` in a child process.
Workers are kept and reused (starting one costs an interpreter plus numpy and
highspy); a worker that overruns its deadline, dies, or whose caller cancels, is
killed and replaced next time.

The parent and the worker talk over two dedicated pipes passed as file descriptors,
never over stdin/stdout: highspy 1.16 prints a banner to fd 1 (NOTES.md), and any
library may print. The worker points fd 1 at /dev/null before importing anything.
Every read and write has a deadline and checks that the worker is still alive.
"""

from __future__ import annotations

import atexit
import os
import pickle
import select
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Optional

from engine.capacity.linear import LinearModel
from engine.progress import Cancellation

WORKER = Path(__file__).with_name("highs_worker.py")
GRACE_S = 10.0             # HiGHS's own time limit is not a deadline: it gets this much longer
NO_LIMIT_DEADLINE_S = 6 * 3600.0  # a solve with no time limit still ends (a live but stuck worker)
START_DEADLINE_S = 120.0   # handing the job over (the worker is importing numpy and highspy meanwhile)
SLICE_S = 0.5              # how often a wait checks that the worker is alive
CLOSE_WAIT_S = 5.0


class SolverFailure(RuntimeError):
    """The solver process died or produced no readable answer (not a user error)."""


class _Timeout(Exception):
    pass


def unknown_result() -> dict:
    return {"status": "unknown", "x": None, "objective": None, "bound": None, "seconds": 0.0}


def _command(job_fd: int, reply_fd: int) -> list[str]:
    """The worker's command line (-I: no user site, no PYTHON* variables, no cwd on sys.path)."""
    return [sys.executable, "-I", str(WORKER), str(job_fd), str(reply_fd), str(os.getpid())]


class _Worker:
    def __init__(self) -> None:
        self.owner = os.getpid()  # after a fork, the child must not talk over its parent's pipes
        job_r, self.job_w = os.pipe()
        self.reply_r, reply_w = os.pipe()
        try:
            self.proc = subprocess.Popen(_command(job_r, reply_w), pass_fds=(job_r, reply_w),
                                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL, close_fds=True)
        except BaseException:
            for fd in (self.job_w, self.reply_r):
                os.close(fd)
            raise
        finally:
            os.close(job_r)
            os.close(reply_w)
        os.set_blocking(self.job_w, False)

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        if self.alive:
            self.proc.kill()
        try:
            self.proc.wait(timeout=CLOSE_WAIT_S)  # SIGKILL: only a process stuck in the kernel outlives this
        except subprocess.TimeoutExpired:
            pass
        self._close_fds()

    def close(self) -> None:
        """Ask the worker to stop (end of its job pipe); kill it if it does not."""
        self._close_fds()
        try:
            self.proc.wait(timeout=CLOSE_WAIT_S)
        except subprocess.TimeoutExpired:
            self.kill()

    def _close_fds(self) -> None:
        for name in ("job_w", "reply_r"):
            fd = getattr(self, name)
            if fd is not None:
                setattr(self, name, None)
                try:
                    os.close(fd)
                except OSError:
                    pass

    def call(self, job: dict, timeout: float) -> dict:
        """Send `job`, wait for the reply; _Timeout after `timeout` s, SolverFailure if the worker dies."""
        data = pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL)
        started = time.monotonic()
        self._write(len(data).to_bytes(8, "little") + data, started + max(timeout, START_DEADLINE_S))
        deadline = started + timeout
        head = self._read(8, deadline)
        return pickle.loads(self._read(int.from_bytes(head, "little"), deadline))

    def _wait_for(self, fd: int, writing: bool, deadline: float) -> None:
        """Until `fd` is ready, in slices, checking the worker is alive; _Timeout at the deadline."""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise _Timeout()
            r, w, _ = select.select([] if writing else [fd], [fd] if writing else [], [], min(left, SLICE_S))
            if r or w:
                return
            if not self.alive:
                raise SolverFailure(f"HiGHS worker exited (code {self.proc.returncode})")

    def _write(self, data: bytes, deadline: float) -> None:
        if self.job_w is None:
            raise SolverFailure("HiGHS worker is closed")
        view = memoryview(data)
        while view:
            self._wait_for(self.job_w, True, deadline)
            try:
                n = os.write(self.job_w, view[: 1 << 20])
            except BlockingIOError:
                continue
            view = view[n:]

    def _read(self, n: int, deadline: float) -> bytes:
        if self.reply_r is None:
            raise SolverFailure("HiGHS worker is closed")
        chunks, got = [], 0
        while got < n:
            self._wait_for(self.reply_r, False, deadline)
            chunk = os.read(self.reply_r, min(n - got, 1 << 20))
            if not chunk:
                raise SolverFailure(f"HiGHS worker exited (code {self.proc.poll()})")
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)


_idle: list[_Worker] = []
_lock = threading.Lock()


def _take() -> _Worker:
    with _lock:
        mine = [w for w in _idle if w.owner == os.getpid()]
        while mine:
            w = mine.pop()
            _idle.remove(w)
            if w.alive:
                return w
            w.kill()  # reap it and close its pipes
    return _Worker()


def _give_back(w: _Worker) -> None:
    with _lock:
        _idle.append(w)


@atexit.register
def shutdown_workers() -> None:
    """Stop the idle workers (they are restarted on demand)."""
    with _lock:
        workers = [w for w in _idle if w.owner == os.getpid()]
        for w in workers:
            _idle.remove(w)
    for w in workers:
        w.close()


def solve_models(
    models: list[LinearModel],
    time_limit: Optional[float] = None,
    cancellation: Optional[Cancellation] = None,
    threads: int = 0,
) -> list[dict]:
    """Solve each model (in order, one shared deadline); one result dict per model.

    A result has `status` (optimal | feasible | infeasible | unknown), `x` (column
    values or None), `objective`, `bound` and `seconds`.
    """
    if not models:
        return []
    return _run({"models": [m.rowwise() for m in models]}, len(models), time_limit, cancellation, threads)


def solve_rhs_batch(
    model: LinearModel,
    rows,
    lowers,
    uppers,
    time_limit: Optional[float] = None,
    cancellation: Optional[Cancellation] = None,
    threads: int = 0,
) -> list[dict]:
    """Solve `model` once per right-hand side: rows `rows` get bounds lowers[k], uppers[k]."""
    if len(lowers) == 0:
        return []
    job = {"rhs_batch": {"model": model.rowwise(), "rows": rows, "lower": lowers, "upper": uppers}}
    return _run(job, len(lowers), time_limit, cancellation, threads)


def deadline_s(time_limit: Optional[float]) -> float:
    """How long the parent waits for a reply: the limit plus a grace period, or a generous default."""
    return NO_LIMIT_DEADLINE_S if time_limit is None else time_limit + GRACE_S


def _run(job: dict, n: int, time_limit, cancellation, threads) -> list[dict]:
    job.update(time_limit=time_limit, mip_rel_gap=0.0, threads=threads)  # gap 0: equal optima, not "within 0.01%"
    if cancellation is not None and cancellation.cancelled:
        return [unknown_result() for _ in range(n)]
    worker = _take()
    busy = [True]  # the hook must not kill this worker once it is back in the pool
    if cancellation is not None:
        cancellation.on_cancel(_killer(worker, busy))
    try:
        reply = worker.call(job, deadline_s(time_limit))
    except _Timeout:
        worker.kill()
        return [unknown_result() for _ in range(n)]
    except (SolverFailure, OSError, EOFError, pickle.UnpicklingError) as exc:
        worker.kill()
        if cancellation is not None and cancellation.cancelled:
            return [unknown_result() for _ in range(n)]
        raise SolverFailure(f"HiGHS worker failed: {exc}") from None
    except BaseException:  # KeyboardInterrupt mid-solve: the worker's state is unknown
        worker.kill()
        raise
    busy[0] = False
    _give_back(worker)
    if "error" in reply:
        raise SolverFailure(f"HiGHS worker error: {reply['error']}")
    return reply["results"]


def _killer(worker: _Worker, busy: list) -> Callable[[], None]:
    def kill() -> None:
        if busy[0] and worker.alive:
            worker.proc.kill()  # the waiting thread sees the pipe close and reaps it
    return kill
