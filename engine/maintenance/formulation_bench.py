"""The formulation comparison: seed-style instances and one measured row per formulation.

The instance (NOTES.md, "the seed-style comparison"): N migrations, a horizon H,
per-host concurrency 2 (source and target), customer limit 1, and some bandwidth
(targets have 3 Gbps, VMs need 1 or 2). Deterministic for a given (N, seed):

* one datacenter, racks of 4 hosts; ceil(N/4) `needs_reboot` sources of 4 VMs
  each, max(2, ceil(N/8)) `active` targets; reboots take 5 minutes;
* VM i lives on source i mod sources and goes to target i mod targets
  (targets fixed round-robin: every formulation schedules the same assignment);
* migrations take 2–8 minutes; ceil(N/4) customers of about 4 VMs each.

Every formulation solves cold (no warm start, no hint) with one thread: the
comparison is of models, not of starting points.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Callable, Optional

from engine.maintenance import fixed_targets as ft
from engine.model import Limits, Snapshot

FORMULATIONS = ("cp-sat-fixed", "mip-time-indexed", "mip-continuous")


def seed_style_instance(n: int, seed: int = 0) -> tuple[Snapshot, Limits, dict[str, str]]:
    rng = random.Random(f"formulations-{n}-{seed}")
    n_src, n_tgt = max(1, math.ceil(n / 4)), max(2, math.ceil(n / 8))
    hosts = [{"id": f"src{i:03d}", "state": "needs_reboot", "reboot_minutes": 5} for i in range(n_src)]
    hosts += [{"id": f"tgt{i:03d}", "state": "active", "bandwidth_gbps": 3} for i in range(n_tgt)]
    for k, h in enumerate(hosts):
        h.update(rack=f"r{k // 4:02d}", cpu=64, memory_gb=512, disk_gb=4000)
    n_customers = max(1, math.ceil(n / 4))
    owners = [f"c{i % n_customers:03d}" for i in range(n)]
    rng.shuffle(owners)
    vms = [{"id": f"vm{i:03d}", "host": f"src{i % n_src:03d}", "customer": owners[i],
            "cpu": rng.randint(2, 8), "memory_gb": rng.choice([8, 16, 32]), "disk_gb": rng.randint(50, 200),
            "migration_minutes": rng.randint(2, 8), "migration_gbps": rng.choice([1, 2])} for i in range(n)]
    racks = sorted({h["rack"] for h in hosts})
    snapshot = Snapshot.model_validate({
        "name": f"seed-style-{n}", "datacenters": [{"id": "dc1"}],
        "racks": [{"id": r, "datacenter": "dc1"} for r in racks], "hosts": hosts,
        "customers": [{"id": f"c{i:03d}"} for i in range(n_customers)], "vms": vms})
    limits = Limits.model_validate({"concurrency": {"per_source_host": 2, "per_target_host": 2},
                                    "conflict": {"per_customer": 1}})
    targets = {f"vm{i:03d}": f"tgt{i % n_tgt:03d}" for i in range(n)}
    return snapshot, limits, targets


@dataclass
class BenchRow:
    size: int
    horizon: int
    formulation: str
    variables: Optional[int]
    constraints: Optional[int]
    build_s: Optional[float]
    wall_s: Optional[float]
    cpu_s: Optional[float]
    status: str
    makespan: Optional[int]
    bound: Optional[float]
    gap: Optional[float]
    note: str = ""

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def _solver(name: str) -> Callable[..., ft.FormulationResult]:
    if name == "cp-sat-fixed":
        from engine.maintenance.cpsat_fixed import solve
    elif name == "mip-time-indexed":
        from engine.maintenance.mip_time_indexed import solve
    elif name == "mip-continuous":
        from engine.maintenance.mip_continuous import solve
    else:
        raise ValueError(f"unknown formulation {name!r}: choose from {', '.join(FORMULATIONS)}")
    return solve


def run_case(size: int, horizon: int, formulation: str, time_limit_s: float, seed: int = 0) -> BenchRow:
    """Build the instance at this horizon and solve it once, cold, with one thread."""
    snapshot, limits, targets = seed_style_instance(size, seed)
    solve = _solver(formulation)
    try:
        problem = ft.build(snapshot, limits, targets, horizon=horizon)
    except ft.FixedTargetsRefused as exc:
        return BenchRow(size, horizon, formulation, None, None, None, None, None, "infeasible", None, None, None,
                        "; ".join(exc.problems))
    r = solve(problem, time_limit_s=time_limit_s, threads=1)
    note = f"stopped: {r.stopped_by}" if r.stopped_by else ""
    return BenchRow(size, horizon, formulation, r.variables, r.constraints, round(r.build_s, 3), round(r.wall_s, 3),
                    None if r.cpu_s is None else round(r.cpu_s, 3), r.status, r.makespan, r.bound, r.gap, note)


def run(sizes: list[int], horizons: list[int], time_limit_s: float, formulations=FORMULATIONS, seed: int = 0,
        on_row: Optional[Callable[[BenchRow], None]] = None) -> list[BenchRow]:
    rows = []
    for size in sizes:
        for horizon in horizons:
            for name in formulations:
                row = run_case(size, horizon, name, time_limit_s, seed)
                rows.append(row)
                if on_row is not None:
                    on_row(row)
    return rows
