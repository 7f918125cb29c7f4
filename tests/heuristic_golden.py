"""Golden plans of the heuristic's deterministic passes on generated fleets.

Used to prove a restructuring of `engine.maintenance.heuristic` changes no plan:
`record()` (run before the change) writes, per fleet and per deterministic pass
(host order × priority, exactly the passes `schedule_heuristic` runs first), the
sha256 of its migrations and reboots and the pass time; the test recomputes the
hashes and compares.

    .venv/bin/python -m tests.heuristic_golden [--fleets small-0,...]   # rewrite tests/data/heuristic_golden.json
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from pathlib import Path

from engine.generate import FleetSpec, generate_snapshot
from engine.model import Limits

GOLDEN = Path(__file__).parent / "data" / "heuristic_golden.json"

BENCH_LIMITS = {  # benchmarks/bench_maintenance.py
    "concurrency": {"per_source_host": 2, "per_target_host": 2, "per_rack": 6, "per_datacenter": 40,
                    "max_hosts_down_per_rack": 1},
    "conflict": {"per_customer_fraction": 0.1},
}
TIGHT_LIMITS = {  # bandwidth, global and a flat customer limit bind more often
    "concurrency": {"per_source_host": 3, "per_target_host": 1, "per_rack": 4, "global": 10,
                    "max_hosts_down_per_rack": 2},
    "conflict": {"per_customer": 1, "overrides": {}},
    "capacity": {"headroom": {"memory_gb": 0.05}, "rolling": True},
}

# name -> (FleetSpec kwargs, limits); "big" fleets are marked for the slow part of the test
FLEETS: dict[str, tuple[dict, dict]] = {
    **{f"small-{s}": (dict(seed=s, vms=400, racks_per_datacenter=4, reboot_fraction=0.25), BENCH_LIMITS)
       for s in (0, 3, 5, 7)},
    "small-tight-1": (dict(seed=1, vms=300, racks_per_datacenter=3, reboot_fraction=0.4, bandwidth_fraction=0.8,
                           non_migratable_fraction=0.05), TIGHT_LIMITS),
    "norolling-2": (dict(seed=2, vms=250, racks_per_datacenter=3, reboot_fraction=0.2, empty_hosts_per_rack=3), {
        **BENCH_LIMITS, "capacity": {"rolling": False}}),
    "two-dc-4": (dict(seed=4, vms=1200, datacenters=2, racks_per_datacenter=4, reboot_fraction=0.5), BENCH_LIMITS),
    "rolling-8000": (dict(seed=1, vms=8000, racks_per_datacenter=20, hosts_per_rack=20, host_scale=2.0,
                          reboot_fraction=1.0, empty_hosts_per_rack=2), BENCH_LIMITS),
    "all-reboot-10000": (dict(seed=1, vms=10_000, racks_per_datacenter=20, hosts_per_rack=25, host_scale=2.0,
                              reboot_fraction=1.0, empty_hosts_per_rack=2), BENCH_LIMITS),
}
BIG = ("rolling-8000", "all-reboot-10000")


def fleet(name: str):
    from engine.maintenance.problem import build_problem

    spec, limits = FLEETS[name]
    return build_problem(generate_snapshot(FleetSpec(**spec)), Limits.model_validate(limits))


def deterministic_passes(problem) -> list[tuple[str, list[int], str]]:
    """(order name, host order, priority) of the passes schedule_heuristic runs before any random one."""
    from engine.maintenance import heuristic as h

    priorities = ["host"]
    if any(l is not None for l in problem.customer_limits):
        priorities.append("customer")
    if len(problem.tasks) <= h.LAXITY_MAX_TASKS:
        priorities.append("laxity")
    orders = (("emptiest", h.evacuation_order(problem)), ("longest", h.critical_order(problem)))
    return [(name, order, pr) for name, order in orders for pr in priorities]


def plan_sha(problem, schedule) -> str:
    from engine.maintenance.schedule import migration_records, reboot_records

    if schedule is None:
        return "dead-end"
    doc = {"migrations": [m.model_dump() for m in migration_records(problem, schedule)],
           "reboots": [r.model_dump() for r in reboot_records(problem, schedule)]}
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def run_passes(problem) -> dict[str, dict]:
    """Pass key "order/priority" -> {"sha": ..., "seconds": ...}."""
    from engine.maintenance.heuristic import _Pass

    out = {}
    for name, order, priority in deterministic_passes(problem):
        t = time.perf_counter()
        sched = _Pass(problem, order, priority).run(None)
        out[f"{name}/{priority}"] = {"sha": plan_sha(problem, sched), "seconds": round(time.perf_counter() - t, 3),
                                     "makespan": None if sched is None else sched.makespan(problem)}
    return out


def record(names: list[str]) -> dict:
    data = json.loads(GOLDEN.read_text()) if GOLDEN.exists() else {}
    for name in names:
        p = fleet(name)
        data[name] = {"migrations": len(p.tasks), "passes": run_passes(p)}
        print(name, json.dumps(data[name]), file=sys.stderr)
    GOLDEN.parent.mkdir(exist_ok=True)
    tmp = GOLDEN.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    tmp.replace(GOLDEN)
    return data


if __name__ == "__main__":
    chosen = sys.argv[sys.argv.index("--fleets") + 1].split(",") if "--fleets" in sys.argv else list(FLEETS)
    record(chosen)
