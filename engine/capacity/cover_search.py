"""Phase I, integer, by exact search when apps have several reserved and on-demand classes.

Drop every limit (class max_vms, limiting sets): what is left splits by app, and given
an app's reserved performance P the cost of every level is an integer covering problem
of its own. On a grid where every performance and workload is a whole number (values
scaled by 1, 10, …, 10⁴), two dynamic programmes give, exactly, for every v:

    G[v] = the cheapest on-demand VMs (per slot) serving at least v,
    R[v] = the cheapest reserved VMs (for the period) serving at least v,

and the app's cost with reserved performance v is R[v] + Σ_l n_l · G[(w_l − v)⁺]. R is a
step function and the level sum only falls as v grows, so the optimum is at the right
end of one of R's steps. Those candidates are taken in order of a lower bound (the LP
value of the on-demand part, ρ·Σ n_l (w_l − v)⁺ with ρ the best price per unit served)
and evaluated exactly until the bound of the rest reaches the best cost: the result is
proven optimal for the relaxation. Classes that differ only in their limiting sets
(the same VM type reserved in two zones) are searched as one, then the counts are
spread over them within the limits; if the allocation then satisfies every dropped
limit (the independent checker says so), it is optimal for the full problem.
Otherwise, or when the grid or the tables would be too large, the caller uses the MILP.

Ties in cost go to the most reserved VMs, as in the MILP's tie-break.
"""

from __future__ import annotations

import time
from typing import Optional

import numpy as np

from engine.capacity.levels import Levels
from engine.capacity.model import ProblemData
from engine.capacity.validate import check_allocation

SCALES = (1, 10, 100, 1000, 10_000)
MAX_GRID = 5_000_000     # entries of one table (memory: three 8-byte arrays of this many)
MAX_BLOCKS = 200_000     # DP steps (each a numpy operation on a block of the table)
GATHERS = 2_000_000      # table look-ups per step of the candidate evaluation (memory: 16 bytes each)
REL = 1e-9               # costs equal within this relative difference are ties


class _NoGrid(Exception):
    """The values do not sit on a small enough integer grid: the search does not apply."""


class _Stopped(Exception):
    """The deadline passed or the caller cancelled."""


class _Clock:
    def __init__(self, deadline: Optional[float], cancellation):
        self.deadline, self.cancellation = deadline, cancellation

    def check(self) -> None:
        if self.cancellation is not None and self.cancellation.cancelled:
            raise _Stopped
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise _Stopped


def search_cover(data: ProblemData, levels: Levels, deadline: Optional[float] = None, cancellation=None):
    """A proven-optimal `SearchResult` (allocation levels × apps × classes, cost); None when the search
    does not apply (grid, size), a dropped limit binds or `deadline` (time.monotonic) passes first;
    status "unknown" when `cancellation` is cancelled."""
    from engine.capacity.search import SearchResult

    clock = _Clock(deadline, cancellation)
    try:
        return _search_cover(data, levels, clock)
    except _NoGrid:
        return None
    except _Stopped:
        cancelled = cancellation is not None and cancellation.cancelled
        return SearchResult("unknown") if cancelled else None


def _search_cover(data: ProblemData, levels: Levels, clock: _Clock):
    from engine.capacity.search import SearchResult

    W = levels.values.astype(float)
    n = levels.repeats.astype(float)
    T = float(n.sum())
    L, A = W.shape
    R, C = data.n_reserved, len(data.classes)
    groups = _twin_groups(data)
    alloc = np.zeros((L, A, C))
    for a in range(A):
        res = [g for g in groups if g[0] < R and data.perf[a, g[0]] > 0]
        dem = [c for c in range(R, C) if data.perf[a, c] > 0]
        w = W[:, a]
        if not res and not dem:
            if (w > 0).any():
                return SearchResult("infeasible")
            continue
        counts, ondemand = _AppSearch(data, a, w, n, T, [g[0] for g in res], dem, clock).solve()
        for k, g in enumerate(res):
            alloc[:, a, g[0]] = counts[k]  # the group's first class for now: spread below
        alloc[:, a, dem] = ondemand
    if not _spread_twins(data, alloc, groups):
        return None
    if check_allocation(data, W, alloc, integer=True):
        return None  # a dropped limit binds: the relaxation's optimum is not feasible
    cost = T * float(data.price[:R] @ alloc[0, :, :R].sum(axis=0)) + float(np.einsum("l,lac,c->", n, alloc[:, :, R:], data.price[R:]))
    return SearchResult("optimal", alloc, cost)


