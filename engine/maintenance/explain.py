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

from engine.maintenance.problem import SCALE, HostData, Problem, Task, build_problem
from engine.model import RESOURCES, Limits, Snapshot

SHOWN = 8  # entities named in one sentence before "and N more"
DETAILED = 3  # customers explained one by one before the rest are summed up in one sentence


def precheck(snapshot: Snapshot, limits: Limits, problem: Optional[Problem] = None) -> list[str]:
    """Proofs that no plan exists ([] when none of the cheap checks applies).

    `problem` is the whole fleet's `build_problem(snapshot, limits)` when the caller has it: every
    derived value (migration minutes and Gbps, customer limits, the room a host offers) is read there;
    the documents only name entities and say where a limit comes from."""
    f = _Fleet(snapshot, limits, problem if problem is not None else build_problem(snapshot, limits))
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


def _units(values: Iterable[int]) -> list[float]:
    return [v / SCALE for v in values]


class _Fleet:
    """The problem's view, grouped the way the checks ask: movers per host and datacenter, receivers."""

    def __init__(self, s: Snapshot, limits: Limits, problem: Problem):
        self.s, self.limits, self.p = s, limits, problem
        self.rebooting = [problem.hosts[h] for h in problem.reboot_hosts]
        self.all_movers = [(problem.hosts[t.source], t) for t in problem.tasks]
        self.dc = problem.datacenters

    def receivers(self, dc: int) -> list[HostData]:
        """Hosts of datacenter `dc` that may ever receive a VM (active; rebooted, when rolling)."""
        return [self.p.hosts[h] for h in self.p.targets_by_datacenter[dc]]

    @staticmethod
    def room(h: HostData) -> tuple[int, ...]:
        """What may ever arrive on a receiver (never negative): problem.py's room."""
        return tuple(max(0, x) for x in h.room)

    def load(self, tasks: Iterable[Task]) -> list[int]:
        out = [0] * len(RESOURCES)
        for t in tasks:
            for i, d in enumerate(t.demand):
                out[i] += d
        return out


def _fits(demand: Iterable[int], room: Iterable[int]) -> bool:
    return all(d <= x for d, x in zip(demand, room))


def _over(demand: list[int], room: list[int]) -> list[str]:
    return [f"{r} {d / SCALE:g} > {x / SCALE:g}" for r, d, x in zip(RESOURCES, demand, room) if d > x]


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
        racks = {f.p.racks[h.rack] for h, _ in f.all_movers}
        out.append(f"concurrency.per_rack is 0 but VMs must migrate out of rack(s) {_names(racks)}")
    if c.per_datacenter == 0:
        dcs = {f.dc[h.datacenter] for h, _ in f.all_movers}
        out.append(f"concurrency.per_datacenter is 0 but VMs must migrate in datacenter(s) {_names(dcs)}")
    if c.global_ == 0:
        out.append(f"concurrency.global is 0 but {len(f.all_movers)} VM(s) must migrate")
    return out


def zero_hosts_down(f: _Fleet) -> list[str]:
    """max_hosts_down_per_rack = 0 while a host must reboot (for a positive time)."""
    if f.p.max_hosts_down_per_rack != 0:
        return []
    hosts = [h.id for h in f.rebooting if h.reboot_minutes > 0]
    return [f"concurrency.max_hosts_down_per_rack is 0 but host(s) {_names(hosts)} must reboot"] if hosts else []


def customer_limits(f: _Fleet) -> list[str]:
    """A customer limit below what one migration, or one host's reboot, forces on it at once."""
    need: dict[int, tuple[int, str]] = {}  # customer -> (VMs busy at once, why)
    for h, t in f.all_movers:
        if t.customer not in need:
            need[t.customer] = (1, f"vm {t.vm} must migrate from {h.id}")
    for h in f.rebooting:
        if h.reboot_minutes == 0:
            continue
        for c, n in h.down_customers:
            if n > need.get(c, (0, ""))[0]:
                ids = [v.id for v in f.s.vms_by_host.get(h.id, [])
                       if not v.migratable and v.customer == f.p.customers[c]]
                need[c] = (n, f"its non-migratable VM(s) {_names(ids)} are down together while {h.id} reboots")
    short: list[tuple[str, int, str]] = []
    for c, (n, why) in sorted(need.items(), key=lambda kv: f.p.customers[kv[0]]):
        lim = f.p.customer_limits[c]
        if lim is not None and lim < n:
            short.append((f.p.customers[c], lim, why))
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
    return [f"vm {t.vm} migrates at {t.gbps / SCALE:g} Gbps but its host {h.id} has bandwidth_gbps "
            f"{h.bandwidth / SCALE:g}" for h, t in f.all_movers if h.bandwidth is not None and t.gbps > h.bandwidth]


