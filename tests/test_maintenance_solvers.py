"""Heuristic, CP-SAT, decomposition and orchestration of the maintenance solvers."""

from __future__ import annotations

import threading
import time

import pytest

from fleet_builder import limits, snapshot

from engine.generate import FleetSpec, generate_snapshot
from engine.maintenance.cpsat import explain_infeasible, solve_cpsat
from engine.maintenance.decompose import plan_components
from engine.maintenance.heuristic import schedule_heuristic
from engine.maintenance.problem import SCALE, build_problem, candidate_targets
from engine.maintenance.solve import SOLVERS, available_solvers, solve_maintenance, solve_maintenance_report
from engine.model import Limits, MaintenancePlan
from engine.progress import Cancellation
from engine.validate import validate_maintenance

FLEET_LIMITS = Limits.model_validate({
    "concurrency": {"per_source_host": 2, "per_target_host": 2, "per_rack": 6, "per_datacenter": 20,
                    "max_hosts_down_per_rack": 1},
    "conflict": {"per_customer_fraction": 0.1},
})


def fleet(seed: int, vms: int = 120, **kw):
    return generate_snapshot(FleetSpec(seed=seed, vms=vms, racks_per_datacenter=kw.pop("racks", 2), **kw))


# --------------------------------------------------------------------------- problem


def test_problem_scales_demands_and_keeps_room_static():
    snap = snapshot([{"id": "a", "state": "needs_reboot", "memory_gb": 10},
                     {"id": "b", "memory_gb": 10, "cpu": 8}],
                    [{"id": "v1", "host": "a", "memory_gb": 2.5}, {"id": "v2", "host": "b", "memory_gb": 3},
                     {"id": "v3", "host": "a", "migratable": False, "customer": "z"}])
    p = build_problem(snap, limits(capacity={"headroom": {"memory_gb": 0.1}}))
    assert [t.vm for t in p.tasks] == ["v1"]
    assert p.tasks[0].demand[1] == 2.5 * SCALE
    a, b = p.hosts
    assert b.room[1] == (9 - 3) * SCALE          # usable 10 × 0.9 minus what stays
    assert a.room[1] == (9 - 4) * SCALE          # after its reboot only the non-migratable VM stays
    assert a.down_customers == ((p.customers.index("z"), 1),)


def test_candidate_pruning_keeps_the_heuristic_target_and_reports_pruning():
    snap = fleet(3, vms=200, reboot_fraction=0.5)
    p = build_problem(snap, FLEET_LIMITS)
    sched = schedule_heuristic(p)
    full, pruned_full = candidate_targets(p, None)
    capped, pruned = candidate_targets(p, 3, keep=sched.targets)
    assert not pruned_full and pruned
    for t in p.tasks:
        assert sched.targets[t.index] in capped[t.index]
        assert len(capped[t.index]) <= 3 and set(capped[t.index]) <= set(full[t.index])


# --------------------------------------------------------------------------- heuristic


@pytest.mark.parametrize("seed,reboot_fraction", [(1, 0.25), (2, 0.5), (4, 1.0), (5, 1.0)])
def test_heuristic_plans_are_valid_on_generated_fleets(seed, reboot_fraction):
    snap = fleet(seed, vms=300, reboot_fraction=reboot_fraction, racks=3)
    report = solve_maintenance_report(snap, FLEET_LIMITS, solver="heuristic", workers=1)
    plan = report.plan
    assert plan.status in ("feasible", "optimal")
    assert validate_maintenance(snap, FLEET_LIMITS, plan) == []
    assert plan.lower_bound is not None and plan.lower_bound <= plan.makespan
    moving = sum(1 for v in snap.vms if v.migratable and snap.host_by_id[v.host].state == "needs_reboot")
    assert len(plan.migrations) == moving


def test_heuristic_is_fast_on_a_few_thousand_vms():
    snap = fleet(7, vms=3000, reboot_fraction=0.3, racks=6)
    p = build_problem(snap, FLEET_LIMITS)
    t0 = time.monotonic()
    sched = schedule_heuristic(p)
    assert sched is not None
    assert time.monotonic() - t0 < 5.0  # generous: a shared 2-core machine