def _twin_groups(data: ProblemData) -> list[list[int]]:
    """Reserved classes with the same price, cores and performance for every app, in column order
    (they differ at most in their limits); each on-demand class alone."""
    R = data.n_reserved
    groups: dict[tuple, list[int]] = {}
    for c in range(R):
        key = (float(data.price[c]), float(data.cores[c]), tuple(float(p) for p in data.perf[:, c]))
        groups.setdefault(key, []).append(c)
    return list(groups.values()) + [[c] for c in range(R, len(data.classes))]


def _grid(values: np.ndarray) -> int:
    """The smallest scale of SCALES putting every value on the integers (within float noise)."""
    for s in SCALES:
        scaled = values * s
        if np.all(np.abs(scaled - np.round(scaled)) <= 1e-7 * np.maximum(1.0, np.abs(scaled))):
            return s
    raise _NoGrid


def _cover_table(size: int, perf: np.ndarray, price: np.ndarray, clock: _Clock):
    """best[v], count[v], last[v] for v = 0..size: the cheapest whole VMs serving at least v (ties: more
    VMs), how many, and the index of one VM of that choice (to walk back). Computed a block at a time:
    every entry looks back at least min(perf) places, so a block of that length depends only on earlier ones."""
    best = np.zeros(size + 1)
    count = np.zeros(size + 1, dtype=np.int64)
    last = np.full(size + 1, -1, dtype=np.int64)
    step = int(perf.min())
    if (size + step - 1) // step > MAX_BLOCKS:
        raise _NoGrid
    for start in range(1, size + 1, step):
        clock.check()
        v = np.arange(start, min(size + 1, start + step))
        top_best = np.full(len(v), np.inf)
        top_count = np.zeros(len(v), dtype=np.int64)
        top_last = np.full(len(v), -1, dtype=np.int64)
        for k, (p, c) in enumerate(zip(perf, price)):
            prev = np.maximum(0, v - int(p))
            cand = best[prev] + c
            cand_count = count[prev] + 1
            tie = np.abs(cand - top_best) <= REL * np.maximum(1.0, np.abs(cand))
            better = (cand < top_best) & ~tie | tie & (cand_count > top_count)
            top_best = np.where(better, cand, top_best)
            top_count = np.where(better, cand_count, top_count)
            top_last = np.where(better, k, top_last)
        best[v], count[v], last[v] = top_best, top_count, top_last
    return best, count, last


