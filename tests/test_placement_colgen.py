"""Column generation for min_hosts (issue 16 item 1): a proven LP bound, packings from it, the rules kept,
and the published-style instance generator."""

from __future__ import annotations

import time

import pytest

from engine.model import Limits
from engine.placement.bounds import lower_bound
from engine.placement.colgen import ColumnGeneration, _Master
from engine.placement.generate import snapshot_of
from engine.placement.heuristics import heuristic
from engine.placement.problem import build_problem
from engine.placement.published import CLASSES, instance
from engine.placement.solve import solve_placement
from engine.progress import Cancellation
from engine.validate_placement import validate_placement
from placement_support import fleet, limits


def _pairs_only(n_per_shape: int = 6):
    """Shapes (60,30,30), (30,60,30), (30,30,60) on 100³ hosts: any two share a host, no three do,
    so the optimum is ⌈n/2⌉. Volume and Martello–Toth see less; the set-covering LP sees it all."""
    shapes = [(60, 30, 30), (30, 60, 30), (30, 30, 60)]
    vms = [{"id": f"v{s}{k}", "cpu": c, "memory_gb": m, "disk_gb": d}
           for s, (c, m, d) in enumerate(shapes) for k in range(n_per_shape)]
    return fleet([{"id": f"h{k:02d}", "cpu": 100, "memory_gb": 100, "disk_gb": 100} for k in range(12)], vms)


def test_the_lp_bound_beats_the_classic_bounds_and_proves_the_optimum():
    snap = _pairs_only()
    p = build_problem(snap, Limits())
    assert lower_bound(p) < 9                    # the volume / L2 / clique bounds fall short
    cg = ColumnGeneration(p, exact=True)
    cg.add_assignment(heuristic(p)[0])
    cg.run(time.monotonic() + 10)
    assert cg.lower_bound() == 9                 # (converged, or the Lagrangian bound reached ⌈z⌉)
    plan = solve_placement(snap, Limits(), solver="colgen", time_limit_s=10, workers=1)
    assert plan.value == 9 and plan.lower_bound == 9 and plan.status == "optimal"
    assert plan.notes and "set-covering LP" in plan.notes[0]
    assert validate_placement(snap, Limits(), plan) == []


def test_triplets_reach_n_over_3_with_a_matching_bound():
    doc, optimum = instance("triplets", 60, seed=1)
    snap = snapshot_of(doc)
    plan = solve_placement(snap, Limits(), solver="colgen", time_limit_s=20, workers=2)
    assert optimum == 20
    assert plan.value == optimum and plan.lower_bound == optimum and plan.status == "optimal"
    assert validate_placement(snap, Limits(), plan) == []


def test_anti_affinity_existing_vms_and_two_host_shapes_hold_in_the_pricing():
    # Two host shapes, an existing VM of customer a on h0, at most 2 VMs of a customer per host.
    hosts = [{"id": f"h{k}", "cpu": 64 if k % 2 else 32, "memory_gb": 256} for k in range(8)]
    vms = [{"id": "old", "host": "h0", "customer": "a", "cpu": 8, "memory_gb": 32}]
    vms += [{"id": f"v{k:02d}", "customer": "abc"[k % 3], "cpu": 4 + 4 * (k % 4), "memory_gb": 16 + 8 * (k % 5)}
            for k in range(24)]
    snap = fleet(hosts, vms)
    lim = limits(max_vms_per_customer_per_host=2, headroom={"cpu": 0.1})
    p = build_problem(snap, lim)
    cg = ColumnGeneration(p, exact=True)
    cg.add_assignment(heuristic(p)[0])
    cg.run(time.monotonic() + 10)
    assert len(cg.classes) == 3                  # h0 (in use), the 32-cpu and the 64-cpu shapes
    plan = solve_placement(snap, lim, solver="colgen", time_limit_s=8, workers=1)
    assert validate_placement(snap, lim, plan) == []
    assert plan.status in ("optimal", "feasible")
    # 24 pending VMs of 3 customers, at most 2 each per host: at least 4 hosts, plus the bound holds
    assert plan.lower_bound >= 4 and plan.value >= plan.lower_bound
    if cg.lower_bound() is not None:
        assert cg.lower_bound() <= plan.value


def test_the_numpy_pricing_adds_only_columns_that_fit_and_improve():
    doc, _ = instance("pan-sparse", 60, seed=1)          # zero demands in some resources
    p = build_problem(snapshot_of(doc), Limits())
    cg = ColumnGeneration(p, exact=True)
    cg.add_assignment(heuristic(p)[0])
    cg._lp = _Master(cg)
    z, duals, limits_ = cg._lp.solve()
    before = len(cg.columns)
    added = cg._price_beam(duals, limits_, time.monotonic() + 10)
    assert added == len(cg.columns) - before
    for col in cg.columns[before:]:
        free = cg.classes[col.klass].free
        for d, f in enumerate(free):
            assert sum(cg.types.weight[t][d] * a for t, a in col.counts.items()) <= f
        assert all(a <= cg.types.count[t] for t, a in col.counts.items())
        assert sum(duals[t] * a for t, a in col.counts.items()) > 1 + 1e-9   # reduced cost < 0


def test_a_cancelled_colgen_solve_returns_a_plan_at_once():
    doc, _ = instance("ct-uniform", 120, seed=2)
    snap = snapshot_of(doc)
    cancel = Cancellation()
    cancel.cancel()
    started = time.monotonic()
    plan = solve_placement(snap, Limits(), solver="colgen", time_limit_s=60, workers=1, cancel=cancel)
    assert time.monotonic() - started < 10
    assert plan.status in ("optimal", "feasible") and validate_placement(snap, Limits(), plan) == []


# ------------------------------------------------------------------ generator


@pytest.mark.parametrize("cls", CLASSES)
def test_published_classes_are_deterministic_and_loadable(cls):
    a, opt_a = instance(cls, 30, seed=3)
    b, opt_b = instance(cls, 30, seed=3)
    assert a == b and opt_a == opt_b
    assert a != instance(cls, 30, seed=4)[0]
    snap = snapshot_of(a)
    assert len(snap.vms) == 30 and all(v.host is None for v in snap.vms)
    if cls == "triplets":
        assert opt_a == 10
        for r in ("cpu", "memory_gb", "disk_gb"):       # exact fit: the volume fills n/3 hosts
            assert sum(getattr(v, r) for v in snap.vms) == 10 * 1000
            assert all(250 < getattr(v, r) < 500 for v in snap.vms)
    if cls == "pan-sparse":
        assert any(v.cpu == 0 or v.memory_gb == 0 or v.disk_gb == 0 for v in snap.vms)
