"""Phase I by exact search over reserved counts, when the problem's structure allows it.

Drop every limit (class max_vms, limiting sets): what is left splits by app. For
one app with reserved performance r = p_r·y, the on-demand cost of level l is

    integer, one useful on-demand class d:  c_d · ceil((w_l − p_r·y)⁺ / p_d)
    relaxed, any on-demand classes:          (w_l − p_r·y)⁺ · min_d c_d / p_d

so the app's total cost F(y) = T·c_r·y + Σ_l n_l · ondemand_l(y) can be evaluated
for every candidate y at once (numpy, levels × candidates) and minimised exactly:
integer y runs over 0..ceil(max_l w_l / p_r) (beyond, F only grows); the relaxed F
is convex piecewise linear with its minimum at y = 0 or a breakpoint w_l / p_r.
In the relaxed case only each app's cheapest reserved class (per unit of
performance) matters; the integer search needs at most one useful reserved and one
useful on-demand class per app.

That solves a relaxation exactly. If its allocation also satisfies every dropped
limit (checked by the independent validator), it is optimal for the full problem;
otherwise the caller falls back to the MILP/LP. Ties in cost go to the most
reserved VMs, as in the MILP's tie-break.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from engine.capacity.levels import Levels
from engine.capacity.model import ProblemData
from engine.capacity.validate import check_allocation

EPS = 1e-9
MAX_CELLS = 40_000_000  # candidates × levels evaluated at once (memory guard)


class SearchResult:
    def __init__(self, status: str, allocation: Optional[np.ndarray] = None, cost: Optional[float] = None):
        self.status = status
        self.allocation = allocation
        self.cost = cost


def _useful(perf_row: np.ndarray, lo: int, hi: int) -> np.ndarray:
    return lo + np.flatnonzero(perf_row[lo:hi] > 0)


def search_phase_i(data: ProblemData, levels: Levels, relaxed: bool, deadline: Optional[float] = None,
                   cancellation=None) -> Optional[SearchResult]:
    """Exact optimum by search, or None when the structure does not fit or a limit binds. Several useful
    classes per app (integer): `engine.capacity.cover_search`, within `deadline` (time.monotonic)."""
    W = levels.values.astype(float)
    n = levels.repeats.astype(float)
    T = float(n.sum())
    L, A = W.shape
    R = data.n_reserved
    C = len(data.classes)
    alloc = np.zeros((L, A, C))
    for a in range(A):
        res = _useful(data.perf[a], 0, R)
        dem = _useful(data.perf[a], R, C)
        w = W[:, a]
        if not relaxed and (len(res) > 1 or len(dem) > 1):
            from engine.capacity.cover_search import search_cover

            return search_cover(data, levels, deadline, cancellation)
        if len(res) == 0 and len(dem) == 0:
            if (w > 0).any():
                return SearchResult("infeasible")  # nothing can serve this app: the full problem is infeasible too
            continue
        r = None if len(res) == 0 else res[np.argmin(data.price[res] / data.perf[a, res])]
        d = None if len(dem) == 0 else dem[np.argmin(data.price[dem] / data.perf[a, dem])]
        y = _best_reserved(w, n, T, data, a, r, d, relaxed)
        if y is None:
            return None
        if r is not None:
            alloc[:, a, r] = y
        if d is not None:
            need = np.maximum(0.0, w - (data.perf[a, r] * y if r is not None else 0.0))
            x = need / data.perf[a, d]
            alloc[:, a, d] = x if relaxed else np.ceil(x - EPS)
    if check_allocation(data, W, alloc, integer=not relaxed):
        return None  # a dropped limit binds: the relaxation's optimum is not feasible
    cost = T * float(data.price[:R] @ alloc[0, :, :R].sum(axis=0)) + float(np.einsum("l,lac,c->", n, alloc[:, :, R:], data.price[R:]))
    return SearchResult("optimal", alloc, cost)


def _best_reserved(w, n, T, data: ProblemData, a: int, r, d, relaxed: bool) -> Optional[float]:
    """The app's optimal reserved count (largest among ties); None if too big to enumerate."""
    if r is None:
        return 0.0
    p_r, c_r = data.perf[a, r], data.price[r] * T
    top = float(w.max(initial=0.0)) / p_r
    if d is None:  # no on-demand class: reserved VMs must cover the peak
        return top if relaxed else float(np.ceil(top - EPS))
    p_d, c_d = data.perf[a, d], data.price[d]
    if relaxed:
        cand = np.concatenate([[0.0], np.unique(w) / p_r])
        # F(y) = c_r·y + (c_d/p_d)·Σ_l n_l (w_l − p_r·y)⁺, evaluated at the breakpoints with prefix sums.
        order = np.argsort(w)
        ws, ns = w[order], n[order]
        suffix_n = np.concatenate([np.cumsum(ns[::-1])[::-1], [0.0]])
        suffix_nw = np.concatenate([np.cumsum((ns * ws)[::-1])[::-1], [0.0]])
        k = np.searchsorted(ws, cand * p_r, side="right")  # levels strictly above p_r·y
        f = c_r * cand + (c_d / p_d) * (suffix_nw[k] - p_r * cand * suffix_n[k])
    else:
        cand = np.arange(0.0, np.ceil(top - EPS) + 1)
        if len(cand) * len(w) > MAX_CELLS:
            return None
        need = np.maximum(0.0, w[None, :] - p_r * cand[:, None])
        f = c_r * cand + c_d * (np.ceil(need / p_d - EPS) @ n)
    best = f.min()
    ties = np.flatnonzero(f <= best + EPS * max(1.0, abs(best)))
    return float(cand[ties[-1]])
