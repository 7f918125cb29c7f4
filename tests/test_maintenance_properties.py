"""Property tests of the maintenance solver on random small fleets.

The solver's plan is valid (independent validator), carries a lower bound no
larger than its makespan, and on tiny fleets CP-SAT's proven optimum equals the
brute-force optimum; when CP-SAT says infeasible, so does the brute force.

Bounds are never capped by the makespan (issue 16 item 4), so `lower_bound <=
makespan` can fail here: with FLEETCTL_STRICT_BOUNDS (tests/conftest.py) the
solver itself raises BoundAboveValidPlan when a family claims more than a plan
the validator accepted, and every family is also checked one by one against
valid plans of many migrations and customers, and against the brute force
where the size allows.

Health checks: only `too_slow` is suppressed (each example runs a solver) and
`filter_too_much` where instances are filtered to the oracle's size.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from engine.maintenance.bounds import bound_details, lower_bound
from engine.maintenance.solve import solve_maintenance
from engine.validate import validate_maintenance
from fleet_builder import tiny_instances
from oracle_bruteforce import SearchTooLarge, brute_force

SLOW = [HealthCheck.too_slow]
FILTERED = [HealthCheck.too_slow, HealthCheck.filter_too_much]
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=FILTERED, derandomize=True)


def solve(fleet, lim):
    return solve_maintenance(fleet, lim, solver="cp-sat", time_limit_s=5, workers=1)


@SETTINGS
@given(tiny_instances(max_migrations=4))
def test_cpsat_matches_the_brute_force_optimum(instance):
    fleet, lim = instance
    plan = solve(fleet, lim)
    exact = brute_force(fleet, lim)
    assert validate_maintenance(fleet, lim, plan) == []
    if exact is None:
        assert plan.status == "infeasible", plan
        return
    assert plan.status == "optimal", plan
    assert plan.makespan == exact.makespan
    assert plan.lower_bound is not None and plan.lower_bound <= plan.makespan
    assert lower_bound(fleet, lim) <= plan.makespan


def _every_family_holds(fleet, lim, plan) -> None:
    """Each bound family on its own, against a plan the validator accepted."""
    assert validate_maintenance(fleet, lim, plan) == []
    for b in bound_details(fleet, lim):
        assert b.value <= plan.makespan, (b, plan.makespan)
    assert plan.lower_bound is None or plan.lower_bound <= plan.makespan


@settings(max_examples=30, deadline=None, suppress_health_check=FILTERED, derandomize=True)
@given(tiny_instances(max_migrations=14, max_hosts=8, n_customers=5, max_vms=18))
def test_plans_on_small_fleets_are_valid_and_above_the_bound(instance):
    fleet, lim = instance
    plan = solve(fleet, lim)
    assert validate_maintenance(fleet, lim, plan) == []
    if plan.status in ("optimal", "feasible"):
        _every_family_holds(fleet, lim, plan)
        assert lower_bound(fleet, lim) <= plan.makespan


@settings(max_examples=40, deadline=None, suppress_health_check=FILTERED, derandomize=True)
@given(tiny_instances(max_migrations=6, max_hosts=5, n_customers=4))
def test_bounds_and_cpsat_against_the_brute_force_with_more_customers(instance):
    fleet, lim = instance
    try:
        exact = brute_force(fleet, lim, node_limit=150_000)
    except SearchTooLarge:
        assume(False)
    if exact is None:
        return
    for b in bound_details(fleet, lim):
        assert b.value <= exact.makespan, (b, exact.makespan)
    plan = solve(fleet, lim)
    assert plan.status in ("optimal", "feasible") and plan.makespan >= exact.makespan
    assert plan.lower_bound is not None and plan.lower_bound <= exact.makespan


def _generated(seed: int, vms: int, customers: int, limits_doc: dict):
    from engine.generate import FleetSpec, generate_snapshot
    from engine.model import Limits

    spec = FleetSpec(seed=seed, vms=vms, customers=customers, racks_per_datacenter=3, reboot_fraction=0.5,
                     non_migratable_fraction=0.05, bandwidth_fraction=0.5)
    return generate_snapshot(spec), Limits.model_validate(limits_doc)


LIMIT_DOCS = st.fixed_dictionaries({
    "concurrency": st.fixed_dictionaries({k: st.sampled_from(v) for k, v in {
        "per_source_host": [None, 1, 2, 3], "per_target_host": [None, 1, 2], "per_rack": [None, 2, 4, 8],
        "per_datacenter": [None, 3, 10], "global": [None, 2, 6], "max_hosts_down_per_rack": [None, 1, 2]}.items()}),
    "conflict": st.one_of(st.fixed_dictionaries({"per_customer": st.sampled_from([None, 1, 2, 3])}),
                          st.fixed_dictionaries({"per_customer_fraction": st.sampled_from([0.05, 0.2, 0.5])})),
    "capacity": st.fixed_dictionaries({"rolling": st.sampled_from([True, True, False]),
                                       "headroom": st.fixed_dictionaries({"memory_gb": st.sampled_from([0.0, 0.1])})}),
})


@settings(max_examples=60, deadline=None, suppress_health_check=SLOW, derandomize=True)
@given(st.integers(0, 10_000), st.integers(40, 160), st.integers(2, 30), LIMIT_DOCS)
def test_every_bound_family_stays_below_valid_plans_of_generated_fleets(seed, vms, customers, limits_doc):
    """Dozens of migrations and up to 30 customers: the heuristic's validated plan refutes any family above it."""
    from engine.maintenance.solve import solve_maintenance_report

    fleet, lim = _generated(seed, vms, customers, limits_doc)
    plan = solve_maintenance_report(fleet, lim, solver="heuristic", time_limit_s=5, workers=1).plan
    event(f"plan {plan.status}, {'over' if len(plan.migrations) > 30 else 'up to'} 30 migrations")
    if plan.status in ("optimal", "feasible"):
        _every_family_holds(fleet, lim, plan)


