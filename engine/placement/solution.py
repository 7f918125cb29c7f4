"""An assignment (item index → receiver index) and the objective values it scores."""

from __future__ import annotations

from engine.placement.problem import PlacementProblem

Assign = list[int]  # assign[i] = receiver index of item i


def receiver_loads(p: PlacementProblem, assign: Assign) -> list[list[float]]:
    loads = [list(rec.fixed_load) for rec in p.receivers]
    for i, r in enumerate(assign):
        for d, a in enumerate(p.items[i].demand):
            loads[r][d] += a
    return loads


def hosts_used(p: PlacementProblem, assign: Assign) -> int:
    used = {r for r, rec in enumerate(p.receivers) if rec.fixed_used}
    used.update(assign)
    return p.fixed_used_elsewhere + len(used)


def peak_utilisation(p: PlacementProblem, assign: Assign) -> float:
    peak = p.fixed_peak_util
    for r, load in enumerate(receiver_loads(p, assign)):
        cap = p.receivers[r].capacity
        for d in range(p.dims):
            if cap[d] > 0:
                peak = max(peak, load[d] / cap[d])
    return peak


def moves_of(p: PlacementProblem, assign: Assign) -> list[int]:
    """Items (movable VMs) whose receiver differs from their origin."""
    return [i for i, r in enumerate(assign)
            if p.items[i].origin is not None and p.receivers[r].host != p.items[i].origin]


def move_cost(p: PlacementProblem, assign: Assign) -> int:
    return sum(p.items[i].move_cost for i in moves_of(p, assign))


def objective_value(p: PlacementProblem, assign: Assign) -> float:
    """The plan's `value`: hosts in use (min_hosts, rebalance) or the peak utilisation (balance)."""
    if p.objective == "balance":
        return round(peak_utilisation(p, assign), 6)
    return float(hosts_used(p, assign))


def is_feasible(p: PlacementProblem, assign: Assign) -> bool:
    """Quick internal check used by search code (the independent validator is the real judge)."""
    if len(assign) != len(p.items):
        return False
    loads = [list(rec.fixed_load) for rec in p.receivers]
    counts = [dict(rec.fixed_customers) for rec in p.receivers]
    for i, r in enumerate(assign):
        if not p.fits(p.items[i], r, loads[r], counts[r]):
            return False
        for d, a in enumerate(p.items[i].demand):
            loads[r][d] += a
        counts[r][p.items[i].customer] = counts[r].get(p.items[i].customer, 0) + 1
    if p.max_moves is not None and len(moves_of(p, assign)) > p.max_moves:
        return False
    return True