def no_target(f: _Fleet) -> list[str]:
    """Every migrating VM needs another host of its datacenter that could ever hold it (Problem.can_target)."""
    out = []
    by_dc: dict[int, list[tuple[HostData, Task]]] = {}
    for h, t in f.all_movers:
        by_dc.setdefault(h.datacenter, []).append((h, t))
    for dc, movers in sorted(by_dc.items(), key=lambda kv: f.dc[kv[0]]):
        receivers = f.receivers(dc)
        alone: list[str] = []     # no other host may receive anything
        homeless: list[Task] = []  # other hosts exist, none can hold it
        holders: dict[tuple, list[int]] = {}  # VM size and speed → the first two hosts that could hold it
        for h, t in movers:
            if not any(r.index != h.index for r in receivers[:2]):
                alone.append(t.vm)
                continue
            key = (*t.demand, t.gbps)
            if key not in holders:
                fit = (r.index for r in receivers if _fits(t.demand, f.room(r))
                       and (r.bandwidth is None or t.gbps <= r.bandwidth))
                holders[key] = [x for _, x in zip(range(2), fit)]
            if not any(x != h.index for x in holders[key]):
                homeless.append(t)
        if alone:
            why = ("every other host needs a reboot or is disabled, and capacity.rolling is false"
                   if not f.p.rolling else "every other host is disabled")
            out.append(f"datacenter {f.dc[dc]}: vm(s) {_names(alone)} must migrate but no other host can "
                       f"receive them ({why})")
        if homeless:
            sample = min(homeless, key=lambda t: t.vm)
            biggest = [max(f.room(r)[i] for r in receivers if r.index != sample.source) for i in range(len(RESOURCES))]
            out.append(f"datacenter {f.dc[dc]}: no host can take vm(s) {_names(t.vm for t in homeless)} (capacity "
                       f"with headroom, bandwidth, rolling={f.p.rolling}); e.g. {sample.vm} needs "
                       + ", ".join(f"{r} {d:g}" for r, d in zip(RESOURCES, _units(sample.demand)))
                       + f" at {sample.gbps / SCALE:g} Gbps; the most room any host offers is "
                       + ", ".join(f"{r} {v:g}" for r, v in zip(RESOURCES, _units(biggest))))
    return out


# --------------------------------------------------------------------------- aggregate capacity


def total_room(f: _Fleet) -> list[str]:
    """All migrating VMs of a datacenter must fit, together, into the room of the hosts that may receive them."""
    out = []
    by_dc: dict[int, list[Task]] = {}
    for h, t in f.all_movers:
        by_dc.setdefault(h.datacenter, []).append(t)
    for dc, tasks in sorted(by_dc.items(), key=lambda kv: f.dc[kv[0]]):
        receivers = f.receivers(dc)
        if not receivers:
            continue  # no_target says so
        need = f.load(tasks)
        room = [sum(x) for x in zip(*(f.room(r) for r in receivers))]
        over = _over(need, room)
        if over:
            out.append(f"datacenter {f.dc[dc]}: its {len(tasks)} migrating VM(s) need more than all the room of "
                       f"the hosts that may receive them ({'; '.join(over)}; capacity.headroom applies)")
    return out


def first_evacuation(f: _Fleet) -> list[str]:
    """Rolling: the first host with VMs to move that starts its reboot can only send them to hosts that
    never reboot or have nothing to move (rebooted before it); if no host's VMs fit there, no plan exists."""
    if not f.p.rolling:
        return []
    out = []
    by_dc: dict[int, list[HostData]] = {}
    for h in f.rebooting:
        if h.tasks:
            by_dc.setdefault(h.datacenter, []).append(h)
    for dc, sources in sorted(by_dc.items(), key=lambda kv: f.dc[kv[0]]):
        early = [r for r in f.receivers(dc) if r.state == "active" or not r.tasks]
        rooms = [f.room(r) for r in early]
        room = [sum(x) for x in zip(*rooms)] if early else [0] * len(RESOURCES)
        fits_early: dict[tuple, bool] = {}

        def fits_some_early_host(t: Task) -> bool:
            if t.demand not in fits_early:
                fits_early[t.demand] = any(_fits(t.demand, x) for x in rooms)
            return fits_early[t.demand]

        def can_go_first(h: HostData) -> bool:
            tasks = [f.p.tasks[j] for j in h.tasks]
            return _fits(f.load(tasks), room) and all(fits_some_early_host(t) for t in tasks)

        if not any(can_go_first(h) for h in sources):
            out.append(f"datacenter {f.dc[dc]}: rolling maintenance cannot start: the VMs of every host to "
                       f"evacuate ({_names(h.id for h in sources)}) do not fit in the free room of the hosts that "
                       f"could take them first, those that never reboot or have no VMs to move (together "
                       + ", ".join(f"{r} {v:g}" for r, v in zip(RESOURCES, _units(room))) + ")")
    return out


CHECKS = (zero_concurrency, zero_hosts_down, customer_limits, own_bandwidth, no_target, total_room,
          first_evacuation)
