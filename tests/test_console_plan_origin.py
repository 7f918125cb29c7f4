"""Issue 12, defects 2 and 7: a plan made for another fleet says so, and an export never
overwrites a file (or ships another fleet's plan) without the operator's yes.

The run's plan is made by the runner's own dispatch (in this process, heuristic solver, tiny
fleet) and stored in a real SQLite store; the fleet is replaced by another process
(`fleetctl load --replace`) while the console is open, as an operator's colleague would.
"""

from __future__ import annotations

import asyncio
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from console.app import FleetConsole
from console.console_data import StoreData
from tests.test_console_trust import settle, type_keys

ROOT = Path(__file__).resolve().parents[1]
NO_KEYMAP = Path(__file__).with_name("no-such-keymap.toml")
FLEETCTL = str(Path(sys.executable).with_name("fleetctl"))


def fleetctl(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([FLEETCTL, *args], capture_output=True, text=True, timeout=120, cwd=ROOT)


def solved_run(db: Path) -> int:
    """A maintenance run whose plan the runner's dispatch produced (so it carries `inputs`)."""
    from console.runner.dispatch import SOLVE, RunInputs
    from console.store.runs import claim_next_run, enqueue_run, finish_run, get_run, run_input, runs_engine
    from engine.progress import Cancellation

    engine = runs_engine(db)
    run_id = enqueue_run(engine, "maintenance", limits=None, limits_name="defaults",
                         options={"solver": "heuristic", "time_limit_s": 5})
    assert claim_next_run(engine, os.getpid()) == run_id
    view = get_run(engine, run_id)
    media, body = run_input(engine, view.input_key)
    plan = SOLVE["maintenance"](RunInputs("maintenance", media, body, view.limits, view.options),
                                lambda e: None, Cancellation())
    assert finish_run(engine, run_id, "succeeded", plan=plan)
    engine.dispose()
    return run_id


@pytest.fixture
def demo_db(tmp_path) -> Path:
    db = tmp_path / "demo.db"
    assert fleetctl("load", "fixtures/demo.json", "--db", str(db)).returncode == 0
    return db


def test_dispatch_stamps_inputs_that_match_the_fleet_the_console_hashes(demo_db):
    from console.store.runs import get_run, runs_engine
    from engine.fingerprint import sha256_of

    run_id = solved_run(demo_db)
    run = get_run(runs_engine(demo_db), run_id)
    inputs = run.plan["inputs"]
    assert inputs["snapshot_sha256"] == sha256_of(StoreData(demo_db).snapshot()) == run.input_key
    assert inputs["limits_sha256"] and len(inputs["limits_sha256"]) == 64


def test_cli_solve_stamps_inputs_with_the_snapshot_id(demo_db, tmp_path):
    out = tmp_path / "plan.json"
    result = fleetctl("solve", "maintenance", "--db", str(demo_db), "--solver", "heuristic", "--time-limit", "5",
                      "--out", str(out))
    assert result.returncode == 0, result.stderr
    inputs = json.loads(out.read_text())["inputs"]
    assert inputs["snapshot_id"] == 1 and len(inputs["snapshot_sha256"]) == 64


def test_a_plan_shown_after_another_process_reloads_the_fleet_says_so_and_export_asks(demo_db, tmp_path):
    run_id = solved_run(demo_db)

    async def flow():
        app = FleetConsole(StoreData(demo_db), poll_interval=0.2, keymap_path=NO_KEYMAP)
        async with app.run_test(size=(140, 40)) as pilot:
            await settle(pilot)
            app.open_run(run_id)
            await settle(pilot)
            assert app.current_mode == "schedule"
            origin = app.screen.query_one("#schedule-origin")
            assert not origin.has_class("-shown"), str(origin.render())
            # another shell replaces the fleet
            replaced = await asyncio.to_thread(fleetctl, "load", "fixtures/toy.json", "--db", str(demo_db), "--replace")
            assert replaced.returncode == 0, replaced.stderr
            await type_keys(pilot, "1", "f5", "4", gap=0.05)
            for _ in range(100):
                await settle(pilot)
                if app.fleet_sha256 is not None and app.snapshot.name != "demo":
                    break
                await asyncio.sleep(0.05)
            await settle(pilot)
            assert app.current_mode == "schedule"
            origin = app.screen.query_one("#schedule-origin")
            assert origin.has_class("-shown")
            assert "MADE FOR ANOTHER FLEET" in str(origin.render())
            # export refuses unless confirmed
            await pilot.press("e")
            assert type(app.screen).__name__ == "ConfirmScreen"
            assert "ANOTHER FLEET" in str(app.screen.query_one("#confirm-question").render())
            await pilot.press("n")
            await settle(pilot)
            assert type(app.screen).__name__ == "ScheduleScreen"
            assert not list(Path.cwd().glob(f"runbook-*-run{run_id}-*.csv"))

    asyncio.run(flow())


def test_export_asks_for_a_path_names_the_fleet_run_and_time_and_never_overwrites(demo_db, tmp_path):
    run_id = solved_run(demo_db)
    existing = tmp_path / "keep.csv"
    existing.write_text("precious\n", encoding="utf-8")

    async def flow():
        app = FleetConsole(StoreData(demo_db), poll_interval=3600, keymap_path=NO_KEYMAP)
        async with app.run_test(size=(140, 40)) as pilot:
            await settle(pilot)
            app.open_run(run_id)
            for _ in range(100):
                await settle(pilot)
                if app.fleet_sha256 is not None and app.shown_run_id == run_id:
                    break
                await asyncio.sleep(0.05)
            await type_keys(pilot, "e")
            await settle(pilot)
            assert type(app.screen).__name__ == "AskScreen"
            field = app.screen.query_one("#ask-input")
            default = Path(field.value)
            assert default.name.startswith(f"runbook-demo-run{run_id}-") and default.suffix == ".csv"
            field.value = str(existing)
            await type_keys(pilot, "enter")
            await settle(pilot)
            assert type(app.screen).__name__ == "ConfirmScreen"  # the file exists: ask
            await type_keys(pilot, "n")
            await settle(pilot)
            assert existing.read_text(encoding="utf-8") == "precious\n"
            # a new file: written at once, the CLI's bytes
            target = tmp_path / "new.csv"
            await type_keys(pilot, "e")
            await settle(pilot)
            app.screen.query_one("#ask-input").value = str(target)
            await type_keys(pilot, "enter")
            await app.workers.wait_for_complete()
            await settle(pilot)
            assert target.exists()
            rows = list(csv.DictReader(target.open(encoding="utf-8")))
            assert len(rows) == len(app.shown_plan.migrations) + len(app.shown_plan.reboots)
            # and the existing one is replaced only after yes
            await type_keys(pilot, "e")
            await settle(pilot)
            app.screen.query_one("#ask-input").value = str(existing)
            await type_keys(pilot, "enter")
            await settle(pilot)
            await type_keys(pilot, "y")
            await app.workers.wait_for_complete()
            await settle(pilot)
            assert existing.read_bytes() == target.read_bytes()

    asyncio.run(flow())


# ---------------------------------------------------------------- defect 5: live runs


def test_a_run_queued_by_another_process_appears_without_a_keypress_and_f5_refreshes(demo_db):
    from console.store.runs import runs_engine
    from tests.runs_support import kill_spawned_workers

    async def flow():
        app = FleetConsole(StoreData(demo_db, worker_idle_exit_s=3), start_mode="runs", poll_interval=0.2,
                           keymap_path=NO_KEYMAP)
        async with app.run_test(size=(140, 40)) as pilot:
            await settle(pilot)
            from console.widgets.line_table import LineTable

            table = app.screen.query_one(LineTable)
            assert table.row_count == 0
            result = await asyncio.to_thread(fleetctl, "solve", "maintenance", "--db", str(demo_db), "--solver",
                                             "heuristic", "--time-limit", "5", "--background")
            assert result.returncode == 0, result.stderr
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 2.5  # ≤ 1 s refresh, plus a loaded machine's slack
            while table.row_count == 0 and loop.time() < deadline:
                await asyncio.sleep(0.05)
            assert table.row_count == 1, "the externally queued run did not appear without a keypress"
            before = app.screen.refreshes
            await pilot.press("f5")
            await settle(pilot)
            assert app.screen.refreshes >= before + 1
            assert any(n.message == "runs refreshed" for n in app._notifications)
            # the console follows it, and Solve tells its end
            for _ in range(300):
                if app.active_run is not None and app.active_run.terminal:
                    break
                await asyncio.sleep(0.1)
            assert app.active_run is not None and app.active_run.status == "succeeded"

    try:
        asyncio.run(flow())
    finally:
        kill_spawned_workers(runs_engine(demo_db))


def test_on_start_the_latest_run_of_this_fleet_is_reopened(demo_db):
    run_id = solved_run(demo_db)

    async def flow():
        app = FleetConsole(StoreData(demo_db), start_mode="solve", poll_interval=3600, keymap_path=NO_KEYMAP)
        async with app.run_test(size=(140, 40)) as pilot:
            for _ in range(100):
                await settle(pilot)
                if app.shown_run_id is not None:
                    break
                await asyncio.sleep(0.05)
            assert app.active_run is not None and app.active_run.id == run_id
            status = str(app.screen.query_one("#solve-status").render())
            assert f"run {run_id}" in status and "No run yet" not in status and "succeeded" in status
            assert app.shown_run_id == run_id
            await pilot.press("4")
            head = str(app.screen.query_one("#schedule-head").render())
            assert f"run {run_id}" in head and "running" not in head

    asyncio.run(flow())
