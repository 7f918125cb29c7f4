"""Incumbent plans from the engine (engine/progress.py, `on_plan`): every one validated,
makespans never increasing, the returned plan last, throttled; the progress objective
stays the makespan through CP-SAT's second (total completion) phase."""

from __future__ import annotations

import time

import pytest

from engine.generate import FleetSpec, generate_snapshot
from engine.maintenance import solve as maintenance_solve
from engine.maintenance.schedule import Schedule
from engine.maintenance.solve import ComponentResult, register_solver, solve_maintenance, solve_with_heuristic
from engine.model import Limits
from engine.progress import PLAN_EVERY_S
from engine.validate import validate_maintenance
from engine.violations import PlanRejected
from tests.runs_support import demo_limits, demo_snapshot


def limits(time_limit_s: float, workers: int = 1) -> Limits:
    data = demo_limits()
    data.setdefault("solve", {}).update(time_limit_s=time_limit_s, workers=workers)
    return Limits.model_validate(data)


def collect(snapshot, lim, **kw):
    """Solve and record (seconds since start, plan) for every incumbent handed out."""
    seen: list[tuple[float, object]] = []
    events = []
    t0 = time.monotonic()
    plan = solve_maintenance(snapshot, lim, on_plan=lambda p: seen.append((time.monotonic() - t0, p)),
                             on_progress=events.append, **kw)
    return plan, seen, events, time.monotonic() - t0


def test_incumbents_are_valid_never_worse_and_end_with_the_final_plan():
    # 60 VMs where the heuristic's first plan is not optimal: CP-SAT improves it within the second
    snap = generate_snapshot(FleetSpec(seed=1, racks_per_datacenter=2, vms=60, reboot_fraction=0.6))
    lim = limits(3.0)
    plan, seen, _, wall = collect(snap, lim)
    assert plan.status in ("optimal", "feasible")
    assert len(seen) >= 2  # at least the heuristic's plan early on and the final one
    assert seen[0][0] < wall - 1.0  # the first incumbent came well before the end
    for _, p in seen:
        assert validate_maintenance(snap, lim, p) == []
        assert len(p.migrations) == len(plan.migrations)
    makespans = [p.makespan for _, p in seen]
    assert makespans == sorted(makespans, reverse=True)
    assert seen[-1][1] == plan
    # throttled: incumbents before the final one are at least ~PLAN_EVERY_S apart
    times = [t for t, _ in seen[:-1]]
    assert all(b - a >= 0.9 * PLAN_EVERY_S for a, b in zip(times, times[1:]))


def test_progress_objective_stays_the_makespan_through_the_polish_phase():
    # the demo fleet is solved optimally in well under a second: the rest of the time goes to
    # the second phase (total completion), whose values must not be reported as `objective`
    from engine.documents import parse_snapshot

    snap = parse_snapshot(demo_snapshot(), "demo")
    lim = limits(3.0)
    plan, seen, events, _ = collect(snap, lim)
    assert plan.status == "optimal"
    objectives = [e.objective for e in events if e.objective is not None]
    assert objectives and max(objectives) <= max(p.makespan for _, p in seen)
    assert objectives[-1] == plan.makespan
    bounds = [e.bound for e in events if e.bound is not None]
    assert max(bounds) <= plan.makespan
    assert seen[-1][1] == plan


def test_a_decomposed_solve_hands_out_whole_fleet_incumbents():
    snap = generate_snapshot(FleetSpec(seed=4, datacenters=2, racks_per_datacenter=2, vms=100, reboot_fraction=0.6))
    lim = limits(3.0)
    plan, seen, _, _ = collect(snap, lim, workers=1)
    dcs_of = {h.id: snap.rack_by_id[h.rack].datacenter for h in snap.hosts}
    assert len({dcs_of[m.source] for m in plan.migrations}) == 2  # really two parts
    assert seen and seen[-1][1] == plan
    for _, p in seen:  # every incumbent covers every part, never one datacenter alone
        assert len(p.migrations) == len(plan.migrations)
        assert validate_maintenance(snap, lim, p) == []


def test_an_invalid_incumbent_is_raised_never_handed_out():
    """A solver that reports a broken schedule as its incumbent is a bug: the search is stopped
    at once and PlanRejected raised; the broken plan is never handed out."""

    def broken(job, progress, cancel) -> ComponentResult:
        problem = job.problem
        everyone_at_once = Schedule(starts=[0] * len(problem.tasks), targets=[t.source for t in problem.tasks],
                                    reboot_starts={h: 0 for h in problem.reboot_hosts})
        progress({"schedule": everyone_at_once})  # migrating onto its own source, while it reboots
        cancel.wait(20)  # "searching" until stopped: the publisher rejects the incumbent meanwhile
        return solve_with_heuristic(job, progress, cancel)

    register_solver("broken-incumbent", broken)
    try:
        snap = generate_snapshot(FleetSpec(seed=1, racks_per_datacenter=2, vms=30, reboot_fraction=0.5))
        shown = []
        t0 = time.monotonic()
        with pytest.raises(PlanRejected):
            solve_maintenance(snap, limits(20.0), solver="broken-incumbent", on_plan=shown.append)
        assert time.monotonic() - t0 < 10  # stopped on the rejection, not at the time limit
        assert all(validate_maintenance(snap, limits(20.0), p) == [] for p in shown)
        assert not any(p.migrations and p.migrations[0].source == p.migrations[0].target for p in shown)
    finally:
        maintenance_solve.SOLVERS.pop("broken-incumbent", None)


def test_placement_hands_out_the_greedy_packing_then_the_final_plan():
    from engine.placement.solve import solve_placement
    from engine.validate_placement import validate_placement

    snap = generate_snapshot(FleetSpec(seed=2, racks_per_datacenter=2, hosts_per_rack=4, vms=60, pending_fraction=0.3,
                                      memory_load=0.3))
    lim = limits(2.0)
    seen = []
    plan = solve_placement(snap, lim, solver="auto", time_limit_s=2.0, on_plan=seen.append)
    assert seen and seen[-1] == plan
    for p in seen:
        assert validate_placement(snap, lim, p) == []
    values = [p.value for p in seen]
    assert values == sorted(values, reverse=True)
