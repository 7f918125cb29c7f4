"""The fixed-targets formulations: time-indexed MIP, time-continuous MIP and their CP-SAT twin.

For every rule a tiny instance where the rule binds: the optimum with the limit
differs from the optimum without it, every formulation finds the same optimum
(hand-computed), and every plan passes the independent validator.
"""

from __future__ import annotations

import time

import pytest

from engine.maintenance import cpsat_fixed, mip_continuous, mip_time_indexed
from engine.maintenance import fixed_targets as ft
from engine.maintenance.formulation_bench import seed_style_instance
from engine.maintenance.mip_solve import SOLVERS
from engine.model import Limits, Snapshot
from engine.validate import validate_maintenance

FORMULATIONS = {"cp-sat": cpsat_fixed.solve, "time-indexed": mip_time_indexed.solve,
                "continuous": mip_continuous.solve}


def fleet(hosts, vms, limits=None, racks=None, customers=("x", "y", "z")):
    """hosts: (id, state, rack, extra dict); racks: {rack: datacenter} (default one datacenter)."""
    host_docs = []
    for hid, state, rack, *extra in hosts:
        doc = {"id": hid, "rack": rack, "cpu": 64, "memory_gb": 256, "disk_gb": 2000, "state": state,
               "reboot_minutes": 5}
        if extra:
            doc.update(extra[0])
        host_docs.append(doc)
    racks = racks or {h[2]: "dc1" for h in hosts}
    vm_docs = []
    for vid, host, customer, *extra in vms:
        doc = {"id": vid, "host": host, "customer": customer, "cpu": 4, "memory_gb": 16, "disk_gb": 100,
               "migration_minutes": 10}
        if extra:
            doc.update(extra[0])
        vm_docs.append(doc)
    snapshot = Snapshot.model_validate({
        "datacenters": [{"id": d} for d in sorted(set(racks.values()))],
        "racks": [{"id": r, "datacenter": d} for r, d in racks.items()],
        "hosts": host_docs, "customers": [{"id": c} for c in customers], "vms": vm_docs})
    return snapshot, Limits.model_validate(limits or {})


def optimum(snapshot, limits, targets, solve, horizon=80):
    problem = ft.build(snapshot, limits, targets, horizon=horizon)
    result = solve(problem, time_limit_s=20)
    assert result.status == "optimal", result
    plan = problem.to_plan(result.starts, status="optimal", solver=result.formulation, wall_s=result.wall_s,
                           lower_bound=None)
    assert validate_maintenance(snapshot, limits, plan) == []
    assert plan.makespan == result.makespan
    return result.makespan


# ---------------------------------------------------------------- one binding instance per rule
# (name, snapshot builder, targets, limits without the rule, limits with it, optimum without, optimum with)

TWO_SOURCES = [("s1", "needs_reboot", "r1"), ("s2", "needs_reboot", "r1"), ("t1", "active", "r2"), ("t2", "active", "r3")]
TWO_VMS = [("a", "s1", "x"), ("b", "s2", "y")]

