"""For every rule of FORMATS.md, a tiny fleet where that rule binds: the CP-SAT optimum
with the limit differs from the optimum without it (both asserted, both proven optimal).

Times: migrations take 10 minutes unless stated; reboots take 0 minutes unless stated,
so a makespan counts migration waves.
"""

from __future__ import annotations

import pytest

from fleet_builder import limits, snapshot

from engine.maintenance.solve import solve_maintenance
from engine.model import Limits, Snapshot


def optimum(snap: Snapshot, lim: Limits) -> int:
    plan = solve_maintenance(snap, lim, solver="cp-sat", time_limit_s=10, workers=1)
    assert plan.status == "optimal", plan
    assert plan.lower_bound == plan.makespan
    return plan.makespan


def src(i: int = 1, **kw) -> dict:
    return {"id": f"a{i}", "state": "needs_reboot", "reboot_minutes": 0, **kw}


def tgt(i: int = 1, **kw) -> dict:
    return {"id": f"t{i}", **kw}


def vm(i: int, host: str, **kw) -> dict:
    return {"id": f"vm{i}", "host": host, "customer": f"c{i}", **kw}


def test_toy_vms_2_and_3_together_vm_1_alone():
    """The seed's toy: bandwidth 5 on the source, VMs of 5, 3 and 2 Gbps."""
    snap = snapshot([src(bandwidth_gbps=5), tgt()],
                    [vm(1, "a1", migration_gbps=5), vm(2, "a1", migration_gbps=3), vm(3, "a1", migration_gbps=2)])
    plan = solve_maintenance(snap, limits(), time_limit_s=10, workers=1)
    assert plan.status == "optimal" and plan.makespan == 20
    start = {m.vm: m.start for m in plan.migrations}
    assert start["vm2"] == start["vm3"] != start["vm1"]


def test_rule_2_reboot_after_evacuation_and_its_length():
    snap = snapshot([src(reboot_minutes=15), tgt()], [vm(1, "a1")])
    assert optimum(snap, limits()) == 25


def test_rule_4_capacity_forces_a_rolling_cascade():
    # t1 has room for one 4 GB VM; the other VM must wait for a rebooted source (rule 3 order).
    hosts = [src(1, reboot_minutes=10), src(2, reboot_minutes=10), tgt(1, memory_gb=8)]
    vms = [vm(1, "a1"), vm(2, "a2")]
    assert optimum(snapshot(hosts, vms), limits()) == 20
    assert optimum(snapshot(hosts, vms), limits(capacity={"headroom": {"memory_gb": 0.5}})) == 40


def test_rule_3_without_rolling_a_rebooted_host_is_no_target():
    hosts = [src(1, reboot_minutes=10), src(2, reboot_minutes=10), tgt(1, memory_gb=4)]
    plan = solve_maintenance(snapshot(hosts, [vm(1, "a1"), vm(2, "a2")]), limits(capacity={"rolling": False}),
                             time_limit_s=10, workers=1)
    assert plan.status == "infeasible" and plan.explanation
    assert plan.migrations == [] and plan.makespan is None


def test_rule_5_per_source_host():
    snap = snapshot([src(), tgt()], [vm(1, "a1"), vm(2, "a1")])
    assert optimum(snap, limits()) == 10
    assert optimum(snap, limits(concurrency={"per_source_host": 1})) == 20


def test_rule_5_per_target_host():
    snap = snapshot([src(1), src(2), tgt()], [vm(1, "a1"), vm(2, "a2")])
    lim = {"capacity": {"rolling": False}}
    assert optimum(snap, limits(**lim)) == 10
    assert optimum(snap, limits(**lim, concurrency={"per_target_host": 1})) == 20


def test_rule_5_per_rack_counts_a_migration_inside_one_rack_once():
    across = snapshot([src(rack="r1"), tgt(rack="r2")], [vm(1, "a1"), vm(2, "a1")])
    assert optimum(across, limits()) == 10
    assert optimum(across, limits(concurrency={"per_rack": 1})) == 20
    inside = snapshot([src(rack="r1"), tgt(rack="r1")], [vm(1, "a1"), vm(2, "a1")])
    assert optimum(inside, limits(concurrency={"per_rack": 2})) == 10


def test_rule_5_per_datacenter():
    snap = snapshot([src(1), src(2), tgt(1), tgt(2)], [vm(1, "a1"), vm(2, "a2")])
    lim = {"capacity": {"rolling": False}}
    assert optimum(snap, limits(**lim)) == 10
    assert optimum(snap, limits(**lim, concurrency={"per_datacenter": 1})) == 20


def test_rule_5_global_couples_datacenters():
    snap = snapshot([src(1, rack="r1"), tgt(1, rack="r1"), src(2, rack="r2"), tgt(2, rack="r2")],
                    [vm(1, "a1"), vm(2, "a2")], rack_dc={"r2": "dc2"})
    assert optimum(snap, limits()) == 10
    assert optimum(snap, limits(concurrency={"global": 1})) == 20


def test_rule_6_bandwidth_on_the_target():
    snap = snapshot([src(), tgt(bandwidth_gbps=4)], [vm(1, "a1", migration_gbps=3), vm(2, "a1", migration_gbps=3)])
    assert optimum(snap, limits()) == 20
    wide = snapshot([src(), tgt(bandwidth_gbps=6)], [vm(1, "a1", migration_gbps=3), vm(2, "a1", migration_gbps=3)])
    assert optimum(wide, limits()) == 10


def test_rule_7_conflict_per_customer():
    snap = snapshot([src(), tgt()], [vm(1, "a1", customer="acme"), vm(2, "a1", customer="acme")])
    assert optimum(snap, limits()) == 10
    assert optimum(snap, limits(conflict={"per_customer": 1})) == 20
    assert optimum(snap, limits(conflict={"per_customer": 1, "overrides": {"acme": 2}})) == 10


def test_rule_7_non_migratable_vm_is_down_while_its_host_reboots():
    hosts = [src(1, reboot_minutes=10), src(2), tgt()]
    vms = [vm(1, "a1", customer="acme", migratable=False), vm(2, "a2", customer="acme")]
    assert optimum(snapshot(hosts, vms), limits()) == 10
    assert optimum(snapshot(hosts, vms), limits(conflict={"per_customer": 1})) == 20


def test_rule_8_hosts_down_per_rack():
    snap = snapshot([src(1, reboot_minutes=10), src(2, reboot_minutes=10), tgt()], [])
    assert optimum(snap, limits()) == 10
    assert optimum(snap, limits(concurrency={"max_hosts_down_per_rack": 1})) == 20


@pytest.mark.parametrize("solver", ["cp-sat", "heuristic"])
def test_rule_9_makespan_is_the_latest_end(solver):
    snap = snapshot([src(1, reboot_minutes=5), tgt()], [vm(1, "a1", migration_minutes=7)])
    plan = solve_maintenance(snap, limits(), solver=solver, time_limit_s=5, workers=1)
    ends = [m.end for m in plan.migrations] + [r.end for r in plan.reboots]
    assert plan.makespan == max(ends) == 12
    assert plan.lower_bound is not None and plan.lower_bound <= plan.makespan
