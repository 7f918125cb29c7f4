"""Zero demands (issue 16 item 2) and rebalance within a datacenter (item 3), for every solver."""

from __future__ import annotations

import random

import pytest

from engine.checks import check_snapshot
from engine.documents import DocumentError, parse_snapshot
from engine.model import Limits, PlacementPlan
from engine.placement.bounds import lower_bound
from engine.placement.problem import build_problem
from engine.placement.solve import SOLVERS, solve_placement
from engine.validate_placement import validate_placement
from placement_support import fleet, limits



# ------------------------------------------------------------------ zero demands


def _zero_fleet():
    """Three 64-cpu hosts; VMs needing 0 of some resource (two of them 0 of everything)."""
    vms = [{"id": "cpu-only-1", "cpu": 40, "memory_gb": 0, "disk_gb": 0},
           {"id": "cpu-only-2", "cpu": 24, "memory_gb": 0, "disk_gb": 0},
           {"id": "mem-only", "cpu": 0, "memory_gb": 512, "disk_gb": 0},
           {"id": "nothing-1", "cpu": 0, "memory_gb": 0, "disk_gb": 0},
           {"id": "nothing-2", "cpu": 0, "memory_gb": 0, "disk_gb": 0, "customer": "b"},
           {"id": "disk", "cpu": 0, "memory_gb": 0, "disk_gb": 4000, "customer": "c"}]
    return fleet([{"id": "h1"}, {"id": "h2"}, {"id": "h3", "disk_gb": 0}], vms)


def test_the_loader_accepts_zero_demands_but_not_zero_host_capacity():
    snap = _zero_fleet()
    assert check_snapshot(snap) == []
    with pytest.raises(DocumentError) as info:
        fleet([{"id": "h1", "cpu": 0}], [{"id": "v", "cpu": 0}])
    assert info.value.problems == ["host 'h1' field cpu: capacity must be positive, got 0"]


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("objective", ["min_hosts", "balance"])
def test_every_solver_places_zero_demand_vms(solver, objective):
    snap = _zero_fleet()
    plan = solve_placement(snap, Limits(), solver=solver, objective=objective, time_limit_s=3, workers=1)
    assert plan.status in ("optimal", "feasible"), plan.explanation
    assert validate_placement(snap, Limits(), plan) == []
    assert len(plan.assignments) == 6
    if objective == "min_hosts":
        # cpu 40+24 fill one host, memory 512 and disk 4000 fit beside them: one host holds all
        assert plan.value == 1 and plan.lower_bound == 1


def test_bounds_and_validator_take_an_all_zero_instance():
    snap = fleet([{"id": "h1"}, {"id": "h2", "disk_gb": 0}],
                 [{"id": f"v{k}", "cpu": 0, "memory_gb": 0, "disk_gb": 0} for k in range(5)])
    for objective in ("min_hosts", "balance"):
        p = build_problem(snap, Limits(), objective)
        assert lower_bound(p) >= 0
        for solver in SOLVERS:
            plan = solve_placement(snap, Limits(), solver=solver, objective=objective, time_limit_s=2, workers=1)
            assert validate_placement(snap, Limits(), plan) == [], (solver, objective)
            assert plan.value == (1 if objective == "min_hosts" else 0), (solver, objective)


def test_zero_demands_with_anti_affinity_and_existing_vms():
    # Zero-size VMs still count against the per-customer limit: 4 of customer a, at most 2 per host.
    snap = fleet([{"id": "h1"}, {"id": "h2"}, {"id": "h3"}],
                 [{"id": "old", "host": "h1", "cpu": 0, "memory_gb": 0, "disk_gb": 0},
                  *[{"id": f"z{k}", "cpu": 0, "memory_gb": 0, "disk_gb": 0} for k in range(4)]])
    lim = limits(max_vms_per_customer_per_host=2)
    for solver in SOLVERS:
        plan = solve_placement(snap, lim, solver=solver, time_limit_s=3, workers=1)
        assert validate_placement(snap, lim, plan) == [], solver
        assert plan.value == 3, solver    # h1 has room for one more; 3 left need two more hosts


# ------------------------------------------------------------------ rebalance within a datacenter


def _two_datacenters(seed: int = 0, hosts_per_dc: int = 6, vms: int = 30) -> object:
    """Two datacenters; dc2's hosts are nearly empty, so crossing would consolidate better."""
    rng = random.Random(seed)
    hosts, vm_docs = [], []
    for dc in ("dc1", "dc2"):
        for k in range(hosts_per_dc):
            hosts.append({"id": f"{dc}-h{k}", "rack": f"{dc}-r1", "cpu": 64, "memory_gb": 512, "disk_gb": 4000,
                          "state": "active"})
    for k in range(vms):
        host = hosts[k % len(hosts)]["id"] if k < vms - 4 else None
        vm_docs.append({"id": f"v{k:02d}", "host": host, "customer": rng.choice("ab"), "cpu": rng.randint(2, 12),
                        "memory_gb": rng.randint(8, 96), "disk_gb": rng.randint(10, 500)})
    doc = {"version": 1, "name": "two-dc",
           "datacenters": [{"id": "dc1"}, {"id": "dc2"}],
           "racks": [{"id": "dc1-r1", "datacenter": "dc1"}, {"id": "dc2-r1", "datacenter": "dc2"}],
           "hosts": hosts, "customers": [{"id": "a"}, {"id": "b"}], "vms": vm_docs}
    return parse_snapshot(doc, "two-dc")


def _dc(host: str) -> str:
    return host.split("-")[0]


def test_the_validator_rejects_a_move_across_datacenters():
    snap = _two_datacenters()
    vm = next(v for v in snap.vms if v.host == "dc1-h0")
    pending = [v for v in snap.vms if v.host is None]

    def plan(target: str) -> PlacementPlan:
        return PlacementPlan.model_validate({
            "status": "feasible", "objective": "rebalance", "value": 12,
            "assignments": [{"vm": v.id, "host": f"dc1-h{k + 1}"} for k, v in enumerate(pending)],
            "moves": [{"vm": vm.id, "source": "dc1-h0", "target": target}], "solver": {"name": "hand"}})

    assert [v.rule for v in validate_placement(snap, Limits(), plan("dc1-h5"))] == []
    found = validate_placement(snap, Limits(), plan("dc2-h5"))
    assert [v.rule for v in found] == ["3-moves"] and "datacenter" in found[0].message


@pytest.mark.parametrize("solver", SOLVERS)
def test_no_solver_moves_a_vm_across_datacenters(solver):
    snap = _two_datacenters(seed=3)
    plan = solve_placement(snap, Limits(), solver=solver, objective="rebalance", time_limit_s=3, workers=1)
    assert plan.status in ("optimal", "feasible")
    assert validate_placement(snap, Limits(), plan) == []
    if solver != "ffd":  # ffd keeps every VM home by design
        assert plan.moves, "the fleet is spread thin: every solver consolidates something"
    assert all(_dc(m.source) == _dc(m.target) for m in plan.moves)
    # pending VMs may still go to either datacenter; each datacenter keeps a host in use
    used = {a.host for a in plan.assignments} | {m.target for m in plan.moves} | \
        {v.host for v in snap.vms if v.host and v.id not in {m.vm for m in plan.moves}}
    assert {_dc(h) for h in used} == {"dc1", "dc2"}
