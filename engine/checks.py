"""Cross-record checks of a snapshot: the rules a schema cannot express.

Each check returns human-readable problems of the form
`<kind> '<id>' field <field>: <what is wrong>`, so every message names the
record and the field. `check_snapshot` runs them all, so a bad snapshot
reports every problem at once.

`check_partial_document` serves documents that also failed the schema: it runs
the same checks on the records that are valid on their own, treating ids of
invalid records as existing (no "unknown host" just because that host's cpu
was negative), so schema and cross-record problems are listed together.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Any, Iterable, Optional

from pydantic import BaseModel, ValidationError

from engine.model import RESOURCES, VM, Customer, Datacenter, Host, Rack, Snapshot

# collection name in the document -> (record kind in messages, model)
COLLECTIONS: dict[str, tuple[str, type[BaseModel]]] = {
    "datacenters": ("datacenter", Datacenter),
    "racks": ("rack", Rack),
    "hosts": ("host", Host),
    "customers": ("customer", Customer),
    "vms": ("vm", VM),
}

# Ids present in the raw document, per collection, including records that failed the schema.
KnownIds = dict[str, set[str]]


def _records(s: Snapshot) -> Iterable[tuple[str, str, list]]:
    for collection, (kind, _) in COLLECTIONS.items():
        yield collection, kind, getattr(s, collection)


def check_unique_ids(s: Snapshot) -> list[str]:
    """Ids are unique within each collection."""
    out = []
    for collection, kind, records in _records(s):
        out += _duplicates(collection, kind, [rec.id for rec in records])
    return out


def _duplicates(collection: str, kind: str, ids: list[Optional[str]]) -> list[str]:
    """Duplicate ids of one collection, each with the positions of its records in the document."""
    counts = Counter(rid for rid in ids if rid is not None)
    if sum(counts.values()) == len(counts):
        return []
    out = []
    for rid, n in counts.items():
        if n > 1:
            at = ", ".join(f"{collection}[{i}]" for i, other in enumerate(ids) if other == rid)
            out.append(f"{kind} {rid!r} field id: duplicate id, appears {n} times ({at})")
    return out


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_id_format(s: Snapshot) -> list[str]:
    """Ids are compared exactly: surrounding spaces or control characters are almost always a mistake."""
    out = []
    for _, kind, records in _records(s):
        for rec in records:
            if rec.id != rec.id.strip():
                out.append(f"{kind} {rec.id!r} field id: leading or trailing whitespace")
            elif _CONTROL.search(rec.id):
                out.append(f"{kind} {rec.id!r} field id: contains control characters")
    return out


def check_references(s: Snapshot, known: Optional[KnownIds] = None) -> list[str]:
    """Every rack names a datacenter, every host a rack, every VM a host (or null) and a customer."""
    dcs = known["datacenters"] if known else {d.id for d in s.datacenters}
    racks = known["racks"] if known else {r.id for r in s.racks}
    hosts = known["hosts"] if known else {h.id for h in s.hosts}
    customers = known["customers"] if known else {c.id for c in s.customers}
    out = []
    out += [f"rack {r.id!r} field datacenter: unknown datacenter {r.datacenter!r}" for r in s.racks if r.datacenter not in dcs]
    out += [f"host {h.id!r} field rack: unknown rack {h.rack!r}" for h in s.hosts if h.rack not in racks]
    for v in s.vms:
        if v.host is not None and v.host not in hosts:
            out.append(f"vm {v.id!r} field host: unknown host {v.host!r}")
        if v.customer not in customers:
            out.append(f"vm {v.id!r} field customer: unknown customer {v.customer!r}")
    return out


def check_finite(s: Snapshot) -> list[str]:
    """Quantities are finite numbers (JSON `Infinity` and YAML `.inf` parse, but mean nothing here)."""
    out = []
    for kind, records, fields in (("host", s.hosts, (*RESOURCES, "bandwidth_gbps")),
                                  ("vm", s.vms, (*RESOURCES, "migration_gbps"))):
        for rec in records:
            # fast path: a sum of finite numbers is finite (inf or nan propagate)
            if math.isfinite(rec.cpu + rec.memory_gb + rec.disk_gb + (getattr(rec, fields[-1]) or 0.0)):
                continue
            for f in fields:
                x = getattr(rec, f)
                if x is not None and not math.isfinite(x):
                    out.append(f"{kind} {rec.id!r} field {f}: must be a finite number, got {x}")
    return out


def check_positive_sizes(s: Snapshot) -> list[str]:
    """A host without cpu or memory cannot run anything; its disk may be zero (network storage).

    A VM may need 0 of any resource (the published schema says `minimum: 0`; many packing
    instances have zeros): the solvers, bounds and the validator handle zero demands.
    """
    out = []
    for h in s.hosts:
        if h.cpu == 0:
            out.append(f"host {h.id!r} field cpu: capacity must be positive, got 0")
        if h.memory_gb == 0:
            out.append(f"host {h.id!r} field memory_gb: capacity must be positive, got 0")
    return out


def check_bandwidth(s: Snapshot) -> list[str]:
    """A bandwidth limit of 0 forbids every migration (omit the field for no limit); a migratable
    VM whose own throughput exceeds its host's bandwidth could never leave that host."""
    out = [f"host {h.id!r} field bandwidth_gbps: must be positive (omit it for no limit)"
           for h in s.hosts if h.bandwidth_gbps == 0]
    limited = {h.id: h.bandwidth_gbps for h in s.hosts if h.bandwidth_gbps}
    for v in s.vms:
        if v.migration_gbps is not None and v.migratable and v.host in limited:
            bandwidth = limited[v.host]
            if v.migration_gbps > bandwidth + 1e-9:
                out.append(f"vm {v.id!r} field migration_gbps: {v.migration_gbps:g} exceeds the bandwidth_gbps "
                           f"{bandwidth:g} of its host {v.host!r}, so it could never migrate")
    return out


