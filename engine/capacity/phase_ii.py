"""Phase II: each slot of the short-term prediction, with Phase I's reserved counts fixed.

Each distinct workload tuple is solved once and its answer reused by every slot
with the same tuple. A slot is the Phase I model with one level and one slot, and
each reserved class's VMs summing to the Phase I count (they may be re-split among
apps every slot). A slot that cannot be served within the limits is re-solved to
maximise the served fraction Σ_a served_a / demand_a (served capped at demand; apps
with zero demand left out), then to minimise cost at that fraction: status
`overfull`, with the cost of that allocation.
"""

from __future__ import annotations

import time
from typing import Optional

import numpy as np

from engine.capacity.formulation import allocation_model, overfull_model
from engine.capacity.highs_runner import solve_models, solve_rhs_batch
from engine.capacity.levels import aggregate
from engine.capacity.slot_search import search_slots
from engine.capacity.model import Problem
from engine.capacity.solution import PhaseIISolution, PhaseISolution, SlotResult
from engine.progress import Cancellation, ProgressCallback, ProgressEvent


class PhaseIIInputError(ValueError):
    """Phase I's answer does not fit the Phase II problem (user error)."""


def fixed_reserved_for(problem: Problem, phase_i: PhaseISolution) -> np.ndarray:
    """Phase I's reserved counts in the Phase II problem's reserved-class order."""
    if phase_i.reserved is None:
        raise PhaseIIInputError(f"Phase I ended {phase_i.status} without reserved counts: nothing to fix in Phase II")
    if phase_i.relaxed:
        raise PhaseIIInputError("Phase II needs whole reserved counts: solve Phase I without --relaxed")
    counts = phase_i.reserved_counts()
    ids = {ic.id for ic in problem.reserved}
    missing = sorted(set(counts) - ids)
    if missing:
        raise PhaseIIInputError(f"Phase I reserved classes {', '.join(missing)} are not reserved classes of problem {problem.id!r}")
    apps_i = {a.id for a in phase_i.problem.apps}
    apps_ii = {a.id for a in problem.apps}
    if apps_i != apps_ii:
        raise PhaseIIInputError(f"Phase II apps {sorted(apps_ii)} differ from Phase I apps {sorted(apps_i)}")
    return np.array([float(counts.get(ic.id, 0)) for ic in problem.reserved])


def solve_phase_ii(
    problem: Problem,
    phase_i: PhaseISolution,
    time_limit: Optional[float] = None,
    cancellation: Optional[Cancellation] = None,
    on_progress: Optional[ProgressCallback] = None,
    method: str = "auto",
) -> PhaseIISolution:
    """Solve every slot of `problem`'s workloads (the STWP) with `phase_i`'s reserved counts.

    method "auto": exact search (`slot_search`) for the slots it can settle, the MILP for
    the others; "milp": the MILP for every slot.
    """
    started = time.perf_counter()
    fixed = fixed_reserved_for(problem, phase_i)
    data = problem.data
    W = problem.workload_matrix()
    levels = aggregate(W)
    A = W.shape[1]

    results: list[Optional[SlotResult]] = [None] * levels.n_levels
    if method == "auto":
        t0 = time.perf_counter()
        settled = search_slots(data, levels.values.astype(float), fixed)
        each = (time.perf_counter() - t0) / max(1, len(settled))
        for k, (alloc, cost) in settled.items():
            results[k] = SlotResult("optimal", cost, alloc, _served(alloc, levels.values[k], data), 0.0, each)
    rest = [k for k, r in enumerate(results) if r is None]
    rest_set = set(rest)

    # The other slots: one template model; only the performance rows' lower bounds change.
    t0 = time.perf_counter()
    template, lay = allocation_model(data, levels.values[:1], np.ones(1), integer=True, fixed_reserved=fixed)
    perf_rows = np.arange(A)
    lowers = levels.values[rest].astype(float)
    uppers = np.full_like(lowers, np.inf)
    creation = time.perf_counter() - t0
    raw = solve_rhs_batch(template, perf_rows, lowers, uppers, time_limit=time_limit, cancellation=cancellation)
    per_slot_create = creation / max(1, len(rest))
    for k, res in zip(rest, raw):
        results[k] = _slot_result(res, lay, levels.values[k], data, per_slot_create)

    # Slots that cannot be served: maximise the served fraction, then minimise cost.
    overfull = [k for k, r in enumerate(results) if r.status == "infeasible"]
    if overfull:
        left = None if time_limit is None else max(0.0, time_limit - (time.perf_counter() - started))
        t1 = time.perf_counter()
        built = [overfull_model(data, levels.values[k], fixed) for k in overfull]
        creation2 = (time.perf_counter() - t1) / len(overfull)
        raw2 = solve_models([m for m, _ in built], time_limit=left, cancellation=cancellation)
        for k, (m, olay), res in zip(overfull, built, raw2):
            r = _slot_result(res, olay, levels.values[k], data, creation2)
            if r.status == "optimal":
                r.status = "overfull"
            r.creation_time += results[k].creation_time
            r.solving_time += results[k].solving_time
            results[k] = r

    sol = PhaseIISolution(problem=problem, phase_i=phase_i, workloads=W, levels=levels, results=results, time_limit=time_limit)
    from engine.capacity.validate import ensure_valid_slots

    ensure_valid_slots(data, levels.values, results, fixed)
    sol.stats = sol.statistics()
    sol.stats["searched_slots"] = int(sum(n for k, n in enumerate(levels.repeats) if k not in rest_set))
    sol.stats["wall_time"] = time.perf_counter() - started
    if on_progress is not None:
        on_progress(ProgressEvent(sol.stats["wall_time"], sol.cost, None, f"phase ii {sol.status}: {sol.stats['slots_by_status']}"))
    return sol


def _slot_result(res: dict, lay, workload: np.ndarray, data, creation: float) -> SlotResult:
    status = res["status"]
    if res["x"] is None:
        return SlotResult(status if status in ("infeasible", "unknown") else "unknown", None, None, None, creation, res.get("seconds", 0.0))
    x = np.round(np.maximum(np.asarray(res["x"], dtype=float), 0.0))
    y, xx = lay.split(x)
    alloc = np.concatenate([y, xx[0]], axis=1)  # apps × classes
    cost = float(alloc.sum(axis=0) @ data.price)
    return SlotResult(status, cost, alloc, _served(alloc, workload, data), creation, res.get("seconds", 0.0))


def _served(alloc: np.ndarray, workload: np.ndarray, data) -> np.ndarray:
    """Per app: fraction of its workload served (capped at 1; 1 when the workload is zero)."""
    given = np.einsum("ac,ac->a", alloc, data.perf)
    w = np.asarray(workload, dtype=float)
    return np.where(w > 0, np.minimum(given, w) / np.where(w > 0, w, 1.0), 1.0)
