"""Property tests of the maintenance solver on random small fleets.

The solver's plan is valid (independent validator), carries a lower bound no
larger than its makespan, and on tiny fleets CP-SAT's proven optimum equals the
brute-force optimum; when CP-SAT says infeasible, so does the brute force.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from engine.maintenance.bounds import lower_bound
from engine.maintenance.solve import solve_maintenance
from engine.validate import validate_maintenance
from fleet_builder import tiny_instances
from oracle_bruteforce import brute_force

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)


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


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(tiny_instances(max_migrations=8, max_hosts=6))
def test_plans_on_small_fleets_are_valid_and_above_the_bound(instance):
    fleet, lim = instance
    plan = solve(fleet, lim)
    assert validate_maintenance(fleet, lim, plan) == []
    if plan.status in ("optimal", "feasible"):
        assert lower_bound(fleet, lim) <= plan.makespan
        assert plan.lower_bound is None or plan.lower_bound <= plan.makespan


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
