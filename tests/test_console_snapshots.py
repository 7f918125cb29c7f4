"""Screenshots of every console screen at two terminal sizes, on fixed fixture data.

The plans come from tests/console_fixtures.py (a deterministic list schedule), never from a live
solver, so a screenshot changes only when the console's rendering does. Update with
`pytest tests/test_console_snapshots.py --snapshot-update` after checking the new SVGs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from console.app import FleetConsole
from console.store.runs import ProgressView
from tests.console_fixtures import T0, fixture_data, run_view

SIZES = {"small": (110, 32), "large": (160, 46)}
NO_KEYMAP = Path(__file__).with_name("no-such-keymap.toml")  # never the operator's own keymap


def make_app(start_mode: str = "fleet") -> FleetConsole:
    data, _snap, _a, _b = fixture_data()
    return FleetConsole(data, start_mode=start_mode, poll_interval=3600, keymap_path=NO_KEYMAP)


async def settle(pilot) -> None:
    import asyncio

    app = pilot.app
    for _ in range(200):  # the fleet loads (and is hashed, and its latest run reopened) after the first frame
        if app.fleet_version > 0 and (app.snapshot is None or app.fleet_sha256 is not None):
            break
        await asyncio.sleep(0.02)
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await layout_settled(pilot)


async def layout_settled(pilot) -> None:
    """Until no widget asks for a layout or a repaint: a Static updated from a worker's callback (the Runs
    detail) changes its height one refresh later, and a picture taken between the two is one line short
    (seen once under a loaded full run)."""
    screen = pilot.app.screen
    for _ in range(100):
        pending = screen._layout_required or screen._dirty_widgets or any(
            w._layout_required or w._repaint_required for w in screen.walk_children())
        if not pending:
            break
        await pilot.pause(0.02)
    await pilot.pause()


def open_run(run_id: int):
    async def before(pilot) -> None:
        await settle(pilot)
        pilot.app.open_run(run_id)
        await settle(pilot)

    return before


@pytest.mark.parametrize("size", SIZES)
def test_fleet_screen(snap_compare, size):
    async def before(pilot):
        await settle(pilot)
        await pilot.press("down", "down", "down")  # a host with VMs
        await pilot.pause()

    assert snap_compare(make_app(), terminal_size=SIZES[size], run_before=before)


@pytest.mark.parametrize("size", SIZES)
def test_schedule_screen_by_source_with_a_selected_bar(snap_compare, size):
    async def before(pilot):
        await open_run(1)(pilot)
        await pilot.press("right", "right", "down")
        await pilot.pause()

    assert snap_compare(make_app(), terminal_size=SIZES[size], run_before=before)


@pytest.mark.parametrize("size", SIZES)
def test_schedule_screen_by_customer_zoomed(snap_compare, size):
    async def before(pilot):
        await open_run(2)(pilot)
        pilot.app.screen.query_one("Gantt").group = "customer"
        await pilot.press("plus")
        await pilot.pause()

    assert snap_compare(make_app(), terminal_size=SIZES[size], run_before=before)


@pytest.mark.parametrize("size", SIZES)
def test_runs_screen(snap_compare, size):
    assert snap_compare(make_app("runs"), terminal_size=SIZES[size], run_before=settle)


@pytest.mark.parametrize("size", SIZES)
def test_runs_compare_screen(snap_compare, size):
    async def before(pilot):
        await settle(pilot)
        await pilot.press("end", "space", "up", "space")  # mark runs 1 and 2 (newest first)
        await pilot.press("c")
        await settle(pilot)
        assert type(pilot.app.screen).__name__ == "CompareScreen"

    assert snap_compare(make_app("runs"), terminal_size=SIZES[size], run_before=before)


@pytest.mark.parametrize("size", SIZES)
def test_allocation_screen_placement(snap_compare, size):
    async def before(pilot):
        await open_run(3)(pilot)
        await pilot.press("tab")  # utilisation before / after
        await pilot.pause()

    assert snap_compare(make_app(), terminal_size=SIZES[size], run_before=before)


@pytest.mark.parametrize("size", SIZES)
def test_limits_screen_with_an_invalid_field(snap_compare, size):
    async def before(pilot):
        await settle(pilot)
        screen = pilot.app.screen
        screen.query_one("#lim-concurrency-per_rack").value = "six"
        screen.query_one("#lim-conflict-overrides").value = "cust-a=2"
        await pilot.pause()

    assert snap_compare(make_app("limits"), terminal_size=SIZES[size], run_before=before)


@pytest.mark.parametrize("size", SIZES)
def test_solve_screen_after_a_run(snap_compare, size):
    async def before(pilot):
        await settle(pilot)
        app = pilot.app
        run = run_view(7, "maintenance", "succeeded", None, objective=118, bound=112)
        app.active_run = run
        app.active_events = [ProgressView(i + 1, 7, T0 + i, 0.5 + i * 1.5, o, b, m) for i, (o, b, m) in enumerate(
            [(160, 80, "hint"), (140, 95, None), (131, 104, None), (124, 108, None), (118, 112, "stopped")])]
        app.progress_version += 1
        await pilot.pause()

    assert snap_compare(make_app("solve"), terminal_size=SIZES[size], run_before=before)


def test_allocation_screen_capacity_slots(snap_compare):
    assert snap_compare(make_app(), terminal_size=SIZES["large"], run_before=open_run(5))


def test_schedule_screen_in_the_nord_theme(snap_compare):
    async def before(pilot):
        pilot.app.theme = "nord"
        await open_run(1)(pilot)

    assert snap_compare(make_app(), terminal_size=SIZES["small"], run_before=before)


def test_help_screen(snap_compare):
    async def before(pilot):
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(make_app("schedule"), terminal_size=SIZES["large"], run_before=before)


# ---------------------------------------------------------------- issue 12: every fixed state


def test_fleet_screen_with_no_fleet_loaded(snap_compare):
    from console.console_data import MemoryData

    app = FleetConsole(MemoryData(None, [], label="empty.db"), poll_interval=3600, keymap_path=NO_KEYMAP)
    assert snap_compare(app, terminal_size=SIZES["small"], run_before=settle)


def test_fleet_filter_bar_open_with_a_vm_found(snap_compare):
    async def before(pilot):
        await settle(pilot)
        await pilot.press("slash", *"vm-0012")
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=SIZES["small"], run_before=before)


def test_limits_modified_header_and_reset_confirmation(snap_compare):
    async def before(pilot):
        await settle(pilot)
        app = pilot.app
        from engine.model import Limits

        app.set_limits(Limits.model_validate({"concurrency": {"per_rack": 6}}), "night")
        await settle(pilot)
        app.screen.query_one("#lim-concurrency-per_rack").value = "8"
        await settle(pilot)
        await pilot.press("ctrl+r")
        await settle(pilot)

    assert snap_compare(make_app("limits"), terminal_size=SIZES["small"], run_before=before)


def test_solve_screen_with_an_engine_error_on_one_line(snap_compare):
    async def before(pilot):
        await settle(pilot)
        app = pilot.app
        app.active_run = run_view(8, "maintenance", "failed", None, error=(
            "OverflowError: Python int too large to convert to C long\n"
            "  File \"engine/maintenance/cpsat.py\", line 88, in build\n    model.Add(x <= limit)"))
        app.progress_version += 1
        await settle(pilot)

    assert snap_compare(make_app("solve"), terminal_size=SIZES["small"], run_before=before)


def test_schedule_warns_about_a_plan_made_for_another_fleet(snap_compare):
    async def before(pilot):
        await settle(pilot)
        app = pilot.app
        app.data._runs[1] = replace_input(app.data._runs[1], "0" * 64)
        app.open_run(1)
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=SIZES["small"], run_before=before)


def test_schedule_export_asks_for_the_path(snap_compare):
    async def before(pilot):
        await open_run(1)(pilot)
        await pilot.press("e")
        await settle(pilot)
        field = pilot.app.screen.query_one("#ask-input")
        field.value = "runbook-console-fixture-run1-20270101-000000.csv"  # a fixed time in the picture
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=SIZES["small"], run_before=before)


def test_allocation_moves_of_a_rebalance(snap_compare):
    from tests.test_console_moves import rebalance_plan, two_dc_fleet

    snap = two_dc_fleet()

    async def before(pilot):
        await settle(pilot)
        pilot.app.show_plan(rebalance_plan(snap), "run 9 (placement, succeeded)", 9)
        await settle(pilot)

    from console.console_data import MemoryData

    app = FleetConsole(MemoryData(snap, [], label="fixture.db"), start_mode="allocation", poll_interval=3600,
                       keymap_path=NO_KEYMAP)
    assert snap_compare(app, terminal_size=SIZES["small"], run_before=before)


@pytest.mark.parametrize("mode", ["fleet", "schedule", "runs", "solve"])
def test_80_by_24_keeps_context_help_and_quit(snap_compare, mode):
    async def before(pilot):
        await settle(pilot)
        if mode == "schedule":
            pilot.app.open_run(1)
            await settle(pilot)

    assert snap_compare(make_app(mode), terminal_size=(80, 24), run_before=before)


def replace_input(run, key: str):
    from dataclasses import replace

    return replace(run, input_key=key)
