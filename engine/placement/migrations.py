"""Turn a rebalance plan's moves into a maintenance-style migration list.

The moves run one after another (a safe runbook): each starts when the
previous ends and lasts the VM's migration minutes. The order keeps every host
within `capacity × (1 − headroom)` throughout: a move is taken only when its
target has room for the VM right now (FORMATS.md rule 4: during a migration the
VM occupies its target; its source is freed at the end), the first ready move
in VM order going next. If no remaining move fits (a swap cycle with no spare room), the rest
is reported as `blocked`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.derived import migration_minutes, usable_capacity
from engine.model import RESOURCES, Limits, Migration, PlacementPlan, Snapshot


@dataclass
class MigrationList:
    migrations: list[Migration] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)   # VMs whose move found no safe moment

    @property
    def makespan(self) -> int:
        return max((m.end for m in self.migrations), default=0)


def moves_to_migrations(snapshot: Snapshot, limits: Limits, plan: PlacementPlan) -> MigrationList:
    vms = snapshot.vm_by_id
    hosts = snapshot.host_by_id
    load = {h.id: [0.0] * len(RESOURCES) for h in snapshot.hosts}
    for v in snapshot.vms:
        if v.host is not None:
            for k, r in enumerate(RESOURCES):
                load[v.host][k] += v.demand(r)
    for a in plan.assignments:  # pending VMs land first: count them where they go
        for k, r in enumerate(RESOURCES):
            load[a.host][k] += vms[a.vm].demand(r)

    def room(host: str, vm) -> bool:
        h = hosts[host]
        return all(load[host][k] + vm.demand(r) <= usable_capacity(h, r, limits) + 1e-9
                   for k, r in enumerate(RESOURCES))

    out = MigrationList()
    todo = sorted(plan.moves, key=lambda m: m.vm)
    now = 0
    while todo:
        ready = next((m for m in todo if room(m.target, vms[m.vm])), None)
        if ready is None:
            out.blocked = [m.vm for m in todo]
            break
        todo.remove(ready)
        vm = vms[ready.vm]
        minutes = migration_minutes(vm, limits)
        out.migrations.append(Migration(vm=ready.vm, source=ready.source, target=ready.target,
                                        start=now, end=now + minutes))
        now += minutes
        for k, r in enumerate(RESOURCES):
            load[ready.target][k] += vm.demand(r)
            load[ready.source][k] -= vm.demand(r)
    return out