def _two_datacenters(movers_dc1: int):
    from fleet_builder import snapshot

    hosts = [{"id": f"a{i}", "state": "needs_reboot", "reboot_minutes": 1} for i in range(2)] + [{"id": "a-spare"}]
    hosts += [{"id": "b0", "rack": "r2", "state": "needs_reboot", "reboot_minutes": 1}, {"id": "b-spare", "rack": "r2"}]
    vms = [{"id": f"va{i}", "host": f"a{i}", "migration_minutes": 3} for i in range(movers_dc1)]
    vms += [{"id": "vb", "host": "b0", "migration_minutes": 1}]
    return snapshot(hosts, vms, rack_dc={"r2": "dc2"})


@pytest.mark.parametrize("movers_dc1", [0, 1, 2])
def test_two_datacenters_sharing_a_global_limit(movers_dc1):
    """Datacenters coupled by `global`: optimal must mean optimal for the whole fleet, not per share."""
    from fleet_builder import limits

    fleet = _two_datacenters(movers_dc1)
    lim = limits(concurrency={"global": 2})
    plan = solve(fleet, lim)
    assert validate_maintenance(fleet, lim, plan) == []
    exact = brute_force(fleet, lim).makespan
    assert plan.makespan >= exact
    assert plan.status != "optimal" or plan.makespan == exact, (plan.status, plan.makespan, exact)


def test_nothing_to_migrate_and_no_possible_target():
    """Found by the random search: a host to reboot, no VM anywhere, no host that could receive one."""
    from fleet_builder import limits, snapshot

    fleet = snapshot([{"id": "h0", "state": "needs_reboot", "reboot_minutes": 3}, {"id": "h1", "state": "disabled"}], [])
    lim = limits(capacity={"rolling": False})
    plan = solve(fleet, lim)
    assert validate_maintenance(fleet, lim, plan) == []
    assert plan.status == "optimal" and plan.makespan == 3


@settings(max_examples=12, deadline=None, suppress_health_check=SLOW, derandomize=True)
@given(st.integers(0, 10_000), st.integers(30, 80), st.integers(2, 12), LIMIT_DOCS)
def test_bounds_stay_below_cpsat_plans_of_generated_fleets(seed, vms, customers, limits_doc):
    """CP-SAT's plans come closer to the optimum than the heuristic's, so they refute more."""
    fleet, lim = _generated(seed, vms, customers, limits_doc)
    plan = solve_maintenance(fleet, lim, solver="cp-sat", time_limit_s=2, workers=1)
    event(f"plan {plan.status}")
    if plan.status in ("optimal", "feasible"):
        _every_family_holds(fleet, lim, plan)
