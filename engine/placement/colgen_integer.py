"""Integer packings from the patterns of a column generation (colgen.py) for `min_hosts`.

- `dive`: fix the patterns the LP uses most, lower the demand, price again (for a share of the
  time left per step), repeat; past its deadline the VMs left go first-fit around the fixed
  patterns; its last VMs are packed again exactly when they use more hosts than their LP value
  (`repair_tail`);
- `dives`: dives one after another from the root LP (the patterns grow with each), with
  different fixing shares, each abandoned once it cannot beat the best;
- `integer_packing`: CP-SAT on the restricted master (the generated patterns as integer
  variables, hinted with the incumbent);
- `to_assignment`: patterns with multiplicities turned back into hosts and items.
"""

from __future__ import annotations

import itertools
import math
import time
from typing import Callable, Optional

from engine.cp_solver import new_cp_solver
from engine.placement.colgen import QUICK_PRICE_S, Column, ColumnGeneration, _Master
from engine.placement.solution import Assign, hosts_used
from engine.progress import Cancellation

DIVE_STEP = 0.2            # share of the residual LP value the dive fixes per step
DIVE_STEPS = (0.2, 0.1, 0.3)   # fixing shares of the dives that follow one another
TAIL_ITEMS = 45            # a dive's last VMs, from when this many are left, are packed again exactly …
TAIL_S = 1.0               # … by the CP-SAT assignment model for at least this long


def dive(cg: ColumnGeneration, deadline: float, cancel: Optional[Cancellation] = None,
         stop_above: Optional[int] = None, step: float = DIVE_STEP,
         hard_deadline: Optional[float] = None) -> Optional[Assign]:
    """Diving: fix the pattern the LP uses most (all whole copies at once, else one copy of the
    largest fraction), lower the demand, price again (beam, greedy, then a short exact round),
    until nothing is left. Past the deadline the VMs left go first-fit onto the hosts around
    the fixed patterns (on cancel: None at once). Gives up once the fixed hosts alone reach `stop_above`
    (it cannot beat the incumbent then). The last TAIL_ITEMS VMs are packed again by repair_tail
    (until `hard_deadline` at the latest)."""
    if cg._lp is None:
        cg._lp = _Master(cg)
    fixed: list[tuple[Column, int]] = []
    cost = 0
    tail: Optional[tuple[int, float]] = None     # (patterns fixed, residual LP value) once few VMs are left

    def finish(packed: Optional[Assign]) -> Optional[Assign]:
        if packed is None or tail is None or not TAIL_ITEMS or (cancel is not None and cancel.cancelled):
            return packed
        end = max(deadline, time.monotonic() + TAIL_S)
        return repair_tail(cg, fixed[:tail[0]], tail[1], packed, end if hard_deadline is None else min(end, hard_deadline))

    try:
        while any(cg.need):
            if cancel is not None and cancel.cancelled:
                return None
            if time.monotonic() > deadline:
                return finish(complete(cg, fixed))
            z, duals, limits = cg._lp.solve()
            if z is None:
                return finish(complete(cg, fixed))
            # price between fixings for an equal share of the time left per step still to come
            # (≈ log z / −log(1 − step) of them), until the heuristics and a quick exact round find
            # nothing (measured: fixed rounds per step left time unused and then ran out on big instances)
            started = time.monotonic()
            to_come = math.log(max(z, 1.0) + 1.0) / -math.log(1.0 - step) + 1.0
            step_end = started + (deadline - started) / to_come
            while time.monotonic() < step_end:
                if not cg._price_beam(duals, limits, step_end) and not cg._price_greedy(duals, limits):
                    if cg._price_exact(duals, limits, min(step_end, time.monotonic() + QUICK_PRICE_S), z,
                                       bound=False, quick=True) is not False:
                        break
                z, duals, limits = cg._lp.solve()
                if z is None or time.monotonic() > deadline:
                    return finish(complete(cg, fixed))
            if tail is None and sum(cg.need) <= TAIL_ITEMS:
                tail = (len(fixed), z)
            values = cg._lp.values()
            order = sorted((j for j, v in enumerate(values) if v > 1e-6), key=lambda j: (-values[j], j))
            if not order:
                return None
            # round up the most used patterns: whole copies, then the largest fractions, a share
            # of the hosts still needed per step, never a pattern that would over-cover
            budget = max(1, math.ceil(step * z))
            for j in order:
                col = cg.columns[j]
                copies = max(1, int(values[j] + 1e-6)) if values[j] >= 1 - 1e-6 else 1
                if fixed and budget <= 0 and values[j] < 1 - 1e-6:
                    break
                for _ in range(copies):
                    if cg.avail[col.klass] <= 0 or any(a > cg.need[t] for t, a in col.counts.items()):
                        break
                    fixed.append((col, 1))
                    cost += cg.classes[col.klass].cost
                    cg.avail[col.klass] -= 1
                    budget -= 1
                    for t, a in col.counts.items():
                        cg.need[t] -= a
            else:
                if not fixed or budget > 0:
                    # only over-covering patterns left: take the most used one, trimmed
                    col = cg.columns[order[0]]
                    if cg.avail[col.klass] > 0:
                        trimmed = Column(col.klass, {t: min(a, cg.need[t]) for t, a in col.counts.items()
                                                     if cg.need[t]})
                        if trimmed.counts:
                            fixed.append((trimmed, 1))
                            cost += cg.classes[col.klass].cost
                            cg.avail[col.klass] -= 1
                            for t, a in trimmed.counts.items():
                                cg.need[t] -= a
            if stop_above is not None and cg.base + cost >= stop_above and any(cg.need):
                return None
            cg._lp.set_residual()
        return finish(to_assignment(cg, fixed))
    finally:
        cg.need = list(cg.types.count)
        cg.avail = [cls.size for cls in cg.classes]
        cg._lp.set_residual()


