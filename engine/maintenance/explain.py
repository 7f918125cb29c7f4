"""Cheap proofs that no maintenance plan exists, each naming the limit and the entities.

`precheck` returns one sentence per proof; an empty list means no cheap proof
(the instance may still be infeasible). Every check is a necessary condition of
FORMATS.md's rules, so a non-empty answer is always right:

* a zero limit that some migration or reboot must use;
* a migrating VM with no possible target (capacity with headroom, bandwidth,
  same datacenter, rolling);
* a VM whose migration needs more bandwidth than its own host has;
* a customer whose non-migratable VMs on one host outnumber its limit (they are
  all down during that host's reboot);
* capacity: the migrating VMs of a datacenter exceed all the room they could
  ever use; and, in rolling maintenance, no host can be evacuated first — the
  first host to start its reboot can only send its VMs to hosts that never need
  a reboot or that have no VMs to move (rebooted before it).
"""

from __future__ import annotations

from typing import Iterable, Optional

from engine.derived import customer_limit, migration_gbps, usable_capacity
from engine.model import RESOURCES, Host, Limits, Snapshot, VM

EPS = 1e-9
SHOWN = 8  # entities named in one sentence before "and N more"
DETAILED = 3  # customers explained one by one before the rest are summed up in one sentence


def precheck(snapshot: Snapshot, limits: Limits) -> list[str]:
    """Proofs that no plan exists ([] when none of the cheap checks applies)."""
    f = _Fleet(snapshot, limits)
    out: list[str] = []
    for check in CHECKS:
        out.extend(check(f))
    return out


def explanation(snapshot: Snapshot, limits: Limits) -> Optional[str]:
    """The proofs joined into one text for an infeasible plan's `explanation`, or None."""
    found = precheck(snapshot, limits)
    return "; ".join(found) if found else None


def _names(items: Iterable[str]) -> str:
    items = sorted(items)
    shown = ", ".join(items[:SHOWN])
    return shown + (f" and {len(items) - SHOWN} more" if len(items) > SHOWN else "")


class _Fleet:
    def __init__(self, s: Snapshot, limits: Limits):
        self.s, self.limits = s, limits
        self.dc = {h.id: s.datacenter_of(h.id) for h in s.hosts}
        self.rebooting = [h for h in s.hosts if h.state == "needs_reboot"]
        self.movers: dict[str, list[VM]] = {h.id: [v for v in s.vms_by_host.get(h.id, []) if v.migratable]
                                             for h in self.rebooting}
        self.stuck: dict[str, list[VM]] = {h.id: [v for v in s.vms_by_host.get(h.id, []) if not v.migratable]
                                            for h in self.rebooting}
        self.all_movers = [(h, v) for h in self.rebooting for v in self.movers[h.id]]
        self._rooms: dict[str, list[float]] = {}

    def load(self, vms: Iterable[VM]) -> list[float]:
        out = [0.0] * len(RESOURCES)
        for v in vms:
            for i, r in enumerate(RESOURCES):
                out[i] += getattr(v, r)
        return out

    def spare(self, h: Host) -> list[float]:
        """Room an active host keeps for arrivals: its VMs never leave."""
        used = self.load(self.s.vms_by_host.get(h.id, []))
        return [max(0.0, usable_capacity(h, r, self.limits) - u) for r, u in zip(RESOURCES, used)]

    def room_after_reboot(self, h: Host) -> list[float]:
        """Room a rebooted host offers: only its non-migratable VMs stay."""
        used = self.load(self.stuck[h.id])
        return [usable_capacity(h, r, self.limits) - u for r, u in zip(RESOURCES, used)]

    def receivers(self, dc: str) -> list[Host]:
        rolling = self.limits.capacity.rolling
        return [h for h in self.s.hosts if self.dc[h.id] == dc
                and (h.state == "active" or (rolling and h.state == "needs_reboot"))]

    def room(self, h: Host) -> list[float]:
        """What may ever arrive on a receiver (never negative); computed once per host."""
        if h.id not in self._rooms:
            room = self.spare(h) if h.state == "active" else self.room_after_reboot(h)
            self._rooms[h.id] = [max(0.0, x) for x in room]
        return self._rooms[h.id]


def _fits(demand: list[float], room: list[float]) -> bool:
    return all(d <= x + EPS * max(1.0, abs(x)) for d, x in zip(demand, room))


def _over(demand: list[float], room: list[float]) -> list[str]:
    return [f"{r} {d:g} > {x:g}" for r, d, x in zip(RESOURCES, demand, room) if d > x + EPS * max(1.0, abs(x))]


# --------------------------------------------------------------------------- zero limits


