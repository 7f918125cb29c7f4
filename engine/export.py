"""A Snapshot back to its FORMATS.md JSON document.

Round trip rule: parsing the exported document gives a Snapshot equal to the
one exported (same ids, same values, same order). Optional fields that are
absent (None) are omitted, except a VM's `host`, written as null for a pending
VM so the document says so. Fields with documented defaults (`state`,
`reboot_minutes`, `migratable`) are always written: reloading gives the same
values. Whole-number quantities are written as integers (4, not 4.0).
"""

from __future__ import annotations

import json
from typing import Any

from engine.model import Snapshot


def _num(x: float | int | None) -> float | int | None:
    if isinstance(x, float) and x.is_integer() and abs(x) < 2**53:
        return int(x)
    return x


def _record(values: dict[str, Any], keep_none: tuple[str, ...] = ()) -> dict[str, Any]:
    return {k: _num(v) for k, v in values.items() if v is not None or k in keep_none}


def snapshot_document(s: Snapshot) -> dict[str, Any]:
    """The FORMATS.md snapshot document of `s`, ready for json.dumps."""
    return {
        "version": s.version,
        "name": s.name,
        "datacenters": [_record({"id": d.id, "name": d.name}) for d in s.datacenters],
        "racks": [{"id": r.id, "datacenter": r.datacenter} for r in s.racks],
        "hosts": [
            _record({
                "id": h.id, "rack": h.rack, "cpu": h.cpu, "memory_gb": h.memory_gb, "disk_gb": h.disk_gb,
                "state": h.state, "reboot_minutes": h.reboot_minutes, "bandwidth_gbps": h.bandwidth_gbps,
            })
            for h in s.hosts
        ],
        "customers": [
            _record({"id": c.id, "name": c.name, "max_concurrent_migrations": c.max_concurrent_migrations})
            for c in s.customers
        ],
        "vms": [
            _record(
                {
                    "id": v.id, "host": v.host, "customer": v.customer,
                    "cpu": v.cpu, "memory_gb": v.memory_gb, "disk_gb": v.disk_gb,
                    "migration_minutes": v.migration_minutes, "migration_gbps": v.migration_gbps,
                    "migratable": v.migratable,
                },
                keep_none=("host",),
            )
            for v in s.vms
        ],
    }


def dumps_snapshot(s: Snapshot) -> str:
    """The snapshot document as JSON text: one record per line (compact, diffable, deterministic)."""
    doc = snapshot_document(s)
    lines = ["{"]
    header = [f'  "version": {json.dumps(doc["version"])},', f'  "name": {json.dumps(doc["name"])},']
    lines += header
    collections = ("datacenters", "racks", "hosts", "customers", "vms")
    for n, key in enumerate(collections):
        records = doc[key]
        end = "," if n < len(collections) - 1 else ""
        if not records:
            lines.append(f'  "{key}": []{end}')
            continue
        lines.append(f'  "{key}": [')
        lines += [f"    {json.dumps(r)}{',' if i < len(records) - 1 else ''}" for i, r in enumerate(records)]
        lines.append(f"  ]{end}")
    lines.append("}")
    return "\n".join(lines) + "\n"