def dives(cg: ColumnGeneration, deadline: float, incumbent: int, found: Callable[[Assign], None],
          cancel: Optional[Cancellation] = None, stop_at: Optional[int] = None,
          hard_deadline: Optional[float] = None) -> None:
    """Dives one after another until the deadline, each from the root LP with the patterns the ones
    before priced, with fixing shares in turn from DIVE_STEPS; the first takes half the time, the
    next a third of what is left and so on. Each gives up once it cannot beat the best so far;
    `found` gets every packing that beats it. Stops when one reaches `stop_at` (a proven bound)."""
    best = incumbent
    for k in itertools.count():
        now = time.monotonic()
        if now > deadline - 0.05 or (cancel is not None and cancel.cancelled) or \
                (stop_at is not None and best <= stop_at):
            return
        end = deadline if deadline - now < 1.0 else now + (deadline - now) / (2 if k == 0 else 3)
        packed = dive(cg, end, cancel, best, DIVE_STEPS[k % len(DIVE_STEPS)], hard_deadline)
        if packed is not None:
            value = hosts_used(cg.p, packed)
            if value < best:
                best = value
                found(packed)


def repair_tail(cg: ColumnGeneration, head: list[tuple[Column, int]], z_tail: float, packed: Assign,
                deadline: float) -> Assign:
    """The VMs the patterns `head` leave, packed again by the CP-SAT assignment model onto fresh hosts
    (as many of each class as `packed` spends on them): the end of a dive, where the LP's patterns
    are few and fractional, is where it loses hosts. `packed` when that finds nothing better."""
    from engine.placement.candidates import BuildTimeout
    from engine.placement.cpsat import AssignmentModel
    from engine.placement.exact_fit import exact_fit_search
    from engine.placement.heuristics import first_fit_decreasing
    from engine.placement.problem import PlacementProblem

    p = cg.p
    partial = to_assignment(cg, head, partial=True)
    if partial is None:
        return packed
    left = [i for i, r in enumerate(partial) if r < 0]
    head_hosts = {r for r in partial if r >= 0}
    spent = hosts_used(p, packed) - hosts_used(p, sorted(head_hosts))
    if not left or spent <= max(1, math.ceil(z_tail - 1e-6)):
        return packed            # the tail already meets its LP value
    receivers = [r for cls in cg.classes for r in [r for r in cls.receivers if r not in head_hosts][:spent]]
    sub = PlacementProblem("min_hosts", [p.items[i] for i in left], [p.receivers[r] for r in receivers],
                           p.customer_cap, 0, 0.0)

    def better(tail: Optional[Assign]) -> Optional[Assign]:
        if tail is None:
            return None
        merged = list(partial)
        for j, i in enumerate(left):
            merged[i] = receivers[tail[j]]
        return merged if hosts_used(p, merged) < hosts_used(p, packed) else None

    # zero waste (triplets) is bin completion's ground; it returns None unless the hosts are alike
    found = better(exact_fit_search(sub, math.ceil(z_tail - 1e-6), deadline, cg.cancel))
    if found is not None:
        return found
    try:
        model = AssignmentModel(sub, deadline=deadline)
    except BuildTimeout:
        return packed
    start = first_fit_decreasing(sub)
    if start is not None:
        model.hint(start)
    return better(model.solve(max(0.05, deadline - time.monotonic()), cg.workers, 0, None, cg.cancel).assign) \
        or packed


