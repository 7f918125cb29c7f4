"""The Schedule screen draws a running run's incumbent (real store, real worker, Pilot)."""

from __future__ import annotations

import asyncio
import os
import signal

from console.app import FleetConsole
from console.console_data import StoreData
from console.widgets.gantt import Gantt
from engine.generate import FleetSpec, generate_snapshot
from engine.model import Limits
from engine.validate import validate_maintenance
from tests.runs_support import demo_limits, start_worker, stop_worker
from tests.test_console_flows import until


def test_schedule_shows_the_incumbent_of_a_running_solve(tmp_path):
    from console.store.db import close_engine, open_engine
    from console.store.fleet_store import save_snapshot
    from console.store.runs import live_workers, runs_engine
    from tests.runs_support import wait_until

    snapshot = generate_snapshot(FleetSpec(seed=1, racks_per_datacenter=2, vms=60, reboot_fraction=0.6))
    limits = Limits.model_validate(demo_limits())
    db = tmp_path / "console.db"
    engine = open_engine(db)
    save_snapshot(engine, snapshot)
    close_engine(engine)
    worker = start_worker(db)
    data = StoreData(db, worker_idle_exit_s=5)
    try:
        wait_until(lambda: live_workers(runs_engine(db)), timeout=20, what="the worker")

        async def flow():
            app = FleetConsole(data, poll_interval=0.2, keymap_path=db.with_suffix(".keys"))
            async with app.run_test(size=(140, 40)) as pilot:
                await app.workers.wait_for_complete()
                app.limits = limits
                app.start_run("maintenance", {"solver": "cp-sat", "time_limit_s": 6, "workers": 1})
                await pilot.press("4")
                assert app.current_mode == "schedule"
                # while the run is still running, its incumbent is on the Gantt
                await until(pilot, lambda: app.active_run is not None and app.active_run.status == "running"
                            and app.shown_run_id == app.active_run.id, timeout=30, what="an incumbent on the Gantt")
                run_id = app.active_run.id
                gantt = app.screen.query_one(Gantt)
                incumbent = app.shown_plan
                assert gantt.plan == incumbent
                assert validate_maintenance(snapshot, limits, incumbent) == []
                bars = sum(1 for line in gantt.lines for b in line.bars if b.kind == "migration")
                assert bars == len(incumbent.migrations) > 0
                # the headline says the chart is the best plan so far of the run still solving
                head = lambda: str(app.screen.query_one("#schedule-head").render())  # noqa: E731
                await until(pilot, lambda: "best plan so far" in head(), timeout=10,
                            what="the incumbent headline", info=head)
                assert f"run {run_id} (maintenance, running)" in head()
                # the run ends: the final plan replaces it, never worse
                await until(pilot, lambda: app.active_run_id is None, timeout=30, what="the end of the run")
                await until(pilot, lambda: "succeeded" in app.shown_label, timeout=10, what="the final plan shown")
                assert gantt.plan == app.shown_plan and app.shown_plan.makespan <= incumbent.makespan

        asyncio.run(flow())
    finally:
        stop_worker(worker)
        for pid in data.spawned_workers:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
