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
