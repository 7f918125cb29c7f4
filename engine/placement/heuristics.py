"""Greedy placements: first-fit-decreasing, best-fit-decreasing, worst-fit for balance,
and a bin-centric dot-product fill; `first_fit_completion` finishes a partial packing first-fit
(FFD is it from nothing; column generation's dives use it for the VMs their patterns leave).

Items go largest first (size = sum of demands relative to the largest receiver's
capacity). Hosts already in use are tried before empty ones: they count anyway.
Each returns an assignment, or None when some item fits nowhere.
"""

from __future__ import annotations

from typing import Callable, Optional

from engine.placement.problem import PlacementProblem
from engine.placement.solution import Assign


class HostLoads:
    """Loads and customer counts per receiver while items are placed."""

    def __init__(self, p: PlacementProblem):
        self.p = p
        self.load = [list(r.fixed_load) for r in p.receivers]
        self.counts = [dict(r.fixed_customers) for r in p.receivers]
        self.used = [r.fixed_used for r in p.receivers]
        self.scale = [max((r.usable[d] for r in p.receivers), default=1.0) or 1.0 for d in range(p.dims)]

    def fits(self, i: int, r: int) -> bool:
        return self.p.fits(self.p.items[i], r, self.load[r], self.counts[r])

    def put(self, i: int, r: int) -> None:
        it = self.p.items[i]
        for d, a in enumerate(it.demand):
            self.load[r][d] += a
        self.counts[r][it.customer] = self.counts[r].get(it.customer, 0) + 1
        self.used[r] = True

    def take(self, i: int, r: int) -> None:
        it = self.p.items[i]
        for d, a in enumerate(it.demand):
            self.load[r][d] -= a
        self.counts[r][it.customer] -= 1

    def slack(self, r: int) -> float:
        rec = self.p.receivers[r]
        return sum((rec.usable[d] - self.load[r][d]) / self.scale[d] for d in range(self.p.dims))

    def peak(self, r: int, extra=None) -> float:
        rec = self.p.receivers[r]
        u = 0.0
        for d in range(self.p.dims):
            if rec.capacity[d] > 0:
                u = max(u, (self.load[r][d] + (extra[d] if extra else 0.0)) / rec.capacity[d])
        return u


def item_order(p: PlacementProblem, items=None) -> list[int]:
    scale = [max((r.usable[d] for r in p.receivers), default=1.0) or 1.0 for d in range(p.dims)]
    idx = range(len(p.items)) if items is None else items
    return sorted(idx, key=lambda i: (-sum(p.items[i].demand[d] / scale[d] for d in range(p.dims)), p.items[i].vm))


def _greedy(p: PlacementProblem, choose: Callable[[HostLoads, int], Optional[int]]) -> Optional[Assign]:
    return place_in_order(HostLoads(p), [-1] * len(p.items), item_order(p), choose)


def place_in_order(st: HostLoads, assign: list[int], order: list[int],
                   choose: Callable[[HostLoads, int], Optional[int]]) -> Optional[Assign]:
    """Put each item of `order` on the host `choose` picks; None as soon as one fits nowhere."""
    for i in order:
        r = choose(st, i)
        if r is None:
            return None
        st.put(i, r)
        assign[i] = r
    return assign


def first_fit_host(st: HostLoads, i: int) -> Optional[int]:
    """The first host in use that fits, else the first empty one (early exit: large fleets)."""
    hosts = range(len(st.p.receivers))
    r = next((r for r in hosts if st.used[r] and st.fits(i, r)), None)
    if r is None:
        r = next((r for r in hosts if not st.used[r] and st.fits(i, r)), None)
    return r


def _best_fit(st: HostLoads, i: int) -> Optional[int]:
    """The host in use left with the least room; an empty host only when none fits."""
    it = st.p.items[i]
    size = sum(it.demand[d] / st.scale[d] for d in range(st.p.dims))
    hosts = range(len(st.p.receivers))
    used = [r for r in hosts if st.used[r] and st.fits(i, r)]
    pool = used or [r for r in hosts if not st.used[r] and st.fits(i, r)]
    return min(pool, key=lambda r: (st.slack(r) - size, r)) if pool else None


def _worst_fit(st: HostLoads, i: int) -> Optional[int]:
    demand = st.p.items[i].demand
    fitting = [r for r in range(len(st.p.receivers)) if st.fits(i, r)]
    return min(fitting, key=lambda r: (st.peak(r, demand), r)) if fitting else None


def first_fit_decreasing(p: PlacementProblem) -> Optional[Assign]:
    return _origin_first(p) if p.objective == "rebalance" else first_fit_completion(p, [-1] * len(p.items))


def first_fit_completion(p: PlacementProblem, partial: Assign) -> Optional[Assign]:
    """`partial` (−1: not placed yet) with the VMs it leaves put first-fit decreasing around the
    ones already placed (fixed VMs counted); None when one fits nowhere. With nothing placed it is
    first-fit decreasing."""
    st = HostLoads(p)
    for i, r in enumerate(partial):
        if r >= 0:
            st.put(i, r)
    return place_in_order(st, list(partial), item_order(p, [i for i, r in enumerate(partial) if r < 0]),
                          first_fit_host)


def best_fit_decreasing(p: PlacementProblem) -> Optional[Assign]:
    if p.objective == "rebalance":
        return _consolidate(p, _origin_first(p))
    if p.objective == "balance":
        return _greedy(p, _worst_fit)
    return _greedy(p, _best_fit)