def test_heuristic_rolling_fleet_with_one_empty_host_cascades():
    # every host reboots, one is empty: each evacuation waits for the previous reboot
    hosts = [{"id": f"h{i}", "state": "needs_reboot", "reboot_minutes": 5, "memory_gb": 8} for i in range(4)]
    vms = [{"id": f"v{i}", "host": f"h{i}", "memory_gb": 8} for i in range(1, 4)]
    snap = snapshot(hosts, vms)
    plan = solve_maintenance(snap, limits(), solver="heuristic", workers=1)
    assert plan.status in ("feasible", "optimal")
    assert validate_maintenance(snap, limits(), plan) == []
    # h0 reboots first (empty), then three evacuation + reboot steps of 10 + 5 minutes
    assert plan.makespan == 5 + 3 * 15


# --------------------------------------------------------------------------- CP-SAT


def test_cpsat_improves_on_or_equals_the_heuristic_and_stays_valid():
    snap = fleet(11, vms=160, reboot_fraction=0.3)
    heur = solve_maintenance(snap, FLEET_LIMITS, solver="heuristic", workers=1)
    best = solve_maintenance(snap, FLEET_LIMITS, solver="cp-sat", time_limit_s=4, workers=2)
    assert best.status in ("optimal", "feasible")
    assert best.makespan <= heur.makespan
    assert best.lower_bound <= best.makespan
    if best.status == "optimal":
        assert best.lower_bound == best.makespan


def test_cpsat_progress_events_carry_objective_and_bound():
    snap = fleet(12, vms=120)
    events = []
    plan = solve_maintenance(snap, FLEET_LIMITS, time_limit_s=3, workers=1, on_progress=events.append)
    assert events, "no progress reported"
    assert any(e.objective is not None for e in events)
    last = events[-1]
    assert last.objective == plan.makespan
    assert all(e.bound is None or e.objective is None or e.bound <= e.objective for e in events)


def test_cancellation_keeps_a_valid_plan():
    snap = fleet(13, vms=1500, reboot_fraction=1.0, racks=6)
    cancel = Cancellation()
    box = {}

    def run():
        box["plan"] = solve_maintenance(snap, FLEET_LIMITS, time_limit_s=60, workers=1, cancel=cancel)

    t = threading.Thread(target=run)
    t0 = time.monotonic()
    t.start()
    time.sleep(2.5)
    cancel.cancel()
    t.join(30)
    assert not t.is_alive()
    assert time.monotonic() - t0 < 20
    plan: MaintenancePlan = box["plan"]
    assert plan.status in ("feasible", "optimal")  # validated inside solve_maintenance
    assert validate_maintenance(snap, FLEET_LIMITS, plan) == []


def test_explain_infeasible_names_the_binding_limit():
    # a customer limit of 0 forbids every migration; the bandwidth (4 Gbps for two 3 Gbps VMs) only delays
    snap = snapshot([{"id": "a", "state": "needs_reboot", "reboot_minutes": 0},
                     {"id": "t", "bandwidth_gbps": 4}],
                    [{"id": "v", "host": "a", "migration_gbps": 3}, {"id": "w", "host": "a", "migration_gbps": 3}])
    p = build_problem(snap, limits(conflict={"per_customer": 0}))
    cands, _ = candidate_targets(p, None)
    r = solve_cpsat(p, candidates=cands, exact=True, time_limit_s=2)
    assert r.status == "infeasible"
    assert explain_infeasible(p, cands, time_limit_s=2) == ["conflict"]


# --------------------------------------------------------------------------- decomposition


def _two_datacenters(limit_a: int | None = None):
    hosts = [{"id": "a1", "rack": "r1", "state": "needs_reboot", "reboot_minutes": 0}, {"id": "t1", "rack": "r1"},
             {"id": "a2", "rack": "r2", "state": "needs_reboot", "reboot_minutes": 0}, {"id": "t2", "rack": "r2"}]
    vms = [{"id": "v1", "host": "a1", "customer": "x"}, {"id": "v2", "host": "a1", "customer": "x"},
           {"id": "v3", "host": "a2", "customer": "y", "migration_minutes": 30}]
    customers = [{"id": "x", "max_concurrent_migrations": limit_a}] if limit_a is not None else None
    return snapshot(hosts, vms, rack_dc={"r2": "dc2"}, customers=customers)


