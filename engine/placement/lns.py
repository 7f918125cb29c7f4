"""Large-neighbourhood search for big `min_hosts` / `rebalance` instances.

Start from the greedy packing. Repeatedly free a few hosts (the emptiest one,
a victim, plus a handful of others), re-pack their VMs onto just those hosts
with a small CP-SAT model, and keep the result. The sub-model minimises the
hosts it uses first, then pushes load onto the fuller hosts (a linear
preference by current fill), so VMs drain from the emptiest hosts over many
rounds until one empties. The packing never gets worse: the current placement
is the sub-model's hint and always one of its solutions.
"""

from __future__ import annotations

import random
import time
from typing import Callable, Optional

from engine.cp_solver import new_cp_solver
from engine.placement.candidates import crowded_customers, has_room, stays_home
from engine.placement.problem import PlacementProblem
from engine.placement.solution import Assign, hosts_used, moves_of
from engine.progress import Cancellation

NEIGHBOURHOOD = 7      # hosts re-packed per round
ROUND_S = 0.3          # CP-SAT time per round: short rounds, many of them, beat long ones


def improve(p: PlacementProblem, start: Assign, deadline: float, lb: float, workers: int, seed: int,
            report: Callable[[Optional[float], str], None], cancel: Optional[Cancellation] = None) -> Assign:
    search = _Search(p, start, seed)
    best = hosts_used(p, search.assign)
    rounds = 0
    while time.monotonic() < deadline - 0.05 and best > lb and not (cancel is not None and cancel.cancelled):
        rounds += 1
        hosts = search.pick(NEIGHBOURHOOD)
        if hosts is None:
            break
        search.repack(hosts, min(ROUND_S, deadline - time.monotonic()), workers, seed + rounds)
        now = hosts_used(p, search.assign)
        if now < best:
            best = now
            report(float(now), f"lns: {now} hosts after {rounds} rounds")
    return search.assign


class _Neighbourhood:
    """What both searches share: the current assignment, integer data, and the parts of a round's sub-model."""

    def __init__(self, p: PlacementProblem, assign: Assign, seed: int):
        self.p = p
        self.assign = list(assign)
        self.rng = random.Random(seed)
        self.demand = [p.int_demand(i) for i in range(len(p.items))]
        self.free = [p.int_free(r) for r in range(len(p.receivers))]

    def fits_alone(self, i: int, r: int) -> bool:
        return self.p.allowed(self.p.items[i], r) and has_room(self.p, i, r) and \
            all(a <= f for a, f in zip(self.demand[i], self.free[r]))

    def add_assignment(self, m, items: list[int], hosts: list[int]) -> dict:
        """x[i, r] for each item that fits host r alone; every item on exactly one of the hosts."""
        x = {}
        for i in items:
            for r in hosts:
                if self.fits_alone(i, r):
                    x[i, r] = m.NewBoolVar("")
            m.AddExactlyOne(x[i, r] for r in hosts if (i, r) in x)
        return x

    def add_anti_affinity(self, m, x: dict, r: int, inside: list[int]) -> None:
        """At most the customer's room on host r (fixed VMs counted)."""
        for _, group, room in crowded_customers(self.p, r, inside):
            m.Add(sum(x[i, r] for i in group) <= room)

    def solve_round(self, m, time_limit_s: float, workers: int, seed: int):
        """The solver after a short solve, or None when it found nothing."""
        from ortools.sat.python import cp_model

        solver = new_cp_solver()
        solver.parameters.max_time_in_seconds = max(0.05, time_limit_s)
        solver.parameters.num_workers = max(1, min(workers, 2))
        solver.parameters.random_seed = seed % 1000
        return solver if solver.Solve(m) in (cp_model.OPTIMAL, cp_model.FEASIBLE) else None

    def reassigned(self, solver, x: dict) -> Assign:
        """The current assignment with the round's items where the solver put them."""
        trial = list(self.assign)
        for (i, r), v in x.items():
            if solver.BooleanValue(v):
                trial[i] = r
        return trial


