"""Deterministic synthetic fleets, from one rack to 10 datacenters × 100,000 VMs.

Everything random comes from one `random.Random(spec.seed)`: the same spec
gives the same snapshot, byte for byte, on every machine. What makes the
fleets realistic:

- racks of one hardware generation (three host shapes), some hosts with a
  migration bandwidth limit (10 or 25 Gbps);
- mixed VM shapes (small, medium, large, xlarge, memory-heavy, compute-heavy),
  each with a migration throughput;
- skewed customer sizes: VM owners follow a Zipf-like law, so a few customers
  own most VMs (which is what makes per-customer conflict limits bind);
- about 2% of VMs not migratable, some customers with their own conflict limit;
- a fraction of all hosts `needs_reboot` (1.0 = every host: rolling maintenance),
  and a few EMPTY hosts per rack, so rolling maintenance has room to start;
- loads that leave free room: hosts are sized (when not given) so memory is
  about `memory_load` used, and no host is filled beyond 92% of any resource;
- `host_scale` makes every host shape bigger, so many VMs fit on few hosts
  (8,000 VMs on 400 hosts: `hosts_per_rack=20, host_scale=2`).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from itertools import accumulate, chain
from typing import Optional

from engine.model import VM, Customer, Datacenter, Host, Rack, Snapshot

# (cpu, memory_gb, disk_gb, reboot_minutes): one generation per rack.
HOST_SHAPES: tuple[tuple[int, int, int, int], ...] = (
    (64, 384, 4000, 10),
    (96, 512, 8000, 15),
    (128, 512, 8000, 20),
)

# name, cpu, memory_gb, disk_gb, migration_gbps, weight
VM_SHAPES: tuple[tuple[str, int, int, int, float, float], ...] = (
    ("small", 2, 8, 50, 1.0, 0.30),
    ("medium", 4, 16, 100, 2.0, 0.30),
    ("large", 8, 32, 200, 3.0, 0.17),
    ("xlarge", 16, 64, 400, 5.0, 0.06),
    ("memory", 4, 64, 100, 4.0, 0.10),
    ("memory-large", 8, 128, 200, 5.0, 0.04),
    ("compute", 16, 32, 100, 3.0, 0.03),
)

BANDWIDTHS_GBPS = (10.0, 25.0)
FILL_LIMIT = 0.92  # no generated host is filled beyond this fraction of any resource
ZIPF_EXPONENT = 1.1


@dataclass(frozen=True)
class FleetSpec:
    """What to generate. `hosts_per_rack=None` sizes the fleet so memory is about `memory_load` used."""

    seed: int = 0
    datacenters: int = 1
    racks_per_datacenter: int = 4
    hosts_per_rack: Optional[int] = None
    vms: int = 400
    customers: Optional[int] = None  # default: about one per 8 VMs, at least 1
    reboot_fraction: float = 0.25
    empty_hosts_per_rack: int = 1
    non_migratable_fraction: float = 0.02
    bandwidth_fraction: float = 0.3
    disabled_fraction: float = 0.0
    pending_fraction: float = 0.0  # VMs with no host yet (placement requests)
    memory_load: float = 0.7
    name: Optional[str] = None
    host_scale: float = 1.0  # multiplies every host shape's cpu, memory and disk (few, big hosts)
    # Each customer's VMs in one home datacenter (customer i: datacenter i mod datacenters), as in
    # fleets sold per region: no customer limit then couples datacenters, so they solve apart.
    regional_customers: bool = False

    def problems(self) -> list[str]:
        out = []
        for field in ("datacenters", "racks_per_datacenter"):
            if getattr(self, field) < 1:
                out.append(f"{field} must be at least 1")
        if self.hosts_per_rack is not None and self.hosts_per_rack < 1:
            out.append("hosts_per_rack must be at least 1")
        if self.vms < 0:
            out.append("vms must be >= 0")
        if self.customers is not None and self.customers < 1:
            out.append("customers must be at least 1")
        if self.empty_hosts_per_rack < 0:
            out.append("empty_hosts_per_rack must be >= 0")
        if self.hosts_per_rack is not None and self.empty_hosts_per_rack >= self.hosts_per_rack and self.vms > 0:
            out.append("empty_hosts_per_rack must leave at least one host per rack for the VMs")
        for field in ("reboot_fraction", "non_migratable_fraction", "bandwidth_fraction",
                      "disabled_fraction", "pending_fraction"):
            if not 0.0 <= getattr(self, field) <= 1.0:
                out.append(f"{field} must be between 0 and 1")
        if not 0.25 <= self.host_scale <= 16.0:
            out.append("host_scale must be between 0.25 and 16")
        if not 0.05 <= self.memory_load <= FILL_LIMIT:
            out.append(f"memory_load must be between 0.05 and {FILL_LIMIT}")
        return out


def _mean_vm(index: int) -> float:
    total = sum(s[5] for s in VM_SHAPES)
    return sum(s[index] * s[5] for s in VM_SHAPES) / total


def _scaled_shape(shape: tuple[int, int, int, int], scale: float) -> tuple[int, int, int, int]:
    """A host shape `scale` times as big (reboot time unchanged); scale 1 is the shape itself."""
    if scale == 1.0:
        return shape
    cpu, mem, disk, reboot = shape
    return max(1, round(cpu * scale)), max(1, round(mem * scale)), max(1, round(disk * scale)), reboot


def _auto_hosts_per_rack(spec: FleetSpec, rack_shapes: list[tuple[int, int, int, int]]) -> int:
    """Loaded hosts needed so VMs use about `memory_load` of memory (and at most ~85% of cpu)."""
    mean_cpu = sum(s[0] for s in rack_shapes) / len(rack_shapes)
    mean_mem = sum(s[1] for s in rack_shapes) / len(rack_shapes)
    placed = spec.vms * (1.0 - spec.pending_fraction)
    need = max(placed * _mean_vm(2) / (spec.memory_load * mean_mem), placed * _mean_vm(1) / (0.85 * mean_cpu))
    return max(1, math.ceil(need / len(rack_shapes))) + spec.empty_hosts_per_rack


class FleetTooDense(ValueError):
    """The requested VMs do not fit the requested hosts."""


def generate_snapshot(spec: FleetSpec) -> Snapshot:
    """A valid snapshot for `spec` (passes engine.checks). Raises ValueError for an impossible spec.

    With automatic sizing, a small fleet whose random draw overflows the estimate
    is generated again (same seed) with one more host per rack.
    """
    problems = spec.problems()
    if problems:
        raise ValueError("; ".join(problems))
    if spec.hosts_per_rack is not None:
        return _build(spec, extra_hosts_per_rack=0)
    for extra in range(64):
        try:
            return _build(spec, extra_hosts_per_rack=extra)
        except FleetTooDense:
            continue
    raise FleetTooDense("automatic sizing failed; give --hosts-per-rack")


def _build(spec: FleetSpec, extra_hosts_per_rack: int) -> Snapshot:
    rng = random.Random(spec.seed)
    n_racks = spec.datacenters * spec.racks_per_datacenter
    rack_shapes = [_scaled_shape(HOST_SHAPES[rng.randrange(len(HOST_SHAPES))], spec.host_scale)
                   for _ in range(n_racks)]
    hosts_per_rack = spec.hosts_per_rack or _auto_hosts_per_rack(spec, rack_shapes) + extra_hosts_per_rack

    datacenters: list[Datacenter] = []
    racks: list[Rack] = []
    hosts: list[Host] = []
    loaded_by_dc: list[list[int]] = []  # host indexes that may receive generated VMs, per datacenter
    for d in range(1, spec.datacenters + 1):
        dc_id = f"dc{d}"
        datacenters.append(Datacenter(id=dc_id, name=f"Datacenter {d}"))
        loaded: list[int] = []
        for r in range(1, spec.racks_per_datacenter + 1):
            rack_id = f"{dc_id}-r{r:02d}"
            racks.append(Rack(id=rack_id, datacenter=dc_id))
            cpu, mem, disk, reboot = rack_shapes[len(racks) - 1]
            empty = set(rng.sample(range(hosts_per_rack), min(spec.empty_hosts_per_rack, hosts_per_rack)))
            for h in range(hosts_per_rack):
                bandwidth = rng.choice(BANDWIDTHS_GBPS) if rng.random() < spec.bandwidth_fraction else None
                if h not in empty:
                    loaded.append(len(hosts))
                hosts.append(Host(id=f"{rack_id}-h{h + 1:02d}", rack=rack_id, cpu=cpu, memory_gb=mem,
                                  disk_gb=disk, reboot_minutes=reboot, bandwidth_gbps=bandwidth))
        loaded_by_dc.append(loaded)
    _assign_states(spec, rng, hosts)

    n_customers = spec.customers or max(1, round(spec.vms / 8))
    width = max(3, len(str(n_customers)))
    customers = [Customer(id=f"cust-{i + 1:0{width}d}") for i in range(n_customers)]
    for c in customers:  # about one customer in ten negotiated its own conflict limit
        if rng.random() < 0.1:
            c.max_concurrent_migrations = rng.choice((1, 2, 3))

    vms = _place_vms(spec, rng, hosts, loaded_by_dc, customers)
    name = spec.name or f"synthetic-seed{spec.seed}-{spec.datacenters}dc-{len(hosts)}h-{spec.vms}vm"
    return Snapshot(name=name, datacenters=datacenters, racks=racks, hosts=hosts, customers=customers, vms=vms)


def _assign_states(spec: FleetSpec, rng: random.Random, hosts: list[Host]) -> None:
    """round(reboot_fraction × hosts) hosts anywhere need a reboot; some others are disabled."""
    rebooting = set(rng.sample(range(len(hosts)), math.floor(spec.reboot_fraction * len(hosts) + 0.5)))
    for i, host in enumerate(hosts):
        if i in rebooting:
            host.state = "needs_reboot"
        elif rng.random() < spec.disabled_fraction:
            host.state = "disabled"


def _owners(spec: FleetSpec, rng: random.Random, n_customers: int) -> list[int]:
    """Customer index of each VM: every customer owns one VM, the rest follow a Zipf-like law."""
    first = list(range(min(n_customers, spec.vms)))
    weights = [1.0 / (i + 1) ** ZIPF_EXPONENT for i in range(n_customers)]
    rest = rng.choices(range(n_customers), cum_weights=list(accumulate(weights)), k=spec.vms - len(first))
    owners = first + rest
    rng.shuffle(owners)
    return owners


def _regional(owner: int, dc: int, n_dcs: int, n_customers: int) -> int:
    """The customer of the same popularity rank whose home is datacenter `dc` (index mod n_dcs)."""
    regional = (owner // n_dcs) * n_dcs + dc
    return regional if regional < n_customers else dc % n_customers


def _place_vms(spec: FleetSpec, rng: random.Random, hosts: list[Host],
               loaded_by_dc: list[list[int]], customers: list[Customer]) -> list[VM]:
    """Random placement (a few random tries, then first fit) that never exceeds FILL_LIMIT."""
    limit = [(h.cpu * FILL_LIMIT, h.memory_gb * FILL_LIMIT, h.disk_gb * FILL_LIMIT) for h in hosts]
    used = [[0.0, 0.0, 0.0] for _ in hosts]
    # a VM lands in a datacenter in proportion to its loaded hosts' memory
    dc_weights = list(accumulate(sum(hosts[i].memory_gb for i in x) for x in loaded_by_dc))
    shape_weights = list(accumulate(s[5] for s in VM_SHAPES))
    shapes = rng.choices(VM_SHAPES, cum_weights=shape_weights, k=spec.vms)
    owners = _owners(spec, rng, len(customers))
    width = max(4, len(str(spec.vms)))

    def fits(i: int, cpu: float, mem: float, disk: float) -> bool:
        u, lim = used[i], limit[i]
        return u[0] + cpu <= lim[0] and u[1] + mem <= lim[1] and u[2] + disk <= lim[2]

    dc_of_host = {i: d for d, members in enumerate(loaded_by_dc) for i in members}
    vms: list[VM] = []
    for k in range(spec.vms):
        _, cpu, mem, disk, gbps, _ = shapes[k]
        host_id: Optional[str] = None
        if rng.random() >= spec.pending_fraction and dc_weights and dc_weights[-1] > 0:
            dc = rng.choices(range(len(loaded_by_dc)), cum_weights=dc_weights)[0]
            candidates = loaded_by_dc[dc]
            chosen = next((i for i in (rng.choice(candidates) for _ in range(6)) if fits(i, cpu, mem, disk)), None)
            if chosen is None:  # first fit from a random point, this datacenter first, then the others
                start = rng.randrange(len(candidates))
                others = (i for d, other in enumerate(loaded_by_dc) if d != dc for i in other)
                order = chain(candidates[start:], candidates[:start], others)
                chosen = next((i for i in order if fits(i, cpu, mem, disk)), None)
            if chosen is None:
                raise FleetTooDense(
                    f"VM {k + 1} of {spec.vms} does not fit any host: add hosts per rack or "
                    f"racks, or generate fewer VMs"
                )
            u = used[chosen]
            u[0] += cpu
            u[1] += mem
            u[2] += disk
            host_id = hosts[chosen].id
        owner = owners[k]
        if spec.regional_customers and host_id is not None:
            owner = _regional(owner, dc_of_host[chosen], len(loaded_by_dc), len(customers))
        vms.append(VM(
            id=f"vm-{k + 1:0{width}d}", host=host_id, customer=customers[owner].id,
            cpu=cpu, memory_gb=mem, disk_gb=disk, migration_gbps=gbps,
            migratable=rng.random() >= spec.non_migratable_fraction,
        ))
    return vms
