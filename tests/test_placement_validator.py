"""The independent placement validator catches each broken rule, and passes solver plans."""

from __future__ import annotations

import pytest

from engine.model import Limits, PlacementPlan
from engine.placement.solve import solve_placement
from engine.validate import validate_plan
from engine.validate_placement import validate_placement
from placement_support import fleet, limits

SNAP = fleet(
    [{"id": "h1"}, {"id": "h2"}, {"id": "down", "state": "needs_reboot"}, {"id": "off", "state": "disabled"}],
    [{"id": "p1", "customer": "a"}, {"id": "p2", "customer": "a"},
     {"id": "e1", "host": "h1", "customer": "b"}, {"id": "pin", "host": "h2", "customer": "c", "migratable": False},
     {"id": "r1", "host": "down", "customer": "c"}],
)


def plan(assignments, value, moves=(), objective="min_hosts", lower_bound=None, status="feasible"):
    return PlacementPlan.model_validate({
        "status": status, "objective": objective, "value": value, "lower_bound": lower_bound,
        "assignments": [{"vm": v, "host": h} for v, h in assignments],
        "moves": [{"vm": v, "source": s, "target": t} for v, s, t in moves],
        "solver": {"name": "hand"},
    })


def rules(p, lim=None, **kw):
    return sorted({v.rule for v in validate_placement(SNAP, lim or Limits(), p, **kw)})


GOOD = [("p1", "h1"), ("p2", "h2")]


def test_a_correct_plan_passes():
    assert rules(plan(GOOD, 3, lower_bound=3)) == []       # h1, h2 and "down" hold VMs


def test_the_generic_validator_dispatches_placement_plans():
    assert validate_plan(SNAP, Limits(), plan(GOOD, 3)) == []
    assert validate_plan(SNAP, Limits(), plan(GOOD[:1], 3)) != []


@pytest.mark.parametrize("assignments", [
    GOOD[:1],                                   # p2 not assigned
    GOOD + [("p2", "h1")],                      # p2 twice
    GOOD + [("e1", "h2")],                      # an existing VM is not pending
    GOOD + [("ghost", "h1")],                   # unknown VM
])
def test_rule_1_assignment(assignments):
    assert "1-assignment" in rules(plan(assignments, 3))


@pytest.mark.parametrize("target", ["down", "off", "nowhere"])
def test_rule_2_target_must_be_an_active_host(target):
    assert rules(plan([("p1", target), ("p2", "h2")], 3)) == ["2-target"]


def test_rule_3_moves_only_in_rebalance_within_budget_and_from_the_right_host():
    assert "3-moves" in rules(plan(GOOD, 3, moves=[("e1", "h1", "h2")]))                          # not rebalance
    ok = plan(GOOD, 3, moves=[("e1", "h1", "h2")], objective="rebalance")
    assert rules(ok) == [] and rules(ok, max_moves=1) == []
    assert rules(ok, max_moves=0) == ["3-moves"]                                                   # over budget
    assert "3-moves" in rules(plan(GOOD, 3, moves=[("e1", "h2", "h1")], objective="rebalance"))    # wrong source
    assert "3-moves" in rules(plan(GOOD, 3, moves=[("pin", "h2", "h1")], objective="rebalance"))   # not migratable
    assert "3-moves" in rules(plan(GOOD, 3, moves=[("r1", "down", "h1")], objective="rebalance"))  # from needs_reboot
    twice = plan(GOOD, 3, moves=[("e1", "h1", "h2"), ("e1", "h1", "h2")], objective="rebalance")
    assert "3-moves" in rules(twice)


def test_rule_4_capacity_with_headroom():
    big = fleet([{"id": "h1"}], [{"id": "v1", "cpu": 40}, {"id": "v2", "cpu": 20}])
    p = plan([("v1", "h1"), ("v2", "h1")], 1)
    assert validate_placement(big, Limits(), p) == []
    found = validate_placement(big, limits(headroom={"cpu": 0.1}), p)
    assert [v.rule for v in found] == ["4-capacity"] and "h1" in found[0].entities


def test_rule_5_anti_affinity_counts_existing_vms():
    lim = limits(max_vms_per_customer_per_host=1)
    assert rules(plan(GOOD, 3), lim) == []
    assert rules(plan([("p1", "h2"), ("p2", "h2")], 3), lim) == ["5-anti-affinity"]
    snap = fleet([{"id": "h1"}], [{"id": "old", "host": "h1", "customer": "a"}, {"id": "new", "customer": "a"}])
    found = validate_placement(snap, lim, plan([("new", "h1")], 1))
    assert [v.rule for v in found] == ["5-anti-affinity"]


def test_rule_6_value_and_bound():
    assert rules(plan(GOOD, 2)) == ["6-value"]                       # three hosts hold VMs
    assert rules(plan(GOOD, 3, lower_bound=4)) == ["6-value"]        # bound above value
    unbalanced = plan(GOOD, 0.2, objective="balance")
    assert rules(unbalanced) == ["6-value"]
    # h1 holds e1 + p1 = 16 cpu of 64; memory 64 of 512: the peak is 0.25
    assert rules(plan(GOOD, 0.25, objective="balance")) == []


def test_a_no_plan_answer_claims_nothing():
    assert rules(plan([], None, status="infeasible")) == []


@pytest.mark.parametrize("solver", ["ffd", "bfd", "cp-sat", "cbc", "lns"])
def test_every_solver_plan_passes(solver):
    lim = limits(max_vms_per_customer_per_host=2)
    result = solve_placement(SNAP, lim, solver=solver, time_limit_s=4)
    assert validate_placement(SNAP, lim, result) == []
    assert result.value == 3
