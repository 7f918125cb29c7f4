"""Runs end to end through a real worker process: lifecycle, cancel, infeasible, errors, schedules."""

from __future__ import annotations

import os
import time

import pytest

from console.store.runs import enqueue_run, get_run, list_runs, request_cancel, run_progress, runs_engine
from engine.documents import parse_snapshot
from engine.model import Limits, MaintenancePlan
from engine.validate import validate_maintenance
from tests.runs_support import demo_limits, demo_snapshot, start_worker, stop_worker, toy_limits, toy_snapshot, wait_until


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A database served by one foreground worker running two runs at a time."""
    db = tmp_path_factory.mktemp("runs") / "fleet.db"
    engine = runs_engine(db)
    worker = start_worker(db, concurrency=2)
    yield db, engine, worker
    stop_worker(worker)


def _terminal(engine, run_id, timeout=30):
    return wait_until(lambda: (v := get_run(engine, run_id)) is not None and v.terminal and v, timeout,
                      what=f"run {run_id} to finish")


def _assert_valid_maintenance(engine, view):
    from console.store.runs import run_input

    _, body = run_input(engine, view.input_key)
    snapshot = parse_snapshot(__import__("json").loads(body))
    plan = MaintenancePlan.model_validate(view.plan)
    assert validate_maintenance(snapshot, Limits.model_validate(view.limits or {}), plan) == []
    return plan


def test_lifecycle_queued_running_succeeded_with_a_valid_plan(served):
    db, engine, worker = served
    run_id = enqueue_run(engine, "maintenance", snapshot=demo_snapshot(), limits=demo_limits(),
                         options={"solver": "cp-sat", "time_limit_s": 1, "workers": 1})
    seen = {get_run(engine, run_id).status}
    running = wait_until(lambda: (v := get_run(engine, run_id)).status == "running" and v, 20, what="running")
    seen.add("running")
    assert running.worker_pid == worker.pid and running.started_at >= running.created_at
    wait_until(lambda: get_run(engine, run_id).executor_pid, 10, what="executor pid")
    final = _terminal(engine, run_id)
    assert seen <= {"queued", "running"} and "running" in seen
    assert final.status == "succeeded", final.error
    assert final.executor_pid not in (None, worker.pid, os.getpid())
    assert final.finished_at >= final.started_at
    plan = _assert_valid_maintenance(engine, final)
    assert plan.status in ("optimal", "feasible") and final.objective == plan.makespan
    events = run_progress(engine, run_id)
    assert events and all(e.elapsed_s >= 0 for e in events)
    assert run_progress(engine, run_id, since_id=events[-1].id) == []
    assert [r.id for r in list_runs(engine, status="succeeded")].count(run_id) == 1


def test_cancel_keeps_the_best_plan_found_so_far(served):
    db, engine, _ = served
    run_id = enqueue_run(engine, "maintenance", snapshot=demo_snapshot(), limits=demo_limits(),
                         options={"solver": "cp-sat", "time_limit_s": 60, "workers": 1})
    wait_until(lambda: any(e.objective is not None for e in run_progress(engine, run_id)), 30, what="a first plan")
    asked = time.monotonic()
    assert request_cancel(engine, run_id).cancel_requested
    final = _terminal(engine, run_id, timeout=15)
    assert time.monotonic() - asked < 10, "a cancel must stop the search quickly, not at the 60 s limit"
    assert final.status == "cancelled"
    assert final.plan is not None and final.plan["status"] in ("feasible", "optimal")
    _assert_valid_maintenance(engine, final)
    assert "best plan" in final.error


def test_cancel_of_a_queued_run_is_immediate(tmp_path):
    engine = runs_engine(tmp_path / "idle.db")  # no worker serves this database
    run_id = enqueue_run(engine, "maintenance", snapshot=toy_snapshot(), options={"solver": "heuristic"})
    view = request_cancel(engine, run_id)
    assert view.status == "cancelled" and view.started_at is None and view.plan is None


def test_infeasible_run_stores_the_explanation(served):
    db, engine, _ = served
    snap = toy_snapshot()
    snap["vms"].append({"id": "huge", "host": None, "customer": "c1", "cpu": 999, "memory_gb": 8, "disk_gb": 10})
    run_id = enqueue_run(engine, "placement", snapshot=snap, options={"solver": "ffd"})
    final = _terminal(engine, run_id)
    assert final.status == "infeasible"
    assert final.plan["status"] == "infeasible" and "huge" in final.plan["explanation"]
    assert final.error == final.plan["explanation"]


def test_a_solver_error_fails_the_run_with_its_message(served):
    db, engine, _ = served
    run_id = enqueue_run(engine, "maintenance", snapshot=toy_snapshot(), options={"solver": "no-such-solver"})
    final = _terminal(engine, run_id)
    assert final.status == "failed" and "no-such-solver" in final.error and final.plan is None


def test_placement_runs_too(served, tmp_path):
    db, engine, _ = served
    snap = toy_snapshot()
    snap["vms"].append({"id": "new-1", "host": None, "customer": "c1", "cpu": 2, "memory_gb": 8, "disk_gb": 10})
    run_id = enqueue_run(engine, "placement", snapshot=snap, options={"solver": "ffd"})
    final = _terminal(engine, run_id)
    assert final.status == "succeeded", final.error
    assert [a["vm"] for a in final.plan["assignments"]] == ["new-1"]


def test_schedule_fires_on_the_current_snapshot_and_publishes_its_latest_plan(served):
    from console.store.fleet_store import save_snapshot
    from console.store.schedules import add_schedule, latest_plans, list_schedules, remove_schedule

    db, engine, _ = served
    save_snapshot(engine, parse_snapshot(toy_snapshot()))
    schedule_id = add_schedule(engine, "maintenance", 1, limits=toy_limits(), options={"solver": "heuristic"})

    def succeeded_runs():
        return [r for r in list_runs(engine, status="succeeded") if r.schedule_id == schedule_id]

    runs = wait_until(lambda: len(succeeded_runs()) >= 2 and succeeded_runs(), 20, what="two scheduled runs")
    published = [p for p in latest_plans(engine, "maintenance") if p.schedule_id == schedule_id]
    assert len(published) == 1
    assert published[0].run_id == max(r.id for r in runs) and published[0].plan["makespan"] == 20
    assert latest_plans(engine, "placement") == [] or all(p.kind == "placement" for p in latest_plans(engine, "placement"))
    assert remove_schedule(engine, schedule_id)
    assert schedule_id not in [s.id for s in list_schedules(engine)]
    time.sleep(0.5)  # a firing already claimed may still be queued; after that, nothing more
    count = len([r for r in list_runs(engine, limit=1000) if r.schedule_id == schedule_id])
    time.sleep(1.5)  # more than one interval: a live schedule would have fired again
    assert len([r for r in list_runs(engine, limit=1000) if r.schedule_id == schedule_id]) == count
