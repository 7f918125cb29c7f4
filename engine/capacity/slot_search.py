"""Phase II slots by exact search, when the structure allows it (the MILP handles the rest).

As in Phase I's search, drop every limit; what remains of a slot is: split each
reserved class's fixed count among the apps it serves, and cover each app's
remaining workload with its on-demand class, c_d · ceil((w_a − p_r·y_a)⁺ / p_d).
When every app has at most one useful reserved class and at most one useful
on-demand class, the apps sharing a reserved class form a group, and a dynamic
programme over the group's apps (how many of the N reserved VMs each gets) finds the
cheapest split exactly, for every distinct slot at once. A slot whose answer breaks
a dropped limit, or that cannot be served at all, is left to the MILP (and to the
overfull fallback).
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from engine.capacity.model import ProblemData

EPS = 1e-9
MAX_WORK = 300_000_000  # slots × N² per app: beyond this the MILP is the better tool


def _useful(row: np.ndarray, lo: int, hi: int) -> np.ndarray:
    return lo + np.flatnonzero(row[lo:hi] > 0)


def search_slots(data: ProblemData, W: np.ndarray, fixed: np.ndarray) -> dict[int, tuple[np.ndarray, float]]:
    """{row of W: (allocation apps × classes, cost)} for the slots solved exactly here."""
    K, A = W.shape
    R, C = data.n_reserved, len(data.classes)
    if np.any(np.abs(fixed - np.round(fixed)) > EPS):
        return {}
    counts = np.round(fixed).astype(int)
    res_of, dem_of = [], []
    for a in range(A):
        res, dem = _useful(data.perf[a], 0, R), _useful(data.perf[a], R, C)
        if len(res) > 1 or len(dem) > 1:
            return {}
        res_of.append(int(res[0]) if len(res) else None)
        dem_of.append(int(dem[0]) if len(dem) else None)
    for r in range(R):
        members = [a for a in range(A) if res_of[a] == r]
        if members and K * (counts[r] + 1) ** 2 * len(members) > MAX_WORK:
            return {}

    alloc = np.zeros((K, A, C))
    ok = np.ones(K, dtype=bool)
    for r in range(R):
        members = [a for a in range(A) if res_of[a] == r]
        if not members:
            alloc[:, 0, r] = counts[r]  # paid and running anyway; serves nobody
            continue
        split, finite = _split(data, W, members, r, counts[r], dem_of)
        ok &= finite
        for j, a in enumerate(members):
            alloc[:, a, r] = split[:, j]
    for a in range(A):
        d = dem_of[a]
        r = res_of[a]
        served = data.perf[a, r] * alloc[:, a, r] if r is not None else np.zeros(K)
        need = np.maximum(0.0, W[:, a] - served)
        if d is None:
            ok &= need <= EPS * np.maximum(1.0, W[:, a])
        else:
            alloc[:, a, d] = np.ceil(need / data.perf[a, d] - EPS)
    ok &= _within_limits(data, alloc)
    costs = alloc.sum(axis=1) @ data.price
    return {int(k): (alloc[k], float(costs[k])) for k in np.flatnonzero(ok)}


def _app_cost(data: ProblemData, w: np.ndarray, a: int, r: int, n: int, d: Optional[int]) -> np.ndarray:
    """slots × (n+1): on-demand cost of app a when it gets y = 0..n reserved VMs (inf: cannot serve)."""
    y = np.arange(n + 1, dtype=float)
    need = np.maximum(0.0, w[:, None] - data.perf[a, r] * y[None, :])
    if d is None:
        return np.where(need <= EPS * np.maximum(1.0, w[:, None]), 0.0, np.inf)
    return data.price[d] * np.ceil(need / data.perf[a, d] - EPS)


def _split(data: ProblemData, W: np.ndarray, members: list[int], r: int, n: int, dem_of) -> tuple[np.ndarray, np.ndarray]:
    """Cheapest split of n reserved VMs of class r among `members`, per slot (DP over apps)."""
    K = W.shape[0]
    best = _app_cost(data, W[:, members[0]], members[0], r, n, dem_of[members[0]])  # K × (n+1): VMs used so far
    choices = []
    for a in members[1:]:
        cost = _app_cost(data, W[:, a], a, r, n, dem_of[a])
        new = np.full((K, n + 1), np.inf)
        arg = np.zeros((K, n + 1), dtype=int)
        for c in range(n + 1):
            # app a gets y, the earlier apps c − y
            cand = best[:, c::-1][:, : c + 1] + cost[:, : c + 1]
            arg[:, c] = np.argmin(cand, axis=1)
            new[:, c] = cand[np.arange(K), arg[:, c]]
        choices.append(arg)
        best = new
    # All n VMs are assigned (costs never rise with more VMs, so using exactly n loses nothing).
    split = np.zeros((K, len(members)))
    left = np.full(K, n)
    for j in range(len(members) - 1, 0, -1):
        y = choices[j - 1][np.arange(K), left]
        split[:, j] = y
        left = left - y
    split[:, 0] = left
    return split, np.isfinite(best[:, n])


def _within_limits(data: ProblemData, alloc: np.ndarray) -> np.ndarray:
    totals = alloc.sum(axis=1)  # slots × classes
    ok = np.ones(len(alloc), dtype=bool)
    for c, cap in enumerate(data.class_max):
        if cap > 0:
            ok &= totals[:, c] <= cap + EPS * cap
    for s in range(len(data.set_ids)):
        m = data.member[s]
        if data.set_max_vms[s] > 0:
            ok &= totals[:, m].sum(axis=1) <= data.set_max_vms[s] * (1 + EPS)
        if data.set_max_cores[s] > 0:
            ok &= totals[:, m] @ data.cores[m] <= data.set_max_cores[s] * (1 + EPS)
    return ok
