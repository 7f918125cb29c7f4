"""How close a plan comes to each limit (a dry run of FORMATS.md's rules 4-8 over time).

For every limit family: the peak use against the limit, where (host, rack, datacenter,
customer) and at which minute, and for how many minutes of the plan some entity of that
family sits at its limit. The time-sharing family (not capacity: a full target stays full
without holding anything up) at its limit longest is the one that binds the makespan in practice; the lower bounds (engine.maintenance.bounds) say which limit *proves*
the makespan cannot be shorter, when one does.

The simulation is exact minute by minute but computed by one sweep over start/end events
per entity (the load is constant between events), so 8,000 migrations take well under a second.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

from engine.derived import customer_limit, migration_gbps, usable_capacity
from engine.model import RESOURCES, Limits, MaintenancePlan, Snapshot

TOLERANCE = 1e-6


@dataclass
class Margin:
    family: str
    limit: Optional[float]        # None: no limit (peak shown for information)
    peak: float
    where: str                    # entity at its peak ("-" when nothing ran)
    minute: Optional[int]
    saturated_minutes: int        # minutes during which some entity is at its limit

    @property
    def ratio(self) -> Optional[float]:
        return None if not self.limit else self.peak / self.limit

    def to_dict(self) -> dict:
        return {"family": self.family, "limit": self.limit, "peak": self.peak, "ratio": self.ratio,
                "where": self.where, "minute": self.minute, "saturated_minutes": self.saturated_minutes}


@dataclass
class MarginsReport:
    makespan: int
    margins: list[Margin]
    binding: Optional[str]          # the family at its limit for the most minutes
    proven_by: Optional[str]        # a lower bound equal to the makespan, when one is
    bounds: dict[str, int]

    def to_dict(self) -> dict:
        return {"makespan": self.makespan, "margins": [m.to_dict() for m in self.margins], "binding": self.binding,
                "proven_by": self.proven_by, "bounds": self.bounds}


def _sweep(family: str, items: list[tuple[str, int, Optional[int], float]], limit_of: Callable[[str], Optional[float]],
           base: Optional[dict[str, float]] = None, check_from: Optional[dict[str, int]] = None,
           horizon: int = 0) -> Margin:
    """items: (entity, start, end or None for ever, amount). Peak over entities; saturated minutes in [0, horizon)."""
    events: dict[str, list[tuple[int, float]]] = {}
    for name, start, end, w in items:
        events.setdefault(name, []).append((start, w))
        if end is not None:
            events[name].append((end, -w))
    best = Margin(family, None, 0.0, "-", None, 0)
    best_key = -1.0
    saturated: list[tuple[int, int]] = []
    for name, evs in events.items():
        evs.sort()
        lim = limit_of(name)
        load = (base or {}).get(name, 0.0)
        start_at = (check_from or {}).get(name, 0)
        i = 0
        while i < len(evs):
            t = evs[i][0]
            while i < len(evs) and evs[i][0] == t:
                load += evs[i][1]
                i += 1
            if t < start_at:
                continue
            nxt = evs[i][0] if i < len(evs) else max(horizon, t)
            key = load / lim if lim else load
            if key > best_key + TOLERANCE:
                best_key = key
                best = Margin(family, lim, round(load, 6), name, t, 0)
            if lim is not None and load >= lim - TOLERANCE * max(1.0, lim) and nxt > t:
                saturated.append((t, min(nxt, horizon) if horizon else nxt))
    best.saturated_minutes = _union_length(saturated)
    if best.limit is None and items:
        lims = {limit_of(n) for n in events}
        best.limit = None if None in lims or len(lims) != 1 else lims.pop()
    return best


def _union_length(spans: list[tuple[int, int]]) -> int:
    total, end = 0, None
    for a, b in sorted(spans):
        if b <= a:
            continue
        if end is None or a > end:
            total += b - a
            end = b
        elif b > end:
            total += b - end
            end = b
    return total


def plan_margins(snapshot: Snapshot, limits: Limits, plan: MaintenancePlan) -> MarginsReport:
    s, c = snapshot, limits.concurrency
    h = plan.makespan or max([m.end for m in plan.migrations] + [r.end for r in plan.reboots], default=0)
    moves = [m for m in plan.migrations if m.vm in s.vm_by_id and m.source in s.host_by_id and m.target in s.host_by_id]
    out: list[Margin] = []

    # Rule 4: capacity, as a share of the usable capacity, from each host's first arrival.
    base, first, items = {}, {}, []
    for vm in s.vms:
        if vm.host in s.host_by_id:
            for r in RESOURCES:
                key = f"{vm.host} {r}"
                base[key] = base.get(key, 0.0) + vm.demand(r)
    for m in moves:
        vm = s.vm_by_id[m.vm]
        for r in RESOURCES:
            first[f"{m.target} {r}"] = min(first.get(f"{m.target} {r}", m.start), m.start)
            items.append((f"{m.target} {r}", m.start, None, vm.demand(r)))
            items.append((f"{m.source} {r}", m.end, None, -vm.demand(r)))
    usable = {f"{x.id} {r}": usable_capacity(x, r, limits) for x in s.hosts for r in RESOURCES}
    out.append(_sweep("capacity", items, lambda n: usable[n], base, first, h))

    def count(family: str, lim: Optional[int], groups: Callable) -> None:
        its = [(g, m.start, m.end, 1.0) for m in moves for g in groups(m)]
        out.append(_sweep(family, its, lambda _n: lim, horizon=h))

    count("per_source_host", c.per_source_host, lambda m: [m.source])
    count("per_target_host", c.per_target_host, lambda m: [m.target])
    count("per_rack", c.per_rack, lambda m: {s.rack_of(m.source), s.rack_of(m.target)})
    count("per_datacenter", c.per_datacenter, lambda m: {s.datacenter_of(m.source), s.datacenter_of(m.target)})
    count("global", c.global_, lambda m: ["fleet"])

    bw = {x.id: x.bandwidth_gbps for x in s.hosts if x.bandwidth_gbps is not None}
    its = [(hid, m.start, m.end, migration_gbps(s.vm_by_id[m.vm], limits))
           for m in moves for hid in {m.source, m.target} if hid in bw]
    out.append(_sweep("bandwidth", its, lambda n: bw[n], horizon=h))

    its = [(s.vm_by_id[m.vm].customer, m.start, m.end, 1.0) for m in moves]
    for r in plan.reboots:
        for vm in s.vms_by_host.get(r.host, []):
            if not vm.migratable:
                its.append((vm.customer, r.start, r.end, 1.0))
    cache: dict[str, Optional[int]] = {}
    out.append(_sweep("conflict", its, lambda n: cache.setdefault(n, customer_limit(n, s, limits)), horizon=h))

    its = [(s.rack_of(r.host), r.start, r.end, 1.0) for r in plan.reboots if r.host in s.host_by_id]
    out.append(_sweep("max_hosts_down_per_rack", its, lambda _n: c.max_hosts_down_per_rack, horizon=h))

    # Capacity is left out: a full target stays full to the end without holding anything up.
    limited = [m for m in out if m.saturated_minutes > 0 and m.family != "capacity"]
    binding = max(limited, key=lambda m: m.saturated_minutes).family if limited else None
    from engine.maintenance.bounds import bound_details

    details = bound_details(s, limits)
    bounds = {b.family: b.value for b in details}
    proven = [b for b in details if b.value >= h and h > 0]
    proven_by = f"{proven[0].family} ({proven[0].reason})" if proven else None
    return MarginsReport(makespan=h, margins=out, binding=binding, proven_by=proven_by, bounds=bounds)
