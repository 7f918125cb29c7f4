"""Phase I: how many VMs of each reserved class to buy for the period.

Solves the aggregated model (one set of on-demand variables per distinct workload
tuple, weighted by its repeats) with HiGHS in a child process, integer or relaxed.
The answer passes the independent checker (`engine.capacity.validate`) before it
is returned.
"""

from __future__ import annotations

import time
from typing import Optional

import numpy as np

from engine.capacity.formulation import allocation_model
from engine.capacity.highs_runner import solve_models
from engine.capacity.levels import aggregate
from engine.capacity.model import Problem
from engine.capacity.search import SearchResult, search_phase_i
from engine.capacity.solution import PhaseISolution
from engine.progress import Cancellation, ProgressCallback, ProgressEvent


def solve_phase_i(
    problem: Problem,
    relaxed: bool = False,
    time_limit: Optional[float] = None,
    cancellation: Optional[Cancellation] = None,
    method: str = "auto",
    on_progress: Optional[ProgressCallback] = None,
) -> PhaseISolution:
    """method: "auto" (exact search when it applies, else MILP/LP), "milp" or "search"."""
    sol = _solve(problem, relaxed, time_limit, cancellation, method)
    if on_progress is not None:
        on_progress(ProgressEvent(sol.creation_time + sol.solving_time, sol.cost, sol.bound, f"phase i {sol.status} ({sol.method})"))
    return sol


def _solve(problem, relaxed, time_limit, cancellation, method) -> PhaseISolution:
    t0 = time.perf_counter()
    limit = time_limit  # as asked: the MILP gets what the search left of it
    data = problem.data
    levels = aggregate(problem.workload_matrix())
    if method in ("auto", "search"):
        deadline = None if time_limit is None or method == "search" else time.monotonic() + time_limit
        found = search_phase_i(data, levels, relaxed, deadline, cancellation)
        if found is not None:
            return _from_search(problem, levels, relaxed, found, time.perf_counter() - t0, time_limit)
        if method == "search":
            raise ValueError("the search does not apply to this problem (structure, or a limit binds)")
        if time_limit is not None:  # the limit covers the search and the MILP together
            time_limit = max(0.1, time_limit - (time.perf_counter() - t0))
    model, lay = allocation_model(data, levels.values, levels.repeats, integer=not relaxed)
    # Ties: optima often differ only in how many VMs are reserved (e.g. 16 or 17 at the
    # same cost). Among optimal answers prefer the most reserved VMs: capacity that is
    # always on, the least exposed to on-demand limits when the real workload exceeds
    # the prediction. (Malloovia's CBC happens to pick those on its examples.)
    # Integer models only: a relaxed optimum is reported as the LP found it.
    if not relaxed:
        tie_break = np.zeros(model.n_cols)
        tie_break[: lay.n_y] = -1.0
        model.then_minimize = tie_break
    t1 = time.perf_counter()
    (res,) = solve_models([model], time_limit=time_limit, cancellation=cancellation)
    t2 = time.perf_counter()
    sol = PhaseISolution(
        problem=problem, status=res["status"], relaxed=relaxed, levels=levels,
        creation_time=t1 - t0, solving_time=t2 - t1, time_limit=limit, bound=res.get("bound"),
    )
    if res["x"] is None:
        if sol.status not in ("infeasible", "unknown"):
            sol.status = "unknown"
        return sol
    x = np.asarray(res["x"], dtype=float)
    x = np.maximum(x, 0.0)
    if not relaxed:
        x = np.round(x)
    y, xx = lay.split(x)
    L, A = levels.values.shape
    alloc = np.concatenate([np.broadcast_to(y, (L, A, lay.n_reserved)), xx], axis=2)
    sol.allocation = alloc
    sol.reserved = y.sum(axis=0)
    sol.cost = float(model.cost @ x)
    if sol.status == "optimal" and sol.bound is not None:
        sol.bound = min(sol.bound, sol.cost)

    from engine.capacity.validate import ensure_valid_phase_i

    ensure_valid_phase_i(sol, solver_objective=res["objective"])
    return sol


def _from_search(problem: Problem, levels, relaxed: bool, found: SearchResult, seconds: float, time_limit) -> PhaseISolution:
    sol = PhaseISolution(problem=problem, status=found.status, relaxed=relaxed, levels=levels,
                         solving_time=seconds, time_limit=time_limit, method="search")
    if found.allocation is None:
        return sol
    sol.allocation = found.allocation
    sol.reserved = found.allocation[0, :, : problem.data.n_reserved].sum(axis=0)
    sol.cost = sol.bound = found.cost
    from engine.capacity.validate import ensure_valid_phase_i

    ensure_valid_phase_i(sol, solver_objective=None)
    return sol