def zero_concurrency(f: _Fleet) -> list[str]:
    """A concurrency limit of 0 that some migration must use."""
    if not f.all_movers:
        return []
    c = f.limits.concurrency
    out = []
    hosts = sorted({h.id for h, _ in f.all_movers})
    if c.per_source_host == 0:
        out.append(f"concurrency.per_source_host is 0 but host(s) {_names(hosts)} must evacuate VMs")
    if c.per_target_host == 0:
        out.append(f"concurrency.per_target_host is 0 but {len(f.all_movers)} VM(s) must migrate "
                   f"(from {_names(hosts)})")
    if c.per_rack == 0:
        racks = {h.rack for h, _ in f.all_movers}
        out.append(f"concurrency.per_rack is 0 but VMs must migrate out of rack(s) {_names(racks)}")
    if c.per_datacenter == 0:
        dcs = {f.dc[h.id] for h, _ in f.all_movers}
        out.append(f"concurrency.per_datacenter is 0 but VMs must migrate in datacenter(s) {_names(dcs)}")
    if c.global_ == 0:
        out.append(f"concurrency.global is 0 but {len(f.all_movers)} VM(s) must migrate")
    return out


def zero_hosts_down(f: _Fleet) -> list[str]:
    """max_hosts_down_per_rack = 0 while a host must reboot (for a positive time)."""
    if f.limits.concurrency.max_hosts_down_per_rack != 0:
        return []
    hosts = [h.id for h in f.rebooting if h.reboot_minutes > 0]
    return [f"concurrency.max_hosts_down_per_rack is 0 but host(s) {_names(hosts)} must reboot"] if hosts else []


def customer_limits(f: _Fleet) -> list[str]:
    """A customer limit below what one migration, or one host's reboot, forces on it at once."""
    need: dict[str, tuple[int, str]] = {}  # customer -> (VMs busy at once, why)
    for h, vm in f.all_movers:
        if vm.customer not in need:
            need[vm.customer] = (1, f"vm {vm.id} must migrate from {h.id}")
    for h in f.rebooting:
        if h.reboot_minutes == 0:
            continue
        per_customer: dict[str, list[str]] = {}
        for vm in f.stuck[h.id]:
            per_customer.setdefault(vm.customer, []).append(vm.id)
        for cust, ids in per_customer.items():
            if len(ids) > need.get(cust, (0, ""))[0]:
                need[cust] = (len(ids), f"its non-migratable VM(s) {_names(ids)} are down together while "
                                        f"{h.id} reboots")
    short: list[tuple[str, int, str]] = []
    for cust, (n, why) in sorted(need.items()):
        lim = customer_limit(cust, f.s, f.limits)
        if lim is not None and lim < n:
            short.append((cust, lim, why))
    out = [f"customer {cust}: its conflict limit is {lim} ({_limit_source(cust, f)}) but {why}"
           for cust, lim, why in short[:DETAILED]]
    if len(short) > DETAILED:
        # one limit usually starves many customers (per_customer 0): name them, do not narrate each
        rest = [cust for cust, _, _ in short[DETAILED:]]
        sources = sorted({_limit_source(cust, f) for cust in rest})
        out.append(f"{len(rest)} more customer(s) have a conflict limit below what one migration or one "
                   f"host's reboot needs ({', '.join(sources)}): {_names(rest)}")
    return out


def _limit_source(cust: str, f: _Fleet) -> str:
    """Which setting gives `cust` its conflict limit (the order of `engine.derived.customer_limit`)."""
    conflict = f.limits.conflict
    if cust in conflict.overrides:
        return f"conflict.overrides[{cust}]"
    customer = f.s.customer_by_id.get(cust)
    if customer is not None and customer.max_concurrent_migrations is not None:
        return "customers[].max_concurrent_migrations"
    if conflict.per_customer_fraction is not None:
        return "conflict.per_customer_fraction"
    return "conflict.per_customer"


# --------------------------------------------------------------------------- bandwidth and targets


def own_bandwidth(f: _Fleet) -> list[str]:
    """A migration uses its source's bandwidth for its whole length."""
    out = []
    for h, vm in f.all_movers:
        g = migration_gbps(vm, f.limits)
        if h.bandwidth_gbps is not None and g > h.bandwidth_gbps + EPS:
            out.append(f"vm {vm.id} migrates at {g:g} Gbps but its host {h.id} has bandwidth_gbps "
                       f"{h.bandwidth_gbps:g}")
    return out


