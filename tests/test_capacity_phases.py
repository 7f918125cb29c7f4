"""Phase I and Phase II behaviour beyond the examples: search vs MILP, overfull, statuses, hygiene."""

from __future__ import annotations

import os
import tempfile

import numpy as np
import pytest

from engine.capacity import synthetic
from engine.capacity.levels import aggregate
from engine.capacity.model import App, InstanceClass, LimitingSet, PerformanceSet, Problem, Workload
from engine.capacity.phase_i import solve_phase_i
from engine.capacity.phase_ii import PhaseIIInputError, solve_phase_ii
from engine.capacity.validate import check_allocation, ensure_valid_phase_i
from engine.violations import PlanRejected


def small_problem(values_a, values_b=None, od_max=3, reserved_price=6.0) -> Problem:
    ls = LimitingSet("zone", "zone", 0, 0)
    res = InstanceClass("r", "r", (ls,), 0, reserved_price, "h", True, 1)
    dem = InstanceClass("d", "d", (ls,), od_max, 10.0, "h", False, 1)
    apps = [App("a", "a")] + ([App("b", "b")] if values_b is not None else [])
    wls = [Workload("wa", apps[0], tuple(values_a), "h")]
    if values_b is not None:
        wls.append(Workload("wb", apps[1], tuple(values_b), "h"))
    perf = {(ic.id, a.id): 10.0 for ic in (res, dem) for a in apps}
    return Problem("p", "p", tuple(wls), (res, dem), PerformanceSet("perf", "h", perf))


def test_levels_group_identical_tuples_in_first_appearance_order():
    lv = aggregate(np.array([[3, 1], [1, 1], [3, 1], [2, 0]]))
    assert lv.values.tolist() == [[3, 1], [1, 1], [2, 0]]
    assert lv.repeats.tolist() == [2, 1, 1]
    assert lv.slot_level.tolist() == [0, 1, 0, 2]


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("relaxed", [False, True])
def test_search_and_milp_agree_on_random_problems(seed, relaxed):
    problem = synthetic.random_small(seed, n_apps=1 + seed % 2, n_slots=10)
    a = solve_phase_i(problem, relaxed=relaxed, method="auto")
    b = solve_phase_i(problem, relaxed=relaxed, method="milp")
    assert a.status == b.status
    if b.cost is not None:
        assert a.cost == pytest.approx(b.cost, rel=1e-6)