class _Search(_Neighbourhood):
    def __init__(self, p: PlacementProblem, assign: Assign, seed: int):
        super().__init__(p, assign, seed)
        self.scale = [max((r.usable[d] for r in p.receivers), default=1.0) or 1.0 for d in range(p.dims)]
        self.size = [sum(it.demand[d] / self.scale[d] for d in range(p.dims)) for it in p.items]

    def members(self) -> dict[int, list[int]]:
        out: dict[int, list[int]] = {}
        for i, r in enumerate(self.assign):
            out.setdefault(r, []).append(i)
        return out

    def fill(self, r: int, items: list[int]) -> float:
        rec = self.p.receivers[r]
        total = 0.0
        for d in range(self.p.dims):
            if rec.usable[d] > 0:
                total += (rec.fixed_load[d] + sum(self.p.items[i].demand[d] for i in items)) / rec.usable[d]
        return total / self.p.dims

    def pick(self, k: int) -> Optional[list[int]]:
        """The victim (one of the emptiest drainable hosts) and k−1 other hosts in use."""
        members = self.members()
        drainable = sorted((r for r in members if not self.p.receivers[r].fixed_used),
                           key=lambda r: self.fill(r, members[r]))
        if not drainable:
            return None
        victim = drainable[min(len(drainable) - 1, int(self.rng.random() ** 3 * min(6, len(drainable))))]
        others = [r for r in members if r != victim]
        self.rng.shuffle(others)
        return [victim, *others[:k - 1]]

    def repack(self, hosts: list[int], time_limit_s: float, workers: int, seed: int) -> None:
        from ortools.sat.python import cp_model

        p = self.p
        items = [i for i, r in enumerate(self.assign) if r in set(hosts)]
        members = self.members()
        # Fuller hosts are cheaper to load: weight by rank of current fill (victim most expensive).
        ranked = sorted(hosts, key=lambda r: -self.fill(r, members.get(r, [])))
        weight = {r: k for k, r in enumerate(ranked)}
        weight[hosts[0]] = len(hosts) * 2
        m = cp_model.CpModel()
        x = self.add_assignment(m, items, hosts)
        y = {r: m.NewBoolVar("") for r in hosts}
        for r in hosts:
            rec = p.receivers[r]
            free = self.free[r]
            inside = [i for i in items if (i, r) in x]
            for i in inside:
                m.AddImplication(x[i, r], y[r])
            if rec.fixed_used:
                m.Add(y[r] == 1)
            for d in range(p.dims):
                m.Add(sum(self.demand[i][d] * x[i, r] for i in inside) <= free[d] * y[r])
            self.add_anti_affinity(m, x, r, inside)
        self._move_budget(m, x, items)
        load_cost = sum(round(100 * self.size[i]) * weight[r] * x[i, r] for (i, r) in x)
        # rebalance: a VM away from its origin pays its migration minutes (drain still pays off)
        move_cost = sum(p.items[i].move_cost * x[i, r] for (i, r) in x
                        if p.items[i].origin is not None and p.receivers[r].host != p.items[i].origin)
        big = sum(round(100 * self.size[i]) for i in items) * (2 * len(hosts) + 1) \
            + sum(p.items[i].move_cost for i in items) + 1
        m.Minimize(big * sum(y.values()) + load_cost + move_cost)
        for (i, r), v in x.items():
            m.AddHint(v, self.assign[i] == r)
        for r in hosts:
            m.AddHint(y[r], r in members)
        solver = self.solve_round(m, time_limit_s, workers, seed)
        if solver is None:
            return
        trial = self.reassigned(solver, x)
        if self.p.max_moves is None or len(moves_of(p, trial)) <= self.p.max_moves:
            self.assign = trial

    def _move_budget(self, m, x, items: list[int]) -> None:
        """rebalance: moves outside the neighbourhood stay as they are; the total stays within max_moves."""
        p = self.p
        if p.max_moves is None or p.objective != "rebalance":
            return
        inside = set(items)
        outside = sum(1 for i in moves_of(p, self.assign) if i not in inside)
        stays = [v for _, v in stays_home(p, x, items)]
        movable = sum(1 for i in items if p.items[i].origin is not None)
        m.Add(outside + movable - sum(stays) <= p.max_moves)