RULES = [
    ("5 per_source_host", [("s1", "needs_reboot", "r1"), ("t1", "active", "r1")],
     [("a", "s1", "x"), ("b", "s1", "y"), ("c", "s1", "z")], {"a": "t1", "b": "t1", "c": "t1"},
     {}, {"concurrency": {"per_source_host": 1}}, 15, 35),
    ("5 per_target_host", TWO_SOURCES, TWO_VMS, {"a": "t1", "b": "t1"},
     {}, {"concurrency": {"per_target_host": 1}}, 15, 25),
    ("5 per_rack", TWO_SOURCES, TWO_VMS, {"a": "t1", "b": "t2"},
     {}, {"concurrency": {"per_rack": 1}}, 15, 25),
    ("5 per_datacenter", TWO_SOURCES, TWO_VMS, {"a": "t1", "b": "t2"},
     {"concurrency": {"per_rack": 2}}, {"concurrency": {"per_datacenter": 1}}, 15, 25),
    ("6 bandwidth", [("s1", "needs_reboot", "r1", {"bandwidth_gbps": 5}), ("t1", "active", "r2")],
     [("a", "s1", "x", {"migration_gbps": 5}), ("b", "s1", "y", {"migration_gbps": 3}),
      ("c", "s1", "z", {"migration_gbps": 2})], {"a": "t1", "b": "t1", "c": "t1"},
     None, {}, 15, 25),
    ("7 conflict", TWO_SOURCES, [("a", "s1", "x"), ("b", "s2", "x")], {"a": "t1", "b": "t2"},
     {}, {"conflict": {"per_customer": 1}}, 15, 25),
    ("7 conflict, non-migratable VM down with its host",
     [("s1", "needs_reboot", "r1"), ("s2", "needs_reboot", "r2", {"reboot_minutes": 20}), ("t1", "active", "r3")],
     [("a", "s1", "x"), ("n", "s2", "x", {"migratable": False})], {"a": "t1"},
     {}, {"conflict": {"per_customer": 1}}, 20, 30),
    ("8 hosts down per rack", TWO_SOURCES, TWO_VMS, {"a": "t1", "b": "t2"},
     {}, {"concurrency": {"max_hosts_down_per_rack": 1}}, 15, 20),
]


@pytest.mark.parametrize("rule", RULES, ids=[r[0] for r in RULES])
def test_each_rule_binds(rule):
    """Without the limit the optimum is lower: the instance really tests the rule (CP-SAT, the fast one)."""
    _, hosts, vms, targets, without, with_rule, expect_without, expect_with = rule
    if without is None:  # bandwidth: the same fleet without a bandwidth on the source
        snapshot, limits = fleet([h[:3] for h in hosts], vms, {})
    else:
        snapshot, limits = fleet(hosts, vms, without)
    assert optimum(snapshot, limits, targets, cpsat_fixed.solve) == expect_without < expect_with


@pytest.mark.parametrize("formulation", FORMULATIONS)
@pytest.mark.parametrize("rule", RULES, ids=[r[0] for r in RULES])
def test_every_formulation_honours_each_rule(rule, formulation):
    _, hosts, vms, targets, _, with_rule, _, expect_with = rule
    snapshot, limits = fleet(hosts, vms, with_rule)
    assert optimum(snapshot, limits, targets, FORMULATIONS[formulation]) == expect_with


@pytest.mark.parametrize("formulation", FORMULATIONS)
def test_global_limit_spans_datacenters_where_per_datacenter_does_not(formulation):
    hosts = [("s1", "needs_reboot", "r1"), ("t1", "active", "r1"), ("s2", "needs_reboot", "r2"), ("t2", "active", "r2")]
    racks = {"r1": "dc1", "r2": "dc2"}
    vms, targets = TWO_VMS, {"a": "t1", "b": "t2"}
    solve = FORMULATIONS[formulation]
    snapshot, limits = fleet(hosts, vms, {"concurrency": {"per_datacenter": 1}}, racks=racks)
    assert optimum(snapshot, limits, targets, solve) == 15
    snapshot, limits = fleet(hosts, vms, {"concurrency": {"global": 1}}, racks=racks)
    assert optimum(snapshot, limits, targets, solve) == 25


@pytest.mark.parametrize("formulation", FORMULATIONS)
def test_reboot_waits_for_evacuation_and_rebooting_target_for_its_reboot(formulation):
    solve = FORMULATIONS[formulation]
    hosts = [("s1", "needs_reboot", "r1"), ("s2", "needs_reboot", "r2", {"reboot_minutes": 20}), ("t1", "active", "r3")]
    snapshot, limits = fleet(hosts, [("a", "s1", "x")])
    # rule 2: 10 minutes of migration then a 5-minute reboot (not max(10, 5)); s2 reboots alongside
    assert optimum(snapshot, limits, {"a": "t1"}, solve) == 20
    # rule 3: into the rebooting s2 only after its 20-minute reboot, then s1's reboot
    assert optimum(snapshot, limits, {"a": "s2"}, solve) == 35


