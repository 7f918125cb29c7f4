"""Operator flows through the console with Textual's Pilot.

The solve flow uses the real store and a real worker process (never a solve in the test's
process): load → edit a limit → solve → watch → cancel. Other flows use fixed in-memory data.
Solves are driven through actions and awaited; keys are pressed only where the key is the point.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from console.app import FleetConsole
from console.console_data import MemoryData, StoreData
from console.widgets.gantt import Gantt
from console.widgets.line_table import LineTable
from tests.console_fixtures import big_plan, fixture_data, run_view
from tests.runs_support import demo_snapshot, start_worker, stop_worker

NO_KEYMAP = Path(__file__).with_name("no-such-keymap.toml")  # never the operator's own keymap


async def until(pilot, predicate, timeout: float = 40.0, what: str = "condition", info=None):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}" + (f": {info()}" if info else ""))
        await asyncio.sleep(0.1)
        await pilot.pause()


@pytest.fixture
def store_db(tmp_path):
    from console.store.db import close_engine, open_engine
    from console.store.fleet_store import save_snapshot
    from engine.documents import parse_snapshot

    db = tmp_path / "console.db"
    engine = open_engine(db)
    save_snapshot(engine, parse_snapshot(demo_snapshot(), "demo"))
    close_engine(engine)
    return db


def test_load_edit_limit_solve_watch_and_cancel(store_db):
    from console.store.runs import live_workers, runs_engine

    worker = start_worker(store_db)
    data = StoreData(store_db, worker_idle_exit_s=5)
    try:
        deadline = time.monotonic() + 20
        while not live_workers(runs_engine(store_db)) and time.monotonic() < deadline:
            time.sleep(0.1)

        async def flow():
            app = FleetConsole(data, poll_interval=0.2, keymap_path=store_db.with_suffix(".keys"))
            async with app.run_test(size=(140, 40)) as pilot:
                await app.workers.wait_for_complete()
                await pilot.pause()
                # 1. the fleet is loaded from the store
                hosts = app.screen.query_one("#hosts", LineTable)
                assert hosts.row_count == 40
                # 2. edit a limit: a bad value is refused, a good one becomes the current limits
                await pilot.press("2")
                limits_screen = app.screen
                field = limits_screen.query_one("#lim-concurrency-per_source_host")
                field.focus()
                field.value = "two"
                await pilot.pause()
                assert field.has_class("-invalid")
                assert app.limits.concurrency.per_source_host is None
                field.value = "3"
                limits_screen.query_one("#lim-solve-time_limit_s").value = "20"
                limits_screen.query_one("#lim-solve-workers").value = "1"
                await pilot.pause()
                assert not field.has_class("-invalid")
                assert app.limits.concurrency.per_source_host == 3
                # esc leaves the field, then digits switch screens again
                await pilot.press("escape", "3")
                assert app.current_mode == "solve"
                # 3. solve in the background (a worker process runs it)
                app.screen.action_start()
                await until(pilot, lambda: app.active_run is not None and app.active_events, what="first progress",
                            info=lambda: (app.active_run, [n.message for n in app._notifications]))
                run_id = app.active_run.id
                assert app.active_run.options["solver"] == "cp-sat"
                # 4. watch: the schedule screen is live (shows the plan as soon as the run has one)
                await pilot.press("4")
                assert app.current_mode == "schedule"
                # 5. cancel, after confirmation
                await pilot.press("3")
                await pilot.press("c")
                assert type(app.screen).__name__ == "ConfirmScreen"
                await pilot.press("y")
                await until(pilot, lambda: app.active_run is not None and app.active_run.terminal, what="end of run")
                final = app.active_run
                assert final.id == run_id
                assert final.status in ("cancelled", "succeeded")  # a very fast solve may finish first
                if final.status == "cancelled":
                    assert final.cancel_requested
                # the kept plan is on the Gantt, one bar per migration
                await until(pilot, lambda: app.shown_run_id == run_id, what="plan shown")
                await pilot.press("4")
                gantt = app.screen.query_one(Gantt)
                bars = sum(1 for line in gantt.lines for b in line.bars if b.kind == "migration")
                assert bars == len(app.shown_plan.migrations) > 0
                assert app.shown_plan.makespan >= app.shown_plan.lower_bound

        asyncio.run(flow())
    finally:
        stop_worker(worker)
        for pid in data.spawned_workers:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass


def test_open_a_run_from_history_and_compare_two():
    data, snap, plan_a, plan_b = fixture_data()

    async def flow():
        app = FleetConsole(data, start_mode="runs", poll_interval=3600, keymap_path=NO_KEYMAP)
        async with app.run_test(size=(140, 40)) as pilot:
            await app.workers.wait_for_complete()
            await pilot.pause()
            table = app.screen.query_one(LineTable)
            assert [r.key for r in table.rows] == ["5", "4", "3", "2", "1"]
            table.move_to_key("1")
            await pilot.press("enter")
            await until(pilot, lambda: app.current_mode == "schedule", what="schedule screen")
            await app.workers.wait_for_complete()
            await pilot.pause()
            gantt = app.screen.query_one(Gantt)
            assert app.shown_run_id == 1
            assert gantt.plan == plan_a
            # select a bar: the details name the VM and its hosts
            await pilot.press("right")
            details = gantt.selected_details()
            assert details is not None and details["kind"] in ("migration", "reboot")
            # esc goes back to the runs list
            await pilot.press("escape")
            assert app.current_mode == "runs"
            # compare runs 1 and 2
            table = app.screen.query_one(LineTable)
            table.move_to_key("2")
            await pilot.press("space")
            table.move_to_key("1")
            await pilot.press("space", "c")
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert type(app.screen).__name__ == "CompareScreen"
            from console.plan_metrics import maintenance_metrics

            body = app.screen.query_one("#compare-body")
            rendered = str(body.render())
            assert "Peak concurrent migrations per customer" in rendered or body.visual is not None
            ma, mb = maintenance_metrics(plan_a, snap), maintenance_metrics(plan_b, snap)
            assert ma.makespan != mb.makespan  # the two fixture plans differ
            # a placement run opens on Allocation
            await pilot.press("escape")
            app.open_run(3)
            await until(pilot, lambda: app.current_mode == "allocation", what="allocation screen")
            await pilot.pause()
            assert app.screen.query_one(LineTable).row_count == len(app.shown_plan.assignments)

    asyncio.run(flow())


def test_cancel_from_runs_needs_confirmation():
    data, *_ = fixture_data()
    data._runs[5] = run_view(5, "maintenance", "running", None)

    async def flow():
        app = FleetConsole(data, start_mode="runs", poll_interval=3600, keymap_path=NO_KEYMAP)
        async with app.run_test(size=(120, 34)) as pilot:
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert app.active_run_id == 5  # a run already running when the console opens is followed
            app.screen.query_one(LineTable).move_to_key("5")
            await pilot.press("x")
            assert type(app.screen).__name__ == "ConfirmScreen"
            await pilot.press("n")
            assert data.get_run(5).status == "running"
            await pilot.press("x", "y")
            await app.workers.wait_for_complete()
            assert data.get_run(5).status == "cancelled"

    asyncio.run(flow())


class SlowData(MemoryData):
    """get_run takes 0.3 s and records how many calls overlap."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.calls = 0
        self.active = 0
        self.max_active = 0
        self._count = threading.Lock()

    def get_run(self, run_id):
        with self._count:
            self.calls += 1
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        time.sleep(0.3)
        with self._count:
            self.active -= 1
        return super().get_run(run_id)