def check_host_loads(s: Snapshot) -> list[str]:
    """The VMs already on a host fit its raw capacity (whatever the host's state)."""
    out = []
    hosts = s.host_by_id
    load: dict[str, list[float]] = {}
    for v in s.vms:
        if v.host in hosts:
            per = load.get(v.host)
            if per is None:
                per = load[v.host] = [0.0, 0.0, 0.0]
            per[0] += v.cpu
            per[1] += v.memory_gb
            per[2] += v.disk_gb
    for hid, per in load.items():
        for k, r in enumerate(RESOURCES):
            cap = hosts[hid].capacity(r)
            if per[k] > cap + 1e-9:
                out.append(f"host {hid!r} field {r}: over capacity, its VMs need {per[k]:g} but it has {cap:g}")
    return out


# Largest values accepted: far beyond any real fleet, small enough that the solvers' scaled integer
# arithmetic (engine.maintenance.problem.SCALE, CP-SAT int64) and SQLite INTEGER never overflow.
MAX_QUANTITY = 1e9      # cpu, GB, Gbps of one host or VM
MAX_MINUTES = 10**7     # one migration or reboot (about 19 years)
MAX_COUNT = 10**9       # a count limit (concurrent migrations, VMs per host)
MAX_WORKERS = 256
MAX_SEED = 2**31 - 1    # CP-SAT's random_seed is a 32-bit integer
MIN_GB_PER_MINUTE = 1e-3


def check_magnitudes(s: Snapshot) -> list[str]:
    """Numbers too large to mean anything (a typo, an exponent): rejected before they overflow a solver."""
    out = []
    for kind, records, fields in (("host", s.hosts, (*RESOURCES, "bandwidth_gbps")),
                                  ("vm", s.vms, (*RESOURCES, "migration_gbps"))):
        for rec in records:
            for f in fields:
                x = getattr(rec, f)
                if x is not None and math.isfinite(x) and x > MAX_QUANTITY:
                    out.append(f"{kind} {rec.id!r} field {f}: {x:g} is too large (at most {MAX_QUANTITY:g})")
    for kind, records, f in (("host", s.hosts, "reboot_minutes"), ("vm", s.vms, "migration_minutes")):
        for rec in records:
            x = getattr(rec, f)
            if x is not None and x > MAX_MINUTES:
                out.append(f"{kind} {rec.id!r} field {f}: {x} is too large (at most {MAX_MINUTES} minutes)")
    for c in s.customers:
        if c.max_concurrent_migrations is not None and c.max_concurrent_migrations > MAX_COUNT:
            out.append(f"customer {c.id!r} field max_concurrent_migrations: {c.max_concurrent_migrations} is too "
                       f"large (at most {MAX_COUNT}; omit it for no limit)")
    return out


