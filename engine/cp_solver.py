"""Every CP-SAT solve of the engine goes through this module, so signals stay the caller's and
a cancel always stops the search.

By default CP-SAT installs its own SIGINT handler for the length of a solve. Called from a
worker thread, as every front-end does (NOTES.md), a Ctrl-C then aborted the whole process
with `std::bad_function_call` (exit 134) and no plan. The callers own signals: they call
`Cancellation.cancel()`, and `solve_cancellable` turns that into `stop_search()`, which ends
the search keeping its best solution.
"""

from __future__ import annotations

import threading
from typing import Optional

from engine.progress import Cancellation

RESTOP_S = 0.1


def new_cp_solver():
    """A `CpSolver` that never touches the process's signal handlers."""
    from ortools.sat.python import cp_model

    solver = cp_model.CpSolver()
    solver.parameters.catch_sigint_signal = False
    return solver


def solve_cancellable(solver, model, callback=None, cancel: Optional[Cancellation] = None) -> int:
    """`solver.solve(model, callback)`, stopped when `cancel` fires; UNKNOWN at once if it already has.

    A `stop_search()` that lands before the search has started is forgotten (measured: a cancel
    during the model's loading let cp-sat-fixed run its whole time limit), so once cancelled it is
    repeated every RESTOP_S until the solve returns."""
    from ortools.sat.python import cp_model

    if cancel is None:
        return solver.solve(model, callback)
    if cancel.cancelled:
        return cp_model.UNKNOWN
    done = threading.Event()

    def keep_stopping() -> None:
        while not done.is_set():
            if cancel.wait(RESTOP_S) and not done.is_set():
                solver.stop_search()
                done.wait(RESTOP_S)

    watcher = threading.Thread(target=keep_stopping, name="cp-sat-stop", daemon=True)
    watcher.start()
    try:
        return solver.solve(model, callback)
    finally:
        done.set()
        watcher.join(timeout=5)