def test_progress_polls_are_throttled_and_never_overlap():
    base, *_ = fixture_data()
    data = SlowData(base.snapshot(), [replace(base.get_run(1), id=9, status="running", finished_at=None)])

    async def flow():
        app = FleetConsole(data, start_mode="solve", poll_interval=0.05, keymap_path=NO_KEYMAP)
        async with app.run_test(size=(120, 34)) as pilot:
            app.watch_run(9)
            await asyncio.sleep(1.6)
            await pilot.pause()
            assert data.max_active == 1
            assert 2 <= data.calls <= 7  # one 0.3 s poll at a time, not one every 0.05 s

    asyncio.run(flow())


def test_gantt_builds_only_visible_lines_at_10k_migrations():
    snap, plan = big_plan(10_000)
    data = MemoryData(snap, [])

    async def flow():
        app = FleetConsole(data, start_mode="schedule", poll_interval=3600, keymap_path=NO_KEYMAP)
        async with app.run_test(size=(160, 50)) as pilot:
            await until(pilot, lambda: app.fleet_sha256 is not None, what="fleet loaded and hashed")
            await app.workers.wait_for_complete()
            app.show_plan(plan, "synthetic")
            await pilot.pause()
            gantt = app.screen.query_one(Gantt)
            assert len(gantt.lines) >= 1000
            visible = gantt.scrollable_content_region.height
            assert 0 < len(gantt._cache) <= visible
            await pilot.press("pagedown", "pagedown", "shift+right")
            await pilot.pause()
            assert round(gantt.scroll_y) > 0
            # a few screens of strips are cached at most, never the whole chart
            assert len(gantt._cache) <= 4 * visible

    asyncio.run(flow())


