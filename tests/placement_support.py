"""Small hand-built placement snapshots for the placement tests."""

from __future__ import annotations

from engine.documents import parse_snapshot
from engine.model import Limits


def fleet(hosts: list[dict], vms: list[dict], customers: tuple[str, ...] = ("a", "b", "c")):
    """hosts: {"id", cpu?, memory_gb?, disk_gb?, state?}; vms: {"id", host?, customer?, cpu?, ...}."""
    doc = {
        "version": 1, "name": "test",
        "datacenters": [{"id": "dc1"}],
        "racks": [{"id": "r1", "datacenter": "dc1"}],
        "hosts": [{"rack": "r1", "cpu": 64, "memory_gb": 512, "disk_gb": 4000, "state": "active", **h} for h in hosts],
        "customers": [{"id": c} for c in customers],
        "vms": [{"host": None, "customer": "a", "cpu": 8, "memory_gb": 32, "disk_gb": 100, **v} for v in vms],
    }
    return parse_snapshot(doc, "test")


def limits(**placement) -> Limits:
    headroom = placement.pop("headroom", None)
    data = {"placement": placement}
    if headroom:
        data["capacity"] = {"headroom": headroom}
    return Limits.model_validate(data)
