"""Exact pricing for column generation: a bounded multi-dimensional knapsack by breadth-first
branch and bound in numpy.

max Σ_t v_t a_t  s.t.  Σ_t w_td a_t ≤ f_d (every d),  0 ≤ a_t ≤ m_t integer.

Patterns are built one item at a time in non-decreasing type order (types sorted by value,
best first), so every multiset is met once. A partial pattern whose optimistic completion
cannot beat the best pattern found so far is dropped. The completion bound, for the types
j, j+1, … still allowed, is the smallest of
  - v_j · (most items that still fit, by the smallest size per resource),
  - room_d · max v/w_d, per resource d and for a surrogate resource (the sum of the sizes
    relative to the room): any completion respects every one of these knapsack constraints.
When the partial patterns grow past `max_states` or the deadline passes, the ones with the
weakest bounds are dropped and the best bound among them is kept: the answer's `upper` is then
still a proven upper bound on the optimum (what the Lagrangian bound needs), just not tight.

One class at a time and without per-customer rooms (callers use CP-SAT for those).
"""

from __future__ import annotations

import time
from typing import Optional

import numpy as np

EPS = 1e-9
CHUNK = 4_000_000      # state × type × resource cells evaluated at once (memory ~ this many bytes)


def price(weight: np.ndarray, value: np.ndarray, most: np.ndarray, free: np.ndarray, floor: float,
          target: float, keep: int, cutoff: float = 0.0, max_states: int = 60_000,
          deadline: Optional[float] = None, width: Optional[int] = None) -> tuple[float, float, list[tuple[float, dict[int, int]]]]:
    """(best value found, proven upper bound on the optimum, up to `keep` patterns of value > target
    as (value, {type index → copies}), best first). `weight` is T × D integers, `value` > 0, `most`
    ≥ 1 copies per type (each fitting alone), `floor` a value known to be reachable (0 is fine).
    Partial patterns that cannot beat `cutoff` are dropped too: the optimum is then found only when it
    exceeds `cutoff`; the upper bound returned then says only that nothing beats max(best, `cutoff`).
    `width` (a heuristic: the upper bound is then not proven, returned as inf) extends each partial
    pattern by at most that many of the next types."""
    T, D = weight.shape
    if T == 0:
        return 0.0, 0.0, []
    zero = np.all(weight == 0, axis=1)
    free_value = float((value[zero] * most[zero]).sum())   # weightless types go into every pattern in full
    idx = np.flatnonzero(~zero)
    order = idx[np.lexsort((-weight[idx].sum(axis=1), -value[idx]))]
    w, v, m = weight[order].astype(np.int64), value[order].astype(float), most[order].astype(np.int64)
    n = len(order)
    if n == 0:
        counts = {int(t): int(most[t]) for t in np.flatnonzero(zero)}
        return free_value, free_value, ([(free_value, counts)] if free_value > target else [])
    # suffix tables for the completion bound
    norm = np.maximum(free.astype(float), 1.0)
    surrogate = (w / norm).sum(axis=1)
    # a second surrogate resource fitted to the values (least squares, clipped at 0: any λ ≥ 0 is valid):
    # when values are nearly λ·w, its ratio bound is nearly tight
    lam = np.clip(np.linalg.lstsq(w / norm, v, rcond=None)[0], 0.0, None)
    if not np.any(lam > 0):
        lam = np.ones(D)
    fitted = (w / norm) @ lam
    big = np.inf
    smin = np.minimum.accumulate(w[::-1], axis=0)[::-1]   # 0: some type left needs none of it (no bound)
    ratio = np.column_stack([np.where(w[:, d] > 0, v / np.maximum(w[:, d], 1), big) for d in range(D)]
                            + [v / np.maximum(surrogate, 1e-12), np.where(fitted > 0, v / np.maximum(fitted, 1e-300), big)])
    rmax = np.maximum.accumulate(ratio[::-1], axis=0)[::-1]

    # Dantzig bounds (fractional knapsack over every type, copies included) on the surrogate resources:
    # per resource, the sum and the fitted one; types sorted by value per unit of surrogate size
    sizes = np.column_stack([w / norm, surrogate, fitted])
    dantzig = []
    for k in range(sizes.shape[1]):
        sk = sizes[:, k]
        with np.errstate(divide="ignore"):
            rk = np.where(sk > 0, v / np.where(sk > 0, sk, 1.0), np.inf)
        o = np.argsort(-rk, kind="stable")
        cw, cv = np.cumsum(sk[o] * m[o]), np.cumsum(v[o] * m[o])
        dantzig.append((np.concatenate([[0.0], cw]), np.concatenate([[0.0], cv]), np.append(rk[o], 0.0)))

    def bound(rem: np.ndarray, j: np.ndarray) -> np.ndarray:
        """Optimistic value of completing patterns with room `rem` from type j on (j < n)."""
        rel = rem / norm
        room = np.column_stack([rem.astype(float), rel.sum(axis=1), rel @ lam])
        r = rmax[j]
        by_ratio = np.where(np.isinf(r), np.inf, room * np.where(np.isinf(r), 0.0, r)).min(axis=1)
        fits = np.where(smin[j] > 0, rem // np.maximum(smin[j], 1), np.iinfo(np.int64).max)
        out = np.minimum(by_ratio, v[j] * fits.min(axis=1))
        rooms = np.column_stack([rel, rel.sum(axis=1), rel @ lam])
        for k, (cw, cv, rk) in enumerate(dantzig):
            R = rooms[:, k]
            i = np.searchsorted(cw, R + 1e-12, side="right") - 1      # whole types that fit: cw[i] ≤ R
            frac = np.where(np.isinf(rk[i]), 0.0, (R - cw[i]) * np.where(np.isinf(rk[i]), 0.0, rk[i]))
            out = np.minimum(out, cv[i] + np.maximum(frac, 0.0))
        return out

    best = max(0.0, floor - free_value)
    upper_dropped = -np.inf
    found_v: list[np.ndarray] = []
    found_ref: list[tuple[int, np.ndarray]] = []  # (level, state indices) of improving patterns
    levels_type: list[np.ndarray] = []
    levels_parent: list[np.ndarray] = []
    alive_maps: list[np.ndarray] = []      # per level: the surviving states' indices in that level's arrays
    # the root
    last = np.zeros(1, dtype=np.int64)
    cnt = np.zeros(1, dtype=np.int64)
    rem = free.astype(np.int64)[None, :]
    val = np.zeros(1)
    root = True
    arange = np.arange(n)
    goal = target - free_value
    cut_at = cutoff - free_value
    while len(val):
        if deadline is not None and time.monotonic() > deadline:
            upper_dropped = max(upper_dropped, float((val + bound(rem, np.minimum(last, n - 1))).max()))
            break
        # the next type of each state ranges over [start, end): the completion bound falls as the first
        # type allowed moves down the list, so `end` (where it stops beating the cutoff) is a binary search
        start = last if root else last + (cnt >= m[last])
        end = _first_below(val, rem, start, n, max(best, cut_at) + EPS, bound)
        if width is not None:
            end = np.minimum(end, start + width)
        ss, jj = [], []
        step = max(1, CHUNK // max(1, n * D))
        for lo in range(0, len(val), step):
            sl = slice(lo, lo + step)
            ok = (arange[None, :] >= start[sl, None]) & (arange[None, :] < end[sl, None])
            ok &= np.all(w[None, :, :] <= rem[sl, None, :], axis=2)
            s, j = np.nonzero(ok)
            ss.append(s + lo)
            jj.append(j)
        s = np.concatenate(ss)
        j = np.concatenate(jj)
        if not len(s):
            break
        cval = val[s] + v[j]
        crem = rem[s] - w[j]
        ccnt = np.where((j == last[s]) & (not root), cnt[s] + 1, 1)
        levels_type.append(j)
        levels_parent.append(s)
        level = len(levels_type) - 1
        top = float(cval.max())
        if top > best:
            best = top
        good = np.flatnonzero(cval > goal + EPS)
        if len(good):
            if len(good) > keep:
                good = good[np.argpartition(-cval[good], keep - 1)[:keep]]
            found_v.append(cval[good])
            found_ref.append((level, good))
        ub = cval + bound(crem, j)
        alive = np.flatnonzero(ub > max(best, cut_at) + EPS)
        if len(alive) > max_states:
            cut = np.argpartition(-ub[alive], max_states - 1)
            upper_dropped = max(upper_dropped, float(ub[alive[cut[max_states:]]].max()))
            alive = alive[cut[:max_states]]
        # the parents' indices of the next level refer to this level's full arrays
        last, cnt, rem, val = j[alive], ccnt[alive], crem[alive], cval[alive]
        alive_maps.append(alive)
        root = False
    upper = np.inf if width is not None else max(best, cut_at, upper_dropped) + free_value
    patterns = _collect(found_v, found_ref, levels_type, levels_parent, alive_maps, order, keep)
    zero_counts = {int(t): int(most[t]) for t in np.flatnonzero(zero)}
    out = []
    for pv, counts in patterns:
        counts.update(zero_counts)
        out.append((pv + free_value, counts))
    return best + free_value, upper, out


def _first_below(val, rem, start, n, thr, bound):
    """Per state, the first type j ≥ start whose completion bound val + bound(rem, j) ≤ thr (n: none)."""
    lo, hi = start.copy(), np.full(len(val), n, dtype=np.int64)
    while True:
        act = np.flatnonzero(lo < hi)
        if not len(act):
            return lo
        mid = (lo[act] + hi[act]) // 2
        below = val[act] + bound(rem[act], mid) <= thr
        hi[act[below]] = mid[below]
        lo[act[~below]] = mid[~below] + 1


def _collect(found_v, found_ref, levels_type, levels_parent, alive_maps, order, keep):
    """The `keep` best improving patterns, rebuilt by walking the parent pointers back."""
    if not found_v:
        return []
    vals = np.concatenate(found_v)
    refs = [(lv, int(i)) for lv, idx in found_ref for i in idx]
    pick = np.argsort(-vals)[:keep]
    out = []
    for p in pick:
        lv, i = refs[p]
        counts: dict[int, int] = {}
        while True:
            t = int(order[levels_type[lv][i]])
            counts[t] = counts.get(t, 0) + 1
            parent = int(levels_parent[lv][i])
            if lv == 0:
                break
            # the parent is a surviving state of level lv − 1: map it back to that level's full arrays
            i = int(alive_maps[lv - 1][parent])
            lv -= 1
        out.append((float(vals[p]), counts))
    return out
