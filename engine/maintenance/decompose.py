"""Datacenters are independent subproblems: split, solve in parallel, merge.

Targets never leave their datacenter, so only two limits couple datacenters:
a customer's conflict limit (its VMs may live in several datacenters) and the
`global` concurrency limit. `plan_components` handles them:

* a coupling limit m over k datacenters with m >= k is split into shares
  (proportional to the work there, each at least 1, summing to at most m):
  every combination of per-datacenter plans then respects m. A split
  restricts the problem, so its components' proven bounds are no longer
  bounds of the fleet (`Component.restricted`).
* a limit too small to split (m < k) merges those datacenters into one
  component.

Components run through an executor of `engine.executors` (local processes or a
Dask cluster).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional, Sequence

from engine.derived import customer_limit, migration_minutes
from engine.model import Limits, Snapshot


@dataclass(frozen=True)
class Component:
    datacenters: tuple[str, ...]
    customer_limit_overrides: dict[str, int] = field(default_factory=dict)
    global_limit: Optional[int] = None
    override_global: bool = False
    restricted: bool = False  # a fleet-wide limit was split: bounds of this part do not bound the fleet
    work: int = 0             # migration minutes (for ordering and time shares)


def plan_components(snapshot: Snapshot, limits: Limits) -> list[Component]:
    dc_ids = [d.id for d in snapshot.datacenters]
    dc_of_host = {h.id: snapshot.rack_by_id[h.rack].datacenter for h in snapshot.hosts}
    state = {h.id: h.state for h in snapshot.hosts}
    work_by_dc = dict.fromkeys(dc_ids, 0)
    # customer -> dc -> work (migrations) / presence (non-migratable VMs down during a reboot)
    touch: dict[str, dict[str, int]] = {}
    for vm in snapshot.vms:
        if vm.host is None or state.get(vm.host) != "needs_reboot":
            continue
        dc = dc_of_host[vm.host]
        w = migration_minutes(vm, limits) if vm.migratable else 1
        if vm.migratable:
            work_by_dc[dc] += w
        per = touch.setdefault(vm.customer, {})
        per[dc] = per.get(dc, 0) + w

    parent = {d: d for d in dc_ids}

    def find(d: str) -> str:
        while parent[d] != d:
            parent[d] = parent[parent[d]]
            d = parent[d]
        return d

    def union(ds: Sequence[str]) -> None:
        roots = [find(d) for d in ds]
        for r in roots[1:]:
            parent[r] = roots[0]

    split_customers: dict[str, dict[str, int]] = {}
    for cid, per in touch.items():
        if len(per) < 2:
            continue
        m = customer_limit(cid, snapshot, limits)
        if m is None:
            continue
        if m < len(per):
            union(list(per))
        else:
            split_customers[cid] = _shares(m, per)

    active_dcs = [d for d in dc_ids if work_by_dc[d] > 0 or any(
        state[h.id] == "needs_reboot" for h in snapshot.hosts if dc_of_host[h.id] == d)]
    g = limits.concurrency.global_
    global_split: Optional[dict[str, int]] = None
    if g is not None and len(active_dcs) > 1:
        if g < len(active_dcs):
            union(active_dcs)
        else:
            global_split = {}  # filled per component below

    groups: dict[str, list[str]] = {}
    for d in dc_ids:
        groups.setdefault(find(d), []).append(d)
    comps_dcs = list(groups.values())
    if global_split is not None and len(comps_dcs) > 1:
        # shares go to the components that migrate anything (others need none of it)
        comp_work = {",".join(ds): sum(work_by_dc[d] for d in ds) for ds in comps_dcs}
        busy = {k: w for k, w in comp_work.items() if w > 0}
        global_split = {k: 0 for k in comp_work}
        global_split.update(_shares(g, busy) if busy else {})
    out = []
    for ds in comps_dcs:
        dset = set(ds)
        overrides: dict[str, int] = {}
        restricted = False
        for cid, shares in split_customers.items():
            mine = {d: s for d, s in shares.items() if d in dset}
            if mine and len(mine) < len(shares):
                overrides[cid] = sum(mine.values())
                restricted = True
        key = ",".join(ds)
        gl, og = None, False
        if global_split is not None and len(comps_dcs) > 1:
            gl, og, restricted = global_split[key], True, True
        out.append(Component(datacenters=tuple(ds), customer_limit_overrides=overrides, global_limit=gl,
                             override_global=og, restricted=restricted, work=sum(work_by_dc[d] for d in ds)))
    return sorted(out, key=lambda c: -c.work)


def _shares(total: int, weights: dict[str, int]) -> dict[str, int]:
    """Split `total` into integer shares >= 1 roughly proportional to weights (needs total >= len)."""
    keys = list(weights)
    wsum = sum(max(1, weights[k]) for k in keys)
    spare = total - len(keys)
    shares = {k: 1 + int(math.floor(spare * max(1, weights[k]) / wsum)) for k in keys}
    left = total - sum(shares.values())
    for k in sorted(keys, key=lambda k: -weights[k])[: max(0, left)]:
        shares[k] += 1
    return shares


def time_shares(works: Sequence[int], time_limit_s: float, processes: int) -> list[float]:
    """Time per job so that the pool finishes within about the limit (bigger jobs get more)."""
    n = len(works)
    if n <= processes:
        return [time_limit_s] * n
    total = sum(max(1, w) for w in works)
    return [min(time_limit_s, max(0.5, time_limit_s * processes * max(1, w) / total)) for w in works]