def check_limits(limits: Any) -> list[str]:
    """The same sanity bounds for a limits document (`engine.model.Limits`); [] when all is well."""
    out = []
    c = limits.concurrency
    for name in ("per_source_host", "per_target_host", "per_rack", "per_datacenter", "global_",
                 "max_hosts_down_per_rack"):
        x = getattr(c, name)
        if x is not None and x > MAX_COUNT:
            out.append(f"concurrency field {name.rstrip('_')}: {x} is too large (at most {MAX_COUNT}; "
                       f"null means no limit)")
    conflict = limits.conflict
    if conflict.per_customer is not None and conflict.per_customer > MAX_COUNT:
        out.append(f"conflict field per_customer: {conflict.per_customer} is too large (at most {MAX_COUNT}; "
                   f"null means no limit)")
    for cust, x in conflict.overrides.items():
        if x > MAX_COUNT:
            out.append(f"conflict.overrides field {cust}: {x} is too large (at most {MAX_COUNT})")
    per_host = limits.placement.max_vms_per_customer_per_host
    if per_host is not None and per_host > MAX_COUNT:
        out.append(f"placement field max_vms_per_customer_per_host: {per_host} is too large (at most {MAX_COUNT})")
    m = limits.migration
    if not math.isfinite(m.gb_per_minute) or not MIN_GB_PER_MINUTE <= m.gb_per_minute <= MAX_QUANTITY:
        out.append(f"migration field gb_per_minute: {m.gb_per_minute:g} must be between {MIN_GB_PER_MINUTE:g} "
                   f"and {MAX_QUANTITY:g}")
    if not math.isfinite(m.default_gbps) or m.default_gbps > MAX_QUANTITY:
        out.append(f"migration field default_gbps: {m.default_gbps:g} must be a finite number at most "
                   f"{MAX_QUANTITY:g}")
    solve = limits.solve
    if not math.isfinite(solve.time_limit_s):
        out.append(f"solve field time_limit_s: must be a finite number of seconds, got {solve.time_limit_s}")
    if solve.workers is not None and solve.workers > MAX_WORKERS:
        out.append(f"solve field workers: {solve.workers} is too many (at most {MAX_WORKERS})")
    if solve.seed > MAX_SEED:
        out.append(f"solve field seed: {solve.seed} is too large (at most {MAX_SEED})")
    return out


MAX_PLAN_MINUTE = 10**12  # a plan's times: about 1.9 million years, far inside the validator's int64 sums


def check_plan(plan: Any) -> list[str]:
    """Numbers of a plan document that no schedule can mean (they once overflowed the validator's
    int64 arithmetic with an OverflowError): [] when all is well."""
    out = []
    if plan.kind == "maintenance":
        for field in ("makespan", "lower_bound"):
            x = getattr(plan, field)
            if x is not None and x > MAX_PLAN_MINUTE:
                out.append(f"field {field}: {x:.6g} is too large (at most {MAX_PLAN_MINUTE:g} minutes)")
        for collection, key in (("migrations", "vm"), ("reboots", "host")):
            for i, item in enumerate(getattr(plan, collection)):
                for field in ("start", "end"):
                    x = getattr(item, field)
                    if x > MAX_PLAN_MINUTE:
                        out.append(f"{collection}[{i}] {getattr(item, key)!r} field {field}: {x:.6g} is too large "
                                   f"(at most {MAX_PLAN_MINUTE:g} minutes)")
    else:
        for field in ("value", "lower_bound"):
            x = getattr(plan, field)
            if x is not None and not math.isfinite(x):
                out.append(f"field {field}: must be a finite number, got {x}")
    return out


CHECKS = (check_unique_ids, check_id_format, check_references, check_finite, check_magnitudes,
          check_positive_sizes, check_bandwidth, check_host_loads)


def check_snapshot(s: Snapshot, known: Optional[KnownIds] = None, raw_ids: Optional[dict[str, list]] = None) -> list[str]:
    """Every cross-record problem of `s`. `known`: ids to treat as existing (see module doc).

    `raw_ids`: per collection, the ids of every record of the raw document in order (None where a
    record has no string id); duplicates are then found there, so positions are the document's.
    """
    problems: list[str] = []
    for check in CHECKS:
        if check is check_references:
            problems.extend(check(s, known))
        elif check is check_unique_ids and raw_ids is not None:
            for collection, (kind, _) in COLLECTIONS.items():
                problems.extend(_duplicates(collection, kind, raw_ids.get(collection, [])))
        else:
            problems.extend(check(s))
    return problems


def check_partial_document(data: Any) -> list[str]:
    """Cross-record problems among the records of a raw document that pass the schema on their own.

    Used when the document as a whole failed the schema; returns [] when the
    document is not even a mapping of lists.
    """
    if not isinstance(data, dict):
        return []
    valid: dict[str, list] = {}
    known: KnownIds = {}
    raw_ids: dict[str, list] = {}
    for collection, (_, model) in COLLECTIONS.items():
        raw = data.get(collection)
        raw = raw if isinstance(raw, list) else []
        raw_ids[collection] = [r.get("id") if isinstance(r, dict) and isinstance(r.get("id"), str) and r.get("id")
                               else None for r in raw]
        known[collection] = {rid for rid in raw_ids[collection] if rid is not None}
        valid[collection] = []
        for rec in raw:
            try:
                valid[collection].append(model.model_validate(rec))
            except ValidationError:
                pass
    partial = Snapshot.model_construct(**valid)
    return check_snapshot(partial, known, raw_ids)