def test_search_is_exact_against_brute_force_on_one_app():
    w = [3, 17, 25, 40, 8, 17, 33]
    problem = small_problem(w, od_max=0)
    sol = solve_phase_i(problem)
    assert sol.method == "search"
    best = min(6.0 * len(w) * y + sum(10.0 * max(0, -(-(x - 10 * y) // 10)) for x in w) for y in range(0, 6))
    assert sol.cost == pytest.approx(best)


def test_binding_limit_falls_back_to_the_milp():
    # On-demand capped at 1 VM per slot: reserved must cover peaks beyond it, so the search's answer breaks a limit.
    problem = small_problem([10, 50, 10, 10], od_max=1)
    sol = solve_phase_i(problem)
    assert sol.method == "milp" and sol.status == "optimal"
    assert sol.reserved_counts() == {"r": 4}


def test_overfull_slot_with_a_zero_workload_does_not_divide_by_zero():
    problem = small_problem([10, 10, 10], [10, 10, 10], od_max=2)
    first = solve_phase_i(problem)
    stwp = problem.with_workloads((
        Workload("wa", problem.apps[0], (0, 500, 10), "h"),
        Workload("wb", problem.apps[1], (500, 0, 10), "h"),
    ))
    sol = solve_phase_ii(stwp, first)
    assert sol.slot_statuses == ["overfull", "overfull", "optimal"]
    for k in (0, 1):
        r = sol.results[sol.levels.slot_level[k]]
        assert np.isfinite(r.served).all() and np.isfinite(r.cost)
        zero_app = 0 if k == 0 else 1
        assert r.served[zero_app] == 1.0
        # Everything the limits allow goes to the busy app: reserved + 2 on-demand VMs.
        assert r.allocation[1 - zero_app].sum() == first.reserved[0] + 2
    stats = sol.statistics()
    assert stats["slots_by_status"] == {"optimal": 1, "overfull": 2} and stats["overfull_slots"] == [0, 1]


def test_overfull_prefers_the_cheapest_allocation_among_equally_served_ones():
    # Slot 1 cannot be served; the best fraction needs only the reserved VM + one of the 3 on-demand VMs
    # for app a (capped at demand 20), so no extra on-demand VM should be paid for app a.
    problem = small_problem([5, 5], od_max=3, reserved_price=1.0)
    first = solve_phase_i(problem)
    stwp = problem.with_workloads((Workload("wa", problem.apps[0], (5, 1000), "h"),))
    sol = solve_phase_ii(stwp, first)
    assert sol.slot_statuses == ["optimal", "overfull"]
    r = sol.results[sol.levels.slot_level[1]]
    assert r.allocation.sum() == first.reserved[0] + 3  # every VM the limit allows serves the huge demand


def test_phase_ii_reuses_solutions_of_repeated_workloads():
    problem = small_problem([10, 20, 10, 20, 10, 30])
    events = []
    sol = solve_phase_ii(problem, solve_phase_i(problem, on_progress=events.append), on_progress=events.append)
    assert [e.message.split()[1] for e in events] == ["i", "ii"] and events[-1].objective == sol.cost
    st = sol.statistics()
    assert st["slots"] == 6 and st["distinct_workloads"] == 3 and st["reused_solutions"] == 3
    assert sol.slot_costs[0] == sol.slot_costs[2] == sol.slot_costs[4]


def test_phase_ii_refuses_a_relaxed_phase_i():
    problem = small_problem([10, 20])
    with pytest.raises(PhaseIIInputError):
        solve_phase_ii(problem, solve_phase_i(problem, relaxed=True))


def test_time_limited_stop_is_not_reported_optimal_and_exits_0_or_4(tmp_path):
    import json

    from typer.testing import CliRunner

    import console.cli.solve_capacity_cmd  # noqa: F401
    from console.cli.apps import app
    from engine.capacity.writer import write_problems

    path = tmp_path / "big.yaml"
    # integer, zones binding (the exact search does not apply): far from solvable in 1 s
    write_problems(path, [synthetic.three_apps_24_classes_year(zone_max_vms=100)])
    r = CliRunner().invoke(app, ["solve", "capacity", str(path), "--time-limit", "1", "--json"])
    out = json.loads(r.stdout)
    assert out["status"] in ("feasible", "unknown")
    assert r.exit_code == (0 if out["status"] == "feasible" else 4)
    if out["status"] == "feasible":
        assert out["bound"] is not None and out["bound"] <= out["cost"]
    else:
        assert out["cost"] is None and out["reserved"] == {}


def test_no_temp_or_log_files_are_left_behind(tmp_path, monkeypatch):
    before_tmp = set(os.listdir(tempfile.gettempdir()))
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    problem = small_problem([10, 50, 10, 10], od_max=1)
    first = solve_phase_i(problem, method="milp")
    solve_phase_ii(problem.with_workloads((Workload("wa", problem.apps[0], (10, 900, 10, 10), "h"),)), first)
    assert list(cwd.iterdir()) == []
    new = {f for f in set(os.listdir(tempfile.gettempdir())) - before_tmp if "pulp" in f.lower() or "highs" in f.lower() or f.endswith(".log")}
    assert new == set()


def test_validator_rejects_a_broken_allocation():
    problem = small_problem([10, 50, 10, 10], od_max=1)
    sol = solve_phase_i(problem)
    d = problem.data
    assert check_allocation(d, sol.levels.values, sol.allocation, integer=True) == []
    broken = sol.allocation.copy()
    broken[1, 0, 1] = 3  # 3 on-demand VMs where max_vms is 1
    rules = {v.rule for v in check_allocation(d, sol.levels.values, broken, integer=True)}
    assert "class-limit" in rules
    broken = sol.allocation.copy()
    broken[1, 0, :] = 0  # slot with 50 served by nothing
    assert "performance" in {v.rule for v in check_allocation(d, sol.levels.values, broken, integer=True)}
    sol.cost += 1
    with pytest.raises(PlanRejected):
        ensure_valid_phase_i(sol, solver_objective=None)


@pytest.mark.parametrize("seed", range(6))
def test_phase_ii_slot_search_and_milp_agree(seed):
    problem = synthetic.random_small(100 + seed, n_apps=1 + seed % 3, n_slots=12)
    first = solve_phase_i(problem)
    assert first.has_solution  # these seeds give feasible problems
    rng = np.random.default_rng(seed)
    stwp = problem.with_workloads(tuple(
        Workload(w.id, w.app, tuple(float(v) for v in np.round(np.asarray(w.values) * rng.choice([0.5, 1, 2], len(w.values)))), w.time_unit)
        for w in problem.workloads))
    a = solve_phase_ii(stwp, first, method="auto")
    b = solve_phase_ii(stwp, first, method="milp")
    assert a.slot_statuses == b.slot_statuses
    for ca, cb, st in zip(a.slot_costs, b.slot_costs, a.slot_statuses):
        if st == "optimal":
            assert ca == pytest.approx(cb, rel=1e-9)


def test_phase_ii_slot_search_settles_a_shared_reserved_class():
    # Two apps share the reserved class: the split of its VMs changes slot by slot.
    problem = small_problem([10, 50, 10, 30], [40, 10, 30, 10], od_max=0)
    first = solve_phase_i(problem)
    sol = solve_phase_ii(problem, first)
    alloc = sol.allocation()
    assert (alloc[:, :, 0].sum(axis=1) == first.reserved[0]).all()
    assert len({tuple(row) for row in alloc[:, :, 0]}) > 1  # re-split between slots
    assert sol.stats["searched_slots"] == 4
    assert sol.cost == pytest.approx(solve_phase_ii(problem, first, method="milp").cost)


def test_cancellation_stops_a_long_milp_at_once():
    import threading
    import time

    from engine.progress import Cancellation

    problem = synthetic.three_apps_24_classes_year()  # integer: HiGHS would run for minutes
    cancel = Cancellation()
    threading.Timer(1.0, cancel.cancel).start()
    t0 = time.perf_counter()
    sol = solve_phase_i(problem, time_limit=120, cancellation=cancel, method="milp")
    assert time.perf_counter() - t0 < 30
    assert sol.status == "unknown" and sol.cost is None
    # The next solve gets a fresh worker and works.
    assert solve_phase_i(small_problem([10, 20]), method="milp").status == "optimal"
