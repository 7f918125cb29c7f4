"""Exact pricing (engine/placement/colgen_exact.py) and the bound column generation proves with it.

The knapsack search is checked against brute force: its patterns fit and are worth what it says,
complete searches find the optimum and the `keep` best patterns, and its upper bound is never below
the optimum, also when it stops early. The bound of ColumnGeneration is checked against two oracles
that share no code with it: the set-covering LP over every feasible pattern (GLOP on the full list),
and the integer optimum by dynamic programming over subsets of VMs.
"""

from __future__ import annotations

import itertools
import math
import random
import time

import numpy as np
import pytest

from engine.model import Limits
from engine.placement.colgen import ColumnGeneration
from engine.placement.colgen_exact import price_exact
from engine.placement.heuristics import heuristic
from engine.placement.problem import build_problem
from engine.placement.solve import solve_placement
from placement_support import fleet, limits


def _all_values(w, v, m, f):
    """Value of every feasible count vector (brute force), best first, as the search builds its
    patterns: types worth nothing left out, types that weigh nothing in full, and some type that
    weighs something in it (when one is worth something)."""
    out = []
    weightless = np.all(w == 0, axis=1)
    weighty = ~weightless & (v > 0)
    for a in itertools.product(*(range(int(k) + 1) for k in m)):
        a = np.array(a, dtype=np.int64)
        if np.any((v <= 0) & (a > 0)) or np.any(weightless & (v > 0) & (a < m)) or \
                (np.any(weighty) and not np.any(a[weighty])):
            continue
        if np.all(a @ w <= f):
            out.append(float(a @ v))
    return sorted(out, reverse=True)


