"""Progress from sub-solves reaches the run's store without waiting for a timer tick (issue 14 item 5):
fleet-wide events are throttled but the latest values always go out, and the run's pump writes as soon
as the solver reports; a cancelled run's status, error and plan notes tell one story (issue 12 item 9)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from engine.maintenance import solve as solve_module
from engine.progress import Cancellation, ProgressEvent
from tests.runs_support import ROOT, wait_until
from tests.scaleout_support import LIMITS, fleet


def test_a_throttled_fleet_event_still_goes_out_without_a_further_report():
    events = []
    merged = solve_module._MergedProgress(1, None, events.append, time.monotonic())
    merged.update(0, {"objective": 50})
    merged.update(0, {"objective": 40})  # inside the throttle window: held, not dropped
    wait_until(lambda: any(e.objective == 40 for e in events), timeout=5, what="the held objective 40")
    merged.close()
    merged.update(0, {"objective": 30})
    time.sleep(3 * solve_module.EMIT_EVERY_S)
    assert all(e.objective != 30 for e in events)  # nothing after close (the solve has returned)


def test_a_component_objective_never_goes_up_when_its_search_starts_worse_than_its_first_plan():
    events = []
    merged = solve_module._MergedProgress(1, None, events.append, time.monotonic())
    merged.update(0, {"objective": 40})
    time.sleep(1.5 * solve_module.EMIT_EVERY_S)
    merged.update(0, {"objective": 45})
    time.sleep(1.5 * solve_module.EMIT_EVERY_S)
    merged.close()
    assert [e.objective for e in events] and max(e.objective for e in events) == 40


def test_the_run_pump_writes_a_report_at_once_not_at_its_next_tick(monkeypatch):
    import console.runner.executor as executor
    import console.store.runs as runs

    writes = []
    monkeypatch.setattr(executor, "PUMP_INTERVAL_S", 30.0)  # the old tick would hold the report this long
    monkeypatch.setattr(runs, "pump", lambda engine, run_id, events, heartbeat, plan: writes.append(
        (time.monotonic(), [e.objective for e in events])) or False)
    monkeypatch.setattr(runs, "cancel_requested", lambda engine, run_id: False)
    pump = executor._Pump(None, 1, Cancellation(), os.getppid())  # (it exits if its parent changes)
    pump.start()
    try:
        time.sleep(0.2)
        reported = time.monotonic()
        pump.on_progress(ProgressEvent(elapsed_s=1.0, objective=7))
        wait_until(lambda: writes, timeout=5, what="the pump's write")
        assert writes[0][1] == [7] and writes[0][0] - reported < 5
    finally:
        pump.stop()
    assert not pump.is_alive()


@pytest.mark.slow
def test_a_cancelled_run_keeps_its_plan_and_every_surface_says_so(tmp_path):
    snapshot, _ = fleet(datacenters=2, vms=4000, regional=True)
    (tmp_path / "fleet.json").write_text(snapshot.model_dump_json(by_alias=True, exclude_none=True))
    (tmp_path / "limits.json").write_text(json.dumps(LIMITS))
    db = str(tmp_path / "runs.db")
    fleetctl = [sys.executable, "-m", "console.cli.main"]

    def cli(*args, timeout=120):
        return subprocess.run(fleetctl + list(args), capture_output=True, text=True, timeout=timeout, cwd=ROOT)

    submitted = cli("runs", "submit", "maintenance", "--db", db, "--snapshot", str(tmp_path / "fleet.json"),
                    "--limits", str(tmp_path / "limits.json"), "--time-limit", "300")
    assert submitted.returncode == 0, submitted.stderr
    run_id = submitted.stdout.strip().splitlines()[-1]

    def shown():
        return json.loads(cli("runs", "show", run_id, "--db", db, "--json").stdout)

    try:
        wait_until(lambda: shown().get("plan"), timeout=180, every=1.0, what="a stored incumbent plan")
        time.sleep(1.0)
        assert cli("runs", "cancel", run_id, "--db", db).returncode == 0
        watched = cli("runs", "watch", run_id, "--db", db, "--plain", "--timeout", "90", timeout=120)
        run = shown()
    finally:
        from console.store.runs import runs_engine
        from tests.runs_support import kill_spawned_workers

        kill_spawned_workers(runs_engine(db, create=False))
    assert run["status"] == "cancelled", (run["status"], run.get("error"), watched.stdout)
    assert "the best plan found so far is kept" in run["error"]
    assert "killed" not in run["error"]  # the worker never had to kill the solver
    plan = run["plan"]
    assert plan["status"] in ("optimal", "feasible")
    assert any(n.startswith("cancelled on request after") and "was kept" in n for n in plan["notes"])