@pytest.mark.parametrize("formulation", FORMULATIONS)
def test_rack_counts_a_migration_inside_it_once(formulation):
    snapshot, limits = fleet([("s1", "needs_reboot", "r1"), ("t1", "active", "r1")], [("a", "s1", "x")],
                             {"concurrency": {"per_rack": 1}})
    assert optimum(snapshot, limits, {"a": "t1"}, FORMULATIONS[formulation]) == 15


def test_equal_optima_on_seed_style_instances():
    for n, horizon in ((4, 45), (6, 45)):
        snapshot, limits, targets = seed_style_instance(n)
        values = {name: optimum(snapshot, limits, targets, solve, horizon) for name, solve in FORMULATIONS.items()}
        assert len(set(values.values())) == 1, (n, values)
        problem = ft.build(snapshot, limits, targets)
        assert problem.lower_bound() <= values["cp-sat"] <= problem.makespan_of(ft.list_schedule(problem))


# ---------------------------------------------------------------- refusals: what fixed targets cannot do


def test_targets_that_overfill_a_host_are_refused_with_host_and_resource():
    snapshot, limits = fleet([("s1", "needs_reboot", "r1"), ("t1", "active", "r1", {"memory_gb": 40})],
                             [("a", "s1", "x"), ("b", "s1", "y"), ("c", "s1", "z")])
    with pytest.raises(ft.FixedTargetsRefused) as exc:
        ft.build(snapshot, limits, {"a": "t1", "b": "t1", "c": "t1"})
    assert any("'t1'" in p and "memory_gb" in p and "48" in p for p in exc.value.problems)


def test_rebooting_target_counts_only_what_stays_on_it():
    # s2 is full of migratable VMs that leave before its reboot: it may still receive a (rolling)
    hosts = [("s1", "needs_reboot", "r1"), ("s2", "needs_reboot", "r1", {"memory_gb": 32}), ("t1", "active", "r1")]
    vms = [("a", "s1", "x"), ("b", "s2", "y"), ("c", "s2", "z")]
    snapshot, limits = fleet(hosts, vms)
    problem = ft.build(snapshot, limits, {"a": "s2", "b": "t1", "c": "t1"}, horizon=80)
    assert mip_time_indexed.solve(problem, time_limit_s=20).makespan == 10 + 5 + 10 + 5


def test_cycle_of_rebooting_targets_and_impossible_weights_are_refused():
    hosts = [("s1", "needs_reboot", "r1"), ("s2", "needs_reboot", "r1")]
    snapshot, limits = fleet(hosts, [("a", "s1", "x"), ("b", "s2", "y")])
    with pytest.raises(ft.FixedTargetsRefused, match="cycle"):
        ft.build(snapshot, limits, {"a": "s2", "b": "s1"})
    hosts = [("s1", "needs_reboot", "r1"), ("t1", "active", "r1")]
    vms = [("n1", "s1", "x", {"migratable": False}), ("n2", "s1", "x", {"migratable": False})]
    snapshot, limits = fleet(hosts, vms, {"conflict": {"per_customer": 1}})
    with pytest.raises(ft.FixedTargetsRefused, match="reboot s1 alone needs 2"):
        ft.build(snapshot, limits, {})


def test_horizon_shorter_than_the_precedence_chain_is_refused():
    snapshot, limits = fleet([("s1", "needs_reboot", "r1"), ("t1", "active", "r1")], [("a", "s1", "x")])
    with pytest.raises(ft.FixedTargetsRefused, match="horizon 14"):
        ft.build(snapshot, limits, {"a": "t1"}, horizon=14)


# ---------------------------------------------------------------- whole-plan solvers and honest statuses


def test_registered_solvers_return_validated_plans_on_the_toy():
    from engine.documents import load_limits, load_snapshot

    snapshot, limits = load_snapshot("fixtures/toy.json"), load_limits("fixtures/toy-limits.json")
    for name, solve in SOLVERS.items():
        plan = solve(snapshot, limits, time_limit_s=10)
        assert plan.solver.name == name
        assert plan.makespan == 20 and plan.status in ("optimal", "feasible")
        assert validate_maintenance(snapshot, limits, plan) == []
        pairs = {frozenset(m.vm for m in plan.migrations if m.start == s) for s in {m.start for m in plan.migrations}}
        assert pairs == {frozenset({"vm1"}), frozenset({"vm2", "vm3"})}