def _knapsack(rng: random.Random):
    T, D = rng.randint(1, 7), rng.randint(1, 3)
    f = np.array([rng.randint(5, 20) for _ in range(D)], dtype=np.int64)
    rows, most = [], []
    for _ in range(T):
        row = [rng.choice([0, rng.randint(1, 10)]) for _ in range(D)]
        if not any(row) and rng.random() < 0.7:
            row[0] = rng.randint(1, 10)
        fit = min([f[d] // x for d, x in enumerate(row) if x > 0], default=3)
        if fit < 1:
            row = [min(x, int(f[d])) for d, x in enumerate(row)]
            fit = 1
        rows.append(row)
        most.append(rng.randint(1, max(1, min(3, fit))))
    v = np.array([rng.choice([0.0, rng.random()]) if rng.random() < 0.1 else rng.random() for _ in range(T)])
    return np.array(rows, dtype=np.int64), v, np.array(most, dtype=np.int64), f


@pytest.mark.parametrize("seed", range(4))
def test_complete_search_finds_the_best_patterns_and_bounds_them(seed):
    rng = random.Random(seed)
    for _ in range(80):
        w, v, m, f = _knapsack(rng)
        values = _all_values(w, v, m, f)
        opt = values[0]
        target = rng.choice([0.0, opt * 0.8, opt - 1e-3, opt + 0.1])
        keep = rng.choice([1, 3, 10])
        best, upper, done, found = price_exact(w, v, m, f, target, keep)
        assert done
        assert upper >= opt - 1e-9 and upper <= max(opt, target) + 1e-6
        above = [x for x in values if x > target + 1e-9]
        if above:
            assert best == pytest.approx(opt)
        # the `keep` best patterns above the target (values compared: ties may pick either pattern)
        assert [val for val, _ in found] == pytest.approx(above[:keep])
        for val, counts in found:
            a = np.zeros(len(v), dtype=np.int64)
            for t, k in counts.items():
                a[t] = k
            assert np.all(a @ w <= f) and np.all(a <= m)
            assert val == pytest.approx(float(a @ v))


@pytest.mark.parametrize("seed", range(4))
def test_a_search_stopped_early_still_bounds_the_optimum(seed):
    rng = random.Random(50 + seed)
    for _ in range(80):
        w, v, m, f = _knapsack(rng)
        opt = _all_values(w, v, m, f)[0]
        best, upper, done, _ = price_exact(w, v, m, f, rng.choice([0.0, opt * 0.5]), rng.choice([1, 4]),
                                           max_nodes=rng.choice([1, 2, 5]))
        assert best <= opt + 1e-9
        assert upper >= opt - 1e-9


def test_a_larger_search_stopped_at_any_point_bounds_the_complete_answer():
    rng = np.random.default_rng(3)
    w = rng.integers(50, 400, size=(80, 3))
    v = (w / 1000) @ np.array([0.4, 0.35, 0.3]) + rng.uniform(0.0, 0.05, size=80)
    m = np.ones(80, dtype=np.int64)
    f = np.full(3, 1000)
    best, upper, done, _ = price_exact(w, v, m, f, 0.0, 1)
    assert done and upper == pytest.approx(best, abs=1e-6)
    for nodes in (10, 100, 1000, 10_000):
        b, u, d, _ = price_exact(w, v, m, f, 0.0, 1, max_nodes=nodes)
        assert b <= best + 1e-9 and u >= best - 1e-9


# ------------------------------------------------------------------ the bound against oracles


def _random_fleet(seed: int, n: int, two_shapes: bool, running: int = 0):
    """n pending VMs on n empty hosts (one or two shapes); `running` hosts also hold a VM already."""
    rng = random.Random(seed)
    hosts = [{"id": f"h{k}", "cpu": 100 if not two_shapes or k % 2 else 80, "memory_gb": 100, "disk_gb": 100}
             for k in range(n)]
    vms = [{"id": f"old{k}", "host": f"h{k}", "cpu": 30, "memory_gb": rng.randint(10, 50), "disk_gb": 20}
           for k in range(running)]
    for k in range(n):
        sizes = [rng.randint(10, 60) for _ in range(3)]
        if rng.random() < 0.2:
            sizes[rng.randrange(3)] = 0
        vms.append({"id": f"v{k}", "cpu": sizes[0], "memory_gb": sizes[1], "disk_gb": sizes[2]})
    return fleet(hosts, vms)


def _full_lp(p) -> float:
    """Hosts in use: the set-covering LP over every feasible pattern of every host shape (GLOP), from
    the problem's integer sizes directly; a host already running VMs counts once whatever it takes."""
    from ortools.linear_solver import pywraplp

    n = len(p.items)
    demand = [tuple(p.int_demand(i)) for i in range(n)]
    shapes: dict[tuple, list] = {}
    in_use = 0
    for r, rec in enumerate(p.receivers):
        free = tuple(p.int_free(r))
        if rec.fixed_used:
            in_use += 1
            shapes[("in use", r)] = [free, 1, 0.0]
        else:
            shapes.setdefault(free, [free, 0, 1.0])[1] += 1
    solver = pywraplp.Solver.CreateSolver("GLOP")
    cover = [solver.Constraint(1.0, solver.infinity()) for _ in range(n)]
    obj = solver.Objective()
    obj.SetMinimization()
    for free, count, cost in shapes.values():
        limit = solver.Constraint(-solver.infinity(), float(count))
        for size in range(1, n + 1):
            for subset in itertools.combinations(range(n), size):
                if all(sum(demand[i][d] for i in subset) <= free[d] for d in range(len(free))):
                    x = solver.NumVar(0.0, solver.infinity(), "")
                    for i in subset:
                        cover[i].SetCoefficient(x, 1.0)
                    limit.SetCoefficient(x, 1.0)
                    obj.SetCoefficient(x, cost)
    assert solver.Solve() == pywraplp.Solver.OPTIMAL
    return in_use + p.fixed_used_elsewhere + obj.Value()


def _integer_optimum(p) -> int:
    """Fewest hosts of one shape that hold every VM: dynamic programming over subsets."""
    n = len(p.items)
    demand = [tuple(p.int_demand(i)) for i in range(n)]
    free = tuple(p.int_free(0))
    fits = [all(sum(demand[i][d] for i in range(n) if mask >> i & 1) <= free[d] for d in range(len(free)))
            for mask in range(1 << n)]
    best = [0] + [n + 1] * ((1 << n) - 1)
    for mask in range(1, 1 << n):
        low = mask & -mask
        rest = mask ^ low
        sub = rest
        while True:          # every subset of `rest`, with the lowest VM of `mask` on the same host
            if fits[sub | low]:
                best[mask] = min(best[mask], best[mask ^ (sub | low)] + 1)
            if sub == 0:
                break
            sub = (sub - 1) & rest
    return best[(1 << n) - 1]


def _converged_bound(p) -> tuple[ColumnGeneration, int | None]:
    cg = ColumnGeneration(p, exact=True)
    cg.add_assignment(heuristic(p)[0])
    cg.run(time.monotonic() + 20)
    return cg, cg.lower_bound()


@pytest.mark.parametrize("seed", range(12))
def test_the_bound_is_the_rounded_up_lp_over_all_patterns(seed):
    snap = _random_fleet(seed, 9, two_shapes=seed % 2 == 1, running=seed % 3)
    p = build_problem(snap, limits(headroom={"cpu": 0.1}) if seed % 4 == 3 else Limits())
    z = _full_lp(p)
    cg, bound = _converged_bound(p)
    assert bound is not None and bound == math.ceil(z - 1e-6)
    # sharper: the Lagrangian value itself (before rounding) never exceeds the LP optimum
    assert cg.base + cg.best_bound <= z + 1e-6


@pytest.mark.parametrize("seed", range(8))
def test_the_bound_never_exceeds_the_integer_optimum(seed):
    p = build_problem(_random_fleet(100 + seed, 10, two_shapes=False), Limits())
    opt = _integer_optimum(p)
    _, bound = _converged_bound(p)
    assert bound is not None and bound <= opt
    plan = solve_placement(_random_fleet(100 + seed, 10, two_shapes=False), Limits(), solver="colgen",
                           time_limit_s=5, workers=1)
    assert plan.lower_bound <= opt <= plan.value


def test_the_pricing_prints_nothing_to_stdout(capfd):
    """stdout can carry the plan (`--out -`): nothing the compiled or OR-Tools code prints may reach it."""
    snap = _random_fleet(7, 40, two_shapes=True)
    plan = solve_placement(snap, Limits(), solver="colgen", time_limit_s=3, workers=1)
    assert plan.value is not None
    captured = capfd.readouterr()
    assert captured.out == ""
