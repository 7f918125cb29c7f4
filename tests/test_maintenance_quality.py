"""Solution quality of the maintenance engine on generated fleets: the generator can make the issue's
rolling case, the heuristic's laxity passes drain racks that reboot one host at a time, and the first
plan of a large all-reboot fleet comes fast."""

from __future__ import annotations

import pytest

from engine.checks import check_snapshot
from engine.export import dumps_snapshot
from engine.generate import HOST_SHAPES, FleetSpec, generate_snapshot
from engine.maintenance.bounds import lower_bound
from engine.maintenance.heuristic import _Pass, evacuation_order
from engine.maintenance.problem import build_problem
from engine.maintenance.solve import solve_maintenance
from engine.model import Limits

BENCH_LIMITS = Limits.model_validate({
    "concurrency": {"per_source_host": 2, "per_target_host": 2, "per_rack": 6, "per_datacenter": 40,
                    "max_hosts_down_per_rack": 1},
    "conflict": {"per_customer_fraction": 0.1},
})


# ---------------------------------------------------------------- generator: few, big hosts


def test_host_scale_fits_many_vms_on_few_hosts():
    spec = FleetSpec(seed=1, vms=1000, racks_per_datacenter=2, hosts_per_rack=25, host_scale=2.0,
                     reboot_fraction=1.0, empty_hosts_per_rack=2)
    s = generate_snapshot(spec)
    assert check_snapshot(s) == []
    assert len(s.hosts) == 50 and len(s.vms) == 1000
    assert {h.state for h in s.hosts} == {"needs_reboot"}
    shapes = {(h.cpu, h.memory_gb, h.disk_gb, h.reboot_minutes) for h in s.hosts}
    assert shapes <= {(2 * c, 2 * m, 2 * d, r) for c, m, d, r in HOST_SHAPES}
    for rack in s.racks:
        assert sum(1 for h in s.hosts if h.rack == rack.id and not s.vms_by_host[h.id]) >= 2
    # the same VMs do not fit hosts of the usual size
    with pytest.raises(ValueError):
        generate_snapshot(FleetSpec(seed=1, vms=1000, racks_per_datacenter=2, hosts_per_rack=25,
                                    reboot_fraction=1.0, empty_hosts_per_rack=2))


def test_host_scale_one_changes_nothing_and_bad_scales_are_refused():
    spec = FleetSpec(seed=4, vms=200)
    assert dumps_snapshot(generate_snapshot(spec)) == dumps_snapshot(generate_snapshot(
        FleetSpec(seed=4, vms=200, host_scale=1.0)))
    with pytest.raises(ValueError, match="host_scale"):
        generate_snapshot(FleetSpec(host_scale=0.0))


# ---------------------------------------------------------------- heuristic: racks that reboot one host at a time


def test_laxity_pass_drains_a_rack_close_to_its_bound():
    """small-c of the benchmark: a rack of five loaded hosts, one down at a time. Favouring the lightest
    host (its reboot goes first) leaves the heaviest draining alone at 2 at once; laxity does not."""
    snap = generate_snapshot(FleetSpec(seed=5, vms=400, racks_per_datacenter=4, reboot_fraction=0.25))
    problem = build_problem(snap, BENCH_LIMITS)
    order = evacuation_order(problem)
    by_open_order = _Pass(problem, order, "host").run(None).makespan(problem)
    by_laxity = _Pass(problem, order, "laxity").run(None).makespan(problem)
    bound = lower_bound(snap, BENCH_LIMITS)
    assert by_laxity < by_open_order
    assert by_laxity <= 1.05 * bound, (by_laxity, bound)


def test_heuristic_plans_are_valid_and_never_below_the_bound():
    for seed in (5, 7):
        snap = generate_snapshot(FleetSpec(seed=seed, vms=400, racks_per_datacenter=4, reboot_fraction=0.25))
        plan = solve_maintenance(snap, BENCH_LIMITS, solver="heuristic", workers=1)  # validated inside
        assert plan.status in ("feasible", "optimal")
        assert plan.lower_bound is not None and plan.lower_bound <= plan.makespan <= 1.10 * plan.lower_bound


# ---------------------------------------------------------------- heuristic speed at 10,000 VMs


def test_first_plan_of_a_10000_vm_all_reboot_fleet_is_fast():
    """The issue asks for a feasible plan in well under a second at 10,000 VMs; on a shared 2-core
    machine we allow twice that for the first pass. CPU time, not wall time: other processes on the
    machine (about 8 helpers share 2 cores) do not count against the heuristic."""
    import time

    from engine.maintenance.heuristic import schedule_heuristic

    snap = generate_snapshot(FleetSpec(seed=1, vms=10_000, racks_per_datacenter=20, hosts_per_rack=25,
                                       host_scale=2.0, reboot_fraction=1.0, empty_hosts_per_rack=2))
    problem = build_problem(snap, BENCH_LIMITS)
    assert len(problem.tasks) > 9_500
    t = time.process_time()
    first = _Pass(problem, evacuation_order(problem), "host").run(None)
    took = time.process_time() - t
    assert first is not None and took < 2.0, took
    assert all(s >= 0 for s in first.starts) and len(first.reboot_starts) == len(problem.reboot_hosts)
    t = time.process_time()
    best = schedule_heuristic(problem)  # no budget: the deterministic passes, about a second in all
    assert best is not None and best.makespan(problem) <= first.makespan(problem)
    assert time.process_time() - t < 3.0
    assert best.makespan(problem) >= lower_bound(snap, BENCH_LIMITS)