def test_datacenters_solve_independently_and_merge():
    snap = _two_datacenters()
    comps = plan_components(snap, limits(concurrency={"per_source_host": 1}))
    assert sorted(c.datacenters for c in comps) == [("dc1",), ("dc2",)]
    report = solve_maintenance_report(snap, limits(concurrency={"per_source_host": 1}), time_limit_s=10, workers=2)
    plan = report.plan
    assert report.components == 2
    assert plan.status == "optimal" and plan.makespan == 30  # max(dc1: 20, dc2: 30)
    assert {m.vm for m in plan.migrations} == {"v1", "v2", "v3"}


def test_a_customer_limit_spanning_datacenters_is_split_or_merged():
    hosts = [{"id": "a1", "rack": "r1", "state": "needs_reboot", "reboot_minutes": 0}, {"id": "t1", "rack": "r1"},
             {"id": "a2", "rack": "r2", "state": "needs_reboot", "reboot_minutes": 0}, {"id": "t2", "rack": "r2"}]
    vms = [{"id": "v1", "host": "a1", "customer": "x"}, {"id": "v2", "host": "a2", "customer": "x"}]
    snap = snapshot(hosts, vms, rack_dc={"r2": "dc2"})
    merged = plan_components(snap, limits(conflict={"per_customer": 1}))
    assert [c.datacenters for c in merged] == [("dc1", "dc2")]
    split = plan_components(snap, limits(conflict={"per_customer": 4}))
    assert len(split) == 2 and all(c.restricted for c in split)
    assert sum(c.customer_limit_overrides["x"] for c in split) <= 4
    plan = solve_maintenance(snap, limits(conflict={"per_customer": 1}), time_limit_s=10, workers=2)
    assert plan.status == "optimal" and plan.makespan == 20  # one at a time across both datacenters


def test_solver_registry_and_unknown_solver():
    assert {"cp-sat", "heuristic"} <= set(SOLVERS)
    assert {"cp-sat", "heuristic"} <= set(available_solvers())
    with pytest.raises(ValueError, match="unknown maintenance solver"):
        solve_maintenance(_two_datacenters(), limits(), solver="nope")


def test_merged_status_is_honest():
    from engine.maintenance.bounds import Bound
    from engine.maintenance.decompose import Component
    from engine.maintenance.solve import ComponentResult, _merge
    from engine.model import SolverInfo

    info = lambda: SolverInfo(name="cp-sat")
    two = [Component(("dc1",)), Component(("dc2",))]
    opt = lambda m: ComponentResult(status="optimal", makespan=m, bound=m, proven=True)
    feas = lambda m, b=None: ComponentResult(status="feasible", makespan=m, bound=b)
    # the component that sets the makespan is proven optimal: the fleet plan is optimal, and says by what
    plan = _merge([opt(50), feas(40)], two, [], "cp-sat", info)[0]
    assert plan.status == "optimal" and any("'exact search'" in n for n in plan.notes)
    # the longest component is only feasible and nothing bounds it: feasible, bound from the other
    plan = _merge([opt(40), feas(50)], two, [], "cp-sat", info)[0]
    assert plan.status == "feasible" and plan.makespan == 50 and plan.lower_bound == 40
    # a fleet lower bound equal to the makespan proves it, and the plan names the family
    plan, _, settled = _merge([feas(50), feas(40)], two, [Bound("customer", 50, "acme", "why")], "cp-sat", info)
    assert plan.status == "optimal" and settled.proof.family == "customer"
    assert plan.notes == ["optimality proven by bound family 'customer' (acme: why)"]
    inf = ComponentResult(status="infeasible", explanation="dc2: no room")
    plan = _merge([opt(40), inf], two, [], "cp-sat", info)[0]
    assert plan.status == "infeasible" and "dc2" in plan.explanation and plan.makespan is None
    assert _merge([opt(40), ComponentResult(status="unknown")], two, [], "cp-sat", info)[0].status == "unknown"


