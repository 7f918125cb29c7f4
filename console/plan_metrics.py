"""Numbers the console shows about plans: makespan, moves, per-customer peak disruption."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from engine.model import MaintenancePlan, Snapshot
from engine.progress import relative_gap


@dataclass
class MaintenanceMetrics:
    status: str
    makespan: Optional[int]
    lower_bound: Optional[int]
    migrations: int
    reboots: int
    solver: str
    wall_s: float
    peak_by_customer: dict[str, int] = field(default_factory=dict)

    @property
    def gap(self) -> Optional[float]:
        return relative_gap(self.makespan, self.lower_bound)


def peak_concurrency(intervals: list[tuple[int, int]]) -> int:
    """Most intervals [start, end) open at one minute (ends before starts at equal times)."""
    events = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals], key=lambda x: (x[0], x[1]))
    peak = now = 0
    for _, delta in events:
        now += delta
        peak = max(peak, now)
    return peak


def maintenance_metrics(plan: MaintenancePlan, snapshot: Optional[Snapshot]) -> MaintenanceMetrics:
    """Per-customer peak disruption as FORMATS.md rule 7 counts it: VMs migrating plus
    non-migratable VMs on a host while it reboots."""
    by_customer: dict[str, list[tuple[int, int]]] = {}
    vms = snapshot.vm_by_id if snapshot is not None else {}
    for m in plan.migrations:
        vm = vms.get(m.vm)
        by_customer.setdefault(vm.customer if vm else "?", []).append((m.start, m.end))
    on_host = snapshot.vms_by_host if snapshot is not None else {}
    for r in plan.reboots:
        for vm in on_host.get(r.host, ()):
            if not vm.migratable and r.end > r.start:
                by_customer.setdefault(vm.customer, []).append((r.start, r.end))
    return MaintenanceMetrics(
        status=plan.status, makespan=plan.makespan, lower_bound=plan.lower_bound,
        migrations=len(plan.migrations), reboots=len(plan.reboots), solver=plan.solver.name,
        wall_s=plan.solver.wall_s,
        peak_by_customer={c: peak_concurrency(iv) for c, iv in sorted(by_customer.items())},
    )


def metrics_unavailable(origin_problem: Optional[str]) -> Optional[str]:
    """Why a plan's per-customer numbers are not shown, or None when they can be computed.
    `origin_problem` is FleetConsole.plan_origin_problem for the plan: customers come from the
    fleet's VMs, so they are only computed against the fleet the plan was made for — never a mix
    of the plan's moves and another fleet's customers."""
    if origin_problem is None:
        return None
    if origin_problem.startswith("checking"):
        return "not computed until the fleet is checked"
    return "not computed: the plan was made for another fleet"

