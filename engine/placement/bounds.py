"""Lower bounds on the placement objective, valid for every feasible assignment.

min_hosts / rebalance (hosts in use), the best of:
- volume: hosts already holding fixed VMs, plus the fewest empty receivers whose
  capacity absorbs, per dimension, the item load that the used hosts' free room cannot;
- Martello–Toth L2 per dimension over the items, with the largest receiver capacity
  (big items that cannot share a host each need their own);
- conflict clique: items no two of which fit one host together need distinct hosts;
- anti-affinity: a customer with n VMs and a per-host limit m needs ceil(n / m) hosts;
- move budget (rebalance): hosts in use stay in use unless all their VMs move.
(The assignment LP relaxation adds nothing beyond the volume bound for this model;
the CP-SAT proven bound is merged in by the solvers when it is higher.)

balance (peak utilisation), the best of: the fixed hosts' peak; per dimension the
total load over the total receiving capacity; each item's best possible host.
"""

from __future__ import annotations

import math

from engine.placement.problem import EPS, PlacementProblem


def lower_bound(p: PlacementProblem) -> float:
    if p.objective == "balance":
        return balance_bound(p)
    return float(host_count_bound(p))


def host_count_bound(p: PlacementProblem) -> int:
    base = p.fixed_used_elsewhere
    return base + max(volume_bound(p), l2_bound(p), clique_bound(p), affinity_bound(p), move_budget_bound(p))


def move_budget_bound(p: PlacementProblem) -> int:
    """rebalance: emptying a host costs one move per VM on it, so with `max_moves` at most
    the hosts with the fewest VMs (that can all move) empty; every other host stays in use."""
    if p.objective != "rebalance" or p.max_moves is None:
        return 0
    index = {rec.host: r for r, rec in enumerate(p.receivers)}
    on_origin: dict[int, int] = {}
    for it in p.items:
        if it.origin is not None:
            on_origin[index[it.origin]] = on_origin.get(index[it.origin], 0) + 1
    occupied = {r for r, rec in enumerate(p.receivers) if rec.fixed_used} | set(on_origin)
    costs = sorted(n for r, n in on_origin.items() if not p.receivers[r].fixed_used)
    emptied, spent = 0, 0
    for c in costs:
        if spent + c > p.max_moves:
            break
        spent += c
        emptied += 1
    return len(occupied) - emptied


def volume_bound(p: PlacementProblem) -> int:
    """Receivers in use: those with fixed VMs, plus empty ones needed for the overflow volume."""
    used = [r for r in p.receivers if r.fixed_used]
    empty = [r for r in p.receivers if not r.fixed_used]
    extra = 0
    for d in range(p.dims):
        total = sum(it.demand[d] for it in p.items)
        overflow = total - sum(max(0.0, r.free[d]) for r in used)
        if overflow <= EPS * max(1.0, total):
            continue
        caps = sorted((r.free[d] for r in empty), reverse=True)
        need, acc = 0, 0.0
        for c in caps:
            if acc >= overflow - EPS * max(1.0, overflow):
                break
            acc += c
            need += 1
        extra = max(extra, need)
    return len(used) + extra


def l2_bound(p: PlacementProblem) -> int:
    """Martello–Toth L2 on each dimension (items only, bin size = largest free capacity)."""
    best = 0
    for d in range(p.dims):
        cap = max((r.free[d] for r in p.receivers), default=0.0)
        if cap <= 0:
            continue
        sizes = sorted((it.demand[d] for it in p.items), reverse=True)
        if not sizes:
            continue
        best = max(best, _l2(sizes, cap))
    return best


def _l2(sizes: list[float], cap: float) -> int:
    """max over thresholds k ≤ cap/2 of |big| + |mid| + ceil((small − room in mid bins) / cap),
    big: s > cap − k, mid: cap/2 < s ≤ cap − k, small: k ≤ s ≤ cap/2 (sorted sizes, prefix sums)."""
    import bisect

    tol = EPS * cap
    asc = sorted(sizes)
    prefix = [0.0]
    for x in asc:
        prefix.append(prefix[-1] + x)
    n = len(asc)

    def count_above(v: float) -> int:  # sizes > v
        return n - bisect.bisect_right(asc, v)

    def sum_between(lo: float, hi: float) -> float:  # sizes in [lo, hi]
        return prefix[bisect.bisect_right(asc, hi)] - prefix[bisect.bisect_left(asc, lo)]

    half = cap / 2 + tol
    best = math.ceil(prefix[-1] / cap - 1e-9)
    for k in sorted({x for x in asc if x <= half} | {0.0}):
        upper = cap - k + tol
        n_big = count_above(upper)
        n_mid = count_above(half) - n_big
        mid_total = sum_between(half + 1e-12 * cap, upper) if n_mid else 0.0
        small_total = sum_between(k - tol, half)
        room = n_mid * cap - mid_total
        best = max(best, n_big + n_mid + max(0, math.ceil((small_total - room) / cap - 1e-9)))
    return best


def clique_bound(p: PlacementProblem) -> int:
    """Greedy clique of pairwise-incompatible items (largest first)."""
    if not p.receivers or not p.items:
        return 0
    caps = [max(r.free[d] for r in p.receivers) for d in range(p.dims)]
    order = sorted(range(len(p.items)), key=lambda i: -max(
        (p.items[i].demand[d] / caps[d]) if caps[d] > 0 else 0.0 for d in range(p.dims)))
    clique: list[int] = []
    for i in order[:2000]:
        a = p.items[i].demand
        if all(any(a[d] + p.items[j].demand[d] > caps[d] + EPS * max(1.0, caps[d]) for d in range(p.dims))
               for j in clique):
            clique.append(i)
    return len(clique)


def affinity_bound(p: PlacementProblem) -> int:
    if p.customer_cap is None:
        return 0
    per_customer: dict[str, int] = {}
    for it in p.items:
        per_customer[it.customer] = per_customer.get(it.customer, 0) + 1
    best = 0
    for c, n in per_customer.items():
        # Receivers already holding fixed VMs of c have less room; count only the items.
        best = max(best, math.ceil(n / p.customer_cap))
    return best


def balance_bound(p: PlacementProblem) -> float:
    best = p.fixed_peak_util
    for rec in p.receivers:
        for d in range(p.dims):
            if rec.capacity[d] > 0:
                best = max(best, rec.fixed_load[d] / rec.capacity[d])
    for d in range(p.dims):
        cap = sum(r.capacity[d] for r in p.receivers)
        if cap > 0:
            load = sum(r.fixed_load[d] for r in p.receivers) + sum(it.demand[d] for it in p.items)
            best = max(best, load / cap)
    for it in p.items:
        options = []
        for rec in p.receivers:
            u = 0.0
            for d in range(p.dims):
                if rec.capacity[d] > 0:
                    u = max(u, (rec.fixed_load[d] + it.demand[d]) / rec.capacity[d])
                elif it.demand[d] > 0:
                    u = math.inf
            options.append(u)
        if options and min(options) < math.inf:
            best = max(best, min(options))
    return math.floor(best * 1e6) / 1e6