def test_a_bound_above_a_valid_plan_is_reported_and_dropped_never_capped():
    """Issue 16 item 4: no min(bound, makespan). The refuted family is named in the notes and dropped;
    the plan keeps the best bound that holds and is not called optimal on the wrong one's word."""
    from engine.maintenance.bounds import Bound
    from engine.maintenance.decompose import Component
    from engine.maintenance.solve import ComponentResult, _merge
    from engine.model import SolverInfo

    wrong, right = Bound("rack_drain", 60, "r1", "bogus"), Bound("customer", 45, "acme", "why")
    plan, _, settled = _merge([ComponentResult(status="feasible", makespan=50)], [Component(("dc1",))],
                              [wrong, right], "cp-sat", lambda: SolverInfo(name="cp-sat"))
    assert plan.status == "feasible" and plan.lower_bound == 45
    assert settled.wrong == (wrong,)
    assert any("'rack_drain' claimed 60 > makespan 50" in n for n in plan.notes)


def test_strict_mode_raises_on_a_wrong_bound_and_production_reports_it(monkeypatch):
    """End to end through solve_maintenance: a bound family that lies high."""
    from engine.maintenance import bound_check, bounds, solve as solve_mod

    snap = fleet(2, vms=60, reboot_fraction=0.3, racks=2)
    lim = FLEET_LIMITS
    honest = solve_maintenance(snap, lim, solver="heuristic", time_limit_s=5, workers=1)

    def liar(_f):
        return [bounds.Bound("liar", honest.makespan + 1000, "fleet", "made up")]

    monkeypatch.setattr(bounds, "FAMILIES", bounds.FAMILIES + (liar,))
    monkeypatch.setenv(bound_check.STRICT_ENV, "1")
    with pytest.raises(bound_check.BoundAboveValidPlan, match="liar"):
        solve_mod.solve_maintenance(snap, lim, solver="heuristic", time_limit_s=5, workers=1)
    monkeypatch.setenv(bound_check.STRICT_ENV, "0")
    plan = solve_mod.solve_maintenance(snap, lim, solver="cp-sat", time_limit_s=5, workers=1)
    assert validate_maintenance(snap, lim, plan) == []
    assert any("'liar' claimed" in n for n in plan.notes)
    assert plan.lower_bound is not None and plan.lower_bound <= plan.makespan


def test_cancelling_cpsat_stops_the_search_and_keeps_its_best_schedule():
    snap = fleet(14, vms=400, reboot_fraction=0.5, racks=3)
    p = build_problem(snap, FLEET_LIMITS)
    hint = schedule_heuristic(p)
    cands, pruned = candidate_targets(p, 6, keep=hint.targets)
    cancel = Cancellation()
    threading.Timer(1.5, cancel.cancel).start()
    t0 = time.monotonic()
    r = solve_cpsat(p, candidates=cands, exact=not pruned, hint=hint, time_limit_s=60, workers=1, cancel=cancel)
    assert time.monotonic() - t0 < 15
    assert r.schedule is not None and r.status in ("feasible", "optimal")
    assert r.makespan <= hint.makespan(p)


def test_global_limit_is_shared_among_busy_datacenters_only():
    hosts = [{"id": "a1", "rack": "r1", "state": "needs_reboot", "reboot_minutes": 0}, {"id": "t1", "rack": "r1"},
             {"id": "a2", "rack": "r2", "state": "needs_reboot", "reboot_minutes": 0}, {"id": "t2", "rack": "r2"},
             {"id": "t3", "rack": "r3"}]
    vms = [{"id": "v1", "host": "a1"}, {"id": "v2", "host": "a1", "customer": "c2"}, {"id": "v3", "host": "a2"}]
    snap = snapshot(hosts, vms, rack_dc={"r2": "dc2", "r3": "dc3"})
    lim = limits(concurrency={"global": 2})
    comps = plan_components(snap, lim)
    assert len(comps) == 3 and sum(c.global_limit for c in comps) <= 2
    plan = solve_maintenance(snap, lim, time_limit_s=5, workers=1)
    assert plan.status in ("optimal", "feasible") and plan.makespan == 20
