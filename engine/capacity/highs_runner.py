"""Run linear models through HiGHS in separate, killable worker processes.

highspy cannot be imported next to ortools (NOTES.md), and a solver's own time limit
is not a deadline, so every solve goes to `highs_worker.py` in a child process.
Workers are kept and reused (starting one costs an interpreter plus numpy and
highspy); a worker that overruns its deadline by more than a grace period, or whose
caller cancels, is killed and replaced next time.
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
from typing import Optional

from engine.capacity.linear import LinearModel
from engine.progress import Cancellation

WORKER = Path(__file__).with_name("highs_worker.py")
GRACE_S = 10.0


class SolverFailure(RuntimeError):
    """The solver process died or produced no readable answer (not a user error)."""


class _Timeout(Exception):
    pass


def unknown_result() -> dict:
    return {"status": "unknown", "x": None, "objective": None, "bound": None, "seconds": 0.0}


class _Worker:
    def __init__(self) -> None:
        self.owner = os.getpid()  # after a fork, the child must not talk over its parent's pipes
        self.proc = subprocess.Popen(
            [sys.executable, "-I", str(WORKER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        if self.alive:
            self.proc.kill()
        self.proc.wait()

    def close(self) -> None:
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=5)
        except Exception:  # noqa: BLE001 - best effort at exit
            self.kill()

    def call(self, job: dict, timeout: Optional[float]) -> dict:
        data = pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL)
        self.proc.stdin.write(len(data).to_bytes(8, "little") + data)
        self.proc.stdin.flush()
        deadline = None if timeout is None else time.monotonic() + timeout
        head = self._read(8, deadline)
        return pickle.loads(self._read(int.from_bytes(head, "little"), deadline))

    def _read(self, n: int, deadline: Optional[float]) -> bytes:
        fd = self.proc.stdout.fileno()
        chunks, got = [], 0
        while got < n:
            wait = None if deadline is None else max(0.0, deadline - time.monotonic())
            ready, _, _ = select.select([fd], [], [], wait)
            if not ready:
                raise _Timeout()
            chunk = os.read(fd, min(n - got, 1 << 20))
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


def _run(job: dict, n: int, time_limit, cancellation, threads) -> list[dict]:
    job.update(time_limit=time_limit, mip_rel_gap=0.0, threads=threads)  # gap 0: equal optima, not "within 0.01%"
    if cancellation is not None and cancellation.cancelled:
        return [unknown_result() for _ in range(n)]
    worker = _take()
    busy = [True]  # the hook must not kill this worker once it is back in the pool
    if cancellation is not None:
        cancellation.on_cancel(lambda: worker.kill() if busy[0] else None)
    timeout = None if time_limit is None else time_limit + GRACE_S
    try:
        reply = worker.call(job, timeout)
    except _Timeout:
        worker.kill()
        return [unknown_result() for _ in range(n)]
    except (SolverFailure, BrokenPipeError, OSError) as exc:
        worker.kill()
        if cancellation is not None and cancellation.cancelled:
            return [unknown_result() for _ in range(n)]
        raise SolverFailure(f"HiGHS worker failed: {exc}") from None
    busy[0] = False
    _give_back(worker)
    if "error" in reply:
        raise SolverFailure(f"HiGHS worker error: {reply['error']}")
    return reply["results"]
