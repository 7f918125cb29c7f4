"""CP-SAT assignment model: x[i, r] = item i on receiver r, y[r] = receiver r in use.

Reads like FORMATS.md: add_assignment, add_capacity, add_anti_affinity,
add_move_budget, add_symmetry_breaking, then one objective. Capacities are
integers (problem.SCALE), demands rounded up, so every solution is feasible.
A heuristic packing (relabelled to respect symmetry breaking) is the hint.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Optional

from engine.cp_solver import new_cp_solver, solve_cancellable
from engine.placement.candidates import (
    by_item_and_receiver,
    candidate_pairs,
    crowded_customers,
    stays_home,
)
from engine.placement.problem import SCALE, PlacementProblem
from engine.placement.solution import Assign
from engine.placement.symmetry import canonical
from engine.progress import Cancellation, ProgressCallback, ProgressEvent

UTIL_SCALE = 1_000_000  # balance: utilisation in parts per million


@dataclass
class CpResult:
    assign: Optional[Assign]
    status: str                 # optimal | feasible | infeasible | unknown
    bound: Optional[float]      # proven lower bound on the objective (hosts, or utilisation)


class AssignmentModel:
    def __init__(self, p: PlacementProblem, deadline: Optional[float] = None):
        from ortools.sat.python import cp_model

        self.p = p
        self.m = cp_model.CpModel()
        self.demand = [p.int_demand(i) for i in range(len(p.items))]
        self.free = [p.int_free(r) for r in range(len(p.receivers))]
        self.x = {(i, r): self.m.NewBoolVar(f"x{i}_{r}") for i, r in candidate_pairs(p, self._fits_alone, deadline)}
        self.by_item, self.by_recv = by_item_and_receiver(p, self.x)
        self.y = [self.m.NewConstant(1) if rec.fixed_used else self.m.NewBoolVar(f"y{r}")
                  for r, rec in enumerate(p.receivers)]
        self.add_assignment()
        self.add_capacity()
        self.add_anti_affinity()
        self.add_move_budget()
        self.add_symmetry_breaking()
        self.add_objective()

    def _fits_alone(self, i: int, r: int) -> bool:
        """Item i's integer demand fits receiver r's integer free capacity."""
        return all(a <= f for a, f in zip(self.demand[i], self.free[r]))

    # ---------------------------------------------------------------- constraint families
    def add_assignment(self) -> None:
        """Every item on exactly one receiver."""
        for i, recvs in enumerate(self.by_item):
            self.m.AddExactlyOne(self.x[i, r] for r in recvs)

    def add_capacity(self) -> None:
        """Per receiver and resource: items' demand ≤ free capacity, and only on used receivers."""
        for r, items in enumerate(self.by_recv):
            for i in items:
                self.m.AddImplication(self.x[i, r], self.y[r])
            for d in range(self.p.dims):
                terms = [(self.demand[i][d], self.x[i, r]) for i in items if self.demand[i][d] > 0]
                if sum(a for a, _ in terms) > self.free[r][d]:
                    self.m.Add(sum(a * v for a, v in terms) <= self.free[r][d] * self.y[r])
            if not items and not self.p.receivers[r].fixed_used:
                self.m.Add(self.y[r] == 0)

    def add_anti_affinity(self) -> None:
        """At most max_vms_per_customer_per_host of one customer per host (fixed VMs counted)."""
        for r, items in enumerate(self.by_recv):
            for _, members, room in crowded_customers(self.p, r, items):
                self.m.Add(sum(self.x[i, r] for i in members) <= room)

    def add_move_budget(self) -> None:
        """rebalance: at most max_moves movable VMs leave their origin."""
        self.stays = stays_home(self.p, self.x)
        movable = [it for it in self.p.items if it.origin is not None]
        if self.p.max_moves is not None and movable:
            self.m.Add(len(movable) - sum(v for _, v in self.stays) <= self.p.max_moves)

    def add_symmetry_breaking(self) -> None:
        """Interchangeable receivers are used in order (item-side rule is in forbidden_pairs)."""
        if self.p.objective == "balance":
            return
        for cls in self.p.symmetry_classes():
            for a, b in zip(cls, cls[1:]):
                self.m.Add(self.y[a] >= self.y[b])

    def add_objective(self) -> None:
        p = self.p
        if p.objective == "balance":
            self.util = self.m.NewIntVar(int(p.fixed_peak_util * UTIL_SCALE), UTIL_SCALE * 10, "peak")
            for r, rec in enumerate(p.receivers):
                for d in range(p.dims):
                    cap = round(rec.capacity[d] * SCALE)
                    if cap <= 0:
                        continue
                    fixed = p._fixed_int(r)[d]
                    load = fixed + sum(self.demand[i][d] * self.x[i, r] for i in self.by_recv[r])
                    self.m.Add(load * UTIL_SCALE <= self.util * cap)
            self.m.Minimize(self.util)
            return
        self.count = sum(self.y)
        self.add_volume_cut()
        if p.objective == "rebalance":
            costs = {i: p.items[i].move_cost for i, _ in self.stays}
            weight = sum(costs.values()) + 1
            self.m.Minimize(weight * self.count - sum(costs[i] * v for i, v in self.stays))
        else:
            self.m.Minimize(self.count)

    def add_volume_cut(self) -> None:
        """Redundant: used receivers' free capacity covers the items' total demand, per resource."""
        for d in range(self.p.dims):
            total = sum(dm[d] for dm in self.demand)
            if total > 0:
                self.m.Add(sum(self.free[r][d] * self.y[r] for r in range(len(self.p.receivers))) >= total)

    # ---------------------------------------------------------------- solve
    def hint(self, assign: Assign) -> None:
        assign = canonical(self.p, assign)
        if any((i, r) not in self.x for i, r in enumerate(assign)):
            return
        for (i, r), v in self.x.items():
            self.m.AddHint(v, assign[i] == r)
        used = set(assign)
        for r, y in enumerate(self.y):
            if not self.p.receivers[r].fixed_used:
                self.m.AddHint(y, r in used)

    def solve(self, time_limit_s: float, workers: Optional[int] = None, seed: int = 0,
              on_progress: Optional[ProgressCallback] = None, cancel: Optional[Cancellation] = None,
              started: Optional[float] = None) -> CpResult:
        from ortools.sat.python import cp_model

        if any(not recvs for recvs in self.by_item):
            return CpResult(None, "infeasible", None)
        solver = new_cp_solver()
        solver.parameters.max_time_in_seconds = max(0.05, time_limit_s)
        solver.parameters.num_workers = workers or 2
        solver.parameters.random_seed = seed
        started = started if started is not None else time.monotonic()
        callback = _Progress(self, on_progress, started) if on_progress else None
        if cancel is not None and cancel.cancelled:
            return CpResult(None, "unknown", None)
        code = solve_cancellable(solver, self.m, callback, cancel)
        if code in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            assign = [next(r for r in self.by_item[i] if solver.BooleanValue(self.x[i, r]))
                      for i in range(len(self.p.items))]
            status = "optimal" if code == cp_model.OPTIMAL else "feasible"
            return CpResult(assign, status, self._bound(solver.BestObjectiveBound()))
        if code == cp_model.INFEASIBLE:
            return CpResult(None, "infeasible", None)
        return CpResult(None, "unknown", None)

    def _bound(self, raw: float) -> float:
        """Objective bound in plan units (rebalance: weight × hosts − stay savings < weight × hosts)."""
        if self.p.objective == "balance":
            return raw / UTIL_SCALE
        if self.p.objective == "rebalance":
            weight = sum(self.p.items[i].move_cost for i, _ in self.stays) + 1
            return float(math.ceil(raw / weight - 1e-9))
        return float(math.ceil(raw - 1e-9))

    _shown = _bound


class _Progress:
    """CP-SAT solution callback → ProgressEvent (throttled to 5 per second)."""

    def __new__(cls, model: AssignmentModel, on_progress: ProgressCallback, started: float):
        from ortools.sat.python import cp_model

        class Callback(cp_model.CpSolverSolutionCallback):
            def __init__(self):
                super().__init__()
                self.last = 0.0

            def on_solution_callback(self):
                now = time.monotonic()
                if now - self.last < 0.2:
                    return
                self.last = now
                on_progress(ProgressEvent(now - started, objective=model._shown(self.ObjectiveValue()),
                                          bound=model._bound(self.BestObjectiveBound()),
                                          message="cp-sat: new solution"))

        return Callback()
