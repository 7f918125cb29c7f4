"""A store holding a small fleet and a finished maintenance run, for the lifecycle tests."""

from __future__ import annotations

import functools
import os
from pathlib import Path

from console.store.fleet_store import save_snapshot
from console.store.runs import claim_next_run, enqueue_run, finish_run, runs_engine
from engine.generate import FleetSpec, generate_snapshot
from engine.maintenance.solve import solve_maintenance
from engine.model import Limits

LIMITS = Limits.model_validate({
    "capacity": {"headroom": {"memory_gb": 0.1}},
    "concurrency": {"per_source_host": 2, "per_target_host": 2, "per_rack": 4, "max_hosts_down_per_rack": 1},
    "conflict": {"per_customer": 2},
})


def small_fleet(seed: int = 5, vms: int = 60, customers: int = 8):
    return generate_snapshot(FleetSpec(seed=seed, racks_per_datacenter=2, vms=vms, reboot_fraction=0.3,
                                       customers=customers))


@functools.lru_cache(maxsize=None)
def solved_fleet(seed: int = 5, vms: int = 60):
    """The small fleet of `seed` and its plan under LIMITS (solved once per test session)."""
    snapshot = small_fleet(seed, vms)
    return snapshot, solve_maintenance(snapshot, LIMITS, time_limit_s=3.0, workers=1)


def store_with_run(db: Path, seed: int = 5, vms: int = 60):
    """(engine, run id, plan): the fleet loaded as the current one and a succeeded run with a valid plan."""
    snapshot, plan = solved_fleet(seed, vms)
    engine = runs_engine(db)
    save_snapshot(engine, snapshot, source="test")
    run_id = add_run(engine, snapshot, LIMITS, plan)
    return engine, run_id, plan


def add_run(engine, snapshot, limits, plan) -> int:
    run_id = enqueue_run(engine, "maintenance", snapshot=snapshot, limits=limits)
    assert claim_next_run(engine, os.getpid()) == run_id
    assert finish_run(engine, run_id, "succeeded", plan=plan.model_dump(mode="json", by_alias=True, exclude_none=True))
    return run_id
