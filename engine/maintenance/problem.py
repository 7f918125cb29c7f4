"""The maintenance problem, preprocessed once and shared by every solver.

`build_problem(snapshot, limits)` turns the documents into plain, immutable,
index-based data: one `Task` per migration (a migratable VM on a
`needs_reboot` host), one `HostData` per host, the limits of FORMATS.md as
integers. The heuristic, the CP-SAT model, the fixed-target MIPs, the lower
bounds and the prechecks all read this — the one place where the documents'
derived values (engine.derived: migration minutes and Gbps, customer limits,
usable capacity, and the room a host offers) are computed for the solvers —
and a `Problem` pickles cheaply to a worker process.

Units: times are integer minutes. Resource demands, capacities and bandwidths
are floats in the documents; they become integers scaled by `SCALE` (demands
rounded, room rounded down), so integer models stay exact for inputs with up
to three decimals and never over-commit a host.

Capacity is static. A host never both gives and receives VMs at overlapping
times: an active host only receives; a `needs_reboot` host only gives before
its reboot and (rolling) only receives after it. Rule 4 therefore reduces to
"the VMs that end up on a target fit its free room" — `HostData.room`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Callable, Iterable, Optional, Sequence

from engine.derived import customer_limit, migration_gbps, migration_minutes, usable_capacity
from engine.model import RESOURCES, Limits, Snapshot

SCALE = 1000  # integer units per resource unit / per Gbps


def scaled(value: float) -> int:
    return int(round(value * SCALE))


def scaled_room(value: float) -> int:
    return int(math.floor(value * SCALE + 1e-6))


@dataclass(frozen=True)
class Task:
    """One migration: `vm` leaves host `source` (index into Problem.hosts)."""

    index: int
    vm: str
    source: int
    customer: int          # index into Problem.customers
    duration: int          # minutes
    gbps: int              # scaled migration_gbps
    demand: tuple[int, ...]  # scaled, one per RESOURCES


@dataclass(frozen=True)
class HostData:
    index: int
    id: str
    rack: int
    datacenter: int
    state: str                      # active | needs_reboot | disabled
    reboot_minutes: int
    bandwidth: Optional[int]        # scaled Gbps; None = unlimited
    room: tuple[int, ...]           # scaled free room as a target (after its reboot if rebooting)
    load_fraction: float            # max over resources of its initial load / usable capacity
    tasks: tuple[int, ...]          # migrations leaving it
    down_customers: tuple[tuple[int, int], ...]  # (customer, non-migratable VMs) down while it reboots

    @property
    def reboots(self) -> bool:
        return self.state == "needs_reboot"


@dataclass(frozen=True)
class Problem:
    hosts: tuple[HostData, ...]
    tasks: tuple[Task, ...]
    racks: tuple[str, ...]
    datacenters: tuple[str, ...]
    customers: tuple[str, ...]
    customer_limits: tuple[Optional[int], ...]
    rolling: bool
    per_source_host: Optional[int]
    per_target_host: Optional[int]
    per_rack: Optional[int]
    per_datacenter: Optional[int]
    global_limit: Optional[int]
    max_hosts_down_per_rack: Optional[int]
    targets_by_datacenter: tuple[tuple[int, ...], ...] = field(default=())  # hosts that may receive VMs

    # ---------------------------------------------------------------- derived views

    @property
    def reboot_hosts(self) -> list[int]:
        return [h.index for h in self.hosts if h.reboots]

    def can_target(self, task: Task, host: HostData) -> bool:
        """Rule 3 plus the checks that need no time: fits alone, bandwidth allows."""
        if host.index == task.source or host.state == "disabled":
            return False
        if host.state == "needs_reboot" and not self.rolling:
            return False
        if host.datacenter != self.hosts[task.source].datacenter:
            return False
        if any(d > r for d, r in zip(task.demand, host.room)):
            return False
        if host.bandwidth is not None and task.gbps > host.bandwidth:
            return False
        return True

    def eligible_targets(self, task: Task) -> list[int]:
        dc = self.hosts[task.source].datacenter
        return [h for h in self.targets_by_datacenter[dc] if self.can_target(task, self.hosts[h])]

    def serial_horizon(self) -> int:
        """Every feasible instance has a plan ending by this time (idle gaps can be cut out)."""
        return sum(t.duration for t in self.tasks) + sum(h.reboot_minutes for h in self.hosts if h.reboots)


# --------------------------------------------------------------------------- building


def build_problem(snapshot: Snapshot, limits: Limits, datacenters: Optional[Iterable[str]] = None, *,
                  customer_limit_overrides: Optional[dict[str, int]] = None,
                  global_limit: Optional[int] = None, override_global: bool = False) -> Problem:
    """Preprocess `snapshot` (optionally only some datacenters) under `limits`.

    Customer limits are computed on the whole snapshot (a fraction limit counts
    all the customer's VMs), so a per-datacenter problem keeps the fleet's limits.
    A decomposition may hand a datacenter a share of a fleet-wide limit through
    `customer_limit_overrides` and `global_limit` (with `override_global`).
    """
    keep_dcs = None if datacenters is None else set(datacenters)
    dc_ids = [d.id for d in snapshot.datacenters if keep_dcs is None or d.id in keep_dcs]
    dc_index = {d: i for i, d in enumerate(dc_ids)}
    rack_ids = [r.id for r in snapshot.racks if r.datacenter in dc_index]
    rack_index = {r: i for i, r in enumerate(rack_ids)}
    host_list = [h for h in snapshot.hosts if h.rack in rack_index]

    customer_ids: list[str] = []
    customer_index: dict[str, int] = {}

    def customer_of(cid: str) -> int:
        if cid not in customer_index:
            customer_index[cid] = len(customer_ids)
            customer_ids.append(cid)
        return customer_index[cid]

    vms_by_host = snapshot.vms_by_host
    sizes = attrgetter(*RESOURCES)  # a VM's demands, in RESOURCES order (one call, not one per resource)
    tasks: list[Task] = []
    hosts: list[HostData] = []
    for hi, h in enumerate(host_list):
        usable = [usable_capacity(h, r, limits) for r in RESOURCES]
        all_load = [0.0] * len(RESOURCES)
        stay_load = [0.0] * len(RESOURCES)  # what is still on the host once it has been evacuated
        host_tasks: list[int] = []
        down: dict[int, int] = {}
        rebooting = h.state == "needs_reboot"
        for vm in vms_by_host.get(h.id, []):
            demand = sizes(vm)
            all_load = [a + d for a, d in zip(all_load, demand)]
            if rebooting and vm.migratable:
                host_tasks.append(len(tasks))
                tasks.append(
                    Task(
                        index=len(tasks),
                        vm=vm.id,
                        source=hi,
                        customer=customer_of(vm.customer),
                        duration=migration_minutes(vm, limits),
                        gbps=scaled(migration_gbps(vm, limits)),
                        demand=tuple(int(round(d * SCALE)) for d in demand),  # scaled()
                    )
                )
            else:
                stay_load = [a + d for a, d in zip(stay_load, demand)]
                if rebooting:
                    c = customer_of(vm.customer)
                    down[c] = down.get(c, 0) + 1
        base = stay_load if h.state == "needs_reboot" else all_load
        room = tuple(max(-1, scaled_room(u) - scaled(b)) for u, b in zip(usable, base))
        fraction = max((l / u if u > 0 else (0.0 if l == 0 else math.inf)) for l, u in zip(all_load, usable))
        hosts.append(
            HostData(
                index=hi,
                id=h.id,
                rack=rack_index[h.rack],
                datacenter=dc_index[snapshot.rack_by_id[h.rack].datacenter],
                state=h.state,
                reboot_minutes=h.reboot_minutes,
                bandwidth=None if h.bandwidth_gbps is None else scaled_room(h.bandwidth_gbps),
                room=room,
                load_fraction=fraction,
                tasks=tuple(host_tasks),
                down_customers=tuple(sorted(down.items())),
            )
        )

    rolling = limits.capacity.rolling
    targets_by_dc: list[list[int]] = [[] for _ in dc_ids]
    for hd in hosts:
        if hd.state == "active" or (hd.state == "needs_reboot" and rolling):
            targets_by_dc[hd.datacenter].append(hd.index)

    c = limits.concurrency
    return Problem(
        hosts=tuple(hosts),
        tasks=tuple(tasks),
        racks=tuple(rack_ids),
        datacenters=tuple(dc_ids),
        customers=tuple(customer_ids),
        customer_limits=tuple(
            (customer_limit_overrides or {}).get(cid, customer_limit(cid, snapshot, limits)) for cid in customer_ids
        ),
        rolling=rolling,
        per_source_host=c.per_source_host,
        per_target_host=c.per_target_host,
        per_rack=c.per_rack,
        per_datacenter=c.per_datacenter,
        global_limit=global_limit if override_global else c.global_,
        max_hosts_down_per_rack=c.max_hosts_down_per_rack,
        targets_by_datacenter=tuple(tuple(t) for t in targets_by_dc),
    )


# --------------------------------------------------------------------------- candidate pruning


def candidate_targets(problem: Problem, max_candidates: Optional[int], keep: Optional[Sequence[Optional[int]]] = None,
                      stop: Optional[Callable[[], bool]] = None) -> tuple[Optional[list[list[int]]], bool]:
    """Candidate targets per task for the exact models, and whether any were pruned.

    Without a cap every eligible target is a candidate (the model is exact).
    With a cap of K, a task keeps: the target the heuristic chose (`keep`, so
    the hint stays feasible), then hosts ranked by room left after taking the
    VM (most room first, so sets of VMs keep fitting), and every third pick is
    taken from a rotating offset in that ranking so different tasks of one
    source spread over different targets (target and rack concurrency).
    Targets in the source's own rack come first among equals (a migration
    inside one rack counts once against `per_rack`).
    `stop()` (a cancel) is asked every 256 tasks: when it says so, (None, pruned) at once
    (over a second at 2,500 migrations).
    """
    import numpy as np

    out: list[list[int]] = []
    pruned = False
    hosts = problem.hosts
    big = np.iinfo(np.int64).max
    per_dc = []
    for targets in problem.targets_by_datacenter:
        t = np.array(targets, dtype=np.int64)
        per_dc.append((
            t,
            np.array([hosts[h].room for h in targets], dtype=np.int64).reshape(len(targets), len(RESOURCES)),
            np.array([big if hosts[h].bandwidth is None else hosts[h].bandwidth for h in targets], dtype=np.int64),
            np.array([hosts[h].rack for h in targets], dtype=np.int64),
        ))
    for task in problem.tasks:
        if stop is not None and task.index % 256 == 0 and stop():
            return None, pruned
        src = hosts[task.source]
        t_ids, rooms, bws, racks = per_dc[src.datacenter]
        d = np.array(task.demand, dtype=np.int64)
        mask = (rooms >= d).all(axis=1) & (bws >= task.gbps) & (t_ids != task.source)
        eligible_np = t_ids[mask]
        kept = keep[task.index] if keep is not None else None
        if max_candidates is None or len(eligible_np) <= max_candidates:
            out.append(eligible_np.tolist())
            continue
        pruned = True
        room_el = rooms[mask]
        spare = ((room_el - d) / np.maximum(room_el, 1)).min(axis=1)
        order = np.lexsort((eligible_np, racks[mask] != src.rack, -np.round(spare, 2)))
        ranked = eligible_np[order].tolist()
        eligible = set(ranked)
        rotated = ranked[(task.index * 7) % len(ranked):] + ranked[: (task.index * 7) % len(ranked)]
        chosen: list[int] = [kept] if kept is not None and kept in eligible else []
        seen = set(chosen)
        best_iter, rot_iter = iter(ranked), iter(rotated)
        while len(chosen) < max_candidates:
            first, second = (rot_iter, best_iter) if len(chosen) % 3 == 2 else (best_iter, rot_iter)
            h = next((h for h in first if h not in seen), None)
            if h is None:
                h = next((h for h in second if h not in seen), None)
            if h is None:
                break
            seen.add(h)
            chosen.append(h)
        out.append(chosen)
    return out, pruned
