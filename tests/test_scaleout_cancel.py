"""Cancel on a decomposed fleet (issue 12 item 9, issue 14 item 4), local executors: the stop reaches
every sub-solve that runs, searches still queued never start, the best validated merged plan is kept,
and the plan's notes and the returned report tell the same story."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from engine.executors.local import ProcessExecutor
from engine.maintenance.solve import NOT_STARTED, STOPPED, solve_maintenance_report
from engine.progress import Cancellation
from engine.validate import validate_maintenance
from tests.runs_support import wait_until
from tests.scaleout_support import fleet, solve_then_cancel

pytestmark = pytest.mark.slow


def test_a_cancel_stops_the_search_of_every_running_sub_solve_and_keeps_a_valid_plan():
    snapshot, limits = fleet(datacenters=2, vms=4000, regional=True)  # two components, one process each
    report, plans, _ = solve_then_cancel(snapshot, limits, workers=2)
    assert report.sub_solves == [STOPPED, STOPPED]  # each returned early because it saw the stop
    plan = report.plan
    assert plan.status in ("optimal", "feasible")
    assert validate_maintenance(snapshot, limits, plan) == []
    assert any(n.startswith("cancelled on request after") and "was kept" in n for n in plan.notes)
    assert plans[-1] is plan  # the kept plan is the last one handed out (what the run stores)


def test_queued_searches_never_start_after_a_cancel_and_their_first_plans_are_kept():
    snapshot, limits = fleet(datacenters=4, vms=4000, regional=True)  # four components on two processes
    report, _, _ = solve_then_cancel(snapshot, limits, workers=2, searching_s=0.5)
    assert set(report.sub_solves) <= {STOPPED, NOT_STARTED}, report.sub_solves
    assert 1 <= report.sub_solves.count(STOPPED) <= 2  # at most one search per process was running
    plan = report.plan
    assert plan.status in ("optimal", "feasible")
    assert validate_maintenance(snapshot, limits, plan) == []  # every datacenter has its migrations
    waiting = [dc for dc, state in zip(_component_dcs(snapshot, limits), report.sub_solves) if state == NOT_STARTED]
    assert waiting, "expected searches still queued when the cancel came"
    story = " ".join(plan.notes)
    assert all(dc in story for dc in waiting) and "first (heuristic) plan is kept" in story


def test_a_cancel_before_any_plan_says_no_plan_was_kept():
    snapshot, limits = fleet(datacenters=2, vms=1600, regional=True)
    cancel = Cancellation()
    cancel.cancel()
    report = solve_maintenance_report(snapshot, limits, solver="cp-sat", time_limit_s=60, workers=2, cancel=cancel)
    assert report.plan.status == "unknown" and report.plan.migrations == []
    assert "no plan was kept" in report.plan.explanation
    assert validate_maintenance(snapshot, limits, report.plan) == []


def _component_dcs(snapshot, limits) -> list[str]:
    from engine.maintenance.decompose import plan_components

    return [",".join(c.datacenters) for c in plan_components(snapshot, limits)]


def _wait_for_stop_then_mark(job, progress, cancel):
    """Job i leaves a marker when it starts; jobs 0 and 1 then run until they are stopped."""
    folder, i = job
    (Path(folder) / f"started-{i}").touch()
    if i < 2:
        cancel.wait(60)
        return ("stopped" if cancel.cancelled else "timed out", i)
    return ("ran", i)


def test_the_process_pool_runs_no_queued_job_after_a_stop(tmp_path):
    jobs = [(str(tmp_path), i) for i in range(6)]
    cancel = Cancellation()
    out = []
    runner = ProcessExecutor(2)
    results = runner.run(_wait_for_stop_then_mark, jobs, lambda i, f: None, cancel)

    def both_running():
        return (tmp_path / "started-0").exists() and (tmp_path / "started-1").exists()

    import threading

    def cancel_once_running():
        wait_until(both_running, timeout=120, what="jobs 0 and 1 to start")
        cancel.cancel()

    threading.Thread(target=cancel_once_running, daemon=True).start()
    started = time.monotonic()
    out = list(results)
    assert time.monotonic() - started < 60
    assert sorted(out) == [(0, ("stopped", 0)), (1, ("stopped", 1))]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["started-0", "started-1"]  # 2..5 never ran


def test_a_cancel_during_the_model_build_stops_it_before_the_next_constraint_family(monkeypatch):
    from engine.maintenance import cpsat
    from engine.maintenance.heuristic import schedule_heuristic
    from engine.maintenance.problem import build_problem, candidate_targets

    snapshot, limits = fleet(datacenters=1, vms=400)
    problem = build_problem(snapshot, limits)
    hint = schedule_heuristic(problem)
    candidates, pruned = candidate_targets(problem, None)
    cancel, built = Cancellation(), []
    real = cpsat.Constraints.add_target_rules

    def target_rules_then_cancel(self):
        built.append("target rules")
        real(self)
        cancel.cancel()  # as if the operator pressed `c y` right now

    monkeypatch.setattr(cpsat.Constraints, "add_target_rules", target_rules_then_cancel)
    monkeypatch.setattr(cpsat.Constraints, "add_capacity", lambda self: built.append("capacity"))
    result = cpsat.solve_cpsat(problem, candidates=candidates, exact=not pruned, hint=hint, time_limit_s=60,
                               cancel=cancel)
    assert built == ["target rules"]  # no later family was built, and no search ran
    assert result.status == "feasible" and result.schedule is hint and result.bound is None


def test_candidate_targets_stop_when_asked():
    from engine.maintenance.problem import build_problem, candidate_targets

    snapshot, limits = fleet(datacenters=1, vms=2000)
    problem = build_problem(snapshot, limits)
    asked = []

    def stop():
        asked.append(1)
        return len(asked) > 1

    candidates, _ = candidate_targets(problem, 4, stop=stop)
    assert candidates is None and len(asked) == 2 and len(problem.tasks) > 256
