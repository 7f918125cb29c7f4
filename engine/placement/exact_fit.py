"""Bin completion: look for a packing into exactly `target` interchangeable hosts.

Plain assignment models stall on exact-fit instances (pieces that fill hosts
with no waste at all): they spread waste everywhere. Bin completion (after
Korf) instead fills one host at a time: the host takes the largest item left,
then a *completion* — a set of other items — chosen among those whose waste
fits the budget `target × capacity − total demand` (per resource) still
unspent. With zero waste only perfect completions qualify, and there are few.

Applies when every receiver is an identical empty host; the per-customer
limit is checked as completions are built. Depth-first, least-waste completions first, bounded by a
deadline; returns an assignment or None (None proves nothing).
"""

from __future__ import annotations

import math
import time
from typing import Optional

from engine.placement.problem import PlacementProblem
from engine.placement.solution import Assign
from engine.progress import Cancellation

MAX_COMPLETIONS = 60   # completions tried per host (least waste first)


def exact_fit_search(p: PlacementProblem, lb: float, deadline: float,
                     cancel: Optional[Cancellation] = None) -> Optional[Assign]:
    if not p.items or len(p.symmetry_classes()) != 1:
        return None
    if len(p.symmetry_classes()[0]) != len(p.receivers) or p.fixed_used_elsewhere:
        return None
    target = int(math.ceil(lb - 1e-9))
    if target > len(p.receivers):
        return None
    search = _BinCompletion(p, target, deadline, cancel)
    bins = search.run()
    if bins is None:
        return None
    assign = [-1] * len(p.items)
    for b, members in enumerate(bins):
        for i in members:
            assign[i] = b
    return assign


class _BinCompletion:
    def __init__(self, p: PlacementProblem, target: int, deadline: float, cancel: Optional[Cancellation]):
        self.p = p
        self.cap = [x for x in p.receivers[0].free]
        self.size = [tuple(it.demand) for it in p.items]
        self.customer = [it.customer for it in p.items]
        self.cap_per_customer = p.customer_cap
        self.dims = p.dims
        totals = [sum(s[d] for s in self.size) for d in range(self.dims)]
        self.budget = [target * self.cap[d] - totals[d] for d in range(self.dims)]
        self.target = target
        self.deadline = deadline
        self.cancel = cancel
        self.tol = [1e-9 * max(1.0, c) for c in self.cap]
        norm = [c or 1.0 for c in self.cap]
        self.order = sorted(range(len(self.size)), key=lambda i: -sum(self.size[i][d] / norm[d] for d in range(self.dims)))
        self.norm = norm
        self.timed_out = False

    def out_of_time(self) -> bool:
        if time.monotonic() > self.deadline or (self.cancel is not None and self.cancel.cancelled):
            self.timed_out = True
        return self.timed_out

    def run(self) -> Optional[list[list[int]]]:
        if any(b < -self.tol[d] for d, b in enumerate(self.budget)):
            return None
        return self._fill(list(self.order), list(self.budget), self.target)

    def _fill(self, left: list[int], budget: list[float], hosts: int) -> Optional[list[list[int]]]:
        if not left:
            return []
        if hosts == 0 or self.timed_out:
            return None
        first, rest = left[0], left[1:]
        for completion, waste in self._completions(first, rest, budget):
            if self.out_of_time():
                self.timed_out = True
                return None
            taken = set(completion)
            sub = self._fill([i for i in rest if i not in taken], [b - w for b, w in zip(budget, waste)], hosts - 1)
            if sub is not None:
                return [[first, *completion], *sub]
            if self.timed_out:
                return None
        return None

    def _completions(self, first: int, rest: list[int], budget: list[float]):
        """Sets of items from `rest` that fit beside `first` with waste within the budget, least waste first."""
        dims, cap, size = self.dims, self.cap, self.size
        need = [cap[d] - size[first][d] - budget[d] for d in range(dims)]  # load still to reach, per resource
        suffix = [[0.0] * dims for _ in range(len(rest) + 1)]
        for k in range(len(rest) - 1, -1, -1):
            for d in range(dims):
                suffix[k][d] = suffix[k + 1][d] + size[rest[k]][d]
        found: list[tuple[float, list[int], list[float]]] = []
        load0 = list(size[first])
        chosen: list[int] = []
        cap_c, customer = self.cap_per_customer, self.customer
        counts = {customer[first]: 1}
        limit = 20_000

        def dfs(k: int, load: list[float]) -> None:
            nonlocal limit
            limit -= 1
            if limit < 0 or (limit % 1024 == 0 and self.out_of_time()):
                limit = -1
                return
            if all(load[d] >= cap[d] - budget[d] - self.tol[d] for d in range(dims)):
                waste = [cap[d] - load[d] for d in range(dims)]
                found.append((sum(w / self.norm[d] for d, w in enumerate(waste)), list(chosen), waste))
            seen: set[tuple] = set()
            for j in range(k, len(rest)):
                if any(load[d] + suffix[j][d] < cap[d] - budget[d] - self.tol[d] for d in range(dims)):
                    return  # even every remaining item cannot reach the needed load
                s = size[rest[j]]
                c = customer[rest[j]]
                key = (s, c) if cap_c is not None else s
                if key in seen or (cap_c is not None and counts.get(c, 0) >= cap_c):
                    continue
                if all(load[d] + s[d] <= cap[d] + self.tol[d] for d in range(dims)):
                    seen.add(key)
                    chosen.append(rest[j])
                    counts[c] = counts.get(c, 0) + 1
                    dfs(j + 1, [load[d] + s[d] for d in range(dims)])
                    counts[c] -= 1
                    chosen.pop()

        del need
        dfs(0, load0)
        found.sort(key=lambda f: f[0])
        return [(c, w) for _, c, w in found[:MAX_COMPLETIONS]]
