"""Test-only exact solver for tiny maintenance instances (≤ 4 migrations, a few reboots).

Why exhaustive search over few start times is exact. Take any valid plan and an
activity (migration or reboot) whose start s > 0 is not the end of another
activity. Move it to s − 1: nothing ends at s, so the activities busy at minute
s − 1 are a subset of those busy at s (every count, bandwidth and conflict limit
still holds); a target's load at s − 1 is at most its load at s (no departure
ends at s); a reboot still starts after the migrations leaving its host (none
ends at s); an arrival on a rebooted host is still after the reboot (no reboot
ends at s); the makespan does not grow. Repeating until nothing moves (starts
only decrease) gives an equally good valid plan where every start is 0 or the
end of another activity. (With reboots of 0 minutes, move all activities
starting at s together, and read "end of another activity" as "end of an
activity of positive length": the same argument holds.) So the optimum is among
plans built chronologically, each activity starting at 0 or at the end of one
already placed.

The search places activities in (start, index) order and prunes with necessary
conditions only (a count at the new start cannot exceed its limit since later
activities start no earlier); every complete candidate is accepted only if the
independent validator finds no violation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

from engine.derived import customer_limit, migration_gbps, migration_minutes, usable_capacity
from engine.model import RESOURCES, Limits, MaintenancePlan, Snapshot
from engine.validate import validate_maintenance

INF = math.inf


class SearchTooLarge(RuntimeError):
    """The instance is too big for exhaustive search."""


@dataclass
class _Act:
    index: int
    kind: str          # "reboot" | "migration"
    host: str          # rebooting host, or the migration's source
    length: int
    tail: int          # the plan lasts at least this long after the activity ends
    vm: Optional[str] = None
    targets: tuple[str, ...] = ()


def brute_force(snapshot: Snapshot, limits: Limits, node_limit: int = 400_000,
                targets: Optional[dict[str, str]] = None) -> Optional[MaintenancePlan]:
    """An optimal (minimum-makespan) valid plan, or None when no valid plan exists.

    `targets` (vm id → host id) fixes some VMs' targets, as the fixed-target formulations do.
    """
    return _Search(snapshot, limits, node_limit, targets or {}).run()


def optimum(snapshot: Snapshot, limits: Limits, node_limit: int = 400_000,
            targets: Optional[dict[str, str]] = None) -> Optional[int]:
    plan = brute_force(snapshot, limits, node_limit, targets)
    return None if plan is None else plan.makespan


class _Search:
    def __init__(self, s: Snapshot, limits: Limits, node_limit: int, fixed: dict[str, str]):
        self.s, self.limits, self.node_limit = s, limits, node_limit
        c = limits.concurrency
        self.c = c
        hosts = s.host_by_id
        self.dc = {h.id: s.datacenter_of(h.id) for h in s.hosts}
        rebooting = [h for h in s.hosts if h.state == "needs_reboot"]
        acts: list[_Act] = []
        for h in rebooting:  # reboots first: ties at one start time place reboots before migrations
            acts.append(_Act(len(acts), "reboot", h.id, h.reboot_minutes, 0))
        self.stuck: dict[str, list[str]] = {}
        for h in rebooting:
            for vm in s.vms_by_host.get(h.id, []):
                if not vm.migratable:
                    self.stuck.setdefault(h.id, []).append(vm.customer)
                    continue
                targets = tuple(t.id for t in s.hosts if t.id != h.id and self.dc[t.id] == self.dc[h.id]
                                and (t.state == "active" or (t.state == "needs_reboot" and limits.capacity.rolling))
                                and all(vm.demand(r) <= usable_capacity(t, r, limits) + 1e-9 for r in RESOURCES)
                                and fixed.get(vm.id, t.id) == t.id)
                acts.append(_Act(len(acts), "migration", h.id, migration_minutes(vm, limits), h.reboot_minutes,
                                 vm.id, targets))
        if sum(a.kind == "migration" for a in acts) > 5:
            raise SearchTooLarge("more than 5 migrations")
        self.acts = acts
        self.base = {h: [sum(v.demand(r) for v in s.vms_by_host.get(h, [])) for r in RESOURCES] for h in hosts}
        self.best = INF
        self.best_plan: Optional[MaintenancePlan] = None
        self.nodes = 0
        self.placed: list[tuple[_Act, Optional[str], int, int]] = []  # (activity, target, start, end)
        self.done = [False] * len(acts)

    # ----------------------------------------------------------------- search

    def run(self) -> Optional[MaintenancePlan]:
        self._dfs(0, -1)
        return self.best_plan

    def _dfs(self, now: int, last_index: int) -> None:
        self.nodes += 1
        if self.nodes > self.node_limit:
            raise SearchTooLarge(f"more than {self.node_limit} search nodes")
        todo = [a for a in self.acts if not self.done[a.index]]
        if not todo:
            self._leaf()
            return
        if now + max(a.length + a.tail for a in todo) >= self.best:
            return
        times = sorted({0} | {end for _, _, _, end in self.placed})
        for t in times:
            if t < now:
                continue
            if t + max(a.length + a.tail for a in todo) >= self.best:
                break
            for a in todo:
                if t == now and a.index < last_index:
                    continue
                for target in (a.targets if a.kind == "migration" else (None,)):
                    if self._can_place(a, target, t):
                        self.placed.append((a, target, t, t + a.length))
                        self.done[a.index] = True
                        self._dfs(t, a.index)
                        self.done[a.index] = False
                        self.placed.pop()

    def _leaf(self) -> None:
        makespan = max((end for _, _, _, end in self.placed), default=0)
        if makespan >= self.best:
            return
        plan = MaintenancePlan.model_validate({
            "status": "optimal", "makespan": makespan,
            "migrations": [{"vm": a.vm, "source": a.host, "target": tgt, "start": st, "end": en}
                           for a, tgt, st, en in self.placed if a.kind == "migration"],
            "reboots": [{"host": a.host, "start": st, "end": en} for a, _, st, en in self.placed if a.kind == "reboot"],
            "solver": {"name": "brute-force"},
        })
        if not validate_maintenance(self.s, self.limits, plan):
            self.best, self.best_plan = makespan, plan

    # ----------------------------------------------------------------- necessary conditions at the new start

    def _busy(self, t: int):
        return [(a, tgt) for a, tgt, st, en in self.placed if st <= t < en]

    def _reboot_end(self, host: str) -> Optional[int]:
        return next((en for a, _, _, en in self.placed if a.kind == "reboot" and a.host == host), None)

    def _can_place(self, a: _Act, target: Optional[str], t: int) -> bool:
        if t + a.length + a.tail >= self.best:
            return False
        busy = self._busy(t)
        if a.kind == "reboot":
            leaving = [en for b, _, _, en in self.placed if b.kind == "migration" and b.host == a.host]
            n_movers = sum(1 for b in self.acts if b.kind == "migration" and b.host == a.host)
            if len(leaving) < n_movers or any(en > t for en in leaving):
                return False
            return self._reboot_counts_ok(a, t, busy)
        if self._reboot_end(a.host) is not None:
            return False  # its source already started rebooting
        if self.s.host_by_id[target].state == "needs_reboot":
            end = self._reboot_end(target)
            if end is None or end > t:
                return False
        return self._migration_counts_ok(a, target, t, busy) and self._capacity_ok(a, target, t)

    def _groups(self, a: _Act, target: Optional[str]) -> dict[tuple, float]:
        """The limited quantities an activity uses while busy: (family, entity) → amount."""
        s = self.s
        if a.kind == "reboot":
            out: dict[tuple, float] = {("down", s.rack_of(a.host)): 1}
            for cust in self.stuck.get(a.host, []):
                out[("cust", cust)] = out.get(("cust", cust), 0) + 1
            return out
        vm = s.vm_by_id[a.vm]
        out = {("src", a.host): 1, ("tgt", target): 1, ("dc", self.dc[a.host]): 1, ("all",): 1,
               ("cust", vm.customer): 1}
        for rack in {s.rack_of(a.host), s.rack_of(target)}:
            out[("rack", rack)] = 1
        for h in {a.host, target}:
            if s.host_by_id[h].bandwidth_gbps is not None:
                out[("bw", h)] = migration_gbps(vm, self.limits)
        return out

    def _limit(self, key: tuple) -> float:
        c = self.c
        fam = key[0]
        value = {"src": c.per_source_host, "tgt": c.per_target_host, "rack": c.per_rack, "dc": c.per_datacenter,
                 "all": c.global_, "down": c.max_hosts_down_per_rack}.get(fam)
        if fam == "cust":
            value = customer_limit(key[1], self.s, self.limits)
        elif fam == "bw":
            value = self.s.host_by_id[key[1]].bandwidth_gbps
        return INF if value is None else value

    def _counts_ok(self, mine: dict[tuple, float], busy) -> bool:
        if not mine:
            return True
        used = dict(mine)
        for b, tgt in busy:
            for key, amount in self._groups(b, tgt).items():
                if key in used:
                    used[key] += amount
        return all(v <= self._limit(k) + 1e-9 for k, v in used.items())

    def _migration_counts_ok(self, a: _Act, target: str, t: int, busy) -> bool:
        return self._counts_ok(self._groups(a, target), busy)

    def _reboot_counts_ok(self, a: _Act, t: int, busy) -> bool:
        if a.length == 0:
            return True  # a 0-minute reboot is busy at no minute
        return self._counts_ok(self._groups(a, None), busy)

    def _capacity_ok(self, a: _Act, target: str, t: int) -> bool:
        """Load on the target at minute t from what is placed; later activities only add arrivals at t."""
        load = list(self.base[target])
        vm = self.s.vm_by_id[a.vm]
        for r, res in enumerate(RESOURCES):
            load[r] += vm.demand(res)
        for b, tgt, st, en in self.placed:
            if b.kind != "migration":
                continue
            other = self.s.vm_by_id[b.vm]
            for r, res in enumerate(RESOURCES):
                if tgt == target:
                    load[r] += other.demand(res)
                if b.host == target and en <= t:
                    load[r] -= other.demand(res)
        host = self.s.host_by_id[target]
        return all(load[r] <= usable_capacity(host, res, self.limits) + 1e-9 for r, res in enumerate(RESOURCES))