def no_target(f: _Fleet) -> list[str]:
    """Every migrating VM needs another host of its datacenter that could ever hold it."""
    out = []
    by_dc: dict[str, list[tuple[Host, VM]]] = {}
    for h, vm in f.all_movers:
        by_dc.setdefault(f.dc[h.id], []).append((h, vm))
    for dc, movers in sorted(by_dc.items()):
        receivers = f.receivers(dc)
        rooms = {r.id: f.room(r) for r in receivers}
        alone: list[str] = []     # no other host may receive anything
        homeless: list[str] = []  # other hosts exist, none can hold it
        holders: dict[tuple, list[str]] = {}  # VM size and speed → the first two hosts that could hold it
        for h, vm in movers:
            if not any(r.id != h.id for r in receivers[:2]):
                alone.append(vm.id)
                continue
            demand = [vm.demand(r) for r in RESOURCES]
            g = migration_gbps(vm, f.limits)
            key = (*demand, g)
            if key not in holders:
                fit = (r.id for r in receivers if _fits(demand, rooms[r.id])
                       and (r.bandwidth_gbps is None or g <= r.bandwidth_gbps + EPS))
                holders[key] = [x for _, x in zip(range(2), fit)]
            if not any(x != h.id for x in holders[key]):
                homeless.append(vm.id)
        if alone:
            why = ("every other host needs a reboot or is disabled, and capacity.rolling is false"
                   if not f.limits.capacity.rolling else "every other host is disabled")
            out.append(f"datacenter {dc}: vm(s) {_names(alone)} must migrate but no other host can receive "
                       f"them ({why})")
        if homeless:
            sample = f.s.vm_by_id[sorted(homeless)[0]]
            src = sample.host
            biggest = [max(rooms[r.id][i] for r in receivers if r.id != src) for i in range(len(RESOURCES))]
            out.append(f"datacenter {dc}: no host can take vm(s) {_names(homeless)} (capacity with headroom, "
                       f"bandwidth, rolling={f.limits.capacity.rolling}); e.g. {sample.id} needs "
                       + ", ".join(f"{r} {sample.demand(r):g}" for r in RESOURCES)
                       + f" at {migration_gbps(sample, f.limits):g} Gbps; the most room any host offers is "
                       + ", ".join(f"{r} {v:g}" for r, v in zip(RESOURCES, biggest)))
    return out


# --------------------------------------------------------------------------- aggregate capacity


def total_room(f: _Fleet) -> list[str]:
    """All migrating VMs of a datacenter must fit, together, into the room of the hosts that may receive them."""
    out = []
    by_dc: dict[str, list[VM]] = {}
    for h, vm in f.all_movers:
        by_dc.setdefault(f.dc[h.id], []).append(vm)
    for dc, vms in sorted(by_dc.items()):
        receivers = f.receivers(dc)
        if not receivers:
            continue  # no_target says so
        need = f.load(vms)
        room = [sum(x) for x in zip(*(f.room(r) for r in receivers))]
        over = _over(need, room)
        if over:
            out.append(f"datacenter {dc}: its {len(vms)} migrating VM(s) need more than all the room of the "
                       f"hosts that may receive them ({'; '.join(over)}; capacity.headroom applies)")
    return out


def first_evacuation(f: _Fleet) -> list[str]:
    """Rolling: the first host with VMs to move that starts its reboot can only send them to hosts that
    never reboot or have nothing to move (rebooted before it); if no host's VMs fit there, no plan exists."""
    if not f.limits.capacity.rolling:
        return []
    out = []
    by_dc: dict[str, list[Host]] = {}
    for h in f.rebooting:
        if f.movers[h.id]:
            by_dc.setdefault(f.dc[h.id], []).append(h)
    for dc, sources in sorted(by_dc.items()):
        early = [r for r in f.receivers(dc) if r.state == "active" or not f.movers[r.id]]
        rooms = [f.room(r) for r in early]
        room = [sum(x) for x in zip(*rooms)] if early else [0.0] * len(RESOURCES)

        fits_early: dict[tuple, bool] = {}

        def fits_some_early_host(v: VM) -> bool:
            demand = tuple(v.demand(r) for r in RESOURCES)
            if demand not in fits_early:
                fits_early[demand] = any(_fits(demand, x) for x in rooms)
            return fits_early[demand]

        def can_go_first(h: Host) -> bool:
            vms = f.movers[h.id]
            return _fits(f.load(vms), room) and all(fits_some_early_host(v) for v in vms)

        if not any(can_go_first(h) for h in sources):
            out.append(f"datacenter {dc}: rolling maintenance cannot start: the VMs of every host to evacuate "
                       f"({_names(h.id for h in sources)}) do not fit in the free room of the hosts that could "
                       f"take them first, those that never reboot or have no VMs to move (together "
                       + ", ".join(f"{r} {v:g}" for r, v in zip(RESOURCES, room)) + ")")
    return out


CHECKS = (zero_concurrency, zero_hosts_down, customer_limits, own_bandwidth, no_target, total_room,
          first_evacuation)