# ------------------------------------------------------------------ balance


def improve_balance(p: PlacementProblem, start: Assign, deadline: float, lb: float, workers: int, seed: int,
                    report: Callable[[Optional[float], str], None],
                    cancel: Optional[Cancellation] = None) -> Assign:
    """balance: repeatedly re-spread the VMs of the hottest host and a few cool ones, minimising
    the highest utilisation among them (a small CP-SAT model; never accepted when worse)."""
    from engine.placement.solution import peak_utilisation

    search = _Balance(p, start, seed)
    best = peak_utilisation(p, search.assign)
    rounds = 0
    while time.monotonic() < deadline - 0.05 and best > lb + 1e-6 and not (cancel is not None and cancel.cancelled):
        rounds += 1
        hosts = search.pick(NEIGHBOURHOOD)
        if hosts is None:
            break
        search.respread(hosts, min(ROUND_S, deadline - time.monotonic()), workers, seed + rounds)
        now = peak_utilisation(p, search.assign)
        if now < best - 1e-9:
            best = now
            report(round(now, 6), f"lns: peak {now:.4f} after {rounds} rounds")
    return search.assign


class _Balance(_Neighbourhood):
    def __init__(self, p: PlacementProblem, assign: Assign, seed: int):
        from engine.placement.problem import SCALE

        super().__init__(p, assign, seed)
        self.cap = [[round(c * SCALE) for c in rec.capacity] for rec in p.receivers]
        self.fixed = [p._fixed_int(r) for r in range(len(p.receivers))]

    def utilisation(self) -> list[float]:
        load = [list(f) for f in self.fixed]
        for i, r in enumerate(self.assign):
            for d, a in enumerate(self.demand[i]):
                load[r][d] += a
        return [max((l / c for l, c in zip(load[r], self.cap[r]) if c > 0), default=0.0)
                for r in range(len(self.p.receivers))]

    def pick(self, k: int) -> Optional[list[int]]:
        util = self.utilisation()
        order = sorted(range(len(util)), key=lambda r: -util[r])
        if not order:
            return None
        hot = order[min(len(order) - 1, int(self.rng.random() ** 4 * 3))]
        cool = order[::-1][:max(1, k // 2)]
        rest = [r for r in order if r != hot and r not in cool]
        self.rng.shuffle(rest)
        chosen = [hot, *[r for r in cool if r != hot]]
        return chosen + rest[:k - len(chosen)]

    def respread(self, hosts: list[int], time_limit_s: float, workers: int, seed: int) -> None:
        from ortools.sat.python import cp_model

        from engine.placement.cpsat import UTIL_SCALE

        p = self.p
        chosen = set(hosts)
        items = [i for i, r in enumerate(self.assign) if r in chosen]
        m = cp_model.CpModel()
        x = self.add_assignment(m, items, hosts)
        peak = m.NewIntVar(0, UTIL_SCALE * 10, "peak")
        for r in hosts:
            inside = [i for i in items if (i, r) in x]
            for d in range(p.dims):
                load = sum(self.demand[i][d] * x[i, r] for i in inside)
                m.Add(load <= self.free[r][d])
                if self.cap[r][d] > 0:
                    m.Add((self.fixed[r][d] + load) * UTIL_SCALE <= peak * self.cap[r][d])
            self.add_anti_affinity(m, x, r, inside)
        m.Minimize(peak)
        for (i, r), v in x.items():
            m.AddHint(v, self.assign[i] == r)
        solver = self.solve_round(m, time_limit_s, workers, seed)
        if solver is None:
            return
        before = max(self.utilisation()[r] for r in hosts)
        kept, self.assign = self.assign, self.reassigned(solver, x)
        if max(self.utilisation()[r] for r in hosts) > before + 1e-12:
            self.assign = kept
