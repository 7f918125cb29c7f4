"""The placement problem as the solvers see it: items to place, hosts that receive.

Built once from a snapshot and limits (FORMATS.md "Plan (placement)"):

- An *item* is a VM the solver decides: every pending VM (`host: null`) and, for
  `rebalance`, every migratable VM on an active host (it may stay or move).
- A *receiver* is an `active` host. Its free capacity is `capacity × (1 − headroom)`
  minus the load of the VMs that stay put on it (the *fixed* VMs).
- A host holding a fixed VM is in use whatever the solver does; it counts for
  `min_hosts`, and non-active hosts with VMs count too.
- rebalance leaves the VMs of an active host that is already over its usable
  capacity where they are (fixed); such a host receives nothing.

Anti-affinity rule (documented choice): at most `max_vms_per_customer_per_host`
VMs of one customer per host, counting the VMs already there. A host already
above the limit is not the plan's fault, but the plan may not add to it.

Integer views (`int_demand`, `int_free`) serve CP-SAT: demands are rounded up
and capacities down, so an integer-feasible packing is always truly feasible.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from engine.derived import usable_capacity
from engine.model import RESOURCES, Limits, Snapshot

SCALE = 1000  # integer units per resource unit for CP-SAT (1/1000 of a core, of a GB)
EPS = 1e-9

OBJECTIVES = ("min_hosts", "balance", "rebalance")


@dataclass
class Item:
    vm: str
    customer: str
    demand: tuple[float, ...]
    origin: Optional[str] = None      # current host for a movable VM, None when pending
    move_cost: int = 0                # migration minutes, paid when a movable VM changes host
    datacenter: Optional[str] = None  # a movable VM stays in its origin's datacenter; None: anywhere


@dataclass
class Receiver:
    host: str
    capacity: tuple[float, ...]       # raw capacity (utilisation is measured against it)
    usable: tuple[float, ...]         # capacity × (1 − headroom)
    fixed_load: tuple[float, ...]     # VMs that stay put
    fixed_customers: dict[str, int] = field(default_factory=dict)
    datacenter: str = ""

    @property
    def free(self) -> tuple[float, ...]:
        return tuple(u - f for u, f in zip(self.usable, self.fixed_load))

    @property
    def fixed_used(self) -> bool:
        return any(v > 0 for v in self.fixed_customers.values())


@dataclass
class PlacementProblem:
    objective: str
    items: list[Item]
    receivers: list[Receiver]
    customer_cap: Optional[int]
    fixed_used_elsewhere: int         # non-receiving hosts that hold VMs (counted as used)
    fixed_peak_util: float            # highest utilisation among non-receiving hosts
    max_moves: Optional[int] = None

    # ------------------------------------------------------------------ queries
    @property
    def dims(self) -> int:
        return len(RESOURCES)

    def allowed(self, item: Item, r: int) -> bool:
        """May `item` go to receiver r at all? A live migration never leaves its datacenter (FORMATS.md)."""
        return item.datacenter is None or item.datacenter == self.receivers[r].datacenter

    def fits(self, item: Item, r: int, load: list[float], counts: dict[str, int]) -> bool:
        """Does `item` fit receiver `r` given the load and customer counts placed so far (fixed included)?"""
        rec = self.receivers[r]
        if item.datacenter is not None and item.datacenter != rec.datacenter:
            return False
        for d in range(self.dims):
            if load[d] + item.demand[d] > rec.usable[d] + EPS * max(1.0, rec.usable[d]):
                return False
        if self.customer_cap is not None and counts.get(item.customer, 0) + 1 > self.customer_cap:
            return False
        return True

    def int_demand(self, i: int) -> list[int]:
        return [_ceil_scaled(x) for x in self.items[i].demand]

    def int_free(self, r: int) -> list[int]:
        rec = self.receivers[r]
        return [max(0, _floor_scaled(u) - sum_ceil) for u, sum_ceil in zip(rec.usable, self._fixed_int(r))]

    def _fixed_int(self, r: int) -> list[int]:
        return [_ceil_scaled(x) for x in self.receivers[r].fixed_load]

    def customer_room(self, r: int, customer: str) -> Optional[int]:
        """How many more VMs of `customer` receiver r may take (None: no limit)."""
        if self.customer_cap is None:
            return None
        return max(0, self.customer_cap - self.receivers[r].fixed_customers.get(customer, 0))

    def symmetry_classes(self) -> list[list[int]]:
        """Groups of interchangeable receivers (same capacity, no fixed VMs), in index order.
        rebalance: a host a VM may stay on is not interchangeable, nor are two datacenters."""
        origins = {it.origin for it in self.items if it.origin is not None}
        groups: dict[tuple, list[int]] = {}
        for r, rec in enumerate(self.receivers):
            if rec.fixed_used or any(x > 0 for x in rec.fixed_load) or rec.host in origins:
                continue
            key = (rec.capacity, rec.usable, rec.datacenter if self.objective == "rebalance" else "")
            groups.setdefault(key, []).append(r)
        return [g for g in groups.values() if len(g) > 1]


def _ceil_scaled(x: float) -> int:
    import math

    return math.ceil(x * SCALE - 1e-6)


def _floor_scaled(x: float) -> int:
    import math

    return math.floor(x * SCALE + 1e-6)


def _overfull_hosts(snapshot: Snapshot, limits: Limits, active: dict[str, int]) -> set[str]:
    """Active hosts already above capacity × (1 − headroom): rebalance leaves their VMs in place
    (they then receive nothing), since a VM staying on such a host could not be modelled as fitting."""
    load: dict[str, list[float]] = {}
    for vm in snapshot.vms:
        if vm.host in active:
            per = load.setdefault(vm.host, [0.0] * len(RESOURCES))
            for d, res in enumerate(RESOURCES):
                per[d] += vm.demand(res)
    hosts = snapshot.host_by_id
    return {hid for hid, per in load.items()
            if any(per[d] > usable_capacity(hosts[hid], res, limits) * (1 + EPS) + EPS for d, res in enumerate(RESOURCES))}


def build_problem(snapshot: Snapshot, limits: Limits, objective: Optional[str] = None,
                  max_moves: Optional[int] = None) -> PlacementProblem:
    objective = objective or limits.placement.objective
    if objective not in OBJECTIVES:
        raise ValueError(f"unknown placement objective {objective!r}: choose {', '.join(OBJECTIVES)}")
    moving = objective == "rebalance"
    from engine.derived import migration_minutes

    hosts = snapshot.host_by_id
    receivers: list[Receiver] = []
    index: dict[str, int] = {}
    for h in snapshot.hosts:
        if h.state != "active":
            continue
        index[h.id] = len(receivers)
        receivers.append(Receiver(
            host=h.id,
            capacity=tuple(h.capacity(d) for d in RESOURCES),
            usable=tuple(usable_capacity(h, d, limits) for d in RESOURCES),
            fixed_load=tuple(0.0 for _ in RESOURCES),
            datacenter=snapshot.datacenter_of(h.id),
        ))

    items: list[Item] = []
    other_load: dict[str, list[float]] = {}
    overfull = _overfull_hosts(snapshot, limits, index) if moving else set()
    for vm in snapshot.vms:
        demand = tuple(vm.demand(d) for d in RESOURCES)
        if vm.host is None:
            items.append(Item(vm.id, vm.customer, demand))
        elif moving and vm.migratable and vm.host in index and vm.host not in overfull:
            items.append(Item(vm.id, vm.customer, demand, origin=vm.host,
                              move_cost=migration_minutes(vm, limits), datacenter=receivers[index[vm.host]].datacenter))
        elif vm.host in index:
            rec = receivers[index[vm.host]]
            rec.fixed_load = tuple(a + b for a, b in zip(rec.fixed_load, demand))
            rec.fixed_customers[vm.customer] = rec.fixed_customers.get(vm.customer, 0) + 1
        else:
            load = other_load.setdefault(vm.host, [0.0] * len(RESOURCES))
            for d in range(len(RESOURCES)):
                load[d] += demand[d]

    peak = 0.0
    for hid, load in other_load.items():
        h = hosts[hid]
        for d, res in enumerate(RESOURCES):
            cap = h.capacity(res)
            if cap > 0:
                peak = max(peak, load[d] / cap)
    return PlacementProblem(
        objective=objective,
        items=items,
        receivers=receivers,
        customer_cap=limits.placement.max_vms_per_customer_per_host,
        fixed_used_elsewhere=len(other_load),
        fixed_peak_util=peak,
        max_moves=max_moves if moving else 0,
    )