def test_solve_maintenance_dispatches_to_the_formulations():
    from engine.documents import load_limits, load_snapshot
    from engine.maintenance.solve import available_solvers, solve_maintenance

    snapshot, limits = load_snapshot("fixtures/toy.json"), load_limits("fixtures/toy-limits.json")
    assert {"mip-time-indexed", "mip-continuous"} <= set(available_solvers())
    plan = solve_maintenance(snapshot, limits, solver="mip-continuous", time_limit_s=10, workers=1)
    assert (plan.status, plan.makespan, plan.solver.name) == ("optimal", 20, "mip-continuous")


def test_a_cbc_stop_at_the_time_limit_is_not_reported_optimal_and_the_deadline_holds():
    snapshot, limits, targets = seed_style_instance(40)
    problem = ft.build(snapshot, limits, targets, horizon=100)
    t0 = time.monotonic()
    result = mip_continuous.solve(problem, time_limit_s=2.0)
    elapsed = time.monotonic() - t0
    assert elapsed < 2.0 + 1.5 + 2.0  # limit + hard-deadline grace + process start and model build
    assert result.status in ("feasible", "unknown")
    if result.status == "feasible":
        assert result.bound is None or result.bound < result.makespan
        assert result.stopped_by is not None


def test_list_schedule_is_a_schedule_and_a_broken_one_is_not():
    snapshot, limits, targets = seed_style_instance(12)
    problem = ft.build(snapshot, limits, targets)
    starts = ft.list_schedule(problem)
    assert problem.is_schedule(starts)
    assert problem.lower_bound() <= problem.makespan_of(starts)
    everything_at_zero = {i: 0 for i in starts}
    assert not problem.is_schedule(everything_at_zero)


# ---------------------------------------------------------------- the benchmark command


def test_bench_formulations_command_writes_table_csv_and_plot(tmp_path):
    import csv

    from typer.testing import CliRunner

    from console.cli.main import app

    out_csv, out_png = tmp_path / "f.csv", tmp_path / "f.png"
    result = CliRunner().invoke(app, ["bench", "formulations", "--sizes", "4", "--horizons", "40", "--time-limit", "10",
                                      "--formulations", "cp-sat-fixed,mip-continuous",
                                      "--csv", str(out_csv), "--plot", str(out_png)])
    assert result.exit_code == 0, result.output
    assert "cp-sat-fixed" in result.stdout and "mip-continuous" in result.stdout
    rows = list(csv.DictReader(out_csv.open()))
    assert [(r["formulation"], r["status"]) for r in rows] == [("cp-sat-fixed", "optimal"), ("mip-continuous", "optimal")]
    assert rows[0]["makespan"] == rows[1]["makespan"]
    assert out_png.read_bytes()[:4] == b"\x89PNG"


def test_bench_formulations_rejects_bad_options_with_exit_2(tmp_path):
    from typer.testing import CliRunner

    from console.cli.main import app

    runner = CliRunner()
    for args in (["--sizes", "5,x"], ["--formulations", "simplex"], ["--plot", str(tmp_path / "f.pdf")],
                 ["--csv", str(tmp_path / "missing" / "f.csv")]):
        result = runner.invoke(app, ["bench", "formulations", *args])
        assert result.exit_code == 2, (args, result.output)


def test_cancelled_mip_solve_keeps_the_valid_warm_start_and_returns_at_once():
    from engine.progress import Cancellation

    snapshot, limits, _ = seed_style_instance(40)
    cancel = Cancellation()
    cancel.cancel()
    t0 = time.monotonic()
    plan = SOLVERS["mip-time-indexed"](snapshot, limits, time_limit_s=30, cancel=cancel)
    assert time.monotonic() - t0 < 10
    assert plan.status in ("feasible", "optimal") and plan.makespan is not None
    assert validate_maintenance(snapshot, limits, plan) == []
