"""Generated multi-datacenter fleets for the scale-out and cancel tests (no Dask needed), and a solve
cancelled once its searches are under way."""

from __future__ import annotations

import threading
import time

from engine.generate import FleetSpec, generate_snapshot
from engine.model import Limits

LIMITS = {"concurrency": {"per_source_host": 2, "per_target_host": 2, "per_rack": 6, "per_datacenter": 40,
                          "max_hosts_down_per_rack": 1},
          "conflict": {"per_customer_fraction": 0.1}, "solve": {"time_limit_s": 5, "workers": 2, "seed": 0}}


def fleet(datacenters: int, vms: int, seed: int = 2, *, regional: bool = False):
    """`regional`: every customer in one datacenter, so each datacenter is a component of its own (otherwise
    customer limits couple them into fewer components)."""
    spec = FleetSpec(seed=seed, datacenters=datacenters, vms=vms, regional_customers=regional)
    return generate_snapshot(spec), Limits.model_validate(LIMITS)


def solve_then_cancel(snapshot, limits, *, executor=None, workers: int = 2, searching_s: float = 1.0,
                      time_limit_s: float = 300.0):
    """Solve with CP-SAT and a long time limit; cancel `searching_s` after the first incumbent plan.
    Returns (report, plans handed out, seconds from the cancel to the solve's return)."""
    from engine.maintenance.solve import solve_maintenance_report
    from engine.progress import Cancellation
    from tests.runs_support import wait_until

    cancel, plans, box = Cancellation(), [], {}

    def solve() -> None:
        box["report"] = solve_maintenance_report(snapshot, limits, solver="cp-sat", time_limit_s=time_limit_s,
                                                 workers=workers, executor=executor, cancel=cancel,
                                                 on_plan=plans.append)

    thread = threading.Thread(target=solve, daemon=True)
    thread.start()
    wait_until(lambda: plans or not thread.is_alive(), timeout=180, what="a first incumbent plan")
    assert plans, "the solve ended before its first incumbent plan"
    time.sleep(searching_s)
    asked = time.monotonic()
    cancel.cancel()
    thread.join(timeout=90)  # a deadline only: the time limit is 300 s, a stop that never came would hit it
    took = time.monotonic() - asked
    assert not thread.is_alive(), f"the solve had not returned {took:.0f} s after the cancel"
    return box["report"], plans, took
