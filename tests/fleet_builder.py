"""Tiny inline fleets and plans for the validator, bounds and explanation tests.

Short on purpose: a test states only the fields that matter to it, the rest are defaults.
"""

from __future__ import annotations

from typing import Optional

from engine.documents import parse_snapshot
from engine.model import Limits, MaintenancePlan, Snapshot

HOST_DEFAULTS = {"rack": "r1", "cpu": 16, "memory_gb": 64, "disk_gb": 1000}
VM_DEFAULTS = {"customer": "c1", "cpu": 1, "memory_gb": 4, "disk_gb": 10, "migration_minutes": 10}


def snapshot(hosts: list[dict], vms: list[dict], *, rack_dc: Optional[dict[str, str]] = None,
             customers: Optional[list[dict]] = None) -> Snapshot:
    """Hosts default to rack r1 in dc1 (rack_dc maps other racks); customers default to those the VMs name."""
    hosts = [{**HOST_DEFAULTS, **h} for h in hosts]
    vms = [{**VM_DEFAULTS, **v} for v in vms]
    rack_dc = rack_dc or {}
    racks = [{"id": r, "datacenter": rack_dc.get(r, "dc1")} for r in sorted({h["rack"] for h in hosts})]
    dcs = sorted({r["datacenter"] for r in racks} | {"dc1"})
    named = {c["id"] for c in customers or []}
    customers = list(customers or []) + [{"id": c} for c in sorted({v["customer"] for v in vms} - named)]
    return parse_snapshot({"datacenters": [{"id": d} for d in dcs], "racks": racks, "hosts": hosts,
                           "customers": customers, "vms": vms})


def limits(**sections) -> Limits:
    """limits(concurrency={"per_source_host": 1}, capacity={"rolling": False}) …"""
    return Limits.model_validate(sections)


def plan(migrations: list[tuple], reboots: list[tuple] = (), *, status: str = "feasible",
         makespan: Optional[int] | str = "latest", lower_bound: Optional[int] = None) -> MaintenancePlan:
    """migrations: (vm, source, target, start, end); reboots: (host, start, end). makespan defaults to the latest end."""
    ms = [{"vm": v, "source": s, "target": t, "start": a, "end": b} for v, s, t, a, b in migrations]
    rs = [{"host": h, "start": a, "end": b} for h, a, b in reboots]
    if makespan == "latest":
        makespan = max([m["end"] for m in ms] + [r["end"] for r in rs], default=0)
    return MaintenancePlan.model_validate({"status": status, "makespan": makespan, "lower_bound": lower_bound,
                                           "migrations": ms, "reboots": rs, "solver": {"name": "hand"}})


# --------------------------------------------------------------------------- random tiny fleets (hypothesis)


def tiny_instances(max_migrations: int = 4, max_hosts: int = 4, n_customers: int = 2, max_vms: Optional[int] = None):
    """A hypothesis strategy of (snapshot, limits) small enough for the brute-force oracle (at the defaults).

    `n_customers` > 2 adds customers c2, c3 … with their own conflict limits (some from the snapshot's
    max_concurrent_migrations, some from overrides); `max_vms` defaults to max_migrations + 2."""
    from hypothesis import assume
    from hypothesis import strategies as st

    from engine.documents import DocumentError

    @st.composite
    def build(draw):
        n_hosts = draw(st.integers(2, max_hosts))
        two_racks = draw(st.booleans())
        two_dcs = two_racks and draw(st.integers(0, 3)) == 0
        states = [draw(st.sampled_from(["needs_reboot", "needs_reboot", "active", "active", "disabled"]))
                  for _ in range(n_hosts)]
        assume("needs_reboot" in states)
        customers = ["a", "b"] + [f"c{i}" for i in range(2, n_customers)]
        vms = []
        n_vms = draw(st.integers(0, max_migrations + 2 if max_vms is None else max_vms))
        for i in range(n_vms):
            host = draw(st.integers(0, n_hosts - 1))
            migratable = draw(st.integers(0, 5)) > 0
            vms.append({"id": f"v{i}", "host": f"h{host}", "customer": draw(st.sampled_from(customers)),
                        "cpu": draw(st.integers(1, 3)), "memory_gb": 1, "disk_gb": 1,
                        "migration_minutes": draw(st.integers(1, 3)),
                        "migration_gbps": draw(st.sampled_from([1, 2])), "migratable": migratable})
        movers = sum(1 for v in vms if v["migratable"] and states[int(v["host"][1:])] == "needs_reboot")
        assume(movers <= max_migrations)
        hosts = []
        for h in range(n_hosts):
            load = sum(v["cpu"] for v in vms if v["host"] == f"h{h}")
            rack = f"r{h % 2}" if two_racks else "r0"
            hosts.append({"id": f"h{h}", "rack": rack, "state": states[h], "cpu": load + draw(st.integers(0, 8)),
                          "memory_gb": 64, "disk_gb": 64, "reboot_minutes": draw(st.integers(0, 3)),
                          "bandwidth_gbps": draw(st.sampled_from([None, None, 2, 3]))})
        limits_doc = {
            "capacity": {"rolling": draw(st.sampled_from([True, True, False])), "headroom": {"cpu": draw(st.sampled_from([0.0, 0.0, 0.25]))}},
            "concurrency": {k: draw(st.sampled_from(v)) for k, v in {
                "per_source_host": [None, 1, 2], "per_target_host": [None, 1, 2], "per_rack": [None, 1, 2, 3],
                "per_datacenter": [None, 2, 3], "global": [None, 1, 2, 4], "max_hosts_down_per_rack": [None, 1, 2],
            }.items()},
            "conflict": {"per_customer": draw(st.sampled_from([None, 1, 2])),
                         "overrides": draw(st.sampled_from([{}, {"a": 1}, {"b": 3}]))},
        }
        if len(customers) > 2:
            limits_doc["conflict"]["overrides"] = {
                **limits_doc["conflict"]["overrides"],
                **{c: n for c in customers[2:] if (n := draw(st.sampled_from([None, None, 1, 2]))) is not None}}
        named = [{"id": c, **({"max_concurrent_migrations": n} if c not in ("a", "b") and
                              (n := draw(st.sampled_from([None, 1, 2, 3]))) is not None else {})} for c in customers]
        try:
            snap = snapshot(hosts, vms, rack_dc={"r1": "dc2"} if two_dcs else None, customers=named)
        except DocumentError:
            assume(False)
        return snap, Limits.model_validate(limits_doc)

    return build()