def heuristic(p: PlacementProblem) -> tuple[Optional[Assign], str]:
    """The better of the greedy placements for the problem's objective."""
    from engine.placement.solution import objective_value

    best, name = None, "ffd"
    for label, fn in (("ffd", first_fit_decreasing), ("bfd", best_fit_decreasing), ("dot", dot_product_fill)):
        a = fn(p)
        if a is not None and (best is None or objective_value(p, a) < objective_value(p, best)):
            best, name = a, label
    return best, name


# ------------------------------------------------------------------ rebalance


def _origin_first(p: PlacementProblem) -> Optional[Assign]:
    """Movable VMs stay home; pending VMs go best-fit onto hosts in use first."""
    st = HostLoads(p)
    index = {rec.host: r for r, rec in enumerate(p.receivers)}
    assign = [-1] * len(p.items)
    for i, it in enumerate(p.items):
        if it.origin is not None:
            r = index[it.origin]
            st.put(i, r)
            assign[i] = r
    return place_in_order(st, assign, item_order(p, [i for i, it in enumerate(p.items) if it.origin is None]), _best_fit)


def _consolidate(p: PlacementProblem, assign: Optional[Assign]) -> Optional[Assign]:
    """Empty the lightest hosts one by one, onto hosts in use, while the move budget lasts."""
    if assign is None:
        return None
    from engine.placement.solution import moves_of

    st = HostLoads(p)
    for i, r in enumerate(assign):
        st.put(i, r)
    holds = [0] * len(p.receivers)
    for r in assign:
        holds[r] += 1
    budget = p.max_moves if p.max_moves is not None else len(p.items)
    tried: set[int] = set()
    while True:
        candidates = [r for r in range(len(p.receivers))
                      if holds[r] and not p.receivers[r].fixed_used and r not in tried]
        if not candidates:
            break
        r = min(candidates, key=lambda r: (holds[r], -st.slack(r)))
        tried.add(r)
        leaving = [i for i, x in enumerate(assign) if x == r]
        for i in leaving:
            st.take(i, r)
        trial = list(assign)
        ok = True
        for i in item_order(p, leaving):
            fitting = [t for t in range(len(p.receivers))
                       if t != r and (holds[t] or p.receivers[t].fixed_used) and st.fits(i, t)]
            if not fitting:
                ok = False
                break
            t = min(fitting, key=lambda t: (st.slack(t), t))
            st.put(i, t)
            trial[i] = t
        if ok and len(moves_of(p, trial)) <= budget:
            for i in leaving:
                holds[trial[i]] += 1
            holds[r] = 0
            st.used[r] = False
            assign = trial
        else:
            for i in leaving:
                if trial[i] != r:
                    st.take(i, trial[i])
                st.put(i, r)
    return assign


# ------------------------------------------------------------------ bin-centric


def dot_product_fill(p: PlacementProblem) -> Optional[Assign]:
    """Fill one host at a time (hosts in use first): add the fitting item whose demand vector
    best matches the host's remaining room (largest dot product, both relative to capacity).
    Matching shapes pairs compute-heavy with memory-heavy VMs, where FFD wastes room."""
    import numpy as np

    if p.objective != "min_hosts" or not p.items:
        return None
    scale = np.array([max((r.usable[d] for r in p.receivers), default=1.0) or 1.0 for d in range(p.dims)])
    demand = np.array([it.demand for it in p.items], dtype=float)
    rel = demand / scale
    left = np.ones(len(p.items), dtype=bool)
    assign = [-1] * len(p.items)
    customers = [it.customer for it in p.items]
    order = sorted(range(len(p.receivers)), key=lambda r: (not p.receivers[r].fixed_used,
                                                             -sum(p.receivers[r].free[d] / scale[d] for d in range(p.dims))))
    for r in order:
        if not left.any():
            break
        rec = p.receivers[r]
        room = np.array(rec.free, dtype=float)
        tol = 1e-9 * np.maximum(1.0, np.array(rec.usable))
        counts = dict(rec.fixed_customers)
        while True:
            fits = left & np.all(demand <= room + tol, axis=1)
            if p.customer_cap is not None and fits.any():
                for i in np.flatnonzero(fits):
                    if counts.get(customers[i], 0) >= p.customer_cap:
                        fits[i] = False
            if not fits.any():
                break
            score = rel @ (room / scale)
            score[~fits] = -1.0
            i = int(np.argmax(score))
            assign[i] = r
            left[i] = False
            room -= demand[i]
            counts[customers[i]] = counts.get(customers[i], 0) + 1
    return None if left.any() else assign


def return_home(p: PlacementProblem, assign: Assign) -> Assign:
    """rebalance: send moved VMs back to their origin when that host is in use anyway and has
    room: the host count never grows and each return saves a move (costliest first)."""
    index = {rec.host: r for r, rec in enumerate(p.receivers)}
    moved = [i for i, it in enumerate(p.items) if it.origin is not None and assign[i] != index[it.origin]]
    if not moved:
        return assign
    assign = list(assign)
    st = HostLoads(p)
    holds = [0] * len(p.receivers)
    for i, r in enumerate(assign):
        st.put(i, r)
        holds[r] += 1
    for i in sorted(moved, key=lambda i: -p.items[i].move_cost):
        home, here = index[p.items[i].origin], assign[i]
        if not (holds[home] or p.receivers[home].fixed_used):
            continue
        st.take(i, here)
        if st.fits(i, home):
            st.put(i, home)
            holds[here] -= 1
            holds[home] += 1
            assign[i] = home
        else:
            st.put(i, here)
    return assign
