"""Run linear models through HiGHS in a separate, killable process.

highspy cannot be imported next to ortools (NOTES.md), and a solver's own time limit
is not a deadline, so every solve goes through `highs_worker.py` in a child process:
HiGHS gets the time limit, and the child is killed if it overruns it by more than a
grace period or if the caller cancels.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

from engine.capacity.linear import LinearModel
from engine.progress import Cancellation

WORKER = Path(__file__).with_name("highs_worker.py")
GRACE_S = 10.0


class SolverFailure(RuntimeError):
    """The solver process died or produced no readable answer (not a user error)."""


def unknown_result() -> dict:
    return {"status": "unknown", "x": None, "objective": None, "bound": None, "seconds": 0.0}


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
    job = {"models": [m.rowwise() for m in models]}
    return _run(job, len(models), time_limit, cancellation, threads)


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
    models = range(n)
    job.update(time_limit=time_limit, mip_rel_gap=0.0, threads=threads)  # gap 0: equal optima, not "within 0.01%"
    payload = pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL)
    proc = subprocess.Popen(
        [sys.executable, str(WORKER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    if cancellation is not None:
        cancellation.on_cancel(proc.kill)
    timeout = None if time_limit is None else time_limit + GRACE_S
    started = time.perf_counter()
    try:
        out, err = proc.communicate(payload, timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return [unknown_result() for _ in models]
    if cancellation is not None and cancellation.cancelled:
        return [unknown_result() for _ in models]
    if proc.returncode != 0:
        tail = err.decode("utf-8", "replace").strip().splitlines()[-5:]
        raise SolverFailure(f"HiGHS worker exited with code {proc.returncode} after {time.perf_counter() - started:.1f} s: " + " | ".join(tail))
    try:
        return pickle.loads(out)
    except Exception as exc:  # noqa: BLE001 - a corrupt answer is a solver failure, reported as such
        raise SolverFailure(f"unreadable answer from the HiGHS worker: {exc}") from None
