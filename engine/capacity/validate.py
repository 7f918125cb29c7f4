"""Independent checker of capacity allocations: trusts no solver.

Recomputes every rule of the model from the problem's numbers (not from the
LinearModel the solver saw) and the claimed cost. A solver answer that breaks a
rule raises `PlanRejected`: a solver bug reported loudly, never a plan shipped.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from engine.capacity.model import ProblemData
from engine.violations import PlanRejected, Violation

TOL = 1e-6


def _slack(value: float) -> float:
    return TOL * max(1.0, abs(value))


def check_allocation(
    data: ProblemData,
    workloads: np.ndarray,
    alloc: np.ndarray,
    integer: bool,
    fixed_reserved: Optional[np.ndarray] = None,
    excused: Optional[np.ndarray] = None,
    labels: Optional[list[str]] = None,
) -> list[Violation]:
    """Rules for an allocation `alloc` (rows × apps × classes) serving `workloads` (rows × apps).

    `excused[row]` marks overfull rows, where serving the whole workload is not required.
    """
    out: list[Violation] = []
    rows = alloc.shape[0]
    labels = labels or [f"level {i}" for i in range(rows)]
    R = data.n_reserved
    class_ids = [ic.id for ic in data.classes]

    if (alloc < -TOL).any():
        r, a, c = np.argwhere(alloc < -TOL)[0]
        out.append(Violation("nonnegative", f"{labels[r]}: {alloc[r, a, c]} VMs of {class_ids[c]}", (class_ids[c],)))
    if integer:
        frac = np.abs(alloc - np.round(alloc)) > TOL
        if frac.any():
            r, a, c = np.argwhere(frac)[0]
            out.append(Violation("integrality", f"{labels[r]}: {alloc[r, a, c]} VMs of {class_ids[c]} is not whole", (class_ids[c],)))

    served = np.einsum("lac,ac->la", alloc, data.perf)
    short = served < workloads - np.vectorize(_slack)(workloads) if workloads.size else np.zeros_like(served, dtype=bool)
    if excused is not None:
        short &= ~excused[:, None]
    for r, a in np.argwhere(short)[:20]:
        out.append(Violation("performance", f"{labels[r]}: app #{a} served {served[r, a]:g} < workload {workloads[r, a]:g}"))

    totals = alloc.sum(axis=1)  # rows × classes
    for c, cap in enumerate(data.class_max):
        if cap > 0 and (totals[:, c] > cap + _slack(cap)).any():
            r = int(np.argmax(totals[:, c]))
            out.append(Violation("class-limit", f"{labels[r]}: {totals[r, c]:g} VMs of {class_ids[c]} > max_vms {cap:g}", (class_ids[c],)))
    for s, sid in enumerate(data.set_ids):
        members = data.member[s]
        for what, cap, weight in (("vms", data.set_max_vms[s], np.ones(len(class_ids))), ("cores", data.set_max_cores[s], data.cores)):
            if cap <= 0:
                continue
            used = totals[:, members] @ weight[members]
            if (used > cap + _slack(cap)).any():
                r = int(np.argmax(used))
                out.append(Violation(f"limiting-set-{what}", f"{labels[r]}: {used[r]:g} {what} in {sid} > max_{what} {cap:g}", (sid,)))
    if fixed_reserved is not None:
        bad = np.abs(totals[:, :R] - fixed_reserved[None, :]) > TOL
        for r, c in np.argwhere(bad)[:20]:
            out.append(Violation("reserved-fixed", f"{labels[r]}: {totals[r, c]:g} VMs of {class_ids[c]} ≠ the {fixed_reserved[c]:g} reserved", (class_ids[c],)))
    return out


def ensure_valid_phase_i(sol, solver_objective: Optional[float]) -> None:
    data = sol.problem.data
    lv = sol.levels
    alloc = sol.allocation
    v = check_allocation(data, lv.values, alloc, integer=not sol.relaxed)
    R = data.n_reserved
    if R and alloc.shape[0] > 1 and (np.abs(alloc[:, :, :R] - alloc[:1, :, :R]) > TOL).any():
        v.append(Violation("reserved-per-period", "reserved VMs given to an app differ between levels"))
    period = float(lv.repeats.sum())
    cost = period * float(data.price[:R] @ sol.reserved) + float(
        np.einsum("l,lad,d->", lv.repeats.astype(float), alloc[:, :, R:], data.price[R:])
    )
    if abs(cost - sol.cost) > _slack(cost):
        v.append(Violation("cost", f"claimed cost {sol.cost} but the allocation costs {cost}"))
    if solver_objective is not None and sol.status == "optimal" and abs(solver_objective - cost) > 1e-5 * max(1.0, abs(cost)):
        v.append(Violation("cost", f"solver objective {solver_objective} differs from the allocation's cost {cost}"))
    if v:
        raise PlanRejected("capacity phase I (HiGHS)", v)


def ensure_valid_slots(data: ProblemData, workloads: np.ndarray, results: list, fixed_reserved: np.ndarray) -> None:
    """Phase II: every distinct workload tuple's allocation, with reserved totals fixed."""
    idx = [i for i, r in enumerate(results) if r.allocation is not None]
    if not idx:
        return
    alloc = np.stack([results[i].allocation for i in idx])
    w = workloads[idx]
    excused = np.array([results[i].status == "overfull" for i in idx])
    labels = [f"workload {tuple(float(x) for x in workloads[i])}" for i in idx]
    v = check_allocation(data, w, alloc, integer=True, fixed_reserved=fixed_reserved, excused=excused, labels=labels)
    for k, i in enumerate(idx):
        cost = float(alloc[k].sum(axis=0) @ data.price)
        if abs(cost - results[i].cost) > _slack(cost):
            v.append(Violation("cost", f"{labels[k]}: claimed cost {results[i].cost} but the allocation costs {cost}"))
    if v:
        raise PlanRejected("capacity phase II (HiGHS)", v)
