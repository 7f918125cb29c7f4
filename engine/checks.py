"""Cross-record checks of a snapshot: the rules a schema cannot express.

Each check returns human-readable problems naming the record id and field.
`check_snapshot` runs them all, so a bad snapshot reports every problem at once.
"""

from __future__ import annotations

from collections import Counter
from typing import Iterable

from engine.model import RESOURCES, Snapshot


def _duplicates(kind: str, ids: Iterable[str]) -> list[str]:
    counts = Counter(ids)
    return [f"{kind} {i!r}: duplicate id (appears {n} times)" for i, n in counts.items() if n > 1]


def check_unique_ids(s: Snapshot) -> list[str]:
    return (
        _duplicates("datacenter", (d.id for d in s.datacenters))
        + _duplicates("rack", (r.id for r in s.racks))
        + _duplicates("host", (h.id for h in s.hosts))
        + _duplicates("customer", (c.id for c in s.customers))
        + _duplicates("vm", (v.id for v in s.vms))
    )


def check_references(s: Snapshot) -> list[str]:
    dcs = {d.id for d in s.datacenters}
    racks = {r.id for r in s.racks}
    hosts = {h.id for h in s.hosts}
    customers = {c.id for c in s.customers}
    out = []
    out += [f"rack {r.id!r} field datacenter: unknown datacenter {r.datacenter!r}" for r in s.racks if r.datacenter not in dcs]
    out += [f"host {h.id!r} field rack: unknown rack {h.rack!r}" for h in s.hosts if h.rack not in racks]
    for v in s.vms:
        if v.host is not None and v.host not in hosts:
            out.append(f"vm {v.id!r} field host: unknown host {v.host!r}")
        if v.customer not in customers:
            out.append(f"vm {v.id!r} field customer: unknown customer {v.customer!r}")
    return out


def check_host_loads(s: Snapshot) -> list[str]:
    """The VMs already on a host must fit its raw capacity."""
    out = []
    hosts = s.host_by_id
    load: dict[str, dict[str, float]] = {}
    for v in s.vms:
        if v.host in hosts:
            per = load.setdefault(v.host, dict.fromkeys(RESOURCES, 0.0))
            for r in RESOURCES:
                per[r] += v.demand(r)
    for hid, per in load.items():
        for r in RESOURCES:
            cap = hosts[hid].capacity(r)
            if per[r] > cap + 1e-9:
                out.append(f"host {hid!r} field {r}: over capacity, its VMs need {per[r]:g} but it has {cap:g}")
    return out


CHECKS = (check_unique_ids, check_references, check_host_loads)


def check_snapshot(s: Snapshot) -> list[str]:
    problems: list[str] = []
    for check in CHECKS:
        problems.extend(check(s))
    return problems
