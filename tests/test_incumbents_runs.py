"""A running run stores its best validated plan so far (the incumbent), and shows it."""

from __future__ import annotations

import json
import os

from typer.testing import CliRunner

from console.store.runs import claim_next_run, enqueue_run, finish_run, get_run, pump, run_input, runs_engine
from engine.documents import parse_snapshot
from engine.generate import FleetSpec, generate_snapshot
from engine.model import Limits, MaintenancePlan
from engine.validate import validate_maintenance
from tests.runs_support import demo_limits, start_worker, stop_worker, wait_until


def _fleet():
    return generate_snapshot(FleetSpec(seed=1, racks_per_datacenter=2, vms=60, reboot_fraction=0.6))


def _check(engine, view) -> MaintenancePlan:
    _, body = run_input(engine, view.input_key)
    plan = MaintenancePlan.model_validate(view.plan)
    assert validate_maintenance(parse_snapshot(json.loads(body)), Limits.model_validate(view.limits), plan) == []
    return plan


def test_a_running_run_stores_a_valid_incumbent_shown_by_runs_show(tmp_path):
    from console.cli.main import app

    db = tmp_path / "runs.db"
    engine = runs_engine(db)
    run_id = enqueue_run(engine, "maintenance", snapshot=_fleet(), limits=demo_limits(),
                         options={"solver": "cp-sat", "time_limit_s": 6, "workers": 1})
    worker = start_worker(db)
    try:
        running = wait_until(lambda: (v := get_run(engine, run_id)).status == "running" and v.plan is not None and v,
                             timeout=30, what="an incumbent on the running run")
        incumbent = _check(engine, running)
        assert running.objective == incumbent.makespan and running.plan_status in ("feasible", "optimal")
        shown = CliRunner().invoke(app, ["runs", "show", str(run_id), "--json", "--db", str(db)], catch_exceptions=False)
        out = json.loads(shown.stdout)
        assert out["status"] in ("running", "succeeded")  # (it may just have finished)
        assert out["plan"]["makespan"] <= incumbent.makespan
        final = wait_until(lambda: (v := get_run(engine, run_id)).terminal and v, timeout=30, what="the end of the run")
        assert final.status == "succeeded"
        assert _check(engine, final).makespan <= incumbent.makespan
    finally:
        stop_worker(worker)


def test_an_incumbent_never_overwrites_a_finished_run(tmp_path):
    engine = runs_engine(tmp_path / "runs.db")
    run_id = enqueue_run(engine, "maintenance", snapshot=_fleet(), limits=demo_limits())
    final = {"version": 1, "kind": "maintenance", "status": "optimal", "makespan": 10, "migrations": [], "reboots": []}
    late = dict(final, status="feasible", makespan=20)
    assert claim_next_run(engine, os.getpid()) == run_id  # this process plays the worker
    pump(engine, run_id, [], heartbeat=False, plan=dict(final, status="feasible", makespan=12))
    assert get_run(engine, run_id).objective == 12 and get_run(engine, run_id).status == "running"
    assert finish_run(engine, run_id, "succeeded", plan=final)
    pump(engine, run_id, [], heartbeat=False, plan=late)  # a straggling incumbent write after the verdict
    view = get_run(engine, run_id)
    assert view.status == "succeeded" and view.objective == 10 and view.plan["status"] == "optimal"
