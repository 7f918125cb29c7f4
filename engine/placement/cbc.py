"""PuLP/CBC assignment MIP, warm-started from the greedy packing, with a hard deadline.

Same families as the CP-SAT model (assignment, capacity, anti-affinity, move
budget, symmetry breaking). CBC gets its own limit, but it overshoots
(NOTES.md: 60 s ran 125 s) and has no cancel handle, so it runs through
`engine.cbc.run_cbc`: a child process killed at the deadline or on cancel
(the warm start then stands). The solution file's `sol_status` decides the
status, never `LpStatus`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Optional

from engine.cbc import CbcTiming, import_pulp, run_cbc
from engine.placement.candidates import (
    BuildTimeout,
    by_item_and_receiver,
    candidate_pairs,
    crowded_customers,
    stays_home,
)
from engine.placement.problem import PlacementProblem
from engine.placement.solution import Assign
from engine.placement.symmetry import canonical
from engine.progress import Cancellation

GRACE_S = 1.0   # CBC's own limit is set this much before our deadline


@dataclass
class CbcResult:
    assign: Optional[Assign]
    status: str      # optimal | feasible | infeasible | unknown


def solve_cbc(p: PlacementProblem, warm: Optional[Assign], time_limit_s: float, workers: int = 1,
              cancel: Optional[Cancellation] = None) -> CbcResult:
    deadline = time.monotonic() + time_limit_s
    try:
        model = MipModel(p, deadline - GRACE_S, cancel)
    except BuildTimeout:
        return CbcResult(None, "unknown")
    if warm is not None:
        model.warm_start(warm)
    if deadline - time.monotonic() - GRACE_S < 0.5:
        return CbcResult(None, "unknown")
    out = run_cbc(model.prob, CbcTiming.until(deadline, GRACE_S), threads=workers, warm_start=warm is not None,
                  cancel=cancel)
    if out.solved:
        assign = [max(model.by_item[i], key=lambda r: model.x[i, r].value() or 0.0) for i in range(len(p.items))]
        return CbcResult(assign, out.status)
    return CbcResult(None, out.status)


class MipModel:
    def __init__(self, p: PlacementProblem, deadline: Optional[float] = None, cancel: Optional[Cancellation] = None):
        pulp = import_pulp()

        self.p, self.cancel = p, cancel
        self.prob = pulp.LpProblem("placement", pulp.LpMinimize)
        self.x = {(i, r): self.prob.add_variable(f"x_{i}_{r}", cat="Binary")
                  for i, r in candidate_pairs(p, self._fits_alone, deadline)}
        self.by_item, self.by_recv = by_item_and_receiver(p, self.x)
        self.y = [1 if rec.fixed_used else self.prob.add_variable(f"y_{r}", cat="Binary")
                  for r, rec in enumerate(p.receivers)]
        self.add_assignment()
        self.add_capacity()
        self.add_anti_affinity()
        self.add_move_budget()
        self.add_symmetry_breaking()
        self.add_objective()

    def _fits_alone(self, i: int, r: int) -> bool:
        """Item i's demand fits receiver r's free capacity (with a relative tolerance)."""
        return all(a <= f + 1e-9 * max(1.0, f) for a, f in zip(self.p.items[i].demand, self.p.receivers[r].free))

    def _stop_if_cancelled(self) -> None:
        """Building a big model takes seconds (NOTES.md): a cancel ends it, the warm start stands."""
        if self.cancel is not None and self.cancel.cancelled:
            raise BuildTimeout()

    def add_assignment(self) -> None:
        for i, recvs in enumerate(self.by_item):
            if i % 100 == 0:
                self._stop_if_cancelled()
            self.prob += sum(self.x[i, r] for r in recvs) == 1, f"assign_{i}"

    def add_capacity(self) -> None:
        """load ≤ free × y: an unused receiver holds nothing."""
        for r, items in enumerate(self.by_recv):
            self._stop_if_cancelled()
            free = self.p.receivers[r].free
            for d in range(self.p.dims):
                terms = [(self.p.items[i].demand[d], self.x[i, r]) for i in items if self.p.items[i].demand[d] > 0]
                if terms:
                    self.prob += sum(a * v for a, v in terms) <= free[d] * self.y[r], f"cap_{r}_{d}"
            if not isinstance(self.y[r], int):
                for i in items:
                    self.prob += self.x[i, r] <= self.y[r], f"use_{i}_{r}"

    def add_anti_affinity(self) -> None:
        for r, items in enumerate(self.by_recv):
            for c, members, room in crowded_customers(self.p, r, items):
                self.prob += sum(self.x[i, r] for i in members) <= room, f"aff_{r}_{c}"

    def add_move_budget(self) -> None:
        self.stays = stays_home(self.p, self.x)
        movable = sum(1 for it in self.p.items if it.origin is not None)
        if self.p.max_moves is not None and movable:
            self.prob += movable - sum(v for _, v in self.stays) <= self.p.max_moves, "moves"

    def add_symmetry_breaking(self) -> None:
        if self.p.objective == "balance":
            return
        for cls in self.p.symmetry_classes():
            for a, b in zip(cls, cls[1:]):
                self.prob += self.y[a] >= self.y[b], f"sym_{a}_{b}"

    def add_objective(self) -> None:
        p = self.p
        if p.objective == "balance":
            self.util = self.prob.add_variable("peak", lowBound=p.fixed_peak_util)
            for r, rec in enumerate(p.receivers):
                for d in range(p.dims):
                    if rec.capacity[d] > 0 and self.by_recv[r]:
                        load = rec.fixed_load[d] + sum(p.items[i].demand[d] * self.x[i, r] for i in self.by_recv[r])
                        self.prob += load <= self.util * rec.capacity[d], f"util_{r}_{d}"
            self.prob += self.util
            return
        count = sum(self.y)
        if p.objective == "rebalance":
            weight = sum(p.items[i].move_cost for i, _ in self.stays) + 1
            self.prob += weight * count - sum(p.items[i].move_cost * v for i, v in self.stays)
        else:
            self.prob += count

    def warm_start(self, assign: Assign) -> None:
        assign = canonical(self.p, assign)
        for (i, r), v in self.x.items():
            v.setInitialValue(1 if assign[i] == r else 0)
        used = set(assign)
        for r, y in enumerate(self.y):
            if not isinstance(y, int):
                y.setInitialValue(1 if r in used else 0)
        if self.p.objective == "balance":
            from engine.placement.solution import peak_utilisation

            self.util.setInitialValue(peak_utilisation(self.p, assign))
