"""Integer packings from column generation (engine/placement/colgen_integer.py) and the shared
first-fit completion (engine/placement/heuristics.py): every VM placed, the rules kept."""

from __future__ import annotations

import time

import pytest

from engine.model import Limits
from engine.placement.colgen import ColumnGeneration
from engine.placement.colgen_integer import dive, dives, repair_tail
from engine.placement.generate import snapshot_of
from engine.placement.heuristics import first_fit_completion, first_fit_decreasing, heuristic
from engine.placement.problem import build_problem
from engine.placement.published import instance
from engine.placement.solution import hosts_used, is_feasible
from engine.validate_placement import validate_placement
from placement_support import limits


@pytest.mark.parametrize("budget_s", [0.0, 0.3])
def test_a_dive_out_of_time_still_packs_every_vm_around_its_fixed_patterns(budget_s):
    # an existing VM and a headroom: the first-fit completion must respect both like the patterns do
    doc, _ = instance("ct-uniform", 60, seed=5)
    doc["vms"][0]["host"] = doc["hosts"][0]["id"]
    snap = snapshot_of(doc)
    lim = limits(headroom={"cpu": 0.05})
    p = build_problem(snap, lim)
    cg = ColumnGeneration(p, exact=True)
    cg.add_assignment(heuristic(p)[0])
    packed = dive(cg, time.monotonic() + budget_s)
    assert packed is not None and is_feasible(p, packed)
    assert all(r >= 0 for r in packed)


def _with_rules():
    """ct-uniform, 90 VMs of 3 customers, two already running on h0000 (one per customer a, b), a cpu
    headroom and at most 2 VMs of a customer per host: the rules a packing from patterns must keep."""
    doc, _ = instance("ct-uniform", 90, seed=7)
    doc["customers"] = [{"id": c} for c in "abc"]
    for k, vm in enumerate(doc["vms"]):
        vm["customer"] = "abc"[k % 3]
    doc["vms"][0]["host"] = doc["vms"][1]["host"] = doc["hosts"][0]["id"]
    lim = limits(headroom={"cpu": 0.05}, max_vms_per_customer_per_host=2)
    snap = snapshot_of(doc)
    return snap, lim, build_problem(snap, lim)


def test_dives_hand_out_only_feasible_packings_each_better_than_the_last():
    snap, lim, p = _with_rules()
    greedy = heuristic(p)[0]
    cg = ColumnGeneration(p, exact=True)
    cg.add_assignment(greedy)
    cg.run(time.monotonic() + 2)
    found = []
    started = time.monotonic()
    dives(cg, started + 4, hosts_used(p, greedy), found.append, hard_deadline=started + 4)
    assert time.monotonic() - started < 6                         # (the deadline, the tail's included)
    values = [hosts_used(p, a) for a in found]
    assert values == sorted(set(values), reverse=True)           # strictly better each time
    assert all(v < hosts_used(p, greedy) for v in values)
    for a in found:
        assert is_feasible(p, a) and all(r >= 0 for r in a)
    assert cg.need == cg.types.count                              # the demand is restored after each dive


def test_dives_stop_once_a_packing_meets_the_bound():
    snap, lim, p = _with_rules()
    greedy = heuristic(p)[0]
    cg = ColumnGeneration(p, exact=True)
    cg.add_assignment(greedy)
    found = []
    started = time.monotonic()
    # a bound as high as the greedy packing: nothing can beat it, so the dives give up at once
    dives(cg, time.monotonic() + 30, hosts_used(p, greedy), found.append, stop_at=hosts_used(p, greedy))
    assert found == [] and time.monotonic() - started < 1


def test_first_fit_completion_keeps_what_is_placed_and_the_rules():
    snap, lim, p = _with_rules()
    assert first_fit_completion(p, [-1] * len(p.items)) == first_fit_decreasing(p)
    packed = first_fit_decreasing(p)
    partial = [r if i % 2 else -1 for i, r in enumerate(packed)]
    done = first_fit_completion(p, partial)
    assert done is not None and is_feasible(p, done)
    assert all(done[i] == r for i, r in enumerate(partial) if r >= 0)
    # a VM too big for any host once the others are placed: None, not an infeasible packing
    p.items[0].demand = tuple(2 * f for f in p.receivers[0].usable)
    assert first_fit_completion(p, [-1] * len(p.items)) is None


def test_repair_tail_packs_a_wasteful_tail_into_its_lp_value():
    # triplets: first-fit decreasing wastes hosts; the tail (here every VM) fits n/3 hosts exactly
    doc, optimum = instance("triplets", 30, seed=2)
    p = build_problem(snapshot_of(doc), Limits())
    cg = ColumnGeneration(p, exact=True)
    packed = first_fit_decreasing(p)
    assert hosts_used(p, packed) > optimum
    repaired = repair_tail(cg, [], float(optimum), packed, time.monotonic() + 10)
    assert is_feasible(p, repaired) and hosts_used(p, repaired) == optimum


def test_repair_tail_keeps_the_rules_and_never_makes_a_packing_worse():
    snap, lim, p = _with_rules()
    cg = ColumnGeneration(p, exact=True)
    packed = first_fit_decreasing(p)
    repaired = repair_tail(cg, [], 1.0, packed, time.monotonic() + 3)
    assert is_feasible(p, repaired) and hosts_used(p, repaired) <= hosts_used(p, packed)
    assert validate_placement(snap, lim, plan_of(p, repaired)) == []


def plan_of(p, assign):
    """A packing as a plan, for the independent validator."""
    from engine.model import Assignment, PlacementPlan, SolverInfo

    return PlacementPlan(status="feasible", value=hosts_used(p, assign), lower_bound=1,
                         assignments=[Assignment(vm=p.items[i].vm, host=p.receivers[r].host) for i, r in enumerate(assign)],
                         solver=SolverInfo(name="test"))