def test_keymap_file_rebinds_an_action(tmp_path):
    data, *_ = fixture_data()
    keymap = tmp_path / "keymap.toml"
    keymap.write_text('[keys]\n"fleet.filter" = "f"\n', encoding="utf-8")

    async def flow():
        app = FleetConsole(data, poll_interval=3600, keymap_path=keymap)
        async with app.run_test(size=(120, 34)) as pilot:
            await app.workers.wait_for_complete()
            await pilot.pause()
            await pilot.press("f")
            bar = app.screen.query_one("FilterBar")
            assert bar.has_class("-shown") and app.focused is bar
            await pilot.press("escape")
            assert not bar.has_class("-shown")
            await pilot.press("slash")  # the default key no longer filters
            assert not bar.has_class("-shown")

    asyncio.run(flow())


def test_save_and_load_a_named_limit_set():
    data, *_ = fixture_data()

    async def flow():
        app = FleetConsole(data, start_mode="limits", poll_interval=3600, keymap_path=NO_KEYMAP)
        async with app.run_test(size=(140, 44)) as pilot:
            await app.workers.wait_for_complete()
            await pilot.pause()
            screen = app.screen
            screen.query_one("#lim-concurrency-per_rack").value = "5"
            screen.query_one("#lim-conflict-overrides").value = "ghost=1"
            await pilot.pause()
            assert "ghost" in str(screen.query_one("#limits-status").render())  # valid, but warned about
            screen.query_one("#lim-conflict-overrides").value = "cust-a=3"
            await pilot.pause()
            assert "ghost" not in str(screen.query_one("#limits-status").render())
            assert app.limits.concurrency.per_rack == 5
            await pilot.press("ctrl+s")
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert type(app.screen).__name__ == "AskScreen"
            app.screen.query_one("#ask-input").value = "maint-window"
            await pilot.press("enter")
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert data.load_limits("maint-window").conflict.overrides == {"cust-a": 3}
            assert app.limits_name == "maint-window"
            # load another set: the form and the current limits follow it
            await pilot.press("ctrl+o")
            await app.workers.wait_for_complete()
            await pilot.pause()
            picker = app.screen
            assert type(picker).__name__ == "PickScreen" and picker.names == ["maint-window", "night"]
            await pilot.press("down", "enter")
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert app.limits_name == "night"
            assert app.limits.concurrency.per_source_host == 3
            assert screen.query_one("#lim-concurrency-per_source_host").value == "3"
            assert screen.query_one("#lim-concurrency-per_rack").value == ""

    asyncio.run(flow())


def test_esc_clears_a_filter_before_going_back():
    data, *_ = fixture_data()

    async def flow():
        app = FleetConsole(data, start_mode="runs", poll_interval=3600, keymap_path=NO_KEYMAP)
        async with app.run_test(size=(120, 34)) as pilot:
            await app.workers.wait_for_complete()
            await pilot.pause()
            await pilot.press("1")  # runs → fleet, so "back" has somewhere to go
            await app.workers.wait_for_complete()
            await pilot.pause()
            table = app.screen.query_one("#hosts", LineTable)
            await pilot.press("slash", *"r02", "enter")
            assert table.row_count == 4 and app.focused is table
            await pilot.press("escape")
            assert table.row_count == 12 and app.current_mode == "fleet"
            await pilot.press("escape")
            assert app.current_mode == "runs"

    asyncio.run(flow())


def test_gantt_follows_a_running_solve_that_stores_better_plans():
    """When the runs store keeps incumbents, the Gantt re-renders while the run is still running."""
    data, snap, plan_a, plan_b = fixture_data()
    dump = lambda plan: plan.model_dump(mode="json", by_alias=True, exclude_none=True)  # noqa: E731
    data._runs[9] = run_view(9, "maintenance", "running", dump(plan_b), objective=plan_b.makespan)

    async def flow():
        app = FleetConsole(data, start_mode="schedule", poll_interval=0.05, keymap_path=NO_KEYMAP)
        async with app.run_test(size=(140, 40)) as pilot:
            await app.workers.wait_for_complete()
            await until(pilot, lambda: app.shown_run_id == 9, timeout=10, what="first incumbent")
            gantt = app.screen.query_one(Gantt)
            assert gantt.plan == plan_b and app.active_run.status == "running"
            # a better incumbent arrives: same run, still running
            data._runs[9] = replace(data._runs[9], plan=dump(plan_a), objective=plan_a.makespan)
            await until(pilot, lambda: gantt.plan == plan_a, timeout=10, what="better incumbent on the Gantt")
            assert app.active_run.status == "running"
            assert "makespan 80" in str(app.screen.query_one("#schedule-head").render())

    asyncio.run(flow())