class _AppSearch:
    """One app: reserved classes `res` (one per twin group) and on-demand classes `dem`."""

    def __init__(self, data: ProblemData, a: int, w: np.ndarray, n: np.ndarray, T: float, res: list[int], dem: list[int],
                 clock: _Clock):
        self.res, self.dem, self.n, self.clock = res, dem, n, clock
        perf_r, perf_d = data.perf[a, res], data.perf[a, dem]
        s = _grid(np.concatenate([perf_r, perf_d, w]))
        self.w = np.round(w * s).astype(np.int64)
        self.perf_r = np.round(perf_r * s).astype(np.int64)
        self.perf_d = np.round(perf_d * s).astype(np.int64)
        self.top = int(self.w.max(initial=0))
        if self.top + 1 > MAX_GRID:
            raise _NoGrid
        self.price_r = data.price[res] * T if res else np.zeros(0)
        self.price_d = data.price[dem] if dem else np.zeros(0)

    def solve(self) -> tuple[np.ndarray, np.ndarray]:
        """The app's optimum: reserved VMs per class of `res`, on-demand VMs levels × classes of `dem`."""
        top, w = self.top, self.w
        if self.dem:
            g_best, _, g_last = _cover_table(top, self.perf_d, self.price_d, self.clock)
        else:  # no on-demand class: reserved VMs must serve the peak
            g_best, g_last = np.where(np.arange(top + 1) > 0, np.inf, 0.0), np.full(top + 1, -1)
        if self.res:
            r_best, r_count, r_last = _cover_table(top, self.perf_r, self.price_r, self.clock)
        else:
            r_best, r_count, r_last = np.where(np.arange(top + 1) > 0, np.inf, 0.0), np.zeros(top + 1, np.int64), np.full(top + 1, -1)
        v = self._search(r_best, r_count, g_best)
        counts = np.zeros(len(self.res))
        at = v
        while at > 0:
            k = r_last[at]
            counts[k] += 1
            at = max(0, at - int(self.perf_r[k]))
        served = int(counts @ self.perf_r) if len(self.res) else 0
        ondemand = np.zeros((len(w), len(self.dem)))
        need = np.maximum(0, w - served)
        while (need > 0).any():
            k = g_last[need]
            on = need > 0
            np.add.at(ondemand, (np.flatnonzero(on), k[on]), 1.0)
            need = np.where(on, np.maximum(0, need - self.perf_d[np.maximum(k, 0)]), 0)
        return counts, ondemand

    def _search(self, r_best: np.ndarray, r_count: np.ndarray, g_best: np.ndarray) -> int:
        """The reserved performance v of the app's optimum (ties: the most reserved VMs)."""
        top, w, n = self.top, self.w, self.n
        change = np.flatnonzero((r_best[1:] != r_best[:-1]) | (r_count[1:] != r_count[:-1]))
        cand = np.unique(np.concatenate([change, [top]]))  # right ends of R's steps (v = change index)
        cand = cand[np.isfinite(r_best[cand])]
        # LP bound of the on-demand part: rho · Σ_l n_l (w_l − v)⁺, by prefix sums over sorted w.
        rho = float(np.min(self.price_d / self.perf_d)) if self.dem else np.inf
        order = np.argsort(w)
        ws, ns = w[order].astype(float), n[order]
        suffix_n = np.concatenate([np.cumsum(ns[::-1])[::-1], [0.0]])
        suffix_nw = np.concatenate([np.cumsum((ns * ws)[::-1])[::-1], [0.0]])
        k = np.searchsorted(ws, cand, side="right")
        above = suffix_nw[k] - cand * suffix_n[k]
        lp = np.where(above > 0, rho * np.where(above > 0, above, 0.0), 0.0) if self.dem else np.where(above > 0, np.inf, 0.0)
        bound = r_best[cand] + lp
        by_bound = np.argsort(bound, kind="stable")
        best_cost, best_count, best_v = np.inf, -1, 0
        chunk = max(1, GATHERS // max(1, len(w)))
        for start in range(0, len(by_bound), chunk):
            self.clock.check()
            pick = by_bound[start:start + chunk]
            if bound[pick[0]] > best_cost + REL * max(1.0, abs(best_cost)):
                break  # every remaining candidate's bound is above the best cost: proven
            vs = cand[pick]
            need = np.maximum(0, w[None, :] - vs[:, None])
            cost = r_best[vs] + g_best[need] @ n
            for v, c in zip(vs, cost):
                tie = abs(c - best_cost) <= REL * max(1.0, abs(c))
                if (c < best_cost and not tie) or (tie and r_count[v] > best_count):
                    best_cost, best_count, best_v = float(c), int(r_count[v]), int(v)
        return best_v


def _spread_twins(data: ProblemData, alloc: np.ndarray, groups: list[list[int]]) -> bool:
    """Spread each twin group's reserved VMs (all on its first class so far) over the group's classes
    within class max_vms and limiting-set caps, given every other class's use at its busiest level.
    False when they do not fit (the checker would refuse; the MILP decides)."""
    R = data.n_reserved
    twins = [g for g in groups if len(g) > 1 and g[0] < R]
    if not twins:
        return True
    shared = [c for g in twins for c in g]
    totals = alloc.sum(axis=1)  # levels × classes
    others = totals.copy()
    others[:, shared] = 0.0
    room_vms = np.where(data.set_max_vms > 0, data.set_max_vms - (others @ data.member.T.astype(float)).max(axis=0, initial=0.0), np.inf)
    room_cores = np.where(data.set_max_cores > 0,
                          data.set_max_cores - (others @ (data.member * data.cores).T).max(axis=0, initial=0.0), np.inf)
    room_class = np.where(data.class_max > 0, data.class_max, np.inf)
    for g in twins:
        for a in range(alloc.shape[1]):
            left = float(alloc[0, a, g[0]])
            alloc[:, a, g[0]] = 0.0
            for c in g:
                sets = data.member[:, c]
                fits = min(room_class[c], room_vms[sets].min(initial=np.inf),
                           (room_cores[sets] / data.cores[c]).min(initial=np.inf) if data.cores[c] > 0 else np.inf)
                give = min(left, np.floor(fits + 1e-9))
                if give <= 0:
                    continue
                alloc[:, a, c] = give
                left -= give
                room_class[c] -= give
                room_vms[sets] -= give
                room_cores[sets] -= give * data.cores[c]
            if left > 0:
                return False
    return True
