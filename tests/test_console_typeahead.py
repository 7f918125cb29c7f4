"""Keys typed right after `/` reach the filter line, however busy the machine (console polish, item 1).

The keys are posted to the app back to back, with no pause at all: a terminal on a loaded machine
delivers them that way, and before the fix the ones queued before the filter took the focus went to
the table (`/cust` became `ust`).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from console.app import FleetConsole
from console.console_data import MemoryData
from tests.console_fixtures import fixture_data, list_schedule, small_fleet
from tests.test_console_trust import type_keys

NO_KEYMAP = Path(__file__).with_name("no-such-keymap.toml")


async def settle(pilot) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


@pytest.mark.parametrize("text", ["cust", "vm-00"])
def test_fleet_filter_keeps_every_key_typed_right_after_slash(text):
    data, *_ = fixture_data()

    async def flow():
        app = FleetConsole(data, poll_interval=3600, keymap_path=NO_KEYMAP)
        async with app.run_test(size=(120, 34)) as pilot:
            await settle(pilot)
            await type_keys(pilot, "slash", *text, gap=0.0)
            await settle(pilot)
            bar = app.screen.query_one("FilterBar")
            assert bar.value == text and app.focused is bar
            # `/` typed inside the filter is text, not a second "open the filter"
            await type_keys(pilot, "slash", "x", gap=0.0)
            await settle(pilot)
            assert bar.value == text + "/x"

    asyncio.run(flow())


def test_gantt_find_keeps_every_key_typed_right_after_slash():
    snap = small_fleet()
    plan = list_schedule(snap)

    async def flow():
        app = FleetConsole(MemoryData(snap, []), start_mode="schedule", poll_interval=3600, keymap_path=NO_KEYMAP)
        async with app.run_test(size=(150, 30)) as pilot:
            await settle(pilot)
            app.show_plan(plan, "fixture")
            await settle(pilot)
            await type_keys(pilot, "slash", "v", "m", "-", "0", gap=0.0)
            await settle(pilot)
            bar = app.screen.query_one("FilterBar")
            assert bar.value == "vm-0" and app.focused is bar

    asyncio.run(flow())