def complete(cg: ColumnGeneration, fixed: list[tuple[Column, int]]) -> Optional[Assign]:
    """The fixed patterns as hosts, the VMs they leave first-fit decreasing around them (first
    fit, not best fit: this runs past the dive's deadline, and best fit scans every host)."""
    from engine.placement.heuristics import first_fit_completion

    assign = to_assignment(cg, fixed, partial=True)
    return None if assign is None else first_fit_completion(cg.p, assign)


def integer_packing(cg: ColumnGeneration, deadline: float, hint: Optional[Assign], workers: int, seed: int,
                    target: Optional[int], cancel: Optional[Cancellation] = None) -> Optional[Assign]:
    """CP-SAT over the generated patterns (restricted master as an integer program)."""
    from ortools.sat.python import cp_model

    m = cp_model.CpModel()
    cols = cg.columns
    x = [m.NewIntVar(0, cg.classes[c.klass].size, f"x{j}") for j, c in enumerate(cols)]
    by_type: list[list[tuple[int, int]]] = [[] for _ in cg.types.weight]
    for j, c in enumerate(cols):
        for t, a in c.counts.items():
            by_type[t].append((j, a))
    for t, terms in enumerate(by_type):
        m.Add(sum(a * x[j] for j, a in terms) >= cg.types.count[t])
    for k, cls in enumerate(cg.classes):
        members = [x[j] for j, c in enumerate(cols) if c.klass == k]
        if members:
            m.Add(sum(members) <= cls.size)
    m.Minimize(sum(cg.classes[c.klass].cost * x[j] for j, c in enumerate(cols)))
    if hint is not None:
        _hint(cg, m, x, hint)
    solver = new_cp_solver()
    solver.parameters.max_time_in_seconds = max(0.05, deadline - time.monotonic())
    solver.parameters.num_workers = max(1, workers)
    solver.parameters.random_seed = seed
    stop = _StopAt(target - cg.base if target is not None else None)
    if cancel is not None:
        cancel.on_cancel(solver.stop_search)
    try:
        code = solver.Solve(m, stop)
    finally:
        if cancel is not None:
            cancel.remove(solver.stop_search)
    if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    chosen = [(cols[j], solver.Value(v)) for j, v in enumerate(x) if solver.Value(v) > 0]
    return to_assignment(cg, chosen)


def _hint(cg: ColumnGeneration, m, x, assign: Assign) -> None:
    times: dict[tuple, int] = {}
    for col in cg.host_columns(assign):
        times[col.key()] = times.get(col.key(), 0) + 1
    for j, c in enumerate(cg.columns):
        m.AddHint(x[j], times.get(c.key(), 0))


def to_assignment(cg: ColumnGeneration, chosen: list[tuple[Column, int]], partial: bool = False) -> Optional[Assign]:
    """Patterns (with multiplicities) → item → receiver; over-covered slots stay empty. With
    `partial`, VMs no pattern covers stay at −1 instead of failing."""
    left = [list(ms) for ms in cg.types.members]
    free_hosts = [list(cls.receivers) for cls in cg.classes]
    assign = [-1] * len(cg.p.items)
    # fuller patterns first, so that over-covering leaves the emptier ones empty
    order = sorted(((c, n) for c, n in chosen), key=lambda cn: -sum(cn[0].counts.values()))
    for col, n in order:
        for _ in range(n):
            if not free_hosts[col.klass]:
                return None
            take = {t: min(a, len(left[t])) for t, a in col.counts.items()}
            if not any(take.values()):
                continue
            r = free_hosts[col.klass].pop(0)
            for t, a in take.items():
                for _ in range(a):
                    assign[left[t].pop()] = r
    if any(left) and not partial:
        return None
    return assign


class _StopAt:
    """CP-SAT callback that stops the search once a solution reaches `target` (a proven bound)."""

    def __new__(cls, target: Optional[int]):
        from ortools.sat.python import cp_model

        class Callback(cp_model.CpSolverSolutionCallback):
            def on_solution_callback(self):
                if target is not None and self.ObjectiveValue() <= target + 1e-9:
                    self.StopSearch()

        return Callback()
